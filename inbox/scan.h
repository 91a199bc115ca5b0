/* The files waiting in one inbox folder (INBOX/dossiers/ or
 * INBOX/dispositifs/), and when each is complete.
 *
 * A name is data unless it is hidden (".name": rsync's ".name.XXXXXX", our
 * own state), a partial upload ("*.part", "*.tmp", "*.filepart"), or a
 * marker beside a data file: "<name>.done" (the upload is complete),
 * "<name>.accept" (complete, and publish it over the guards), "<name>.reason"
 * (why it was held, when an operator moved it back). Only regular files
 * count. A data file is complete once one of its two markers is there, or
 * once its size, modification time and inode stayed the same for the settle
 * time (observed by this process: at start every file waits that long). */
#ifndef AIJ_INBOX_SCAN_H
#define AIJ_INBOX_SCAN_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

enum scan_name {
	SCAN_DATA,
	SCAN_IGNORED, /* hidden or partial */
	SCAN_DONE,    /* <name>.done */
	SCAN_ACCEPT,  /* <name>.accept */
	SCAN_REASON,  /* <name>.reason */
};

/* What a name in an inbox folder is (the rules above). */
enum scan_name scan_classify(const char *name);

struct scan_file {
	char name[NAME_MAX + 1];
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	long stable_since_ms; /* clock_now_ms() when size/mtime/inode became these */
	enum scan_name marker; /* SCAN_DONE, SCAN_ACCEPT, or SCAN_DATA for none */
	time_t arrival;        /* latest of its mtime, its ctime, its marker's ctime */
	int present;           /* seen by the last update */
};

/* Whether f is complete at now_ms (monotonic) with a settle time of
 * settle_ms: a marker, or unchanged for settle_ms. */
int scan_complete(const struct scan_file *f, long now_ms, long settle_ms);

struct scan_dir {
	char *path;
	struct scan_file *files; /* sorted oldest first: mtime, then name */
	size_t n, cap;
};

/* Starts following the folder path (copied). 0, or -1 out of memory.
 * Release with scan_dir_release(). */
int scan_dir_init(struct scan_dir *d, const char *path);
void scan_dir_release(struct scan_dir *d);

/* Reads the folder again at now_ms: new files are added, changed ones start
 * their settle time again, gone ones are dropped. Returns 0, or -1 with
 * errstr when the folder cannot be read. */
int scan_dir_update(struct scan_dir *d, long now_ms, char *errstr, size_t errstr_size);

/* The file named name, or NULL. */
struct scan_file *scan_dir_find(struct scan_dir *d, const char *name);

#endif
