/* The editions service's users: a file an administrator edits,
 *   login;token_sha256;structure;droits[;password_hash]
 * one user a row, under its header (the four-column header, or the five-
 * column one with password_hash). structure is an ML code or NATIONAL;
 * droits a comma-separated subset of consulter_edition,
 * telecharger_rapports, gerer_editions. Staff log in with a password whose
 * crypt(3) hash is password_hash (yescrypt "$y$", or SHA-512 "$6$"); API
 * clients send a token whose SHA-256 is token_sha256. Neither the token nor
 * the password is ever stored. */
#ifndef AIJ_EDITIONS_USERS_H
#define AIJ_EDITIONS_USERS_H

#include <stddef.h>

#define USERS_HEADER   "login;token_sha256;structure;droits"
#define USERS_HEADER_5 USERS_HEADER ";password_hash"
#define USERS_NATIONAL "NATIONAL"
#define USERS_HASH_MAX 256 /* a password hash is shorter */

enum user_right {
	RIGHT_CONSULTER   = 1 << 0, /* consulter_edition: list and read */
	RIGHT_TELECHARGER = 1 << 1, /* telecharger_rapports: download */
	RIGHT_GERER       = 1 << 2, /* gerer_editions: replace and delete */
};

struct user {
	char login[64];
	int has_token;
	unsigned char token_sha256[32];
	char structure[64];          /* an ML code, or USERS_NATIONAL */
	int national;
	unsigned rights;             /* enum user_right bits */
	char password_hash[USERS_HASH_MAX]; /* "" when the user has none */
};

struct users;

/* Loads the users file. A malformed row (field count, hash, structure, an
 * unknown right, a login or token given twice, a user with neither token
 * nor password) is an error naming the file and line: an administrator's
 * typo must not silently lock someone out or let someone in. Free with
 * users_free(). */
struct users *users_load(const char *path, char *errstr, size_t errstr_size);

void users_free(struct users *users);

/* The user whose token hashes to a stored token_sha256, or NULL. Every
 * stored hash is compared, in constant time. Owned by users. */
const struct user *users_by_token(const struct users *users, const char *token);

/* The user of login, or NULL. Owned by users. */
const struct user *users_by_login(const struct users *users, const char *login);

/* Number of users loaded. */
size_t users_count(const struct users *users);

/* Writes the hex SHA-256 of token into hex (65 bytes). Returns 0 or -1. */
int users_token_sha256(const char *token, char hex[65]);

/* 1 when user may see the report (or the dispositifs) of ml_code: its own
 * ML's, or any for a national user. Else 0. */
int user_sees(const struct user *user, const char *ml_code);

/* 1 when password is the password of hash (a crypt(3) hash; "" or NULL
 * never matches, but takes the time of a check all the same, so that the
 * answer's time does not tell whether a login exists or has a password).
 * Else 0. */
int users_password_check(const char *hash, const char *password);

/* 1 when hash has the shape of a yescrypt ("$y$...$<43>") or SHA-512
 * ("$6$[rounds=N$]<salt>$<86>") crypt(3) hash, else 0. The shape only:
 * checking it for real would cost a hash computation per user at every
 * load. */
int users_hash_shape_ok(const char *hash);

/* A new hash of password: yescrypt ("$y$", libcrypt's default cost) with a
 * random salt. Returns it malloc'ed (free() it), or NULL with errstr. */
char *users_password_hash(const char *password, char *errstr, size_t errstr_size);

#endif
