/* Logging in and out: GET /login (the form), POST /login (login, password:
 * 303 with the session cookie), POST /logout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "clock.h"
#include "http.h"
#include "log.h"

#define LOGIN_NEXT_DEFAULT "/editions.html"

/* 1 when next is a path of this service to go to after logging in: starts
 * with one '/', no backslash, no control character, not /login itself. */
static int login_next_ok(const char *next)
{
	if (!next || next[0] != '/' || next[1] == '/' || strlen(next) > 512 ||
	    strncmp(next, "/login", 6) == 0 || strncmp(next, "/logout", 7) == 0)
		return 0;
	for (const char *p = next; *p; p++)
		if ((unsigned char)*p < 0x21 || *p == '\\' || *p == 0x7f)
			return 0;
	return 1;
}

enum MHD_Result login_form(struct editions *e, struct request *rq, unsigned status,
			   const char *message, const char *next, long retry_after)
{
	char held[600];
	struct page_frame fr;
	http_frame(e, rq, &fr, "Connexion", "Éditions — _Rapport intégration AIJ",
		   NAV_NONE, held, sizeof(held));
	/* The form is for whoever is there: no menu, no log-out button. */
	fr.user = NULL;
	fr.csrf = NULL;
	fr.flash = NULL;
	struct page p;
	if (page_begin(&p, &fr) < 0)
		return MHD_NO;
	page_raw(&p, "<section class=\"login\"><h2>Se connecter</h2>");
	if (message) {
		page_raw(&p, "<p class=\"error\" role=\"alert\">");
		page_esc(&p, message);
		page_raw(&p, "</p>");
	} else if (http_arg(rq, "sortie")) {
		page_raw(&p, "<p class=\"flash\" role=\"status\">Vous êtes déconnecté.</p>");
	}
	page_raw(&p, "<form method=\"post\" action=\"/login\">"
		 "<label for=\"login\">Identifiant</label>"
		 "<input type=\"text\" id=\"login\" name=\"login\" autocomplete=\"username\" "
		 "required autofocus>"
		 "<label for=\"password\">Mot de passe</label>"
		 "<input type=\"password\" id=\"password\" name=\"password\" "
		 "autocomplete=\"current-password\" required>");
	if (login_next_ok(next))
		page_hidden(&p, "next", next);
	page_raw(&p, "<p><button class=\"btn\" type=\"submit\">Se connecter</button></p>"
		 "</form><p class=\"muted\">Votre identifiant et votre mot de passe vous sont "
		 "donnés par l'équipe nationale. Après 5 essais manqués en 15 minutes, "
		 "l'identifiant est bloqué 15 minutes.</p></section>\n");
	size_t len = 0;
	char *html = page_end(&p, &len);
	char retry[32];
	snprintf(retry, sizeof(retry), "%ld", retry_after);
	return http_reply(rq, status, "text/html; charset=utf-8", html, len,
			  MHD_HTTP_HEADER_WWW_AUTHENTICATE,
			  status == MHD_HTTP_UNAUTHORIZED ? "Bearer realm=\"aij-editions\"" : NULL,
			  MHD_HTTP_HEADER_RETRY_AFTER, retry_after > 0 ? retry : NULL, NULL);
}

enum MHD_Result login_get(struct editions *e, struct request *rq)
{
	http_log(rq, MHD_HTTP_OK, NULL);
	return login_form(e, rq, MHD_HTTP_OK, NULL, http_arg(rq, "next"), 0);
}

/* The session cookie's Set-Cookie value: id, or "" with Max-Age=0. */
static void login_cookie(const struct editions *e, const char *id, char *buf, size_t size)
{
	snprintf(buf, size, "%s=%s; Path=/; Max-Age=%ld; HttpOnly; SameSite=Lax%s",
		 EDITIONS_COOKIE, id, *id ? e->session_ttl_s : 0L,
		 e->secure_cookies ? "; Secure" : "");
}

