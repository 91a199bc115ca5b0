/* The service's life and each request's: the route, then everything decided
 * from the request line and headers before any body is read (method, who,
 * rights, scope, CSRF of PUT and DELETE, size), then the body, then the
 * CSRF of a form, then the route's handler. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "http.h"
#include "log.h"
#include "net.h"
#include "referential.h"
#include "report_format.h"

#define EDITIONS_DISCARD_MAX (64u * 1024 * 1024)
#define EDITIONS_FORM_SLACK  (64u * 1024) /* a form's fields around its file */
#define EDITIONS_MAX_SESSIONS 10000
#define EDITIONS_MAX_PENDING (64u * 1024 * 1024)
#define EDITIONS_LOGIN_FAILURES 5
#define EDITIONS_LOGIN_WINDOW_S (15 * 60)
#define EDITIONS_LOGIN_LOCK_S (15 * 60)

enum { M_GET = 1, M_POST = 2, M_PUT = 4, M_DELETE = 8 };
enum route_auth { A_NONE, A_ANY };
enum route_arg { ARG_NONE, ARG_ML, ARG_DOSSIER };

typedef enum MHD_Result (*handler_fn)(struct editions *, struct request *);

struct route {
	const char *allow;     /* the Allow header of a 405 */
	unsigned methods;
	enum route_auth auth;
	enum route_arg arg;    /* ARG_ML: the user must see that ML */
	unsigned read_rights;  /* GET, HEAD */
	unsigned write_rights; /* POST, PUT, DELETE */
	int national;          /* national users only */
	handler_fn get, post, put, del;
};

#define C RIGHT_CONSULTER
#define T RIGHT_TELECHARGER
#define G RIGHT_GERER

static enum MHD_Result healthz_get(struct editions *e, struct request *rq);
static enum MHD_Result root_get(struct editions *e, struct request *rq);

static const struct route routes[R_COUNT] = {
	[R_HEALTHZ] = { "GET, HEAD", M_GET, A_NONE, ARG_NONE, 0, 0, 0,
			healthz_get, NULL, NULL, NULL },
	[R_ROOT] = { "GET, HEAD", M_GET, A_NONE, ARG_NONE, 0, 0, 0,
		     root_get, NULL, NULL, NULL },
	[R_LOGIN] = { "GET, HEAD, POST", M_GET | M_POST, A_NONE, ARG_NONE, 0, 0, 0,
		      login_get, login_post, NULL, NULL },
	[R_LOGOUT] = { "POST", M_POST, A_ANY, ARG_NONE, 0, 0, 0,
		       NULL, logout_post, NULL, NULL },
	[R_LIST] = { "GET, HEAD", M_GET, A_ANY, ARG_NONE, C, 0, 0,
		     reports_list, NULL, NULL, NULL },
	[R_LIST_PAGE] = { "GET, HEAD", M_GET, A_ANY, ARG_NONE, C, 0, 0,
			  reports_list, NULL, NULL, NULL },
	[R_REPORT] = { "GET, HEAD, PUT, DELETE", M_GET | M_PUT | M_DELETE, A_ANY, ARG_ML,
		       C | T, G, 0, reports_get, NULL, reports_put, reports_delete },
	[R_REPORT_CSV] = { "GET, HEAD", M_GET, A_ANY, ARG_ML, C | T, 0, 0,
			   reports_get, NULL, NULL, NULL },
	[R_REPORT_XLSX] = { "GET, HEAD", M_GET, A_ANY, ARG_ML, C | T, 0, 0,
			    reports_get, NULL, NULL, NULL },
	[R_REPORT_JSON] = { "GET, HEAD", M_GET, A_ANY, ARG_ML, C | T, 0, 0,
			    reports_get, NULL, NULL, NULL },
	[R_REPORT_PAGE] = { "GET, HEAD", M_GET, A_ANY, ARG_ML, C, 0, 0,
			    reports_get, NULL, NULL, NULL },
	[R_REPLACE] = { "GET, HEAD, POST", M_GET | M_POST, A_ANY, ARG_ML, G, G, 0,
			reports_replace_form, reports_replace_form, NULL, NULL },
	[R_DELETE] = { "GET, HEAD, POST", M_GET | M_POST, A_ANY, ARG_ML, G, G, 0,
		       reports_delete_form, reports_delete_form, NULL, NULL },
	[R_DISPOSITIFS] = { "GET, HEAD", M_GET, A_ANY, ARG_DOSSIER, C, 0, 0,
			    dossiers_json, NULL, NULL, NULL },
	[R_DOSSIER_PAGE] = { "GET, HEAD", M_GET, A_ANY, ARG_DOSSIER, C, 0, 0,
			     dossiers_page, NULL, NULL, NULL },
	[R_DOSSIER_FIND] = { "GET, HEAD", M_GET, A_ANY, ARG_NONE, C, 0, 0,
			     dossiers_find, NULL, NULL, NULL },
	[R_ATTACHED_PAGE] = { "GET, HEAD", M_GET, A_ANY, ARG_ML, C, 0, 0,
			      attached_page, NULL, NULL, NULL },
	[R_ATTACHED_XLSX] = { "GET, HEAD", M_GET, A_ANY, ARG_ML, C | T, 0, 0,
			      attached_xlsx, NULL, NULL, NULL },
	[R_HISTORY_PAGE] = { "GET, HEAD", M_GET, A_ANY, ARG_NONE, C, 0, 1,
			     history_page, NULL, NULL, NULL },
	[R_RUNS] = { "GET, HEAD", M_GET, A_ANY, ARG_NONE, C, 0, 1,
		     history_json, NULL, NULL, NULL },
};

