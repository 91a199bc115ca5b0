/* What the inbox service remembers of each file waiting in the inbox,
 * from one pass of its loop to the next: whether it was taken already, when
 * it may be tried again, how many times in a row it failed. A file's note
 * goes when the file goes (filed away, removed, replaced by another of the
 * same name: a note is of a name and an inode). */
#ifndef AIJ_INBOX_NOTE_H
#define AIJ_INBOX_NOTE_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "scan.h"
#include "service.h"

struct note {
	enum inbox_kind kind;
	char name[NAME_MAX + 1];
	ino_t ino;
	int taken;            /* taken once by this process: due whatever the schedule */
	long retry_at_ms;     /* not before (clock_now_ms()) */
	unsigned failures;    /* consecutive failures of its child (exit 1) */
	unsigned technical;   /* consecutive holds for technical errors */
	int schedule_logged;  /* "waits for the schedule" said */
	char run_id[64];      /* the run id given when first taken */
};

struct notes {
	struct note *v;
	size_t n, cap;
};

/* The note of the file f of kind, a new one (zeroed) when it has none yet.
 * Owned by ns, valid until the next notes_get() or notes_sweep(); NULL when
 * out of memory. */
struct note *notes_get(struct notes *ns, enum inbox_kind kind, const struct scan_file *f);

/* Drops the notes of the files no longer in their folder, scan[kind]. */
void notes_sweep(struct notes *ns, struct scan_dir scan[2]);

/* Frees what ns holds; ns may then be used again. */
void notes_release(struct notes *ns);

/* The child program that ran for n's file (what: "export" or "week",
 * name) failed with exit status rc (-1: it could not run): the file stays
 * in the inbox and is tried again after a back-off (30 s, doubling up to
 * 10 min: Kafka or Redis refused, they may come back). Said at ERROR. */
void notes_retry_later(struct note *n, const char *what, const char *name,
		       const char *program, int rc);

#endif
