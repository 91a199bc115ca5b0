/* The inbox's folders, and what the service's modules share about them:
 * INBOX/<kind>/ where files arrive, INBOX/archive/<kind>/ and
 * INBOX/held/<kind>/ where they go once decided, DIR/runs.json where the
 * verdicts are, whether Redis holds an index, and the state of the index
 * reload. service.c runs the loop over them; export.c and week.c each take
 * one file of their kind. */
#ifndef AIJ_INBOX_INBOX_H
#define AIJ_INBOX_INBOX_H

#include <limits.h>
#include <stddef.h>

#include "probe.h"
#include "service.h"

struct inbox {
	const struct inbox_conf *c;
	char dir[2][PATH_MAX];     /* INBOX/<kind> */
	char archive[2][PATH_MAX]; /* INBOX/archive/<kind> */
	char held[2][PATH_MAX];    /* INBOX/held/<kind> */
	char history[PATH_MAX];    /* DIR/runs.json */
	struct probe probe;        /* whether Redis answers with an index */
	int lock_fd;               /* INBOX/.aij-inbox.lock, flock()ed */
	/* The reload of the last export into an empty Redis (export.c). */
	long reload_retry_at_ms;
	unsigned reload_failures;
	int reload_none_said;      /* "nothing to reload from" said */
};

/* Creates INBOX's folders and DIR, and takes INBOX's lock: one service per
 * inbox, a second one would take the same files. Returns 0, or -1 with
 * errstr; inbox_release() in both cases. */
int inbox_init(struct inbox *in, const struct inbox_conf *c,
	       char *errstr, size_t errstr_size);
void inbox_release(struct inbox *in);

/* The kind's folder name ("dossiers", "dispositifs"), and what a file of it
 * is called in the log ("export", "week"). */
const char *inbox_kind_name(enum inbox_kind kind);
const char *inbox_kind_what(enum inbox_kind kind);

/* dir/name into out; -1 when it does not fit (never with NAME_MAX names
 * under the folders main.c checked). */
int inbox_path(char *out, size_t size, const char *dir, const char *name);

/* Files kind's name away into archive/ (integrated, or nothing to do),
 * and forgets its attempt state. Returns 0 with final set to the name it
 * has there, or -1 (said: it stays in the inbox). */
int inbox_archive(struct inbox *in, enum inbox_kind kind, const char *name,
		  char *final, size_t final_size);

/* Holds kind's name: files it into held/ with a .reason made of guard and
 * the reasons (filing_reason_line()), and says at ERROR what an operator
 * does to publish it anyway. */
void inbox_hold(struct inbox *in, enum inbox_kind kind, const char *name,
		const char *guard, const char *reason_fr, const char *reason);

#endif
