#include "editions.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "dispositif.h"
#include "dossier_index.h"
#include "editions_page.h"
#include "editions_store.h"
#include "editions_users.h"
#include "log.h"
#include "health.h"
#include "metrics.h"
#include "referential.h"

#define EDITIONS_REDIS_TIMEOUT_MS 2000
#define EDITIONS_DOSSIER_MAX      (INDEX_ID_MAX - 1)
#define EDITIONS_DISCARD_MAX      (64u * 1024 * 1024)

struct editions {
	struct MHD_Daemon *daemon;
	char *dir;
	char *users_path;
	char *redis;
	const struct referential *ref;
	/* Only the daemon's one thread touches what follows once started. */
	struct editions_users *users;
	struct stat users_st;
	unsigned port;
};

enum editions_route {
	ROUTE_HEALTHZ,
	ROUTE_METRICS,       /* Prometheus text (reporter/metrics.c), no token */
	ROUTE_LIST,          /* /editions */
	ROUTE_INDEX_PAGE,    /* /editions.html */
	ROUTE_REPORT,        /* /editions/<ml> */
	ROUTE_REPORT_PAGE,   /* /editions/<ml>.html */
	ROUTE_DISPOSITIFS,   /* /dossiers/<id>/dispositifs */
};

/* One request, across the calls libmicrohttpd makes for it. */
struct editions_req {
	enum editions_route route;
	char arg[INDEX_ID_MAX];   /* ml_code or dossier_id */
	const struct editions_user *user;
	int html;                 /* errors as a page */
	int too_large;            /* the body passed EDITIONS_UPLOAD_MAX */
	size_t discarded;         /* bytes dropped since */
	char *body;
	size_t len, cap;
};

/* --- responses --------------------------------------------------------- */

/* Queues body (malloc'ed; the response frees it) with status. */
static enum MHD_Result editions_reply(struct MHD_Connection *c, unsigned status,
				      const char *type, char *body, size_t len,
				      const char *h1, const char *v1,
				      const char *h2, const char *v2)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (strncmp(type, "text/html", 9) == 0)
		MHD_add_response_header(resp, "Content-Security-Policy",
					"default-src 'none'; style-src 'unsafe-inline'; "
					"img-src data:; form-action 'none'; "
					"frame-ancestors 'none'");
	if (h1)
		MHD_add_response_header(resp, h1, v1);
	if (h2)
		MHD_add_response_header(resp, h2, v2);
	enum MHD_Result r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

/* Queues the JSON j (consumed; NULL: out of memory, MHD_NO) dumped with
 * json_dumps() flags and a final newline, plus the header h1: v1 when h1. */
static enum MHD_Result editions_json_reply(struct MHD_Connection *c, unsigned status,
					   json_t *j, size_t flags,
					   const char *h1, const char *v1)
{
	char *text = j ? json_dumps(j, flags) : NULL;
	json_decref(j);
	if (!text)
		return MHD_NO;
	size_t len = strlen(text);
	char *body = realloc(text, len + 2);
	if (!body) {
		free(text);
		return MHD_NO;
	}
	body[len++] = '\n';
	return editions_reply(c, status, "application/json; charset=utf-8", body, len,
			      h1, v1, NULL, NULL);
}

/* Queues the JSON j (consumed), indented for whoever reads it. */
static enum MHD_Result editions_json(struct MHD_Connection *c, unsigned status,
				     json_t *j)
{
	return editions_json_reply(c, status, j, JSON_INDENT(2) | JSON_PRESERVE_ORDER,
				   NULL, NULL);
}

