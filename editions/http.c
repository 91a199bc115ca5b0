#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "referential.h"
#include "report_format.h"
#include "runs.h"

int http_is(const struct request *rq, const char *m)
{
	return strcmp(rq->method, m) == 0;
}

const char *http_arg(const struct request *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* Copies s into out with anything but printable ASCII as '?', for logs. */
static void http_printable(const char *s, char *out, size_t size)
{
	size_t i = 0;
	for (; s && s[i] && i + 1 < size; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[i] = '\0';
}

void http_log(const struct request *rq, unsigned status, const char *what)
{
	char url[160], method[16];
	http_printable(rq->url, url, sizeof(url));
	http_printable(rq->method, method, sizeof(method));
	const char *who = rq->auth != AUTH_NONE ? rq->user.login : "-";
	if (status >= 400 || !(http_is(rq, "GET") || http_is(rq, "HEAD")))
		log_info("editions: %s %s by %s -> %u%s%s", method, url, who, status,
			 what ? " " : "", what ? what : "");
	else
		log_debug("editions: %s %s by %s -> %u", method, url, who, status);
}

enum MHD_Result http_reply(struct request *rq, unsigned status, const char *type,
			   char *body, size_t len, ...)
{
	if (!body)
		return MHD_NO;
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	if (strncmp(type, "text/html", 9) == 0)
		MHD_add_response_header(resp, "Content-Security-Policy",
					"default-src 'none'; style-src 'unsafe-inline'; "
					"img-src data:; form-action 'self'; base-uri 'none'; "
					"frame-ancestors 'none'");
	va_list ap;
	va_start(ap, len);
	for (;;) {
		const char *name = va_arg(ap, const char *);
		if (!name)
			break;
		const char *value = va_arg(ap, const char *);
		if (value)
			MHD_add_response_header(resp, name, value);
	}
	va_end(ap);
	enum MHD_Result r = MHD_queue_response(rq->conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

/* j (consumed) dumped with flags and a final newline, or NULL. */
static char *http_json_text(json_t *j, size_t flags, size_t *len)
{
	char *text = j ? json_dumps(j, flags) : NULL;
	json_decref(j);
	if (!text)
		return NULL;
	*len = strlen(text);
	char *body = realloc(text, *len + 2);
	if (!body) {
		free(text);
		return NULL;
	}
	body[(*len)++] = '\n';
	body[*len] = '\0';
	return body;
}

enum MHD_Result http_json(struct request *rq, unsigned status, json_t *j)
{
	size_t len = 0;
	char *body = http_json_text(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER, &len);
	return http_reply(rq, status, "application/json; charset=utf-8", body, len, NULL);
}

enum MHD_Result http_page(struct request *rq, unsigned status, char *html, size_t len)
{
	return http_reply(rq, status, "text/html; charset=utf-8", html, len, NULL);
}

enum MHD_Result http_redirect(struct request *rq, const char *location,
			      const char *cookie)
{
	static const char text[] = "Voir la page suivante.\n";
	return http_reply(rq, MHD_HTTP_SEE_OTHER, "text/plain; charset=utf-8",
			  strdup(text), sizeof(text) - 1, MHD_HTTP_HEADER_LOCATION, location,
			  MHD_HTTP_HEADER_SET_COOKIE, cookie, NULL);
}

static const char *http_status_title(unsigned status)
{
	switch (status) {
	case 400: return "Requête incorrecte";
	case 401: return "Connexion nécessaire";
	case 403: return "Accès refusé";
	case 404: return "Page introuvable";
	case 405: return "Action impossible ici";
	case 409: return "Action à recommencer";
	case 413: return "Fichier trop volumineux";
	case 415: return "Formulaire attendu";
	case 422: return "Fichier refusé";
	case 429: return "Trop de tentatives";
	case 503: return "Service indisponible";
	default: return "Erreur du serveur";
	}
}

enum MHD_Result http_fail(struct editions *e, struct request *rq, unsigned status,
			  const char *fmt, ...)
{
	char msg[800];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	http_log(rq, status, msg);

	const char *h1 = NULL, *v1 = NULL;
	if (status == MHD_HTTP_UNAUTHORIZED) {
		h1 = MHD_HTTP_HEADER_WWW_AUTHENTICATE;
		v1 = "Bearer realm=\"aij-editions\"";
	}
	if (rq->html) {
		/* A sentence on a page starts with a capital. */
		if (msg[0] >= 'a' && msg[0] <= 'z')
			msg[0] = (char)(msg[0] - 'a' + 'A');
		/* Someone who simply is not logged in yet gets the form alone. */
		if (status == MHD_HTTP_UNAUTHORIZED)
			return login_form(e, rq, status, rq->quiet_401 ? NULL : msg,
					  http_is(rq, "GET") ? rq->url : NULL, 0);
		char title[120], held[600];
		snprintf(title, sizeof(title), "Erreur %u — %s", status,
			 http_status_title(status));
		struct page_frame fr;
		http_frame(e, rq, &fr, title, NULL, NAV_NONE, held, sizeof(held));
		fr.flash = NULL;
		struct page p;
		if (page_begin(&p, &fr) < 0)
			return MHD_NO;
		page_raw(&p, "<section><p class=\"error\">");
		page_esc(&p, msg);
		page_raw(&p, "</p><p><a href=\"/editions.html\">Retour aux rapports</a></p>"
			 "</section>\n");
		size_t len = 0;
		char *html = page_end(&p, &len);
		return http_reply(rq, status, "text/html; charset=utf-8", html, len, h1, v1,
				  NULL);
	}
	size_t len = 0;
	char *body = http_json_text(json_pack("{s:s, s:i}", "error", msg, "status",
					      (int)status),
				    JSON_PRESERVE_ORDER, &len);
	return http_reply(rq, status, "application/json; charset=utf-8", body, len, h1, v1,
			  NULL);
}

/* The banner's text for the held or failed runs, into buf; "" when none. */
static void http_held(struct editions *e, char *buf, size_t size)
{
	buf[0] = '\0';
	char errstr[512];
	json_t *runs = runs_load(e->dir, errstr, sizeof(errstr));
	if (!runs) {
		log_warn("editions: %s", errstr);
		return;
	}
	const json_t *held[2];
	size_t n = runs_held(runs, held);
	size_t len = 0;
	for (size_t i = 0; i < n && len < size; i++) {
		const json_t *h = held[i];
		int dossiers = strcmp(runs_str(h, "kind"), "dossiers") == 0;
		int failed = strcmp(runs_str(h, "status"), "failed") == 0;
		char when[64];
		const char *at = runs_str(h, "finished_at");
		runs_time(*at ? at : runs_str(h, "started_at"), when, sizeof(when));
		const char *reason = runs_reason(h);
		int w;
		if (dossiers)
			w = snprintf(buf + len, size - len,
				     "%sLe dernier chargement des dossiers (%s, %s) %s%s%s. "
				     "L'index des dossiers en service reste le précédent.",
				     len ? " " : "", runs_str(h, "source"), when,
				     failed ? "a échoué" : "a été retenu", *reason ? " : " : "",
				     reason);
		else
			w = snprintf(buf + len, size - len,
				     "%sLa dernière intégration des dispositifs (%s, fichier %s, "
				     "%s) %s%s%s. Les rapports affichés sont ceux de la dernière "
				     "intégration publiée.",
				     len ? " " : "", runs_str(h, "run_id"), runs_str(h, "source"),
				     when, failed ? "a échoué" : "a été retenue",
				     *reason ? " : " : "", reason);
		if (w > 0)
			len += (size_t)w;
	}
	json_decref(runs);
}

void http_frame(struct editions *e, struct request *rq, struct page_frame *fr,
		const char *title, const char *subtitle, enum page_nav nav,
		char *held, size_t held_size)
{
	memset(fr, 0, sizeof(*fr));
	fr->title = title;
	fr->subtitle = subtitle;
	fr->nav = nav;
	if (rq->auth != AUTH_NONE) {
		fr->user = &rq->user;
		if (rq->auth == AUTH_SESSION) {
			fr->csrf = rq->session.csrf;
			fr->flash = rq->session.flash;
		}
	}
	http_held(e, held, held_size);
	fr->held = held[0] ? held : NULL;
}

json_t *editions_summary(const struct editions *e)
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

const char *editions_run_id(const json_t *summary)
{
	const char *r = json_string_value(json_object_get(summary, "run_id"));
	return r && *r ? r : NULL;
}

const char *editions_ml_name(const struct editions *e, const char *code)
{
	if (strcmp(code, REPORT_NATIONAL) == 0)
		return "Rapport national";
	const char *name = e->ref ? ref_ml_name(e->ref, code) : NULL;
	return name ? name : code;
}

