/* Test helper: files and folders the tests leave behind. */
#ifndef AIJ_TEST_FILES_H
#define AIJ_TEST_FILES_H

/* Removes path and everything under it, as rm -rf does (a path that does
 * not exist is fine; symbolic links are removed, not followed). Returns 0,
 * or -1 when something could not be removed. */
int test_rmtree(const char *path);

#endif