/* Copies s into out with anything but printable ASCII as '?', for logs. */
static void editions_printable(const char *s, char *out, size_t size)
{
	size_t i = 0;
	for (; s && s[i] && i + 1 < size; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[i] = '\0';
}

static const char *const editions_route_names[] = {
	"healthz", "metrics", "list", "index page", "report", "report page", "dispositifs",
};

static void editions_log(struct MHD_Connection *c, const struct editions_req *req,
			 const char *method, unsigned status, const char *what)
{
	(void)c;
	char arg[80];
	editions_printable(req ? req->arg : "", arg, sizeof(arg));
	const char *who = req && req->user ? req->user->login : "-";
	if (status >= 400 || strcmp(method, "GET") != 0)
		log_info("editions: %s %s '%s' by %s -> %u %s", method,
			 req ? editions_route_names[req->route] : "?", arg, who, status,
			 what ? what : "");
	else
		log_debug("editions: %s '%s' by %s -> %u", method, arg, who, status);
}

/* An error: {"error": message, "status": N}, or a small page on .html routes. */
static enum MHD_Result editions_fail(struct MHD_Connection *c,
				     const struct editions_req *req,
				     const char *method, unsigned status,
				     const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static enum MHD_Result editions_fail(struct MHD_Connection *c,
				     const struct editions_req *req,
				     const char *method, unsigned status,
				     const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	editions_log(c, req, method, status, msg);

	const char *h1 = NULL, *v1 = NULL;
	if (status == MHD_HTTP_UNAUTHORIZED) {
		h1 = MHD_HTTP_HEADER_WWW_AUTHENTICATE;
		v1 = "Bearer realm=\"aij-editions\"";
	}
	if (req && req->html) {
		size_t len = 0;
		char *page = editions_page_error((int)status, msg, &len);
		if (!page)
			return MHD_NO;
		return editions_reply(c, status, "text/html; charset=utf-8", page, len,
				      h1, v1, NULL, NULL);
	}
	/* Compact, as errors have always been sent (editions_json() indents). */
	json_t *j = json_pack("{s:s, s:i}", "error", msg, "status", (int)status);
	return editions_json_reply(c, status, j, JSON_PRESERVE_ORDER, h1, v1);
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

/* A dossier id in a path: [A-Za-z0-9_.-], not "." nor "..". */
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

/* Fills req->route and req->arg from the decoded path. Returns 0, or the
 * HTTP status of the error with msg set. */
static unsigned editions_route(const char *url, struct editions_req *req,
			       char *msg, size_t msg_size)
{
	if (strcmp(url, "/healthz") == 0) {
		req->route = ROUTE_HEALTHZ;
		return 0;
	}
	if (strcmp(url, "/metrics") == 0) {
		req->route = ROUTE_METRICS;
		return 0;
	}
	if (strcmp(url, "/editions") == 0) {
		req->route = ROUTE_LIST;
		return 0;
	}
	if (strcmp(url, "/editions.html") == 0) {
		req->route = ROUTE_INDEX_PAGE;
		req->html = 1;
		return 0;
	}
	if (strncmp(url, "/editions/", 10) == 0) {
		const char *code = url + 10;
		size_t n = strlen(code);
		req->route = ROUTE_REPORT;
		if (n > 5 && strcmp(code + n - 5, ".html") == 0) {
			req->route = ROUTE_REPORT_PAGE;
			req->html = 1;
			n -= 5;
		}
		if (n == 0 || n > EDITIONS_CODE_MAX) {
			snprintf(msg, msg_size, "bad report name: an ML code is 1 to %d "
				 "characters among A-Z a-z 0-9 _ -", EDITIONS_CODE_MAX);
			return MHD_HTTP_BAD_REQUEST;
		}
		memcpy(req->arg, code, n);
		req->arg[n] = '\0';
		if (!editions_code_valid(req->arg)) {
			snprintf(msg, msg_size, "bad report name: an ML code is 1 to %d "
				 "characters among A-Z a-z 0-9 _ -", EDITIONS_CODE_MAX);
			req->arg[0] = '\0';
			return MHD_HTTP_BAD_REQUEST;
		}
		return 0;
	}
	if (strncmp(url, "/dossiers/", 10) == 0) {
		const char *id = url + 10;
		const char *slash = strchr(id, '/');
		if (slash && strcmp(slash, "/dispositifs") == 0) {
			size_t n = (size_t)(slash - id);
			if (n == 0 || n > EDITIONS_DOSSIER_MAX) {
				snprintf(msg, msg_size, "bad dossier id");
				return MHD_HTTP_BAD_REQUEST;
			}
			memcpy(req->arg, id, n);
			req->arg[n] = '\0';
			req->route = ROUTE_DISPOSITIFS;
			if (!editions_dossier_valid(req->arg)) {
				req->arg[0] = '\0';
				snprintf(msg, msg_size, "bad dossier id: 1 to %d characters "
					 "among A-Z a-z 0-9 _ - .", EDITIONS_DOSSIER_MAX);
				return MHD_HTTP_BAD_REQUEST;
			}
			return 0;
		}
	}
	snprintf(msg, msg_size, "no such resource (see /editions)");
	return MHD_HTTP_NOT_FOUND;
}

static const char *editions_allow(enum editions_route route)
{
	return route == ROUTE_REPORT ? "GET, HEAD, PUT, DELETE" : "GET, HEAD";
}

static int editions_method_ok(enum editions_route route, const char *method)
{
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
		return 1;
	return route == ROUTE_REPORT &&
	       (strcmp(method, "PUT") == 0 || strcmp(method, "DELETE") == 0);
}

/* --- users ------------------------------------------------------------- */

/* Reloads the users file when it changed on disk; a bad new version is
 * logged and the previous users stay in force. */
static void editions_users_refresh(struct editions *e)
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
	struct editions_users *users = editions_users_load(e->users_path, errstr,
							   sizeof(errstr));
	e->users_st = st; /* do not retry a bad file on every request */
	if (!users) {
		log_error("editions: %s (previous users kept)", errstr);
		return;
	}
	editions_users_free(e->users);
	e->users = users;
	log_info("editions: users reloaded from '%s': %zu users", e->users_path,
		 editions_users_count(users));
}

/* The token of the request: the Bearer token, or on the .html pages the
 * ?token= parameter. NULL when there is none. */
static const char *editions_token(struct MHD_Connection *c,
				  const struct editions_req *req, const char *method)
{
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_AUTHORIZATION);
	if (auth) {
		while (*auth == ' ')
			auth++;
		if (strncasecmp(auth, "Bearer ", 7) != 0)
			return NULL;
		auth += 7;
		while (*auth == ' ')
			auth++;
		return *auth ? auth : NULL;
	}
	if (req->html && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)) {
		const char *t = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
							    "token");
		return t && *t ? t : NULL;
	}
	return NULL;
}

