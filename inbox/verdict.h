/* The verdicts of the pipeline on what the inbox handed it, as the run
 * history DIR/runs.json records them (lib/history.h): aij-indexer appends
 * the entry of an export before it exits, aij-reporter --follow the one of
 * a week's attempt once it decided it (published, held, already, failed),
 * possibly long after aij-ingest exited. */
#ifndef AIJ_INBOX_VERDICT_H
#define AIJ_INBOX_VERDICT_H

#include <stddef.h>

#include <jansson.h>

/* How many entries the run history at path has now (0 when it cannot be
 * read): what verdict_after() is then given. */
size_t verdict_count(const char *history);

/* The latest entry of kind with sha256 appended to the run history after
 * its first `after` entries (the verdict of a child that just ran), a deep
 * copy (json_decref() it), or NULL. */
json_t *verdict_after(const char *history, size_t after, const char *kind,
		      const char *sha256);

/* Waits, until signals_stop, for the entry of attempt in the run history
 * to have a verdict (published, held, already, failed): reads the file
 * again each time it changes. Says once at WARN when none came after 30
 * min (is aij-reporter --follow running with --out out_dir?). Returns a
 * deep copy of the entry (json_decref() it), or NULL when stopped. */
json_t *verdict_wait(const char *history, const char *out_dir, const char *attempt);

/* How many of the last week entries of the run history h with this sha256,
 * counted from the end and stopping at the first one that differs, have
 * this status and guard: the attempts of one file that ended so in a row. */
unsigned verdict_week_trailing(const json_t *h, const char *sha256, const char *status,
			       const char *guard);

#endif
