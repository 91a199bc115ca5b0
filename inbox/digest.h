/* The SHA-256 of a file's bytes, as aij-ingest puts it in the manifest and
 * the reporter in DIR/runs.json: the same file gives the same digest. */
#ifndef AIJ_INBOX_DIGEST_H
#define AIJ_INBOX_DIGEST_H

#include <stddef.h>

/* Writes the lower-case hex SHA-256 of the file path into hex. Returns 0,
 * or -1 with errstr (the file cannot be opened or read). */
int digest_file(const char *path, char hex[65], char *errstr, size_t errstr_size);

#endif