#undef C
#undef T
#undef G

static enum MHD_Result healthz_get(struct editions *e, struct request *rq)
{
	(void)e;
	return http_reply(rq, MHD_HTTP_OK, "text/plain; charset=utf-8", strdup("ok\n"), 3,
			  NULL);
}

static enum MHD_Result root_get(struct editions *e, struct request *rq)
{
	(void)e;
	return http_redirect(rq, "/editions.html", NULL);
}

/* --- routing ----------------------------------------------------------- */

/* Decodes %XX in place, except %00 (and malformed escapes), which stay as
 * they are so that the path check rejects them: a NUL would silently cut
 * the path short. */
static size_t editions_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	char *w = s;
	for (const char *r = s; *r;) {
		if (r[0] == '%' && r[1] && r[2] &&
		    strchr("0123456789abcdefABCDEF", r[1]) &&
		    strchr("0123456789abcdefABCDEF", r[2])) {
			char hex[3] = { r[1], r[2], 0 };
			long v = strtol(hex, NULL, 16);
			if (v != 0) {
				*w++ = (char)v;
				r += 3;
				continue;
			}
		}
		*w++ = *r++;
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* A dossier id: 1 to EDITIONS_DOSSIER_MAX of [A-Za-z0-9_.-], not "." nor "..". */
static int editions_dossier_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > EDITIONS_DOSSIER_MAX || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return 0;
	for (; *s; s++) {
		char ch = *s;
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.'))
			return 0;
	}
	return 1;
}

/* 1 when s ends with suffix; then *n is the length before it. */
static int editions_ends(const char *s, const char *suffix, size_t *n)
{
	size_t ls = strlen(s), lx = strlen(suffix);
	if (ls <= lx || strcmp(s + ls - lx, suffix) != 0)
		return 0;
	*n = ls - lx;
	return 1;
}

/* The argument (n bytes at s) of the path into rq->arg, checked as an ML
 * code or a dossier id. Returns 0, or 400 with msg. */
static unsigned editions_route_arg(struct request *rq, const char *s, size_t n,
				   enum route_arg kind, char *msg, size_t msg_size)
{
	int ok = n < sizeof(rq->arg);
	if (ok) {
		memcpy(rq->arg, s, n);
		rq->arg[n] = '\0';
		ok = kind == ARG_ML ? report_name_valid(rq->arg)
				    : editions_dossier_valid(rq->arg);
	}
	if (ok)
		return 0;
	rq->arg[0] = '\0';
	if (kind == ARG_ML)
		snprintf(msg, msg_size, "nom de rapport incorrect : un code de Mission Locale "
			 "a de 1 à %d caractères parmi A-Z a-z 0-9 _ -", REPORT_NAME_MAX);
	else
		snprintf(msg, msg_size, "identifiant de dossier incorrect : de 1 à %d "
			 "caractères parmi A-Z a-z 0-9 _ - .", EDITIONS_DOSSIER_MAX);
	return MHD_HTTP_BAD_REQUEST;
}

