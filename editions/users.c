#include "users.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

struct editions_users {
	struct editions_user *user;
	size_t n;
};

static const struct {
	const char *name;
	unsigned bit;
} editions_rights[] = {
	{ "consulter_edition", EDITIONS_CONSULTER },
	{ "telecharger_rapports", EDITIONS_TELECHARGER },
	{ "gerer_editions", EDITIONS_GERER },
};

static int editions_sha256(const char *token, unsigned char md[32])
{
	unsigned int len = 0;
	if (EVP_Digest(token, strlen(token), md, &len, EVP_sha256(), NULL) != 1 ||
	    len != 32)
		return -1;
	return 0;
}

int editions_token_sha256(const char *token, char hex[65])
{
	unsigned char md[32];
	if (editions_sha256(token, md) < 0)
		return -1;
	for (size_t i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

static int editions_hex_decode(const char *hex, unsigned char out[32])
{
	if (strlen(hex) != 64)
		return -1;
	for (size_t i = 0; i < 32; i++) {
		unsigned v = 0;
		for (size_t k = 0; k < 2; k++) {
			char c = hex[2 * i + k];
			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				v |= (unsigned)(c - 'A' + 10);
			else
				return -1;
		}
		out[i] = (unsigned char)v;
	}
	return 0;
}

static char *editions_trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
			 s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

/* An ML code as the service accepts it in paths: [A-Za-z0-9_-]+. */
static int editions_code_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static int editions_rights_parse(char *list, unsigned *rights, const char **bad)
{
	*rights = 0;
	char *save = NULL;
	for (char *tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		tok = editions_trim(tok);
		if (!*tok)
			continue;
		size_t i;
		for (i = 0; i < sizeof(editions_rights) / sizeof(editions_rights[0]); i++) {
			if (strcmp(tok, editions_rights[i].name) == 0) {
				*rights |= editions_rights[i].bit;
				break;
			}
		}
		if (i == sizeof(editions_rights) / sizeof(editions_rights[0])) {
			*bad = tok;
			return -1;
		}
	}
	return 0;
}

/* Parses one data row into u. Returns 0 or -1 (errstr without the place). */
static int editions_row_parse(char *row, struct editions_user *u,
			      char *errstr, size_t errstr_size)
{
	char *field[4];
	size_t n = 0;
	char *p = row;
	for (;;) {
		char *sep = strchr(p, ';');
		if (sep)
			*sep = '\0';
		if (n < 4)
			field[n] = editions_trim(p);
		n++;
		if (!sep)
			break;
		p = sep + 1;
	}
	if (n != 4) {
		snprintf(errstr, errstr_size, "%zu fields instead of 4", n);
		return -1;
	}
	memset(u, 0, sizeof(*u));
	if (!*field[0] || strlen(field[0]) >= sizeof(u->login)) {
		snprintf(errstr, errstr_size, "login '%s' is empty or too long", field[0]);
		return -1;
	}
	snprintf(u->login, sizeof(u->login), "%s", field[0]);
	if (editions_hex_decode(field[1], u->token_sha256) < 0) {
		snprintf(errstr, errstr_size,
			 "token_sha256 of '%s' is not 64 hexadecimal digits", u->login);
		return -1;
	}
	if (!editions_code_ok(field[2]) || strlen(field[2]) >= sizeof(u->structure)) {
		snprintf(errstr, errstr_size,
			 "structure '%s' is neither an ML code nor NATIONAL", field[2]);
		return -1;
	}
	snprintf(u->structure, sizeof(u->structure), "%s", field[2]);
	u->national = strcmp(u->structure, EDITIONS_NATIONAL) == 0;
	const char *bad = NULL;
	if (editions_rights_parse(field[3], &u->rights, &bad) < 0) {
		snprintf(errstr, errstr_size,
			 "unknown right '%s' (consulter_edition, telecharger_rapports, "
			 "gerer_editions)", bad);
		return -1;
	}
	return 0;
}

/* Checks that u's login and token are not already taken. */
static int editions_row_unique(const struct editions_users *users,
			       const struct editions_user *u,
			       char *errstr, size_t errstr_size)
{
	for (size_t i = 0; i < users->n; i++) {
		if (strcmp(users->user[i].login, u->login) == 0) {
			snprintf(errstr, errstr_size, "login '%s' given twice", u->login);
			return -1;
		}
		if (memcmp(users->user[i].token_sha256, u->token_sha256, 32) == 0) {
			snprintf(errstr, errstr_size,
				 "the token of '%s' is also the token of '%s'",
				 u->login, users->user[i].login);
			return -1;
		}
	}
	return 0;
}

struct editions_users *editions_users_load(const char *path,
					   char *errstr, size_t errstr_size)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(errstr, errstr_size, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	struct editions_users *users = calloc(1, sizeof(*users));
	size_t cap = 0;
	char *line = NULL;
	size_t line_cap = 0;
	unsigned long lineno = 0;
	int header_seen = 0;
	char why[256];

	if (!users) {
		snprintf(errstr, errstr_size, "out of memory");
		goto fail;
	}
	for (;;) {
		errno = 0;
		ssize_t len = getline(&line, &line_cap, f);
		if (len < 0) {
			if (ferror(f)) {
				snprintf(errstr, errstr_size, "cannot read '%s': %s", path,
					 strerror(errno));
				goto fail;
			}
			break;
		}
		lineno++;
		char *row = line;
		if (lineno == 1 && strncmp(row, "\xef\xbb\xbf", 3) == 0)
			row += 3;
		row = editions_trim(row);
		if (!*row)
			continue;
		if (!header_seen) {
			if (strcmp(row, EDITIONS_USERS_HEADER) != 0) {
				snprintf(errstr, errstr_size,
					 "%s:%lu: the header must be '%s'", path, lineno,
					 EDITIONS_USERS_HEADER);
				goto fail;
			}
			header_seen = 1;
			continue;
		}
		struct editions_user u;
		if (editions_row_parse(row, &u, why, sizeof(why)) < 0 ||
		    editions_row_unique(users, &u, why, sizeof(why)) < 0) {
			snprintf(errstr, errstr_size, "%s:%lu: %s", path, lineno, why);
			goto fail;
		}
		if (users->n == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct editions_user *grown =
				realloc(users->user, ncap * sizeof(*grown));
			if (!grown) {
				snprintf(errstr, errstr_size, "out of memory");
				goto fail;
			}
			users->user = grown;
			cap = ncap;
		}
		users->user[users->n++] = u;
	}
	if (!header_seen) {
		snprintf(errstr, errstr_size, "'%s' is empty: the header '%s' is missing",
			 path, EDITIONS_USERS_HEADER);
		goto fail;
	}
	free(line);
	fclose(f);
	return users;
fail:
	free(line);
	fclose(f);
	editions_users_free(users);
	return NULL;
}

void editions_users_free(struct editions_users *users)
{
	if (!users)
		return;
	if (users->user)
		OPENSSL_cleanse(users->user, users->n * sizeof(*users->user));
	free(users->user);
	free(users);
}

const struct editions_user *editions_users_find(const struct editions_users *users,
						const char *token)
{
	unsigned char md[32];
	if (!users || !token || !*token || editions_sha256(token, md) < 0)
		return NULL;
	const struct editions_user *found = NULL;
	/* No early exit: the time spent does not depend on which user matched. */
	for (size_t i = 0; i < users->n; i++) {
		if (CRYPTO_memcmp(users->user[i].token_sha256, md, 32) == 0)
			found = &users->user[i];
	}
	return found;
}

size_t editions_users_count(const struct editions_users *users)
{
	return users ? users->n : 0;
}

int editions_user_sees(const struct editions_user *user, const char *ml_code)
{
	return user->national || strcmp(user->structure, ml_code) == 0;
}
