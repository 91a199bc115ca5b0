/* Browser sessions of the editions service, kept on the server (a uthash
 * table, one mutex): a session is created when a user logs in with a
 * password; its id goes into the session cookie. The id is 256 random bits
 * (getrandom); the table keys on its SHA-256, so the ids of live sessions
 * are never in memory once handed out. Each session has a CSRF token
 * (another 256 random bits) that every state-changing request it makes
 * must carry, and expires a fixed time after the log-in. A session may
 * hold one upload waiting for its confirmation and one message for the next
 * page. Sessions live in memory: a restart logs everybody out.
 *
 * Times are the caller's "now", in seconds of a monotonic clock: the tests
 * move it at will. */
#ifndef AIJ_EDITIONS_SESSION_H
#define AIJ_EDITIONS_SESSION_H

#include <stddef.h>

#define SESSION_ID_HEX   65  /* 64 hex digits (256 bits) and a NUL */
#define SESSION_FLASH_MAX 400

struct session_store;

/* A copy of what a session holds, for one request. */
struct session_info {
	char login[64];
	char csrf[SESSION_ID_HEX];
	unsigned char password_fp[32]; /* SHA-256 of the password hash at log-in */
	long expires;                  /* "now" past which it is gone */
	char flash[SESSION_FLASH_MAX]; /* the message for the next page, or "" */
	char pending_ml[64];           /* the report a pending upload replaces, or "" */
	size_t pending_rows;
};

/* A store whose sessions last ttl_s seconds, at most max_sessions at once
 * (past that the oldest goes), and whose pending uploads hold at most
 * max_pending bytes in all. Free with session_store_free(). NULL when out of
 * memory. */
struct session_store *session_store_new(long ttl_s, size_t max_sessions,
					size_t max_pending);

void session_store_free(struct session_store *s);

/* Fills buf with n random bytes from getrandom(). Returns 0 or -1. */
int session_random(unsigned char *buf, size_t n);

/* A new session for login at now. password_hash (may be "") is the user's
 * at log-in: a session whose user's hash changed since is gone. Writes its
 * id (hex) into id. Returns 0, or -1 with errstr (no randomness, no memory). */
int session_create(struct session_store *s, const char *login,
		   const char *password_hash, long now, char id[SESSION_ID_HEX],
		   char *errstr, size_t errstr_size);

/* Looks the session of id up at now. Returns 1 with *out filled, 0 when
 * there is no such session or it expired (it is then removed). The flash
 * message is taken out: the next look-up has none. */
int session_get(struct session_store *s, const char *id, long now,
		struct session_info *out);

/* 1 when password_hash (the user's now) is the one the session's user had
 * at log-in; else 0: the password changed, the session must end. */
int session_password_same(const struct session_info *info, const char *password_hash);

/* Ends the session of id (log-out). Returns 1, or 0 when there was none. */
int session_end(struct session_store *s, const char *id);

/* 1 when token is the CSRF token of the session in info (constant time). */
int session_csrf_ok(const struct session_info *info, const char *token);

/* Sets the message the session's next page shows. */
void session_flash(struct session_store *s, const char *id, const char *message);

/* Keeps data (a report for ml_code, rows data rows; malloc'ed, the store
 * takes it whatever the result) as the session's upload awaiting
 * confirmation, replacing any previous one. Returns 0, 1 when the store
 * holds too many bytes of uploads already (data freed), -1 when there is
 * no such session (data freed). */
int session_pending_put(struct session_store *s, const char *id, const char *ml_code,
			char *data, size_t len, size_t rows);

/* Takes the session's pending upload for ml_code out: returns it (free()
 * it) with *len, or NULL when there is none for ml_code. */
char *session_pending_take(struct session_store *s, const char *id,
			   const char *ml_code, size_t *len);

/* Number of live sessions (expired ones not yet removed count too). */
size_t session_count(struct session_store *s);

#endif
