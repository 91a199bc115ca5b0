#include "session.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <uthash.h>

#define SESSION_ID_BYTES 32

struct session {
	unsigned char key[32];  /* SHA-256 of the id */
	char login[64];
	char csrf[SESSION_ID_HEX];
	unsigned char password_fp[32];
	long created, expires;
	char flash[SESSION_FLASH_MAX];
	char pending_ml[64];
	char *pending;
	size_t pending_len, pending_rows;
	UT_hash_handle hh;
};

struct session_store {
	pthread_mutex_t lock;
	struct session *table;
	long ttl_s;
	size_t max_sessions, max_pending, pending_bytes;
};

int session_random(unsigned char *buf, size_t n)
{
	while (n > 0) {
		ssize_t got = getrandom(buf, n, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		buf += got;
		n -= (size_t)got;
	}
	return 0;
}

static void session_hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void session_sha256(const char *s, unsigned char md[32])
{
	unsigned int len = 0;
	if (EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL) != 1)
		memset(md, 0, 32);
}

struct session_store *session_store_new(long ttl_s, size_t max_sessions,
					size_t max_pending)
{
	struct session_store *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	s->ttl_s = ttl_s;
	s->max_sessions = max_sessions ? max_sessions : 1;
	s->max_pending = max_pending;
	return s;
}

/* Removes one session (lock held). */
static void session_remove(struct session_store *s, struct session *se)
{
	HASH_DEL(s->table, se);
	s->pending_bytes -= se->pending_len;
	free(se->pending);
	OPENSSL_cleanse(se, sizeof(*se));
	free(se);
}