/* Finds the route of url (decoded) into rq. Returns 0, or the status of the
 * error with msg. */
static unsigned editions_route(const char *url, struct request *rq, char *msg,
			       size_t msg_size)
{
	static const struct {
		const char *path;
		enum route_id id;
		int html;
	} exact[] = {
		{ "/healthz", R_HEALTHZ, 0 },      { "/", R_ROOT, 1 },
		{ "/login", R_LOGIN, 1 },          { "/logout", R_LOGOUT, 1 },
		{ "/editions", R_LIST, 0 },        { "/editions.html", R_LIST_PAGE, 1 },
		{ "/dossiers", R_DOSSIER_FIND, 1 }, { "/historique.html", R_HISTORY_PAGE, 1 },
		{ "/runs", R_RUNS, 0 },
	};
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
		if (strcmp(url, exact[i].path) == 0) {
			rq->route = exact[i].id;
			rq->html = exact[i].html;
			return 0;
		}
	}
	size_t n;
	if (strncmp(url, "/editions/", 10) == 0) {
		const char *rest = url + 10;
		if (editions_ends(rest, "/remplacer", &n)) {
			rq->route = R_REPLACE;
			rq->html = 1;
		} else if (editions_ends(rest, "/supprimer", &n)) {
			rq->route = R_DELETE;
			rq->html = 1;
		} else if (editions_ends(rest, ".html", &n)) {
			rq->route = R_REPORT_PAGE;
			rq->html = 1;
		} else if (editions_ends(rest, ".csv", &n)) {
			rq->route = R_REPORT_CSV;
		} else if (editions_ends(rest, ".xlsx", &n)) {
			rq->route = R_REPORT_XLSX;
		} else if (editions_ends(rest, ".json", &n)) {
			rq->route = R_REPORT_JSON;
		} else {
			n = strlen(rest);
			rq->route = R_REPORT;
		}
		return editions_route_arg(rq, rest, n, ARG_ML, msg, msg_size);
	}
	if (strncmp(url, "/dispositifs/", 13) == 0) {
		const char *rest = url + 13;
		if (editions_ends(rest, ".html", &n)) {
			rq->route = R_ATTACHED_PAGE;
			rq->html = 1;
			return editions_route_arg(rq, rest, n, ARG_ML, msg, msg_size);
		}
		if (editions_ends(rest, ".xlsx", &n)) {
			rq->route = R_ATTACHED_XLSX;
			return editions_route_arg(rq, rest, n, ARG_ML, msg, msg_size);
		}
	}
	if (strncmp(url, "/dossiers/", 10) == 0) {
		const char *rest = url + 10;
		if (editions_ends(rest, "/dispositifs", &n)) {
			rq->route = R_DISPOSITIFS;
			return editions_route_arg(rq, rest, n, ARG_DOSSIER, msg, msg_size);
		}
		if (editions_ends(rest, ".html", &n)) {
			rq->route = R_DOSSIER_PAGE;
			rq->html = 1;
			return editions_route_arg(rq, rest, n, ARG_DOSSIER, msg, msg_size);
		}
	}
	snprintf(msg, msg_size, "page introuvable : %s",
		 "voir la liste des rapports, /editions.html");
	return MHD_HTTP_NOT_FOUND;
}

static unsigned editions_method_bit(const char *method)
{
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
		return M_GET;
	if (strcmp(method, "POST") == 0)
		return M_POST;
	if (strcmp(method, "PUT") == 0)
		return M_PUT;
	if (strcmp(method, "DELETE") == 0)
		return M_DELETE;
	return 0;
}

/* --- who ----------------------------------------------------------------- */

