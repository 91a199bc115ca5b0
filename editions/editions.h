/* The editions service (docs/editions.md): Mission Locale staff and the
 * national team log in, list, read, download (CSV and XLSX), replace and
 * delete the latest run's reports, see the dispositifs attached to their
 * dossiers and the run history, in French, over HTTP (libmicrohttpd, a
 * pool of threads). Browsers log in with a password and get a session
 * cookie; programs send "Authorization: Bearer <token>". It reads what the
 * reporter publishes in its output folder and the dossier index in Redis,
 * never Kafka; it writes only a report replaced or deleted by a user. */
#ifndef AIJ_EDITIONS_EDITIONS_H
#define AIJ_EDITIONS_EDITIONS_H

#include <stddef.h>

#define EDITIONS_UPLOAD_MAX (8 * 1024 * 1024) /* a report uploaded */

struct referential;

struct editions_conf {
	const char *listen;      /* "ADDR:PORT" ("127.0.0.1:8080", "[::1]:0");
				    port 0 picks a free one */
	const char *dir;         /* the reporter's output folder */
	const char *users;       /* the users file; reloaded when it changes */
	const char *redis;       /* "HOST:PORT" of the dossier index, or NULL */
	const struct referential *ref; /* communes, exit reasons and ML names;
					  must outlive the service */
	int has_communes;        /* ref holds the communes referential */
	int has_coverage;        /* ref holds the coverage zones */
	int secure_cookies;      /* behind HTTPS: the cookie gets Secure */
	long session_ttl_s;      /* a session lasts that long after log-in */
	unsigned threads;        /* threads answering requests */
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
