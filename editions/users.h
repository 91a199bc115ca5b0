/* The editions service's users (issue 5): a file an administrator edits,
 *   login;token_sha256;structure;droits
 * one user a row; structure is an ML code or NATIONAL; droits a comma-
 * separated subset of consulter_edition, telecharger_rapports,
 * gerer_editions. Only the SHA-256 of each token is kept, never the token. */
#ifndef AIJ_REPORTER_EDITIONS_USERS_H
#define AIJ_REPORTER_EDITIONS_USERS_H

#include <stddef.h>

#define EDITIONS_USERS_HEADER "login;token_sha256;structure;droits"
#define EDITIONS_NATIONAL     "NATIONAL"

enum editions_right {
	EDITIONS_CONSULTER   = 1 << 0, /* consulter_edition: list and read */
	EDITIONS_TELECHARGER = 1 << 1, /* telecharger_rapports: download */
	EDITIONS_GERER       = 1 << 2, /* gerer_editions: replace and delete */
};

struct editions_user {
	char login[64];
	unsigned char token_sha256[32];
	char structure[64]; /* an ML code, or EDITIONS_NATIONAL */
	int national;
	unsigned rights;    /* enum editions_right bits */
};

struct editions_users;

/* Loads the users file. A malformed row (field count, hash, structure, an
 * unknown right, a login or token given twice) is an error naming the file
 * and line: an administrator's typo must not silently lock someone out or
 * let someone in. Free with editions_users_free(). */
struct editions_users *editions_users_load(const char *path,
					   char *errstr, size_t errstr_size);

void editions_users_free(struct editions_users *users);

/* The user whose token hashes to a stored hash, or NULL. Every stored hash is
 * compared, in constant time, so that timing tells nothing. The user is owned
 * by users. */
const struct editions_user *editions_users_find(const struct editions_users *users,
						const char *token);

/* Number of users loaded. */
size_t editions_users_count(const struct editions_users *users);

/* Writes the hex SHA-256 of token into hex (65 bytes). Returns 0 or -1. */
int editions_token_sha256(const char *token, char hex[65]);

/* 1 when user may see the report of ml_code (its own ML, or any for a
 * national user), else 0. */
int editions_user_sees(const struct editions_user *user, const char *ml_code);

#endif