void editions_users_refresh(struct editions *e)
{
	struct stat st;
	if (stat(e->users_path, &st) < 0) {
		log_warn("editions: cannot stat '%s': %s (previous users kept)",
			 e->users_path, strerror(errno));
		return;
	}
	if (st.st_ino == e->users_st.st_ino && st.st_size == e->users_st.st_size &&
	    st.st_mtim.tv_sec == e->users_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == e->users_st.st_mtim.tv_nsec)
		return;
	char errstr[512];
	struct users *users = users_load(e->users_path, errstr, sizeof(errstr));
	e->users_st = st; /* do not retry a bad file on every request */
	if (!users) {
		log_error("editions: %s (previous users kept)", errstr);
		return;
	}
	users_free(e->users);
	e->users = users;
	log_info("editions: users reloaded from '%s': %zu users", e->users_path,
		 users_count(users));
}

/* Who sends rq: a Bearer token, else the session cookie. Fills rq->auth,
 * rq->user (a copy) and the session. Returns 0, or 401 with msg. */
static unsigned editions_authenticate(struct editions *e, struct request *rq,
				      char *msg, size_t msg_size)
{
	const char *auth = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_AUTHORIZATION);
	const char *cookie = MHD_lookup_connection_value(rq->conn, MHD_COOKIE_KIND,
							 EDITIONS_COOKIE);
	long now = (long)clock_now_s();
	unsigned status = 0;

	pthread_mutex_lock(&e->users_lock);
	editions_users_refresh(e);
	if (auth) {
		while (*auth == ' ')
			auth++;
		const char *token = NULL;
		if (strncasecmp(auth, "Bearer ", 7) == 0) {
			token = auth + 7;
			while (*token == ' ')
				token++;
		}
		const struct user *u = token && *token ? users_by_token(e->users, token) : NULL;
		if (u) {
			rq->user = *u;
			rq->auth = AUTH_TOKEN;
		} else {
			snprintf(msg, msg_size, token && *token ? "jeton inconnu"
				 : "en-tête Authorization incorrect : « Bearer <jeton> » attendu");
			status = MHD_HTTP_UNAUTHORIZED;
		}
	} else if (cookie && session_get(e->sessions, cookie, now, &rq->session)) {
		const struct user *u = users_by_login(e->users, rq->session.login);
		if (u && u->password_hash[0] &&
		    session_password_same(&rq->session, u->password_hash)) {
			rq->user = *u;
			rq->auth = AUTH_SESSION;
			snprintf(rq->sid, sizeof(rq->sid), "%s", cookie);
		} else {
			session_end(e->sessions, cookie);
			snprintf(msg, msg_size, "votre session a pris fin (compte ou mot de "
				 "passe changé) : reconnectez-vous");
			status = MHD_HTTP_UNAUTHORIZED;
		}
	} else {
		if (cookie)
			snprintf(msg, msg_size, "votre session a expiré : reconnectez-vous");
		else if (http_arg(rq, "token"))
			snprintf(msg, msg_size, "les liens avec ?token= ne sont plus acceptés : "
				 "connectez-vous avec votre identifiant et votre mot de passe");
		else
			snprintf(msg, msg_size, "connectez-vous pour voir cette page (un "
				 "programme envoie « Authorization: Bearer <jeton> »)");
		rq->quiet_401 = !cookie && !http_arg(rq, "token");
		status = MHD_HTTP_UNAUTHORIZED;
	}
	pthread_mutex_unlock(&e->users_lock);
	return status;
}

/* The names of the rights in need that the user lacks, in French. */
static void editions_missing_rights(unsigned need, unsigned have, char *buf, size_t size)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ RIGHT_CONSULTER, "« Consulter une édition »" },
		{ RIGHT_TELECHARGER, "« Télécharger les rapports »" },
		{ RIGHT_GERER, "« Gérer les éditions »" },
	};
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((need & names[i].bit) && !(have & names[i].bit)) {
			int w = snprintf(buf + len, size - len, "%s%s", len ? " et " : "",
					 names[i].name);
			if (w > 0 && (size_t)w < size - len)
				len += (size_t)w;
		}
	}
}