/* --- the run ------------------------------------------------------------ */

/* summary.json of the latest run, or NULL (new reference). */
static json_t *editions_summary(const struct editions *e)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/summary.json", e->dir);
	json_error_t jerr;
	json_t *s = json_load_file(path, 0, &jerr);
	if (!s && access(path, F_OK) == 0)
		log_warn("editions: cannot read '%s': %s", path, jerr.text);
	if (s && !json_is_object(s)) {
		json_decref(s);
		return NULL;
	}
	return s;
}

static const char *editions_run_id(const json_t *summary)
{
	const char *r = json_string_value(json_object_get(summary, "run_id"));
	return r && *r ? r : NULL;
}

static void editions_iso_time(time_t t, char *buf, size_t size)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The download's file name, "_Rapport intégration AIJ - <ML> - <run>.csv",
 * as the two parameters of Content-Disposition: filename= in ASCII for old
 * clients, filename*= in UTF-8 (RFC 6266, RFC 5987). */
static void editions_disposition(const char *ml_code, const char *run_id,
				 char *name, size_t name_size,
				 char *header, size_t header_size)
{
	char run[64];
	const char *ml = strcmp(ml_code, EDITIONS_NATIONAL_REPORT) == 0 ? "national"
									 : ml_code;
	/* The run id comes from a file: keep only safe characters. */
	size_t k = 0;
	for (const char *s = run_id ? run_id : ""; *s && k + 1 < sizeof(run); s++) {
		char ch = *s;
		int ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			 (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
		run[k++] = ok ? ch : '_';
	}
	run[k] = '\0';
	if (k)
		snprintf(name, name_size, "_Rapport int\xc3\xa9gration AIJ - %s - %s.csv", ml, run);
	else
		snprintf(name, name_size, "_Rapport int\xc3\xa9gration AIJ - %s.csv", ml);

	char ascii[256], enc[512];
	size_t a = 0, w = 0;
	for (const unsigned char *s = (const unsigned char *)name; *s; s++) {
		if (*s < 0x80) {
			if (a + 1 < sizeof(ascii))
				ascii[a++] = (char)*s;
		} else if ((*s & 0xC0) == 0xC0 && a + 1 < sizeof(ascii)) {
			ascii[a++] = (s[0] == 0xC3 && s[1] == 0xA9) ? 'e' : '_';
		}
		int plain = (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
			    (*s >= '0' && *s <= '9') || strchr("-_.~", *s);
		if (plain && w + 1 < sizeof(enc))
			enc[w++] = (char)*s;
		else if (!plain && w + 3 < sizeof(enc))
			w += (size_t)snprintf(enc + w, sizeof(enc) - w, "%%%02X", *s);
	}
	ascii[a] = '\0';
	enc[w] = '\0';
	snprintf(header, header_size, "attachment; filename=\"%s\"; filename*=UTF-8''%s",
		 ascii, enc);
}

/* --- handlers ------------------------------------------------------------ */

/* What a page of the run shows for req. The ?token= is carried on the page's
 * links, as a browser following them sends no Authorization header; a caller
 * that authenticated by header gets none, so no token is written in its page. */
static struct editions_page editions_html_context(const struct editions *e,
						  struct MHD_Connection *c,
						  const struct editions_req *req,
						  const char *run_id, const json_t *summary)
{
	struct editions_page p = {
		.user = req->user,
		.token = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_AUTHORIZATION)
				 ? NULL
				 : MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token"),
		.run_id = run_id, .summary = summary, .ref = e->ref,
	};
	return p;
}

/* Queues the page (from editions_page_*(), consumed) with 200; MHD_NO when
 * it could not be built (page NULL: out of memory). */
static enum MHD_Result editions_html_reply(struct MHD_Connection *c, char *page, size_t len)
{
	return page ? editions_reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", page, len,
				     NULL, NULL, NULL, NULL)
		    : MHD_NO;
}

