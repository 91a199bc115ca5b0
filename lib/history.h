/* The run history, DIR/runs.json: every attempt to integrate a week file or
 * to load a dossier export, oldest first, with what became of it. The
 * reporter (weeks), the indexer (exports) and the inbox ("already") append
 * to it; the guards read the last published entries from it; the editions
 * service shows it to national users.
 *
 *   [ { "kind": "dispositifs" | "dossiers", "run_id", "attempt", "source",
 *       "sha256", "status": "published" | "held" | "already" | "failed",
 *       "guard", "reason" (English), "reason_fr" (French, for staff pages),
 *       "lines", "integrated", "failed", "dossiers", "malformed",
 *       "accepted", "started_at", "finished_at" }, ... ]
 *
 * Times are ISO 8601 in Europe/Paris with their offset. Several processes
 * may append at once (one volume, several containers): each append holds
 * an exclusive flock() of DIR/.runs.lock while it reads the array, adds its
 * entry and replaces the file (temporary file, fsync, rename). Readers need
 * no lock: they see the old or the new file. Keys a reader does not know
 * are kept and ignored. */
#ifndef AIJ_HISTORY_H
#define AIJ_HISTORY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#define HISTORY_FILE "runs.json"

#define HISTORY_KIND_WEEK    "dispositifs"
#define HISTORY_KIND_EXPORT  "dossiers"

#define HISTORY_PUBLISHED "published"
#define HISTORY_HELD      "held"
#define HISTORY_ALREADY   "already"
#define HISTORY_FAILED    "failed"

/* One attempt. Strings may be NULL (written as ""). */
struct history_entry {
	const char *kind, *run_id, *attempt, *source, *sha256;
	const char *status, *guard, *reason, *reason_fr;
	uint64_t lines, integrated, failed;  /* a week */
	uint64_t dossiers, malformed;        /* an export; for a week, the
						dossiers of the index it used */
	int accepted;                        /* published over a guard */
	time_t started_at, finished_at;      /* 0: unknown (written as "") */
};

/* Appends e to the history file path (created if missing). Returns 0, or -1
 * with errstr (the file is then unchanged). */
int history_append(const char *path, const struct history_entry *e,
		   char *errstr, size_t errstr_size);

/* The JSON object of an entry, as history_append() writes it. A new
 * reference, NULL when out of memory. */
json_t *history_entry_json(const struct history_entry *e);

/* Appends the entry object (history_entry_json(), possibly kept in a file
 * meanwhile) to path. Returns 0, or -1 with errstr. */
int history_append_json(const char *path, json_t *entry,
			char *errstr, size_t errstr_size);

/* The history in path as a JSON array: an empty one when the file does not
 * exist. Returns a new reference (json_decref()), or NULL with errstr when
 * the file cannot be read or is not a JSON array. */
json_t *history_load(const char *path, char *errstr, size_t errstr_size);

/* The last entry (borrowed from h) of kind kind ("" or NULL: any) whose
 * status is status (NULL: any), or NULL. */
json_t *history_last(const json_t *h, const char *kind, const char *status);

/* The last entry of attempt attempt, or NULL. */
json_t *history_find_attempt(const json_t *h, const char *attempt);

/* The last published week whose file had this sha256, or NULL. */
json_t *history_published_sha(const json_t *h, const char *sha256);

/* The string member key of entry e ("" when absent or not a string). */
const char *history_str(const json_t *e, const char *key);

/* The integer member key of entry e (0 when absent). */
uint64_t history_num(const json_t *e, const char *key);

/* Writes t as ISO 8601 in Europe/Paris with its offset
 * ("2026-12-06T02:00:03+01:00") into buf ("" for t == 0). */
void history_time(time_t t, char *buf, size_t size);

/* Reads a time as history_time() writes it, "YYYY-MM-DDTHH:MM:SS+HH:MM"
 * (or with "Z"), into *t. Returns 0, or -1 when text is not such a time. */
int history_time_parse(const char *text, time_t *t);

#endif