/* The CSRF token a request made with the session cookie carries: the form
 * field, else the header. */
static const char *editions_csrf_sent(const struct request *rq)
{
	const char *t = rq->form ? form_value(rq->form, EDITIONS_CSRF_FIELD, NULL) : NULL;
	if (!t)
		t = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, EDITIONS_CSRF_HEADER);
	return t;
}

/* --- the request's life -------------------------------------------------- */

/* Everything decided from the request line and headers alone, before any
 * body is read: an upload refused here is never read at all. Returns 0 to
 * go on, or the status of an error already queued (as *res). */
static unsigned editions_admit(struct editions *e, struct request *rq,
			       enum MHD_Result *res)
{
	char msg[400];
	unsigned status = editions_route(rq->url, rq, msg, sizeof(msg));
	if (!rq->html) {
		/* A browser's navigation asks for HTML: its errors are pages. */
		const char *accept = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
								 MHD_HTTP_HEADER_ACCEPT);
		rq->html = accept && strstr(accept, "text/html") != NULL;
	}
	if (status) {
		*res = http_fail(e, rq, status, "%s", msg);
		return status;
	}
	const struct route *r = &routes[rq->route];
	unsigned bit = editions_method_bit(rq->method);
	if (!(r->methods & bit)) {
		char m[16];
		size_t i = 0;
		for (; rq->method[i] && i + 1 < sizeof(m); i++)
			m[i] = (rq->method[i] > 0x20 && rq->method[i] < 0x7f) ? rq->method[i] : '?';
		m[i] = '\0';
		snprintf(msg, sizeof(msg), "la méthode %s n'est pas possible ici (possibles : %s)",
			 m, r->allow);
		http_log(rq, MHD_HTTP_METHOD_NOT_ALLOWED, msg);
		size_t len = 0;
		json_t *j = json_pack("{s:s, s:i}", "error", msg, "status", 405);
		char *text = j ? json_dumps(j, JSON_PRESERVE_ORDER) : NULL;
		json_decref(j);
		len = text ? strlen(text) : 0;
		*res = http_reply(rq, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "application/json; charset=utf-8", text, len,
				  MHD_HTTP_HEADER_ALLOW, r->allow, NULL);
		return MHD_HTTP_METHOD_NOT_ALLOWED;
	}
	if (r->auth != A_NONE) {
		status = editions_authenticate(e, rq, msg, sizeof(msg));
		if (status) {
			*res = http_fail(e, rq, status, "%s", msg);
			return status;
		}
		unsigned need = bit == M_GET ? r->read_rights : r->write_rights;
		if ((rq->user.rights & need) != need) {
			char missing[200];
			editions_missing_rights(need, rq->user.rights, missing, sizeof(missing));
			*res = http_fail(e, rq, MHD_HTTP_FORBIDDEN,
					 "il vous faut le droit %s pour cela", missing);
			return MHD_HTTP_FORBIDDEN;
		}
		if (r->national && !rq->user.national) {
			*res = http_fail(e, rq, MHD_HTTP_FORBIDDEN,
					 "cette page est réservée à l'équipe nationale");
			return MHD_HTTP_FORBIDDEN;
		}
		if (r->arg == ARG_ML && !user_sees(&rq->user, rq->arg)) {
			*res = http_fail(e, rq, MHD_HTTP_FORBIDDEN,
					 "« %s » n'est pas votre Mission Locale (%s) : vous ne "
					 "voyez que ce qui la concerne", rq->arg, rq->user.structure);
			return MHD_HTTP_FORBIDDEN;
		}
		/* A change made with the cookie carries the session's CSRF token:
		 * in the header for PUT and DELETE, checked here; in the form for
		 * POST, checked once the body is read. */
		if (rq->auth == AUTH_SESSION && (bit == M_PUT || bit == M_DELETE) &&
		    !session_csrf_ok(&rq->session, editions_csrf_sent(rq))) {
			*res = http_fail(e, rq, MHD_HTTP_FORBIDDEN,
					 "jeton anti-falsification (CSRF) manquant ou incorrect : "
					 "rechargez la page et recommencez");
			return MHD_HTTP_FORBIDDEN;
		}
	}
	if (bit == M_PUT || bit == M_POST) {
		const char *cl = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		size_t max = EDITIONS_UPLOAD_MAX + (bit == M_POST ? EDITIONS_FORM_SLACK : 0);
		if (cl && strtoull(cl, NULL, 10) > max) {
			*res = http_fail(e, rq, MHD_HTTP_CONTENT_TOO_LARGE,
					 "le fichier dépasse %d Mio : rien n'a changé",
					 EDITIONS_UPLOAD_MAX / (1024 * 1024));
			return MHD_HTTP_CONTENT_TOO_LARGE;
		}
	}
	if (bit == M_POST) {
		rq->form = form_new(rq->conn, EDITIONS_UPLOAD_MAX);
		if (!rq->form) {
			*res = http_fail(e, rq, 415, "un formulaire est attendu "
					 "(application/x-www-form-urlencoded ou multipart/form-data)");
			return 415;
		}
	}
	return 0;
}

