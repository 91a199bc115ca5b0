/* editions/users: the users file (four or five columns), its errors with
 * file:line, tokens, rights and scope, passwords hashed and checked with
 * libcrypt (yescrypt for new hashes, SHA-512 accepted). */
#include <criterion/criterion.h>
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../editions/users.h"

#define TOK_A "0ba6c0dd8d1cd4c5bd2bdd0ef5fd0b35fd7d46e94cdc99d9d4a0de60a6f6d2d1"

static char path[64];

static const char *write_users(const char *text)
{
	snprintf(path, sizeof(path), "/tmp/aij-test-users-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void remove_users(void)
{
	if (path[0])
		unlink(path);
	path[0] = '\0';
}

TestSuite(editions_users, .fini = remove_users);

/* A yescrypt hash of "secret", made once for the file of a test. */
static char *hash_of(const char *password)
{
	char errstr[128];
	char *h = users_password_hash(password, errstr, sizeof(errstr));
	cr_assert_not_null(h, "%s", errstr);
	return h;
}

Test(editions_users, four_columns_stay_valid)
{
	char hex[65];
	cr_assert_eq(users_token_sha256("tok-a", hex), 0);
	char text[512];
	snprintf(text, sizeof(text),
		 "\xef\xbb\xbflogin;token_sha256;structure;droits\n\n"
		 "a;%s;ML1;consulter_edition, telecharger_rapports\r\n", hex);
	char errstr[512];
	struct users *u = users_load(write_users(text), errstr, sizeof(errstr));
	cr_assert_not_null(u, "%s", errstr);
	cr_expect_eq(users_count(u), 1);
	const struct user *a = users_by_token(u, "tok-a");
	cr_assert_not_null(a);
	cr_expect_str_eq(a->login, "a");
	cr_expect_eq(a->rights, RIGHT_CONSULTER | RIGHT_TELECHARGER);
	cr_expect_eq(a->national, 0);
	cr_expect_str_eq(a->password_hash, "");
	cr_expect_null(users_by_token(u, "tok-b"));
	cr_expect_null(users_by_token(u, ""));
	cr_expect_eq(users_by_login(u, "a"), a);
	cr_expect_null(users_by_login(u, "b"));
	cr_expect(user_sees(a, "ML1"));
	cr_expect_not(user_sees(a, "ML2"));
	cr_expect_not(user_sees(a, "_national"));
	users_free(u);
}

Test(editions_users, five_columns_with_passwords)
{
	char *y = hash_of("secret");
	char s6salt[CRYPT_GENSALT_OUTPUT_SIZE];
	cr_assert_not_null(crypt_gensalt_rn("$6$", 0, NULL, 0, s6salt, sizeof(s6salt)));
	struct crypt_data cd;
	memset(&cd, 0, sizeof(cd));
	const char *s6 = crypt_rn("autre", s6salt, &cd, sizeof(cd));
	cr_assert_not_null(s6);
	char text[2048];
	snprintf(text, sizeof(text),
		 "login;token_sha256;structure;droits;password_hash\n"
		 "nat;%s;NATIONAL;consulter_edition,gerer_editions;%s\n"
		 "ml;;ML200054781;consulter_edition;%s\n"
		 "api;%s;ML2;consulter_edition\n"
		 "api2;%s;ML2;consulter_edition;\n",
		 TOK_A, y, s6, "1111111111111111111111111111111111111111111111111111111111111111",
		 "2222222222222222222222222222222222222222222222222222222222222222");
	char errstr[512];
	struct users *u = users_load(write_users(text), errstr, sizeof(errstr));
	cr_assert_not_null(u, "%s", errstr);
	cr_expect_eq(users_count(u), 4);
	const struct user *nat = users_by_login(u, "nat");
	const struct user *ml = users_by_login(u, "ml");
	cr_assert(nat && ml);
	cr_expect(nat->national);
	cr_expect(user_sees(nat, "ML9"));
	cr_expect_eq(ml->has_token, 0);
	cr_expect_eq(users_password_check(nat->password_hash, "secret"), 1);
	cr_expect_eq(users_password_check(nat->password_hash, "Secret"), 0);
	cr_expect_eq(users_password_check(nat->password_hash, ""), 0);
	cr_expect_eq(users_password_check(ml->password_hash, "autre"), 1, "$6$ is accepted");
	cr_expect_eq(users_password_check(ml->password_hash, "secret"), 0);
	cr_expect_eq(users_password_check("", "secret"), 0, "no hash never matches");
	cr_expect_eq(users_password_check(NULL, "secret"), 0);
	cr_expect_str_eq(users_by_login(u, "api")->password_hash, "");
	users_free(u);
	free(y);
}

Test(editions_users, new_hashes_are_yescrypt_and_salted)
{
	char *a = hash_of("le même mot de passe");
	char *b = hash_of("le même mot de passe");
	cr_expect_eq(strncmp(a, "$y$", 3), 0, "%s", a);
	cr_expect_str_neq(a, b, "each hash has its own salt");
	cr_expect(users_hash_shape_ok(a));
	cr_expect_eq(users_password_check(a, "le même mot de passe"), 1);
	cr_expect_eq(users_password_check(b, "le même mot de passe"), 1);
	free(a);
	free(b);
}

Test(editions_users, malformed_files_name_the_line)
{
	static const struct {
		const char *text;
		const char *why;
	} cases[] = {
		{ "", "is empty: the header" },
		{ "login;token;structure;droits\n", ":1: the header must be" },
		{ "login;token_sha256;structure;droits\nx;" TOK_A ";ML1\n", ":2: 3 fields instead of 4" },
		{ "login;token_sha256;structure;droits\nx;" TOK_A ";ML1;consulter_edition;$y$abc\n",
		  ":2: 5 fields instead of 4" },
		{ "login;token_sha256;structure;droits;password_hash\nx;;ML1;consulter_edition;$1$ab$cd\n",
		  ":2: password_hash of 'x' is not" },
		{ "login;token_sha256;structure;droits;password_hash\nx;;ML1;consulter_edition;$y$j9T$short\n",
		  ":2: password_hash of 'x' is not" },
		{ "login;token_sha256;structure;droits;password_hash\nx;;ML1;consulter_edition;\n",
		  ":2: 'x' has neither token_sha256 nor password_hash" },
		{ "login;token_sha256;structure;droits\nx;abc;ML1;consulter_edition\n",
		  ":2: token_sha256 of 'x' is not 64" },
		{ "login;token_sha256;structure;droits\nx;" TOK_A ";ML 1;consulter_edition\n",
		  ":2: structure 'ML 1'" },
		{ "login;token_sha256;structure;droits\nx;" TOK_A ";ML1;lire\n", ":2: unknown right 'lire'" },
		{ "login;token_sha256;structure;droits\nx;" TOK_A ";ML1;\n"
		  "x;1111111111111111111111111111111111111111111111111111111111111111;ML1;\n",
		  ":3: login 'x' given twice" },
		{ "login;token_sha256;structure;droits\nx;" TOK_A ";ML1;\ny;" TOK_A ";ML1;\n",
		  ":3: the token of 'y' is also the token of 'x'" },
		{ "login;token_sha256;structure;droits\n\x01x;" TOK_A ";ML1;\n", ":2: login" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char errstr[512] = "";
		struct users *u = users_load(write_users(cases[i].text), errstr, sizeof(errstr));
		cr_expect_null(u, "case %zu loaded", i);
		users_free(u);
		cr_expect(strstr(errstr, cases[i].why) != NULL, "case %zu: '%s', want '%s'", i,
			  errstr, cases[i].why);
		cr_expect(strstr(errstr, path) != NULL, "case %zu names no file: '%s'", i, errstr);
		remove_users();
	}
}

Test(editions_users, missing_file)
{
	char errstr[256];
	cr_expect_null(users_load("/nonexistent/users.csv", errstr, sizeof(errstr)));
	cr_expect_str_eq(errstr, "cannot open '/nonexistent/users.csv': No such file or directory");
}