void session_store_free(struct session_store *s)
{
	if (!s)
		return;
	struct session *se, *tmp;
	HASH_ITER(hh, s->table, se, tmp)
		session_remove(s, se);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* The session of id (lock held), or NULL. */
static struct session *session_find(struct session_store *s, const char *id)
{
	if (!id || strlen(id) != 2 * SESSION_ID_BYTES)
		return NULL;
	unsigned char key[32];
	session_sha256(id, key);
	struct session *se = NULL;
	HASH_FIND(hh, s->table, key, sizeof(key), se);
	return se;
}

/* Makes room for one more session (lock held): the expired ones go, then
 * the oldest while the store is full. */
static void session_make_room(struct session_store *s, long now)
{
	struct session *se, *tmp;
	HASH_ITER(hh, s->table, se, tmp) {
		if (se->expires <= now)
			session_remove(s, se);
	}
	while (HASH_COUNT(s->table) >= s->max_sessions) {
		struct session *oldest = s->table;
		for (se = s->table; se; se = se->hh.next)
			if (se->created < oldest->created)
				oldest = se;
		session_remove(s, oldest);
	}
}

int session_create(struct session_store *s, const char *login,
		   const char *password_hash, long now, char id[SESSION_ID_HEX],
		   char *errstr, size_t errstr_size)
{
	unsigned char rnd[2 * SESSION_ID_BYTES];
	if (session_random(rnd, sizeof(rnd)) < 0) {
		snprintf(errstr, errstr_size, "getrandom: %s", strerror(errno));
		return -1;
	}
	struct session *se = calloc(1, sizeof(*se));
	if (!se) {
		OPENSSL_cleanse(rnd, sizeof(rnd));
		snprintf(errstr, errstr_size, "out of memory");
		return -1;
	}
	session_hex(rnd, SESSION_ID_BYTES, id);
	session_hex(rnd + SESSION_ID_BYTES, SESSION_ID_BYTES, se->csrf);
	OPENSSL_cleanse(rnd, sizeof(rnd));
	session_sha256(id, se->key);
	session_sha256(password_hash ? password_hash : "", se->password_fp);
	snprintf(se->login, sizeof(se->login), "%s", login);
	se->created = now;
	se->expires = now + s->ttl_s;
	pthread_mutex_lock(&s->lock);
	session_make_room(s, now);
	HASH_ADD(hh, s->table, key, sizeof(se->key), se);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int session_password_same(const struct session_info *info, const char *password_hash)
{
	unsigned char fp[32];
	session_sha256(password_hash ? password_hash : "", fp);
	return CRYPTO_memcmp(fp, info->password_fp, 32) == 0;
}

int session_get(struct session_store *s, const char *id, long now,
		struct session_info *out)
{
	pthread_mutex_lock(&s->lock);
	struct session *se = session_find(s, id);
	int found = 0;
	if (se && se->expires <= now) {
		session_remove(s, se);
		se = NULL;
	}
	if (se) {
		memset(out, 0, sizeof(*out));
		snprintf(out->login, sizeof(out->login), "%s", se->login);
		memcpy(out->csrf, se->csrf, sizeof(out->csrf));
		memcpy(out->password_fp, se->password_fp, sizeof(out->password_fp));
		out->expires = se->expires;
		memcpy(out->flash, se->flash, sizeof(out->flash));
		se->flash[0] = '\0';
		memcpy(out->pending_ml, se->pending_ml, sizeof(out->pending_ml));
		out->pending_rows = se->pending_rows;
		found = 1;
	}
	pthread_mutex_unlock(&s->lock);
	return found;
}

int session_end(struct session_store *s, const char *id)
{
	pthread_mutex_lock(&s->lock);
	struct session *se = session_find(s, id);
	if (se)
		session_remove(s, se);
	pthread_mutex_unlock(&s->lock);
	return se != NULL;
}

int session_csrf_ok(const struct session_info *info, const char *token)
{
	size_t n = strlen(info->csrf);
	return token && n == 2 * SESSION_ID_BYTES && strlen(token) == n &&
	       CRYPTO_memcmp(info->csrf, token, n) == 0;
}

void session_flash(struct session_store *s, const char *id, const char *message)
{
	pthread_mutex_lock(&s->lock);
	struct session *se = session_find(s, id);
	if (se)
		snprintf(se->flash, sizeof(se->flash), "%s", message);
	pthread_mutex_unlock(&s->lock);
}

/* Drops the session's pending upload (lock held). */
static void session_pending_drop(struct session_store *s, struct session *se)
{
	s->pending_bytes -= se->pending_len;
	free(se->pending);
	se->pending = NULL;
	se->pending_len = se->pending_rows = 0;
	se->pending_ml[0] = '\0';
}

int session_pending_put(struct session_store *s, const char *id, const char *ml_code,
			char *data, size_t len, size_t rows)
{
	int rc = 0;
	pthread_mutex_lock(&s->lock);
	struct session *se = session_find(s, id);
	if (!se) {
		rc = -1;
	} else {
		session_pending_drop(s, se);
		if (s->pending_bytes + len > s->max_pending) {
			rc = 1;
		} else {
			se->pending = data;
			data = NULL;
			se->pending_len = len;
			se->pending_rows = rows;
			s->pending_bytes += len;
			snprintf(se->pending_ml, sizeof(se->pending_ml), "%s", ml_code);
		}
	}
	pthread_mutex_unlock(&s->lock);
	free(data);
	return rc;
}

char *session_pending_take(struct session_store *s, const char *id,
			   const char *ml_code, size_t *len)
{
	char *data = NULL;
	pthread_mutex_lock(&s->lock);
	struct session *se = session_find(s, id);
	if (se && se->pending && strcmp(se->pending_ml, ml_code) == 0) {
		data = se->pending;
		*len = se->pending_len;
		s->pending_bytes -= se->pending_len;
		se->pending = NULL;
		se->pending_len = se->pending_rows = 0;
		se->pending_ml[0] = '\0';
	}
	pthread_mutex_unlock(&s->lock);
	return data;
}

size_t session_count(struct session_store *s)
{
	pthread_mutex_lock(&s->lock);
	size_t n = HASH_COUNT(s->table);
	pthread_mutex_unlock(&s->lock);
	return n;
}
