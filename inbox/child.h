/* Running one of the pipeline's programs (aij-indexer, aij-ingest) as a
 * child process: found in the inbox's bin folder, its stdout and stderr the
 * inbox's own (its log lines land in the same log), its environment the
 * inbox's without the variables that would change what the inbox asked
 * (AIJ_ACCEPT, AIJ_REPLAY, ...). A stop request (SIGTERM/SIGINT to the
 * inbox) is passed on to it. */
#ifndef AIJ_INBOX_CHILD_H
#define AIJ_INBOX_CHILD_H

#include <stddef.h>

/* How long a child has to stop once it got SIGTERM before SIGKILL: within
 * the ~15 s the inbox has (docker's stop_grace_period). */
#define CHILD_STOP_GRACE_MS 12000

/* The folder of the running executable (/proc/self/exe), into dir. 0 or -1. */
int child_self_dir(char *dir, size_t size, char *errstr, size_t errstr_size);

/* Runs bin_dir/argv[0] with argv (NULL-terminated) and waits for it.
 * Returns its exit status (0..255; 128 + N when killed by signal N), or -1
 * with errstr when it could not be started. When signals_stop is set
 * meanwhile, sends it SIGTERM (SIGKILL after CHILD_STOP_GRACE_MS), waits,
 * and sets *stopped. */
int child_run(const char *bin_dir, char *const argv[], int *stopped,
	      char *errstr, size_t errstr_size);

#endif