/* Takes n bytes of the body. Returns MHD_YES, or MHD_NO to close the
 * connection (a body that never ends, out of memory). */
static enum MHD_Result editions_body(struct request *rq, const char *data, size_t n)
{
	if (rq->too_large) {
		/* Read to the end and dropped, then 413; a body that never ends
		 * gets its connection closed. */
		rq->discarded += n;
		return rq->discarded > EDITIONS_DISCARD_MAX ? MHD_NO : MHD_YES;
	}
	if (rq->form) {
		if (form_feed(rq->form, data, n) < 0 && form_too_large(rq->form))
			rq->too_large = 1;
		return MHD_YES;
	}
	if (rq->len + n > EDITIONS_UPLOAD_MAX) {
		rq->too_large = 1;
		free(rq->body);
		rq->body = NULL;
		rq->len = rq->cap = 0;
		return MHD_YES;
	}
	if (rq->len + n + 1 > rq->cap) {
		size_t cap = rq->cap ? rq->cap : 64 * 1024;
		while (cap < rq->len + n + 1)
			cap *= 2;
		char *grown = realloc(rq->body, cap);
		if (!grown)
			return MHD_NO;
		rq->body = grown;
		rq->cap = cap;
	}
	memcpy(rq->body + rq->len, data, n);
	rq->len += n;
	rq->body[rq->len] = '\0';
	return MHD_YES;
}

/* The whole request is in: its handler answers. */
static enum MHD_Result editions_answer(struct editions *e, struct request *rq)
{
	const struct route *r = &routes[rq->route];
	unsigned bit = editions_method_bit(rq->method);
	if (rq->too_large)
		return http_fail(e, rq, MHD_HTTP_CONTENT_TOO_LARGE,
				 "le fichier dépasse %d Mio : rien n'a changé",
				 EDITIONS_UPLOAD_MAX / (1024 * 1024));
	if (rq->form && form_finish(rq->form) < 0)
		return http_fail(e, rq, MHD_HTTP_BAD_REQUEST, "formulaire illisible");
	if (bit == M_POST && rq->auth == AUTH_SESSION &&
	    !session_csrf_ok(&rq->session, editions_csrf_sent(rq)))
		return http_fail(e, rq, MHD_HTTP_FORBIDDEN,
				 "jeton anti-falsification (CSRF) manquant ou incorrect : "
				 "rechargez la page et recommencez");
	handler_fn fn = bit == M_GET ? r->get : bit == M_POST ? r->post
		      : bit == M_PUT ? r->put : r->del;
	return fn(e, rq);
}

static enum MHD_Result editions_on_request(void *cls, struct MHD_Connection *c,
					   const char *url, const char *method,
					   const char *version, const char *upload_data,
					   size_t *upload_data_size, void **con_cls)
{
	(void)version;
	struct editions *e = cls;
	struct request *rq = *con_cls;

	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		rq->conn = c;
		rq->method = method;
		rq->url = url;
		enum MHD_Result res = MHD_YES;
		if (editions_admit(e, rq, &res))
			return res;
		/* The body, if any, comes in the next calls; the answer after. */
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		return editions_body(rq, upload_data, n);
	}
	return editions_answer(e, rq);
}

