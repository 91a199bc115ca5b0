#include "users.h"

#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "report_format.h"

struct users {
	struct user *user;
	size_t n;
};

static const struct {
	const char *name;
	unsigned bit;
} users_rights[] = {
	{ "consulter_edition", RIGHT_CONSULTER },
	{ "telecharger_rapports", RIGHT_TELECHARGER },
	{ "gerer_editions", RIGHT_GERER },
};

static int users_sha256(const char *token, unsigned char md[32])
{
	unsigned int len = 0;
	if (EVP_Digest(token, strlen(token), md, &len, EVP_sha256(), NULL) != 1 ||
	    len != 32)
		return -1;
	return 0;
}

int users_token_sha256(const char *token, char hex[65])
{
	unsigned char md[32];
	if (users_sha256(token, md) < 0)
		return -1;
	for (size_t i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

static int users_hex_decode(const char *hex, unsigned char out[32])
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

static char *users_trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
			 s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

static int users_rights_parse(char *list, unsigned *rights, const char **bad)
{
	*rights = 0;
	char *save = NULL;
	for (char *tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		tok = users_trim(tok);
		if (!*tok)
			continue;
		size_t i;
		for (i = 0; i < sizeof(users_rights) / sizeof(users_rights[0]); i++) {
			if (strcmp(tok, users_rights[i].name) == 0) {
				*rights |= users_rights[i].bit;
				break;
			}
		}
		if (i == sizeof(users_rights) / sizeof(users_rights[0])) {
			*bad = tok;
			return -1;
		}
	}
	return 0;
}

int users_hash_shape_ok(const char *hash)
{
	size_t want;
	if (strncmp(hash, "$y$", 3) == 0)
		want = 43;
	else if (strncmp(hash, "$6$", 3) == 0)
		want = 86;
	else
		return 0;
	if (strlen(hash) >= USERS_HASH_MAX)
		return 0;
	for (const char *p = hash; *p; p++) {
		char c = *p;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '/' || c == '$' || c == '='))
			return 0;
	}
	const char *last = strrchr(hash, '$');
	return last > hash + 2 && strlen(last + 1) == want;
}

/* A login: 1 to 63 bytes, no control character, no ';'. */
static int users_login_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= sizeof(((struct user *)0)->login))
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* Parses one data row into u; columns is 4 or 5 (the header's). Returns 0 or
 * -1 (errstr without the place). */
static int users_row_parse(char *row, size_t columns, struct user *u,
			   char *errstr, size_t errstr_size)
{
	char *field[5] = { NULL };
	size_t n = 0;
	char *p = row;
	for (;;) {
		char *sep = strchr(p, ';');
		if (sep)
			*sep = '\0';
		if (n < 5)
			field[n] = users_trim(p);
		n++;
		if (!sep)
			break;
		p = sep + 1;
	}
	/* Under the five-column header, a row without password has 4 or 5. */
	if (n != columns && !(columns == 5 && n == 4)) {
		snprintf(errstr, errstr_size, "%zu fields instead of %zu", n, columns);
		return -1;
	}
	memset(u, 0, sizeof(*u));
	if (!users_login_ok(field[0])) {
		snprintf(errstr, errstr_size, "login '%s' is empty, too long or holds a "
			 "control character", field[0]);
		return -1;
	}
	snprintf(u->login, sizeof(u->login), "%s", field[0]);
	if (*field[1]) {
		if (users_hex_decode(field[1], u->token_sha256) < 0) {
			snprintf(errstr, errstr_size,
				 "token_sha256 of '%s' is not 64 hexadecimal digits", u->login);
			return -1;
		}
		u->has_token = 1;
	}
	if (!report_name_valid(field[2]) || strlen(field[2]) >= sizeof(u->structure)) {
		snprintf(errstr, errstr_size,
			 "structure '%s' is neither an ML code nor NATIONAL", field[2]);
		return -1;
	}
	snprintf(u->structure, sizeof(u->structure), "%s", field[2]);
	u->national = strcmp(u->structure, USERS_NATIONAL) == 0;
	const char *bad = NULL;
	if (users_rights_parse(field[3], &u->rights, &bad) < 0) {
		snprintf(errstr, errstr_size,
			 "unknown right '%s' (consulter_edition, telecharger_rapports, "
			 "gerer_editions)", bad);
		return -1;
	}
	if (n == 5 && *field[4]) {
		if (!users_hash_shape_ok(field[4])) {
			snprintf(errstr, errstr_size,
				 "password_hash of '%s' is not a yescrypt ($y$) or SHA-512 ($6$) "
				 "crypt(3) hash (make one with: aij-editions --hash-password)",
				 u->login);
			return -1;
		}
		snprintf(u->password_hash, sizeof(u->password_hash), "%s", field[4]);
	}
	if (!u->has_token && !u->password_hash[0]) {
		snprintf(errstr, errstr_size,
			 "'%s' has neither token_sha256 nor password_hash: nobody could use it",
			 u->login);
		return -1;
	}
	return 0;
}

/* Checks that u's login and token are not already taken. */
static int users_row_unique(const struct users *users, const struct user *u,
			    char *errstr, size_t errstr_size)
{
	for (size_t i = 0; i < users->n; i++) {
		if (strcmp(users->user[i].login, u->login) == 0) {
			snprintf(errstr, errstr_size, "login '%s' given twice", u->login);
			return -1;
		}
		if (u->has_token && users->user[i].has_token &&
		    memcmp(users->user[i].token_sha256, u->token_sha256, 32) == 0) {
			snprintf(errstr, errstr_size,
				 "the token of '%s' is also the token of '%s'",
				 u->login, users->user[i].login);
			return -1;
		}
	}
	return 0;
}

struct users *users_load(const char *path, char *errstr, size_t errstr_size)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(errstr, errstr_size, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	struct users *users = calloc(1, sizeof(*users));
	size_t cap = 0;
	char *line = NULL;
	size_t line_cap = 0;
	unsigned long lineno = 0;
	size_t columns = 0; /* of the header, once seen */
	char why[400];

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
		if (lineno == 1 && strncmp(row, REPORT_BOM, 3) == 0)
			row += 3;
		row = users_trim(row);
		if (!*row)
			continue;
		if (!columns) {
			if (strcmp(row, USERS_HEADER) == 0) {
				columns = 4;
			} else if (strcmp(row, USERS_HEADER_5) == 0) {
				columns = 5;
			} else {
				snprintf(errstr, errstr_size,
					 "%s:%lu: the header must be '%s' or '%s'", path, lineno,
					 USERS_HEADER, USERS_HEADER_5);
				goto fail;
			}
			continue;
		}
		struct user u;
		if (users_row_parse(row, columns, &u, why, sizeof(why)) < 0 ||
		    users_row_unique(users, &u, why, sizeof(why)) < 0) {
			snprintf(errstr, errstr_size, "%s:%lu: %s", path, lineno, why);
			OPENSSL_cleanse(&u, sizeof(u));
			goto fail;
		}
		if (users->n == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct user *grown = realloc(users->user, ncap * sizeof(*grown));
			if (!grown) {
				snprintf(errstr, errstr_size, "out of memory");
				goto fail;
			}
			users->user = grown;
			cap = ncap;
		}
		users->user[users->n++] = u;
	}
	if (!columns) {
		snprintf(errstr, errstr_size, "'%s' is empty: the header '%s' is missing",
			 path, USERS_HEADER_5);
		goto fail;
	}
	free(line);
	fclose(f);
	return users;
fail:
	free(line);
	fclose(f);
	users_free(users);
	return NULL;
}

