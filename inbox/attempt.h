/* The state of a week's attempt, kept beside the week while it runs (a
 * hidden file, INBOX/dispositifs/.<name>.aij-attempt), so that a restart
 * resumes an attempt whose records are all on Kafka instead of starting
 * another one (which would report the week twice), and keeps the run id the
 * week was first given. */
#ifndef AIJ_INBOX_ATTEMPT_H
#define AIJ_INBOX_ATTEMPT_H

#include <stddef.h>

struct attempt_state {
	char attempt[96];
	char run_id[64];
	char sha256[65];
	int ingested; /* aij-ingest exited 0: the reporter decides */
};

/* Reads the state of the week name in the folder dir. Returns 1 when there
 * is a whole one, 0 when not (none, or unreadable: the week starts anew). */
int attempt_read(const char *dir, const char *name, struct attempt_state *st);

/* Writes the state of name in dir (temporary file, fsync, rename: a crash
 * leaves the old state or the new one). Returns 0, or -1 (said at WARN:
 * only a restart during this attempt is worse off). */
int attempt_write(const char *dir, const char *name, const struct attempt_state *st);

/* Removes the state of name in dir, if any (the week is filed away). */
void attempt_drop(const char *dir, const char *name);

/* A new attempt id for run_id, "<run_id>#<8 hex>" (docs: runs.json's
 * "attempt"), into out. */
void attempt_new_id(const char *run_id, char *out, size_t size);

/* With a new broker (deploy/aij-local's, in memory), the records of an
 * attempt published before this start are gone: marks every ingested
 * attempt of dir as not ingested, so that its week runs again (a new
 * attempt, same run id) instead of waiting for a verdict that cannot come. */
void attempt_forget_ingested(const char *dir);

#endif
