/* The reporter's counters, served as Prometheus text on GET /metrics
 * (metrics_serve(), with GET /healthz). The consumer updates them, the HTTP
 * thread reads them: one mutex, held for a few stores or one rendering. */
#ifndef AIJ_REPORTER_METRICS_H
#define AIJ_REPORTER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "collect.h"

/* Run states, as exposed in aij_reporter_run_state{run_id,state}. */
enum metrics_state {
	METRICS_WAITING,    /* no run yet */
	METRICS_COLLECTING, /* outcomes coming in */
	METRICS_STALLED,    /* lines missing, nothing new for --stall-timeout */
	METRICS_WRITTEN,    /* complete, reports written */
	METRICS_FAILED,     /* complete but the reports could not be written */
	METRICS_HELD,       /* complete, held by a guard: nothing published */
	METRICS_ALREADY     /* complete, the same file as a published run */
};

/* A new run is followed (its counters start from zero). */
void metrics_run_begin(const char *run_id);

/* Where the followed run stands: messages read (any run), distinct
 * outcomes of the run, its record count (0 while no manifest). */
void metrics_progress(uint64_t messages, uint64_t outcomes, uint64_t records);

/* The followed run's state. */
void metrics_state(enum metrics_state state);

/* A complete run's outcomes by code and step (c finished), and the number
 * of report files written. */
void metrics_written(const struct collect *c, size_t reports);

/* What the followed run became: "published", "held", "already" or
 * "failed" (the run history's status). */
void metrics_verdict(const char *status);

/* The Prometheus text exposition of every counter, with degraded ("" when
 * all is well: health_check()). Free with free(). */
char *metrics_render(const char *degraded, size_t *len);

/* An HTTP server (libmicrohttpd, one thread) answering, without
 * authentication, on listen ("ADDR:PORT"; port 0 picks one): GET /metrics
 * (metrics_render(), degraded by health_check() of out's run history) and
 * GET /healthz (200 "ok", or 200 "degraded: <reason>": reporter/health.h).
 * Returns NULL with errstr when the address cannot be bound. Stop and free
 * it with metrics_serve_stop(). */
struct metrics_server *metrics_serve(const char *listen, const char *out,
				     char *errstr, size_t errstr_size);

/* The port the server listens on (useful with port 0). */
unsigned metrics_serve_port(const struct metrics_server *s);

/* Stops the server (a request in progress finishes) and frees it; NULL is
 * fine. */
void metrics_serve_stop(struct metrics_server *s);

#endif
