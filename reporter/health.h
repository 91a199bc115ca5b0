/* Whether the service is degraded, for /healthz and /metrics: a week or a
 * dossier export held or failed (the last attempt of its kind in the run
 * history is not published), or no dossier index in Redis (the matchers
 * then wait). The process itself is fine either way: /healthz answers 200
 * with "ok" or "degraded: <reason>", so that a liveness probe does not
 * restart it; the gauge aij_reporter_degraded is what alerts. */
#ifndef AIJ_REPORTER_HEALTH_H
#define AIJ_REPORTER_HEALTH_H

#include <stddef.h>

/* Checks the history out/runs.json and, when redis ("HOST:PORT") is not
 * NULL, that Redis holds an index (a Redis that does not answer is said
 * too). Returns 0 when all is well, 1 when degraded with the reason in
 * reason (reason_size bytes). Thread-safe; Redis is asked at most every
 * few seconds. */
int health_check(const char *out, const char *redis, char *reason, size_t reason_size);

#endif
