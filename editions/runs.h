/* The run history DIR/runs.json (team contract, issue 14): a JSON array,
 * oldest first, one object per attempt ("kind", "run_id", "attempt",
 * "source", "status", "reason", counts, "started_at", "finished_at", ...;
 * unknown keys ignored). The reporter writes it atomically (temp file and
 * rename): reading it needs no lock. */
#ifndef AIJ_EDITIONS_RUNS_H
#define AIJ_EDITIONS_RUNS_H

#include <stddef.h>

#include <jansson.h>

#define RUNS_FILE "runs.json"

/* Reads dir/runs.json. Returns the array (json_decref() it); NULL with
 * *absent set when there is no such file; NULL with errstr when it cannot
 * be read or is not a JSON array. */
json_t *runs_load(const char *dir, int *absent, char *errstr, size_t errstr_size);

/* The entries that make the "latest run was held" banner: for each kind
 * ("dispositifs", then "dossiers"), its latest entry whose status is "held"
 * or "failed", when no later entry of the same kind is "published".
 * Writes at most 2 borrowed references into held; returns their number. */
size_t runs_held(const json_t *runs, const json_t *held[2]);

/* The string value of key in entry, or "" (borrowed). */
const char *runs_str(const json_t *entry, const char *key);

/* The French word for a status ("publiée", "retenue", ...), or the status
 * itself when unknown. */
const char *runs_status_label(const char *status);

/* Rewrites an ISO 8601 time with an offset ("2026-12-06T02:00:03+01:00")
 * as a person reads it in Europe/Paris, "06/12/2026 à 02:00" (the process's
 * TZ), into buf; an unreadable one is copied as it is. */
void runs_time(const char *iso, char *buf, size_t size);

#endif