static enum MHD_Result editions_list(struct editions *e, struct MHD_Connection *c,
				     struct editions_req *req, const char *method)
{
	struct editions_entry *entries = NULL;
	size_t n = 0;
	char errstr[512];
	if (editions_store_list(e->dir, &entries, &n, errstr, sizeof(errstr)) < 0) {
		log_error("editions: %s", errstr);
		return editions_fail(c, req, method, MHD_HTTP_INTERNAL_SERVER_ERROR,
				     "cannot list the reports");
	}
	/* Only what the caller may see. */
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		if (editions_user_sees(req->user, entries[i].ml_code))
			entries[kept++] = entries[i];
	}
	json_t *summary = editions_summary(e);
	const char *run_id = editions_run_id(summary);
	enum MHD_Result r;

	if (req->route == ROUTE_INDEX_PAGE) {
		struct editions_page p = editions_html_context(e, c, req, run_id, summary);
		size_t len = 0;
		char *page = editions_page_index(&p, entries, kept, &len);
		r = editions_html_reply(c, page, len);
		editions_log(c, req, method, MHD_HTTP_OK, NULL);
		free(entries);
		json_decref(summary);
		return r;
	}

	json_t *list = json_array();
	for (size_t i = 0; i < kept; i++) {
		const struct editions_entry *en = &entries[i];
		char when[32], csv[100], html[100];
		editions_iso_time(en->mtime, when, sizeof(when));
		snprintf(csv, sizeof(csv), "/editions/%s", en->ml_code);
		snprintf(html, sizeof(html), "/editions/%s.html", en->ml_code);
		int national = strcmp(en->ml_code, EDITIONS_NATIONAL_REPORT) == 0;
		const char *name = national ? "Rapport national"
			: e->ref ? ref_ml_name(e->ref, en->ml_code) : NULL;
		json_array_append_new(list, json_pack(
			"{s:s, s:o, s:o, s:s, s:I, s:I, s:{s:s, s:s}}",
			"ml_code", en->ml_code,
			"ml_name", name ? json_string(name) : json_null(),
			"run_id", run_id ? json_string(run_id) : json_null(),
			"date", when,
			"rows", (json_int_t)en->rows,
			"size", (json_int_t)en->size,
			"links", "csv", csv, "html", html));
	}
	json_t *j = json_pack("{s:o, s:s, s:s, s:o}",
			      "run_id", run_id ? json_string(run_id) : json_null(),
			      "user", req->user->login,
			      "structure", req->user->structure,
			      "editions", list);
	free(entries);
	json_decref(summary);
	editions_log(c, req, method, MHD_HTTP_OK, NULL);
	return editions_json(c, MHD_HTTP_OK, j);
}

