/* The run history DIR/runs.json as the editions service shows it (the file
 * itself: lib/history.h): the "latest run was held" rule of the banner, the
 * words and times people read. */
#ifndef AIJ_EDITIONS_RUNS_H
#define AIJ_EDITIONS_RUNS_H

#include <stddef.h>

#include <jansson.h>

/* Reads dir/runs.json (lib/history.h): the array, empty when there is no
 * history yet (json_decref() it), or NULL with errstr when it cannot be read
 * or is not a JSON array. */
json_t *runs_load(const char *dir, char *errstr, size_t errstr_size);

/* The entries that make the "latest run was held" banner: for each kind
 * ("dispositifs", then "dossiers"), its latest entry whose status is "held"
 * or "failed", when no later entry of the same kind is "published".
 * Writes at most 2 borrowed references into held; returns their number. */
size_t runs_held(const json_t *runs, const json_t *held[2]);

/* The string value of key in entry, or "" (borrowed). */
const char *runs_str(const json_t *entry, const char *key);

/* Why an entry was held or failed, for a person: "reason_fr" (French),
 * else "reason", else "" (borrowed). */
const char *runs_reason(const json_t *entry);

/* The French word for a status ("publiée", "retenue", ...), or the status
 * itself when unknown. */
const char *runs_status_label(const char *status);

/* Rewrites a time of the run history ("2026-12-06T02:00:03+01:00",
 * history_time_parse()) as a person reads it in Europe/Paris, "06/12/2026
 * à 02:00" (the process's TZ), into buf; an unreadable one is copied as it
 * is. */
void runs_time(const char *iso, char *buf, size_t size);

#endif
