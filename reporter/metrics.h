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
	METRICS_FAILED      /* complete but the reports could not be written */
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

/* The Prometheus text exposition of every counter. Free with free(). */
char *metrics_render(size_t *len);

/* An HTTP server (libmicrohttpd, one thread) answering GET /metrics
 * (metrics_render()) and GET /healthz ("ok"), without authentication, on
 * listen ("ADDR:PORT"; port 0 picks one). Returns NULL with errstr when the
 * address cannot be bound. Stop and free it with metrics_serve_stop(). */
struct metrics_server *metrics_serve(const char *listen, char *errstr,
				     size_t errstr_size);

/* The port the server listens on (useful with port 0). */
unsigned metrics_serve_port(const struct metrics_server *s);

/* Stops the server (a request in progress finishes) and frees it; NULL is
 * fine. */
void metrics_serve_stop(struct metrics_server *s);

#endif