void users_free(struct users *users)
{
	if (!users)
		return;
	if (users->user)
		OPENSSL_cleanse(users->user, users->n * sizeof(*users->user));
	free(users->user);
	free(users);
}

const struct user *users_by_token(const struct users *users, const char *token)
{
	unsigned char md[32];
	if (!users || !token || !*token || users_sha256(token, md) < 0)
		return NULL;
	const struct user *found = NULL;
	/* No early exit: the time spent does not depend on which user matched. */
	for (size_t i = 0; i < users->n; i++) {
		if (users->user[i].has_token &&
		    CRYPTO_memcmp(users->user[i].token_sha256, md, 32) == 0)
			found = &users->user[i];
	}
	return found;
}

const struct user *users_by_login(const struct users *users, const char *login)
{
	if (!users || !login)
		return NULL;
	for (size_t i = 0; i < users->n; i++)
		if (strcmp(users->user[i].login, login) == 0)
			return &users->user[i];
	return NULL;
}

size_t users_count(const struct users *users)
{
	return users ? users->n : 0;
}

int user_sees(const struct user *user, const char *ml_code)
{
	return user->national || strcmp(user->structure, ml_code) == 0;
}

/* A hash of a password nobody knows, checked against when there is no real
 * one, so that "no such login" costs what "wrong password" does. */
static char users_dummy_hash[CRYPT_OUTPUT_SIZE];
static pthread_once_t users_dummy_once = PTHREAD_ONCE_INIT;

static void users_dummy_init(void)
{
	char errstr[128];
	char *h = users_password_hash("aij-editions: not a password", errstr, sizeof(errstr));
	snprintf(users_dummy_hash, sizeof(users_dummy_hash), "%s", h ? h : "");
	free(h);
}

int users_password_check(const char *hash, const char *password)
{
	int real = hash && *hash;
	if (!real) {
		pthread_once(&users_dummy_once, users_dummy_init);
		hash = users_dummy_hash;
	}
	if (!password || !*hash)
		return 0;
	struct crypt_data *data = calloc(1, sizeof(*data));
	if (!data)
		return 0;
	const char *out = crypt_rn(password, hash, data, (int)sizeof(*data));
	size_t hl = strlen(hash);
	int ok = out && out[0] != '*' && strlen(out) == hl &&
		 CRYPTO_memcmp(out, hash, hl) == 0;
	OPENSSL_cleanse(data, sizeof(*data));
	free(data);
	return real && ok;
}

char *users_password_hash(const char *password, char *errstr, size_t errstr_size)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	/* NULL random bytes: libcrypt takes them from the system (getrandom). */
	if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, (int)sizeof(salt))) {
		snprintf(errstr, errstr_size, "cannot make a yescrypt salt: %s", strerror(errno));
		return NULL;
	}
	struct crypt_data *data = calloc(1, sizeof(*data));
	if (!data) {
		snprintf(errstr, errstr_size, "out of memory");
		return NULL;
	}
	const char *out = crypt_rn(password, salt, data, (int)sizeof(*data));
	char *hash = out && out[0] != '*' ? strdup(out) : NULL;
	if (!hash)
		snprintf(errstr, errstr_size, "cannot hash the password: %s",
			 out ? "out of memory" : strerror(errno));
	OPENSSL_cleanse(data, sizeof(*data));
	free(data);
	return hash;
}