static enum MHD_Result editions_get_report(struct editions *e, struct MHD_Connection *c,
					   struct editions_req *req, const char *method)
{
	char *data = NULL;
	size_t len = 0;
	struct editions_entry info;
	char errstr[512];
	int r = editions_store_read(e->dir, req->arg, &data, &len, &info, errstr,
				    sizeof(errstr));
	if (r < 0) {
		log_error("editions: %s", errstr);
		return editions_fail(c, req, method, MHD_HTTP_INTERNAL_SERVER_ERROR,
				     "cannot read the report");
	}
	if (r == 1)
		return editions_fail(c, req, method, MHD_HTTP_NOT_FOUND,
				     "no report '%s' in the latest run (none this week, "
				     "or deleted)", req->arg);
	json_t *summary = editions_summary(e);
	const char *run_id = editions_run_id(summary);
	char name[256], disposition[1024];
	editions_disposition(req->arg, run_id, name, sizeof(name), disposition,
			     sizeof(disposition));
	enum MHD_Result res;
	if (req->route == ROUTE_REPORT_PAGE) {
		struct editions_page p = editions_html_context(e, c, req, run_id, summary);
		size_t plen = 0;
		char *page = editions_page_report(&p, &info, data, len, name, &plen);
		free(data);
		res = editions_html_reply(c, page, plen);
	} else {
		char modified[64];
		struct tm tm;
		gmtime_r(&info.mtime, &tm);
		strftime(modified, sizeof(modified), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		res = editions_reply(c, MHD_HTTP_OK, "text/csv; charset=utf-8", data, len,
				     MHD_HTTP_HEADER_CONTENT_DISPOSITION, disposition,
				     MHD_HTTP_HEADER_LAST_MODIFIED, modified);
	}
	json_decref(summary);
	editions_log(c, req, method, MHD_HTTP_OK, NULL);
	return res;
}

static enum MHD_Result editions_put_report(struct editions *e, struct MHD_Connection *c,
					   struct editions_req *req, const char *method)
{
	if (req->too_large)
		return editions_fail(c, req, method, MHD_HTTP_CONTENT_TOO_LARGE,
				     "the upload is larger than %d bytes; nothing changed",
				     EDITIONS_UPLOAD_MAX);
	char errstr[512];
	long rows = editions_report_check(req->body ? req->body : "", req->len, errstr,
					  sizeof(errstr));
	if (rows < 0)
		return editions_fail(c, req, method, MHD_HTTP_UNPROCESSABLE_CONTENT,
				     "not a report: %s; nothing changed", errstr);
	int r = editions_store_replace(e->dir, req->arg, req->body, req->len, errstr,
				       sizeof(errstr));
	if (r < 0) {
		log_error("editions: %s", errstr);
		return editions_fail(c, req, method, MHD_HTTP_INTERNAL_SERVER_ERROR,
				     "cannot replace the report; nothing changed");
	}
	if (r == 1)
		return editions_fail(c, req, method, MHD_HTTP_NOT_FOUND,
				     "no report '%s' in the latest run", req->arg);
	editions_log(c, req, method, MHD_HTTP_OK, "replaced");
	return editions_json(c, MHD_HTTP_OK,
			     json_pack("{s:s, s:b, s:I, s:I}", "ml_code", req->arg,
				       "replaced", 1, "rows", (json_int_t)rows,
				       "size", (json_int_t)req->len));
}

static enum MHD_Result editions_delete_report(struct editions *e, struct MHD_Connection *c,
					      struct editions_req *req, const char *method)
{
	char errstr[512];
	int r = editions_store_delete(e->dir, req->arg, errstr, sizeof(errstr));
	if (r < 0) {
		log_error("editions: %s", errstr);
		return editions_fail(c, req, method, MHD_HTTP_INTERNAL_SERVER_ERROR,
				     "cannot delete the report");
	}
	if (r == 1)
		return editions_fail(c, req, method, MHD_HTTP_NOT_FOUND,
				     "no report '%s' in the latest run", req->arg);
	editions_log(c, req, method, MHD_HTTP_OK, "deleted");
	return editions_json(c, MHD_HTTP_OK,
			     json_pack("{s:s, s:b}", "ml_code", req->arg, "deleted", 1));
}

static int editions_strcmp_p(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The dossier's dispositifs from Redis (aij:dispositifs:<id>). The
 * dossier's ML comes from the current index generation (index_ml_get). */
static enum MHD_Result editions_dispositifs(struct editions *e, struct MHD_Connection *c,
					    struct editions_req *req, const char *method)
{
	if (!e->redis)
		return editions_fail(c, req, method, MHD_HTTP_SERVICE_UNAVAILABLE,
				     "no Redis configured (--redis)");
	char errstr[512];
	redisContext *rc = index_connect(e->redis, EDITIONS_REDIS_TIMEOUT_MS, errstr,
					 sizeof(errstr));
	if (!rc) {
		log_error("editions: %s", errstr);
		return editions_fail(c, req, method, MHD_HTTP_SERVICE_UNAVAILABLE,
				     "the dossier index is unreachable");
	}
	char mlbuf[128];
	const char *ml = NULL;
	json_t *items = NULL;
	unsigned status = 0;
	const char *msg = NULL;

	int found = index_ml_get(rc, req->arg, mlbuf, sizeof(mlbuf), errstr,
				 sizeof(errstr));
	if (found < 0 && rc->err) {
		log_error("editions: %s", errstr);
		status = MHD_HTTP_SERVICE_UNAVAILABLE;
		msg = "the dossier index is unreachable";
		goto out;
	}
	/* No index loaded yet: no dossier has a known ML. */
	if (found == 1)
		ml = mlbuf;
	if (!req->user->national && (!ml || strcmp(ml, req->user->structure) != 0)) {
		status = ml ? MHD_HTTP_FORBIDDEN : MHD_HTTP_NOT_FOUND;
		msg = ml ? "this dossier belongs to another Mission Locale"
			 : "no such dossier in the index";
		goto out;
	}
	redisReply *h = redisCommand(rc, "HGETALL %s%s", INDEX_KEY_DISPOSITIFS, req->arg);
	if (!h || h->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(h);
		status = MHD_HTTP_SERVICE_UNAVAILABLE;
		msg = "the dossier index is unreachable";
		goto out;
	}
	/* Sorted by identity so that the answer does not depend on Redis. */
	json_t *by_id = json_object();
	for (size_t i = 0; i + 1 < h->elements; i += 2) {
		const char *field = h->element[i]->str, *value = h->element[i + 1]->str;
		if (!field || !value)
			continue;
		json_t *d = dispositif_decode(value);
		if (!d)
			d = json_pack("{s:s}", "raw", value);
		json_object_set_new(d, "identity", json_string(field));
		json_object_set_new(by_id, field, d);
	}
	freeReplyObject(h);
	if (!ml && json_object_size(by_id) == 0) {
		json_decref(by_id);
		status = MHD_HTTP_NOT_FOUND;
		msg = "no such dossier";
		goto out;
	}
	items = json_array();
	const char **keys = calloc(json_object_size(by_id) + 1, sizeof(*keys));
	size_t nk = 0;
	const char *key;
	json_t *v;
	json_object_foreach(by_id, key, v) {
		if (keys)
			keys[nk++] = key;
	}
	if (keys) {
		qsort(keys, nk, sizeof(*keys), editions_strcmp_p);
		for (size_t i = 0; i < nk; i++)
			json_array_append(items, json_object_get(by_id, keys[i]));
	}
	free(keys);
	json_decref(by_id);
out:
	redisFree(rc);
	if (status) {
		json_decref(items);
		return editions_fail(c, req, method, status, "%s", msg);
	}
	json_t *j = json_pack("{s:s, s:o, s:o}", "dossier_id", req->arg,
			      "ml_code", ml ? json_string(ml) : json_null(),
			      "dispositifs", items);
	editions_log(c, req, method, MHD_HTTP_OK, NULL);
	return editions_json(c, MHD_HTTP_OK, j);
}

/* --- the request's life -------------------------------------------------- */

/* Everything decided from the request line and headers alone, before any
 * body is read: an upload refused here is never read at all. Returns 0 to
 * go on, or the status of an error already queued (as *res). */
static int editions_admit(struct editions *e, struct MHD_Connection *c,
			  struct editions_req *req, const char *url,
			  const char *method, enum MHD_Result *res)
{
	char msg[256];
	unsigned status = editions_route(url, req, msg, sizeof(msg));
	if (status) {
		*res = editions_fail(c, req, method, status, "%s", msg);
		return (int)status;
	}
	if (!editions_method_ok(req->route, method)) {
		/* The error must carry Allow: built here rather than by
		 * editions_fail(). */
		char m[32], why[160];
		editions_printable(method, m, sizeof(m));
		snprintf(why, sizeof(why), "method %s not allowed here (allowed: %s)", m,
			 editions_allow(req->route));
		editions_log(c, req, method, MHD_HTTP_METHOD_NOT_ALLOWED, why);
		json_t *j = json_pack("{s:s, s:i}", "error", why, "status", 405);
		char *text = j ? json_dumps(j, JSON_PRESERVE_ORDER) : NULL;
		json_decref(j);
		*res = text ? editions_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED,
					     "application/json; charset=utf-8", text,
					     strlen(text), MHD_HTTP_HEADER_ALLOW,
					     editions_allow(req->route), NULL, NULL)
			    : MHD_NO;
		return MHD_HTTP_METHOD_NOT_ALLOWED;
	}
	if (req->route == ROUTE_HEALTHZ || req->route == ROUTE_METRICS)
		return 0;

	editions_users_refresh(e);
	const char *token = editions_token(c, req, method);
	if (!token) {
		const char *qt = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
		*res = editions_fail(c, req, method, MHD_HTTP_UNAUTHORIZED,
				     qt ? "missing token: send 'Authorization: Bearer <token>' "
					  "(?token= is accepted on the .html pages only)"
					: "missing token: send 'Authorization: Bearer <token>'");
		return MHD_HTTP_UNAUTHORIZED;
	}
	req->user = editions_users_find(e->users, token);
	if (!req->user) {
		*res = editions_fail(c, req, method, MHD_HTTP_UNAUTHORIZED, "unknown token");
		return MHD_HTTP_UNAUTHORIZED;
	}

	unsigned need = EDITIONS_CONSULTER;
	const char *need_names = "consulter_edition";
	if (req->route == ROUTE_REPORT && strcmp(method, "PUT") == 0) {
		need = EDITIONS_GERER;
		need_names = "gerer_editions";
	} else if (req->route == ROUTE_REPORT && strcmp(method, "DELETE") == 0) {
		need = EDITIONS_GERER;
		need_names = "gerer_editions";
	} else if (req->route == ROUTE_REPORT) {
		need = EDITIONS_CONSULTER | EDITIONS_TELECHARGER;
		need_names = "consulter_edition and telecharger_rapports";
	}
	if ((req->user->rights & need) != need) {
		*res = editions_fail(c, req, method, MHD_HTTP_FORBIDDEN,
				     "this needs the right%s %s", strchr(need_names, ' ') ? "s" : "",
				     need_names);
		return MHD_HTTP_FORBIDDEN;
	}
	if ((req->route == ROUTE_REPORT || req->route == ROUTE_REPORT_PAGE) &&
	    !editions_user_sees(req->user, req->arg)) {
		*res = editions_fail(c, req, method, MHD_HTTP_FORBIDDEN,
				     "the report '%s' is not one of %s's", req->arg,
				     req->user->structure);
		return MHD_HTTP_FORBIDDEN;
	}
	if (req->route == ROUTE_REPORT && strcmp(method, "PUT") == 0) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > EDITIONS_UPLOAD_MAX) {
			*res = editions_fail(c, req, method, MHD_HTTP_CONTENT_TOO_LARGE,
					     "the upload is larger than %d bytes; nothing changed",
					     EDITIONS_UPLOAD_MAX);
			return MHD_HTTP_CONTENT_TOO_LARGE;
		}
	}
	return 0;
}

