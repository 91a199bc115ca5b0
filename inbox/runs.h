/* What the inbox reads and writes of the run history DIR/runs.json (the
 * contract of docs/operations.md: a JSON array, oldest first, one object per
 * attempt, written atomically under an flock of DIR/.runs.lock). The
 * reporter and the indexer write their verdicts there; the inbox reads them
 * and appends its own "already" entries. */
#ifndef AIJ_INBOX_RUNS_H
#define AIJ_INBOX_RUNS_H

#include <stddef.h>

#include <jansson.h>

/* Loads the history at path: a new reference (json_decref() it), an empty
 * array when the file does not exist; NULL with errstr when it cannot be
 * read or is not a JSON array. */
json_t *runs_load(const char *path, char *errstr, size_t errstr_size);

/* The entry whose "attempt" is attempt (the last one), or NULL. Borrowed. */
json_t *runs_find_attempt(const json_t *h, const char *attempt);

/* The latest "published" entry of kind whose "sha256" is sha256, or NULL.
 * Borrowed. */
json_t *runs_published_sha(const json_t *h, const char *kind, const char *sha256);

/* The latest "published" entry of kind, or NULL. Borrowed. */
json_t *runs_last_published(const json_t *h, const char *kind);

/* How many of the last entries of kind with this sha256, counted from the
 * end and stopping at the first one that differs, have this status and
 * guard (the retries of one file). */
unsigned runs_trailing(const json_t *h, const char *kind, const char *sha256,
		       const char *status, const char *guard);

/* The string value of key in entry e, or "" (never NULL). */
const char *runs_str(const json_t *e, const char *key);

/* The integer value of key in e, or 0. */
long long runs_int(const json_t *e, const char *key);

/* Appends entry (not stolen) to the history at path, atomically: under an
 * exclusive flock of <its folder>/.runs.lock, the whole array written to a
 * temporary file then renamed over. 0, or -1 with errstr. */
int runs_append(const char *path, json_t *entry, char *errstr, size_t errstr_size);

#endif