enum MHD_Result login_post(struct editions *e, struct request *rq)
{
	const char *login = form_value(rq->form, "login", NULL);
	const char *password = form_value(rq->form, "password", NULL);
	const char *next = form_value(rq->form, "next", NULL);
	if (!login_next_ok(next))
		next = NULL;
	if (!login || !*login || !password || !*password) {
		http_log(rq, MHD_HTTP_BAD_REQUEST, "login without login or password");
		return login_form(e, rq, MHD_HTTP_BAD_REQUEST,
				  "Saisissez votre identifiant et votre mot de passe.", next, 0);
	}
	char key[64]; /* the login as counted: cut to the longest there is */
	snprintf(key, sizeof(key), "%s", login);
	long now = (long)clock_now_s();
	long wait = throttle_locked(e->throttle, key, now);
	if (wait > 0) {
		char msg[300];
		snprintf(msg, sizeof(msg), "Trop de tentatives de connexion pour cet "
			 "identifiant : réessayez dans %ld minute%s.", (wait + 59) / 60,
			 (wait + 59) / 60 > 1 ? "s" : "");
		log_info("editions: login '%s' refused: locked for %ld s more", key, wait);
		http_log(rq, MHD_HTTP_TOO_MANY_REQUESTS, "login locked");
		return login_form(e, rq, MHD_HTTP_TOO_MANY_REQUESTS, msg, next, wait);
	}

	char hash[USERS_HASH_MAX] = "";
	int known = 0;
	pthread_mutex_lock(&e->users_lock);
	editions_users_refresh(e);
	const struct user *u = users_by_login(e->users, login);
	if (u) {
		known = 1;
		snprintf(hash, sizeof(hash), "%s", u->password_hash);
	}
	pthread_mutex_unlock(&e->users_lock);
	/* The check takes its time whether the login exists or not. */
	int ok = users_password_check(hash, password);
	if (!ok) {
		unsigned failures = 0;
		long locked = throttle_failed(e->throttle, key, now, &failures);
		log_info("editions: login '%s' failed (%s; %u failure%s in 15 min)%s", key,
			 !known ? "no such login" : !hash[0] ? "no password" : "wrong password",
			 failures, failures > 1 ? "s" : "",
			 locked ? ": locked for 15 min" : "");
		if (locked) {
			http_log(rq, MHD_HTTP_TOO_MANY_REQUESTS, "login locked");
			return login_form(e, rq, MHD_HTTP_TOO_MANY_REQUESTS,
					  "Trop de tentatives de connexion pour cet identifiant : "
					  "réessayez dans 15 minutes.", next, locked);
		}
		http_log(rq, MHD_HTTP_UNAUTHORIZED, "login failed");
		return login_form(e, rq, MHD_HTTP_UNAUTHORIZED,
				  "Identifiant ou mot de passe incorrect.", next, 0);
	}
	throttle_succeeded(e->throttle, key);
	char id[SESSION_ID_HEX], errstr[256];
	if (session_create(e->sessions, login, hash, now, id, errstr, sizeof(errstr)) < 0) {
		log_error("editions: %s", errstr);
		return http_fail(e, rq, MHD_HTTP_SERVICE_UNAVAILABLE,
				 "impossible d'ouvrir une session : réessayez");
	}
	char cookie[256];
	login_cookie(e, id, cookie, sizeof(cookie));
	OPENSSL_cleanse(id, sizeof(id));
	log_info("editions: login '%s' ok", key);
	snprintf(rq->user.login, sizeof(rq->user.login), "%s", key);
	rq->auth = AUTH_SESSION;
	http_log(rq, MHD_HTTP_SEE_OTHER, "logged in");
	enum MHD_Result r = http_redirect(rq, next ? next : LOGIN_NEXT_DEFAULT, cookie);
	OPENSSL_cleanse(cookie, sizeof(cookie));
	return r;
}

enum MHD_Result logout_post(struct editions *e, struct request *rq)
{
	if (rq->auth == AUTH_SESSION)
		session_end(e->sessions, rq->sid);
	char cookie[256];
	login_cookie(e, "", cookie, sizeof(cookie));
	http_log(rq, MHD_HTTP_SEE_OTHER, "logged out");
	return http_redirect(rq, "/login?sortie=1", cookie);
}
