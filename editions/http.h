/* Inside the editions service: its state, one request across the calls
 * libmicrohttpd makes for it, the answers (JSON, pages, files, redirects,
 * errors in French) and the handlers of the routes (server.c routes and
 * admits; reports.c, dossiers.c, history.c, login.c answer). */
#ifndef AIJ_EDITIONS_HTTP_H
#define AIJ_EDITIONS_HTTP_H

#include <pthread.h>
#include <stddef.h>
#include <sys/stat.h>

#include <jansson.h>
#include <microhttpd.h>

#include "editions.h"
#include "form.h"
#include "index_keys.h"
#include "page.h"
#include "session.h"
#include "throttle.h"
#include "users.h"

#define EDITIONS_COOKIE      "aij_session"
#define EDITIONS_CSRF_FIELD  "csrf"
#define EDITIONS_CSRF_HEADER "X-CSRF-Token"
#define EDITIONS_PAGE_ROWS   500   /* rows of a report page */
#define EDITIONS_DOSSIER_MAX (INDEX_ID_MAX - 1)

struct referential;

/* The service. Read-only once started, but for what its locks guard. */
struct editions {
	struct MHD_Daemon *daemon;
	char *dir;
	char *users_path;
	char *redis;
	const struct referential *ref;
	int has_communes, has_coverage;
	int secure_cookies;
	long session_ttl_s;
	unsigned port;
	pthread_mutex_t users_lock; /* users and users_st */
	struct users *users;
	struct stat users_st;
	struct session_store *sessions; /* has its own lock */
	struct throttle *throttle;      /* has its own lock */
};

enum route_id {
	R_HEALTHZ,       /* GET  /healthz */
	R_ROOT,          /* GET  / */
	R_LOGIN,         /* GET, POST /login */
	R_LOGOUT,        /* POST /logout */
	R_LIST,          /* GET  /editions (JSON) */
	R_LIST_PAGE,     /* GET  /editions.html */
	R_REPORT,        /* GET, PUT, DELETE /editions/<ml> (the CSV) */
	R_REPORT_CSV,    /* GET  /editions/<ml>.csv (the CSV again, by its type's name) */
	R_REPORT_XLSX,   /* GET  /editions/<ml>.xlsx */
	R_REPORT_PAGE,   /* GET  /editions/<ml>.html */
	R_REPORT_JSON,   /* GET  /editions/<ml>.json (each row's evidence) */
	R_REPLACE,       /* GET, POST /editions/<ml>/remplacer */
	R_DELETE,        /* GET, POST /editions/<ml>/supprimer */
	R_DISPOSITIFS,   /* GET  /dossiers/<id>/dispositifs (JSON) */
	R_DOSSIER_PAGE,  /* GET  /dossiers/<id>.html */
	R_DOSSIER_FIND,  /* GET  /dossiers?id=<id> */
	R_ATTACHED_PAGE, /* GET  /dispositifs/<ml>.html */
	R_ATTACHED_XLSX, /* GET  /dispositifs/<ml>.xlsx */
	R_HISTORY_PAGE,  /* GET  /historique.html */
	R_RUNS,          /* GET  /runs (JSON) */
	R_COUNT
};

enum auth_kind {
	AUTH_NONE,
	AUTH_TOKEN,   /* Authorization: Bearer <token> */
	AUTH_SESSION, /* the session cookie */
};

/* One request, across the calls libmicrohttpd makes for it. */
struct request {
	struct MHD_Connection *conn;
	const char *method;
	const char *url;
	enum route_id route;
	char arg[INDEX_ID_MAX];   /* the ML code or the dossier id of the path */
	int html;                 /* a person's browser: errors as pages */
	int quiet_401;            /* not logged in, and nothing wrong: the log-in
				     form without an error */
	enum auth_kind auth;
	struct user user;         /* who, when auth is not AUTH_NONE (a copy) */
	char sid[SESSION_ID_HEX]; /* the session's id (AUTH_SESSION) */
	struct session_info session;
	int too_large;            /* the body passed its bound */
	size_t discarded;         /* bytes dropped since */
	char *body;               /* PUT: the body */
	size_t len, cap;
	struct form *form;        /* POST: the form */
};