static enum MHD_Result editions_on_request(void *cls, struct MHD_Connection *c,
					   const char *url, const char *method,
					   const char *version, const char *upload_data,
					   size_t *upload_data_size, void **con_cls)
{
	(void)version;
	struct editions *e = cls;
	struct editions_req *req = *con_cls;

	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		*con_cls = req;
		enum MHD_Result res = MHD_YES;
		if (editions_admit(e, c, req, url, method, &res))
			return res;
		if (strcmp(method, "PUT") == 0)
			return MHD_YES; /* the body comes in the next calls */
	} else if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (req->too_large || req->len + n > EDITIONS_UPLOAD_MAX) {
			/* Read to the end and drop, then answer 413; a body that
			 * never ends gets its connection closed. */
			req->discarded += n;
			if (req->discarded > EDITIONS_DISCARD_MAX)
				return MHD_NO;
			req->too_large = 1;
			free(req->body);
			req->body = NULL;
			req->len = req->cap = 0;
			return MHD_YES;
		}
		if (req->len + n + 1 > req->cap) {
			size_t cap = req->cap ? req->cap : 64 * 1024;
			while (cap < req->len + n + 1)
				cap *= 2;
			char *grown = realloc(req->body, cap);
			if (!grown)
				return MHD_NO;
			req->body = grown;
			req->cap = cap;
		}
		memcpy(req->body + req->len, upload_data, n);
		req->len += n;
		return MHD_YES;
	}

	switch (req->route) {
	case ROUTE_HEALTHZ: {
		char reason[512], *text = NULL;
		/* The run history only: Redis is the reporter's to watch. */
		int degraded = health_check(e->dir, NULL, reason, sizeof(reason));
		int len = degraded ? asprintf(&text, "degraded: %s\n", reason)
				   : asprintf(&text, "ok\n");
		return len < 0 ? MHD_NO
			       : editions_reply(c, MHD_HTTP_OK, "text/plain; charset=utf-8",
						text, (size_t)len, NULL, NULL, NULL, NULL);
	}
	case ROUTE_METRICS: {
		size_t len = 0;
		char reason[512];
		if (!health_check(e->dir, NULL, reason, sizeof(reason)))
			reason[0] = '\0';
		char *text = metrics_render(reason, &len);
		return text ? editions_reply(c, MHD_HTTP_OK,
					     "text/plain; version=0.0.4; charset=utf-8",
					     text, len, NULL, NULL, NULL, NULL)
			    : MHD_NO;
	}
	case ROUTE_LIST:
	case ROUTE_INDEX_PAGE:
		return editions_list(e, c, req, method);
	case ROUTE_REPORT_PAGE:
		return editions_get_report(e, c, req, method);
	case ROUTE_REPORT:
		if (strcmp(method, "PUT") == 0)
			return editions_put_report(e, c, req, method);
		if (strcmp(method, "DELETE") == 0)
			return editions_delete_report(e, c, req, method);
		return editions_get_report(e, c, req, method);
	case ROUTE_DISPOSITIFS:
		return editions_dispositifs(e, c, req, method);
	}
	return MHD_NO;
}

