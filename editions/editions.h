/* The editions service (issue 5): Mission Locale staff and the national team
 * list, read, download, replace and delete the latest run's reports, with
 * rights, over HTTP (libmicrohttpd, one internal thread).
 *
 *   GET    /healthz                      "ok", no token
 *   GET    /editions                     the JSON list the caller may see
 *   GET    /editions.html                the same as a page
 *   GET    /editions/<ml_code>           the report's bytes (text/csv)
 *   GET    /editions/<ml_code>.html      the report as a page
 *   PUT    /editions/<ml_code>           replace it (a report, at most 8 MiB)
 *   DELETE /editions/<ml_code>           delete it
 *   GET    /dossiers/<id>/dispositifs    the dispositifs integrated into a
 *                                        dossier (Redis), ML-scoped
 *
 * Every request but /healthz carries "Authorization: Bearer <token>". A
 * browser cannot, so the two .html pages also take "?token=<token>" (GET
 * only; nowhere else). Errors are a short JSON object {"error": "..."}
 * (a small page for the .html routes) with 400, 401, 403, 404, 405, 413,
 * 422, 500 or 503. */
#ifndef AIJ_REPORTER_EDITIONS_H
#define AIJ_REPORTER_EDITIONS_H

#include <stddef.h>

#define EDITIONS_UPLOAD_MAX (8 * 1024 * 1024)

struct referential;

struct editions_conf {
	const char *listen;      /* "ADDR:PORT" ("127.0.0.1:8080", "[::1]:0");
				    port 0 picks a free one */
	const char *dir;         /* the reporter's output folder (--out) */
	const char *users;       /* the users file; reloaded when it changes */
	const char *redis;       /* "HOST:PORT" for /dossiers, or NULL */
	const struct referential *ref; /* ML and commune names, or NULL; must
					  outlive the service */
};

struct editions;

/* Loads the users file and starts serving. Returns NULL with errstr on an
 * unreadable users file or an address that cannot be bound. Stop and free
 * with editions_stop(). */
struct editions *editions_start(const struct editions_conf *conf,
				char *errstr, size_t errstr_size);

/* The port the service listens on (useful with port 0). */
unsigned editions_port(const struct editions *e);

/* Stops serving (requests in progress finish) and frees e; NULL is fine. */
void editions_stop(struct editions *e);

#endif