/* 1 when the request's method is m. */
int http_is(const struct request *rq, const char *m);

/* The query argument name, or NULL. */
const char *http_arg(const struct request *rq, const char *name);

/* Logs one line about the request's answer. */
void http_log(const struct request *rq, unsigned status, const char *what);

/* Queues body (malloc'ed: the response frees it; NULL: out of memory, the
 * connection is closed) with status and type, then the extra headers given
 * as name, value pairs ending with NULL. */
enum MHD_Result http_reply(struct request *rq, unsigned status, const char *type,
			   char *body, size_t len, ...) __attribute__((sentinel));

/* Queues j (consumed) as indented JSON. */
enum MHD_Result http_json(struct request *rq, unsigned status, json_t *j);

/* Queues a page (from page_end(), consumed). */
enum MHD_Result http_page(struct request *rq, unsigned status, char *html, size_t len);

/* 303 to location (a path of the service), and Set-Cookie: cookie when not
 * NULL. */
enum MHD_Result http_redirect(struct request *rq, const char *location,
			      const char *cookie);

/* An error, in French: {"error": message, "status": N} for a program, a page
 * for a person (401: with the log-in form). Logged. */
enum MHD_Result http_fail(struct editions *e, struct request *rq, unsigned status,
			  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The frame of a page of rq: its user, the log-out form, the banner of a
 * held run, the flash message. held is a buffer for the banner's text. */
void http_frame(struct editions *e, struct request *rq, struct page_frame *fr,
		const char *title, const char *subtitle, enum page_nav nav,
		char *held, size_t held_size);

/* Reloads the users file when it changed on disk; a bad new version is
 * logged and the previous users stay in force. Call with users_lock held. */
void editions_users_refresh(struct editions *e);

/* summary.json of the latest run, or NULL (new reference). */
json_t *editions_summary(const struct editions *e);

/* Its run id, or NULL. */
const char *editions_run_id(const json_t *summary);

/* The name shown for a report or an ML: "Rapport national", the ML's name
 * from the coverage file, or the code. */
const char *editions_ml_name(const struct editions *e, const char *code);

/* The handlers: each answers its route once the request is admitted (right,
 * scope, CSRF checked) and its body read. */
enum MHD_Result login_get(struct editions *e, struct request *rq);
enum MHD_Result login_post(struct editions *e, struct request *rq);
enum MHD_Result logout_post(struct editions *e, struct request *rq);
/* The log-in form, status 200 or the failure's, with message (may be NULL),
 * going to next (may be NULL) once logged in; Retry-After when retry_after. */
enum MHD_Result login_form(struct editions *e, struct request *rq, unsigned status,
			   const char *message, const char *next, long retry_after);

enum MHD_Result reports_list(struct editions *e, struct request *rq);
enum MHD_Result reports_get(struct editions *e, struct request *rq);
enum MHD_Result reports_put(struct editions *e, struct request *rq);
enum MHD_Result reports_delete(struct editions *e, struct request *rq);
enum MHD_Result reports_replace_form(struct editions *e, struct request *rq);
enum MHD_Result reports_delete_form(struct editions *e, struct request *rq);

enum MHD_Result dossiers_json(struct editions *e, struct request *rq);
enum MHD_Result dossiers_page(struct editions *e, struct request *rq);
enum MHD_Result dossiers_find(struct editions *e, struct request *rq);
enum MHD_Result attached_page(struct editions *e, struct request *rq);
enum MHD_Result attached_xlsx(struct editions *e, struct request *rq);

enum MHD_Result history_page(struct editions *e, struct request *rq);
enum MHD_Result history_json(struct editions *e, struct request *rq);

#endif