static void editions_on_completed(void *cls, struct MHD_Connection *c,
				  void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct request *rq = *con_cls;
	if (rq) {
		free(rq->body);
		form_free(rq->form);
		free(rq);
		*con_cls = NULL;
	}
}

static void editions_on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	log_warn("editions: http: %s", line);
}

/* --- start and stop ------------------------------------------------------- */

struct editions *editions_start(const struct editions_conf *conf,
				char *errstr, size_t errstr_size)
{
	struct sockaddr_storage ss;
	socklen_t ss_len = 0;
	if (!conf->listen || !conf->dir || !conf->users) {
		snprintf(errstr, errstr_size,
			 "the editions service needs an address, a folder and a users file");
		return NULL;
	}
	if (net_listen_addr(conf->listen, &ss, &ss_len, errstr, errstr_size) < 0)
		return NULL;
	struct editions *e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(errstr, errstr_size, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&e->users_lock, NULL);
	e->dir = strdup(conf->dir);
	e->users_path = strdup(conf->users);
	e->redis = conf->redis && *conf->redis ? strdup(conf->redis) : NULL;
	e->ref = conf->ref;
	e->has_communes = conf->has_communes;
	e->has_coverage = conf->has_coverage;
	e->secure_cookies = conf->secure_cookies;
	e->session_ttl_s = conf->session_ttl_s > 0 ? conf->session_ttl_s : 8 * 3600;
	e->sessions = session_store_new(e->session_ttl_s, EDITIONS_MAX_SESSIONS,
					EDITIONS_MAX_PENDING);
	e->throttle = throttle_new(EDITIONS_LOGIN_FAILURES, EDITIONS_LOGIN_WINDOW_S,
				   EDITIONS_LOGIN_LOCK_S, EDITIONS_MAX_SESSIONS);
	if (!e->dir || !e->users_path || (conf->redis && *conf->redis && !e->redis) ||
	    !e->sessions || !e->throttle) {
		snprintf(errstr, errstr_size, "out of memory");
		goto fail;
	}
	if (stat(e->users_path, &e->users_st) < 0) {
		snprintf(errstr, errstr_size, "cannot open '%s': %s", e->users_path,
			 strerror(errno));
		goto fail;
	}
	e->users = users_load(e->users_path, errstr, errstr_size);
	if (!e->users)
		goto fail;

	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	unsigned threads = conf->threads ? conf->threads : 4;
	e->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, editions_on_request, e,
		MHD_OPTION_EXTERNAL_LOGGER, editions_on_mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_NOTIFY_COMPLETED, editions_on_completed, NULL,
		MHD_OPTION_UNESCAPE_CALLBACK, editions_unescape, NULL,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256,
		MHD_OPTION_THREAD_POOL_SIZE, threads,
		MHD_OPTION_END);
	if (!e->daemon) {
		snprintf(errstr, errstr_size, "cannot listen on '%s' (address in use, "
			 "or not an address of this machine)", conf->listen);
		goto fail;
	}
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(e->daemon, MHD_DAEMON_INFO_BIND_PORT);
	e->port = info ? info->port : 0;
	log_info("editions: serving '%s' on %s (port %u, %u threads), %zu users from '%s'%s%s%s",
		 e->dir, conf->listen, e->port, threads, users_count(e->users),
		 e->users_path, e->redis ? ", dispositifs from Redis " : "",
		 e->redis ? e->redis : "", e->secure_cookies ? ", Secure cookies" : "");
	return e;
fail:
	editions_stop(e);
	return NULL;
}

unsigned editions_port(const struct editions *e)
{
	return e ? e->port : 0;
}

void editions_stop(struct editions *e)
{
	if (!e)
		return;
	if (e->daemon) {
		MHD_stop_daemon(e->daemon);
		log_info("editions: stopped");
	}
	users_free(e->users);
	session_store_free(e->sessions);
	throttle_free(e->throttle);
	pthread_mutex_destroy(&e->users_lock);
	free(e->dir);
	free(e->users_path);
	free(e->redis);
	free(e);
}