static void editions_on_completed(void *cls, struct MHD_Connection *c,
				  void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct editions_req *req = *con_cls;
	if (req) {
		free(req->body);
		free(req);
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

/* Resolves "ADDR:PORT" ("[v6]:PORT" too; an empty ADDR is every address). */
static int editions_resolve(const char *listen, struct sockaddr_storage *ss,
			    socklen_t *ss_len, char *errstr, size_t errstr_size)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	if (!colon || !colon[1]) {
		snprintf(errstr, errstr_size, "bad listen address '%s' (want ADDR:PORT)", listen);
		return -1;
	}
	size_t hl = (size_t)(colon - listen);
	if (hl >= sizeof(host)) {
		snprintf(errstr, errstr_size, "bad listen address '%s'", listen);
		return -1;
	}
	memcpy(host, listen, hl);
	host[hl] = '\0';
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	char *end;
	errno = 0;
	long port = strtol(colon + 1, &end, 10);
	if (*end || errno || port < 0 || port > 65535) {
		snprintf(errstr, errstr_size, "bad port in listen address '%s'", listen);
		return -1;
	}
	struct addrinfo hints, *ai = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	int gai = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai);
	if (gai != 0 || !ai) {
		snprintf(errstr, errstr_size, "cannot resolve '%s': %s", listen,
			 gai_strerror(gai));
		return -1;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*ss_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

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
	if (editions_resolve(conf->listen, &ss, &ss_len, errstr, errstr_size) < 0)
		return NULL;
	struct editions *e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(errstr, errstr_size, "out of memory");
		return NULL;
	}
	e->dir = strdup(conf->dir);
	e->users_path = strdup(conf->users);
	e->redis = conf->redis && *conf->redis ? strdup(conf->redis) : NULL;
	e->ref = conf->ref;
	if (!e->dir || !e->users_path || (conf->redis && *conf->redis && !e->redis)) {
		snprintf(errstr, errstr_size, "out of memory");
		goto fail;
	}
	if (stat(e->users_path, &e->users_st) < 0) {
		snprintf(errstr, errstr_size, "cannot open '%s': %s", e->users_path,
			 strerror(errno));
		goto fail;
	}
	e->users = editions_users_load(e->users_path, errstr, errstr_size);
	if (!e->users)
		goto fail;

	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	e->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, editions_on_request, e,
		MHD_OPTION_EXTERNAL_LOGGER, editions_on_mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_NOTIFY_COMPLETED, editions_on_completed, NULL,
		MHD_OPTION_UNESCAPE_CALLBACK, editions_unescape, NULL,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256,
		MHD_OPTION_END);
	if (!e->daemon) {
		snprintf(errstr, errstr_size, "cannot listen on '%s' (address in use, "
			 "or not an address of this machine)", conf->listen);
		goto fail;
	}
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(e->daemon, MHD_DAEMON_INFO_BIND_PORT);
	e->port = info ? info->port : 0;
	(void)ss_len;
	log_info("editions: serving '%s' on %s (port %u), %zu users from '%s'%s%s",
		 e->dir, conf->listen, e->port, editions_users_count(e->users),
		 e->users_path, e->redis ? ", dispositifs from Redis " : "",
		 e->redis ? e->redis : "");
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
	editions_users_free(e->users);
	free(e->dir);
	free(e->users_path);
	free(e->redis);
	free(e);
}
