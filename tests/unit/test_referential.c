/* Reference data (SPEC §2.2): the fixture files, malformed files, and a few
 * real INSEE codes of data/communes.csv; the routing of a commune to MLs
 * (SPEC §5), with the reporter's route_line(). Run from the repository root. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record.h"
#include "referential.h"
#include "route.h"

#define FIX "tests/unit/fixtures/"

static struct referential *load_fixtures(void)
{
	char err[512] = "";
	struct referential *ref = referential_load(FIX "communes.csv", FIX "motifs.csv",
						   FIX "coverage.csv", err, sizeof(err));
	cr_assert_not_null(ref, "referential_load: %s", err);
	return ref;
}

/* What a postal-code list points to before a call that must set it. */
static const char *const not_set[] = { "not set" };

static int has(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

Test(referential, communes_fixture)
{
	struct referential *ref = load_fixtures();
	const char *const *pc;

	cr_expect(ref_commune_known(ref, "75056"));
	size_t n = ref_commune_postcodes(ref, "75056", &pc);
	cr_assert_eq(n, 2, "a repeated pair counts once");
	cr_expect_str_eq(pc[0], "75001");
	cr_expect_str_eq(pc[1], "75116");
	cr_expect_str_eq(ref_commune_name(ref, "75056"), "Paris");

	n = ref_commune_postcodes(ref, "2A004", &pc);
	cr_assert_eq(n, 2, "Corsican codes");
	cr_expect_str_eq(ref_commune_name(ref, "2A004"), "Ajaccio");

	/* Known without a postal code. */
	cr_expect(ref_commune_known(ref, "01015"));
	cr_expect_eq(ref_commune_postcodes(ref, "01015", &pc), 0);
	cr_expect_null(pc);

	static const char *const unknown[] = { "99999", "", "7505", "750560", "75 056", "75056 " };
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		cr_expect_not(ref_commune_known(ref, unknown[i]), "'%s'", unknown[i]);
		cr_expect_eq(ref_commune_postcodes(ref, unknown[i], &pc), 0);
		cr_expect_null(pc);
		cr_expect_null(ref_commune_name(ref, unknown[i]));
	}
	cr_expect_not(ref_commune_known(ref, NULL));
	referential_free(ref);
}

Test(referential, motifs_fixture)
{
	struct referential *ref = load_fixtures();

	/* BOM and CRLF of the file are no part of the codes. */
	cr_expect(ref_motif_known(ref, "01"));
	cr_expect_str_eq(ref_motif_label(ref, "01"), "Entrée en emploi durable");
	cr_expect_str_eq(ref_motif_label(ref, "02"), "Abandon; à l'initiative du jeune",
			 "a label may hold ';'");
	cr_expect_str_eq(ref_motif_label(ref, "11"), "Autre motif", "fields trimmed");
	cr_expect_not(ref_motif_known(ref, "1"), "compared exactly");
	cr_expect_not(ref_motif_known(ref, "03"));
	cr_expect_not(ref_motif_known(ref, ""));
	cr_expect_null(ref_motif_label(ref, "03"));
	referential_free(ref);
}

Test(referential, coverage_fixture)
{
	struct referential *ref = load_fixtures();
	const char *const *mls;

	size_t n = ref_coverage_mls(ref, "44100", &mls);
	cr_assert_eq(n, 2, "shared by two MLs, a repeated row counts once");
	cr_expect_str_eq(mls[0], "ML_ESTUAIRE", "sorted");
	cr_expect_str_eq(mls[1], "ML_NANTES");

	n = ref_coverage_mls(ref, "44000", &mls);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(mls[0], "ML_NANTES");

	cr_expect_eq(ref_coverage_mls(ref, "44200", &mls), 0, "a postal code no zone covers");
	cr_expect_null(mls);

	cr_expect_str_eq(ref_ml_name(ref, "ML_NANTES"), "Mission Locale Nantes Métropole");
	cr_expect_null(ref_ml_name(ref, "ML_UNKNOWN"));
	referential_free(ref);
}

Test(referential, routing_commune_to_mls)
{
	/* SPEC §5: commune → postal codes → MLs. */
	struct referential *ref = load_fixtures();
	const char *const *pc, *const *mls;
	size_t n = ref_commune_postcodes(ref, "44109", &pc);
	cr_assert_eq(n, 4);
	int nantes = 0, estuaire = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k = ref_coverage_mls(ref, pc[i], &mls);
		nantes += has(mls, k, "ML_NANTES");
		estuaire += has(mls, k, "ML_ESTUAIRE");
	}
	cr_expect_eq(nantes, 2);
	cr_expect_eq(estuaire, 1);
	referential_free(ref);
}

/* SPEC §2.2: a code of the source without postal code (the TAAF districts,
 * a row "98411;;name") is a known code, with an empty postal-code list. */
Test(referential, commune_without_postcode)
{
	struct referential *ref = load_fixtures();
	const char *const *pc = not_set; /* ref_commune_postcodes() must set it */

	cr_expect(ref_commune_known(ref, "98411"));
	cr_expect_eq(ref_commune_postcodes(ref, "98411", &pc), 0);
	cr_expect_null(pc);
	cr_expect_str_eq(ref_commune_name(ref, "98411"),
			 "Îles Saint-Paul et Nouvelle-Amsterdam");
	cr_expect_not(ref_commune_known(ref, "98412"), "not in the fixture");
	referential_free(ref);
}

/* SPEC §5: such a code has no postal code, so no ML zone holds it: a failed
 * line on it goes to the national report alone; a covered commune's line to
 * its MLs; a code-08 line to the national report whatever its commune. */
Test(referential, route_without_postcode)
{
	struct referential *ref = load_fixtures();
	struct route r = { 0 };
	uint32_t not_found = UINT32_C(1) << CODE_NOT_FOUND;

	cr_assert_eq(route_line(&r, ref, "98411", not_found), 0);
	cr_assert_eq(r.n, 1);
	cr_expect_str_eq(r.mls[0], ROUTE_NATIONAL);
	cr_assert_eq(route_line(&r, ref, "98411", UINT32_C(1) << CODE_MOTIF), 0);
	cr_assert_eq(r.n, 1);
	cr_expect_str_eq(r.mls[0], ROUTE_NATIONAL);

	cr_assert_eq(route_line(&r, ref, "44109", not_found), 0);
	cr_assert_eq(r.n, 2, "a covered commune: its MLs, not the national report");
	cr_expect_str_eq(r.mls[0], "ML_ESTUAIRE");
	cr_expect_str_eq(r.mls[1], "ML_NANTES");
	cr_assert_eq(route_line(&r, ref, "44109", UINT32_C(1) << CODE_INSEE), 0);
	cr_assert_eq(r.n, 1);
	cr_expect_str_eq(r.mls[0], ROUTE_NATIONAL);
	route_release(&r);
	referential_free(ref);
}

/* SPEC §5, the rule itself as the reporter routes by it and the editions
 * service explains it: the first reason found, in this order. */
Test(referential, route_reason)
{
	struct referential *ref = load_fixtures();
	uint32_t not_found = UINT32_C(1) << CODE_NOT_FOUND;
	uint32_t columns = UINT32_C(1) << CODE_COLUMNS, insee = UINT32_C(1) << CODE_INSEE;
	const char *pc = NULL, *ml = NULL;

	cr_expect_eq(route_reason(ref, "44109", not_found, &pc, &ml), ROUTE_COVERED);
	cr_expect_str_eq(pc, "44000", "its first postal code that a zone holds");
	cr_expect_str_eq(ml, "ML_NANTES");
	cr_expect_eq(route_reason(ref, "44109", columns, NULL, NULL), ROUTE_MALFORMED);
	cr_expect_eq(route_reason(ref, "44109", columns | insee, NULL, NULL), ROUTE_MALFORMED);
	cr_expect_eq(route_reason(ref, "44109", insee, NULL, NULL), ROUTE_UNKNOWN_INSEE);
	cr_expect_eq(route_reason(ref, "", not_found, NULL, NULL), ROUTE_NO_COMMUNE);
	cr_expect_eq(route_reason(ref, NULL, not_found, NULL, NULL), ROUTE_NO_COMMUNE);
	cr_expect_eq(route_reason(ref, "98412", not_found, NULL, NULL), ROUTE_NO_COMMUNE);
	cr_expect_eq(route_reason(ref, "98411", not_found, NULL, NULL), ROUTE_NO_POSTCODE);
	referential_free(ref);

	char err[256] = "";
	ref = referential_load(FIX "communes.csv", FIX "motifs.csv", NULL, err, sizeof(err));
	cr_assert_not_null(ref, "%s", err);
	cr_expect_eq(route_reason(ref, "44109", not_found, NULL, NULL), ROUTE_UNCOVERED,
		     "no zone holds any of its postal codes");
	struct route r = { 0 };
	cr_assert_eq(route_line(&r, ref, "44109", not_found), 0);
	cr_assert_eq(r.n, 1);
	cr_expect_str_eq(r.mls[0], ROUTE_NATIONAL);
	route_release(&r);
	referential_free(ref);
}

Test(referential, files_are_optional)
{
	char err[256] = "";
	struct referential *ref = referential_load(NULL, FIX "motifs.csv", NULL, err, sizeof(err));
	cr_assert_not_null(ref, "%s", err);
	cr_expect_not(ref_commune_known(ref, "75056"));
	cr_expect(ref_motif_known(ref, "01"));
	const char *const *mls;
	cr_expect_eq(ref_coverage_mls(ref, "44100", &mls), 0);
	referential_free(ref);
	referential_free(NULL);
}

Test(referential, missing_file)
{
	char err[256] = "";
	struct referential *ref = referential_load("/nonexistent/communes.csv", NULL, NULL,
						   err, sizeof(err));
	cr_expect_null(ref);
	cr_expect_str_eq(err, "cannot open '/nonexistent/communes.csv': No such file or directory");
}

/* Malformed files: each gives an error naming the file and the line. */
enum kind { COMMUNES, MOTIFS, COVERAGE };

struct bad_case {
	int kind;
	char content[160];
	char want[160]; /* the error after "<path>" */
};

ParameterizedTestParameters(referential, malformed)
{
	static struct bad_case cases[] = {
		{ COMMUNES, "", ": empty file, expected the header 'code_insee;code_postal;nom_commune'" },
		{ COMMUNES, "\n\n", ": empty file, expected the header 'code_insee;code_postal;nom_commune'" },
		{ COMMUNES, "75056;75001;Paris\n", ":1: expected the header 'code_insee;code_postal;nom_commune'" },
		{ COMMUNES, "code_insee;code_postal\n", ":1: expected the header 'code_insee;code_postal;nom_commune'" },
		{ COMMUNES, "code_insee;code_postal;nom_commune;x\n", ":1: expected the header 'code_insee;code_postal;nom_commune'" },
		{ COMMUNES, "code_insee;code_postal;nom_commune\n75056;75001\n", ":2: expected 3 fields, found 2" },
		{ COMMUNES, "code_insee;code_postal;nom_commune\n\n75056;75001;Paris;x\n", ":3: expected 3 fields, found 4" },
		{ COMMUNES, "code_insee;code_postal;nom_commune\n7505;75001;Paris\n", ":2: bad code_insee '7505' (5 characters, digits or 2A/2B)" },
		{ COMMUNES, "code_insee;code_postal;nom_commune\n;75001;Paris\n", ":2: bad code_insee '' (5 characters, digits or 2A/2B)" },
		{ COMMUNES, "code_insee;code_postal;nom_commune\n3A004;20000;X\n", ":2: bad code_insee '3A004' (5 characters, digits or 2A/2B)" },
		{ COMMUNES, "code_insee;code_postal;nom_commune\n75056;7500A;Paris\n", ":2: bad code_postal '7500A' (5 digits)" },
		{ MOTIFS, "code;libelle\n01\n", ":2: expected 2 fields, found 1" },
		{ MOTIFS, "code;libelle\n;Sans code\n", ":2: empty code" },
		{ MOTIFS, "code;libelle\n01;A\r\n01;B\r\n", ":3: code '01' appears twice" },
		{ MOTIFS, "code,libelle\n", ":1: expected the header 'code;libelle'" },
		{ COVERAGE, "ml_code;ml_nom;code_postal\nML1;Une ML\n", ":2: expected 3 fields, found 2" },
		{ COVERAGE, "ml_code;ml_nom;code_postal\n;Une ML;44000\n", ":2: empty ml_code" },
		{ COVERAGE, "ml_code;ml_nom;code_postal\nML1;Une ML;\n", ":2: bad code_postal '' (5 digits)" },
		{ COVERAGE, "ml_code;ml_nom;code_postal\nML1;Une ML;440000\n", ":2: bad code_postal '440000' (5 digits)" },
		{ COVERAGE, "ml_nom;ml_code;code_postal\n", ":1: expected the header 'ml_code;ml_nom;code_postal'" },
		{ COVERAGE, "ml_code;ml_nom;code_postal\nML 1;Une ML;44000\n", ":2: ml_code 'ML 1' cannot name a report (1 to 63 of A-Z a-z 0-9 _ -, not _national)" },
		{ COVERAGE, "ml_code;ml_nom;code_postal\n../x;Une ML;44000\n", ":2: ml_code '../x' cannot name a report (1 to 63 of A-Z a-z 0-9 _ -, not _national)" },
		{ COVERAGE, "ml_code;ml_nom;code_postal\n_national;Une ML;44000\n", ":2: ml_code '_national' cannot name a report (1 to 63 of A-Z a-z 0-9 _ -, not _national)" },
	};
	return cr_make_param_array(struct bad_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad_case *c, referential, malformed)
{
	char path[] = "/tmp/aij-test-ref-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	size_t len = strlen(c->content);
	cr_assert_eq(write(fd, c->content, len), (ssize_t)len);
	close(fd);

	char err[512] = "", want[512];
	struct referential *ref = referential_load(c->kind == COMMUNES ? path : NULL,
						   c->kind == MOTIFS ? path : NULL,
						   c->kind == COVERAGE ? path : NULL,
						   err, sizeof(err));
	unlink(path);
	cr_expect_null(ref);
	referential_free(ref);
	snprintf(want, sizeof(want), "%s%s", path, c->want);
	cr_expect_str_eq(err, want);
}

Test(referential, header_any_case_bom_crlf)
{
	char path[] = "/tmp/aij-test-ref-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	const char *content = "\xEF\xBB\xBF" "Code_INSEE ; Code_Postal ; Nom_Commune\r\n"
			      "75056;75001;Paris\r\n";
	cr_assert_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	char err[512] = "";
	struct referential *ref = referential_load(path, NULL, NULL, err, sizeof(err));
	unlink(path);
	cr_assert_not_null(ref, "%s", err);
	cr_expect_str_eq(ref_commune_name(ref, "75056"), "Paris");
	referential_free(ref);
}

/* The real referential, shipped in data/ (SPEC §2.2). */
static struct referential *real;

static void load_real(void)
{
	if (access(REF_DEFAULT_COMMUNES, R_OK) != 0)
		return;
	char err[512] = "";
	real = referential_load(REF_DEFAULT_COMMUNES, REF_DEFAULT_MOTIFS, NULL, err, sizeof(err));
	cr_assert_not_null(real, "%s", err);
}

static void free_real(void)
{
	referential_free(real);
	real = NULL;
}

TestSuite(real_data, .init = load_real, .fini = free_real);

#define NEED_REAL() do { if (!real) cr_skip_test(REF_DEFAULT_COMMUNES " not there yet"); } while (0)

Test(real_data, paris)
{
	NEED_REAL();
	const char *const *pc;
	size_t n = ref_commune_postcodes(real, "75056", &pc);
	cr_expect_geq(n, 20);
	cr_expect(has(pc, n, "75001"));
	cr_expect(has(pc, n, "75116"));
	cr_expect(has(pc, n, "75020"));
	cr_expect_str_eq(ref_commune_name(real, "75056"), "Paris");

	/* Arrondissements municipaux are codes of their own. */
	n = ref_commune_postcodes(real, "75101", &pc);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(pc[0], "75001");
	n = ref_commune_postcodes(real, "75116", &pc);
	cr_expect(has(pc, n, "75016"));
	cr_expect(has(pc, n, "75116"));
}

Test(real_data, marseille_lyon)
{
	NEED_REAL();
	const char *const *pc;
	size_t n = ref_commune_postcodes(real, "13055", &pc);
	cr_expect_geq(n, 16);
	cr_expect(has(pc, n, "13001"));
	cr_expect(has(pc, n, "13016"));
	cr_expect_str_eq(ref_commune_name(real, "13055"), "Marseille");
	n = ref_commune_postcodes(real, "13201", &pc);
	cr_expect(has(pc, n, "13001"));

	n = ref_commune_postcodes(real, "69123", &pc);
	cr_expect_geq(n, 9);
	cr_expect(has(pc, n, "69001"));
	cr_expect(has(pc, n, "69009"));
	cr_expect_str_eq(ref_commune_name(real, "69123"), "Lyon");
	n = ref_commune_postcodes(real, "69381", &pc);
	cr_expect(has(pc, n, "69001"));
}

Test(real_data, other_communes)
{
	NEED_REAL();
	const char *const *pc;
	size_t n = ref_commune_postcodes(real, "2A004", &pc);
	cr_expect(has(pc, n, "20000"), "Ajaccio");
	n = ref_commune_postcodes(real, "2B033", &pc);
	cr_expect(has(pc, n, "20200"), "Bastia");
	n = ref_commune_postcodes(real, "01001", &pc);
	cr_expect(has(pc, n, "01400"), "L'Abergement-Clémenciat");
	n = ref_commune_postcodes(real, "44109", &pc);
	cr_expect(has(pc, n, "44000"), "Nantes");
}

/* The five TAAF districts: in the source with no postal code, known codes
 * (never 08) whose failed lines no ML zone can hold. */
Test(real_data, taaf_known_without_postcode)
{
	NEED_REAL();
	static const char *const taaf[] = { "98411", "98412", "98413", "98414", "98415" };
	for (size_t i = 0; i < sizeof(taaf) / sizeof(taaf[0]); i++) {
		const char *const *pc = not_set;
		cr_expect(ref_commune_known(real, taaf[i]), "'%s'", taaf[i]);
		cr_expect_eq(ref_commune_postcodes(real, taaf[i], &pc), 0, "'%s'", taaf[i]);
		cr_expect_null(pc, "'%s'", taaf[i]);
		cr_expect_not_null(ref_commune_name(real, taaf[i]), "'%s'", taaf[i]);
	}
	cr_expect_str_eq(ref_commune_name(real, "98412"), "Archipel des Kerguelen");
	cr_expect_not(ref_commune_known(real, "98410"));
	cr_expect_not(ref_commune_known(real, "98416"));
}

Test(real_data, unknown_codes)
{
	NEED_REAL();
	static const char *const unknown[] = { "99999", "00000", "75000", "2C004", "", "7510" };
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		cr_expect_not(ref_commune_known(real, unknown[i]), "'%s'", unknown[i]);
}

/* ref_commune_known() answers from a bitmap of the codes: it must agree
 * with the table (ref_commune_name) on every INSEE-shaped code and reject
 * the rest. */
Test(real_data, known_agrees_with_the_table)
{
	NEED_REAL();
	char code[24]; /* 5 characters used; room for what -Wformat-truncation fears */
	size_t known = 0;
	for (long n = 0; n < 100000; n++) {
		snprintf(code, sizeof(code), "%05ld", n);
		int k = ref_commune_known(real, code);
		cr_expect_eq(k, ref_commune_name(real, code) != NULL, "'%s'", code);
		known += (size_t)k;
	}
	for (int b = 0; b < 2; b++)
		for (int n = 0; n < 1000; n++) {
			snprintf(code, sizeof(code), "2%c%03d", 'A' + b, n);
			int k = ref_commune_known(real, code);
			cr_expect_eq(k, ref_commune_name(real, code) != NULL, "'%s'", code);
			known += (size_t)k;
		}
	cr_expect_gt(known, 30000, "the real list has tens of thousands of codes");
	static const char *const odd[] = { "2a004", "2C004", "1A004", "3B033", "2AB04",
					   "2A0045", "2A04", "A2004", "20004x" };
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		cr_expect_not(ref_commune_known(real, odd[i]), "'%s'", odd[i]);
	cr_expect(ref_commune_known(real, "2A004"));
	cr_expect(ref_commune_known(real, "2B033"));
}

Test(real_data, motifs)
{
	NEED_REAL();
	cr_expect(ref_motif_known(real, "01"));
	cr_expect_not(ref_motif_known(real, "1"));
	cr_expect_not(ref_motif_known(real, "99"));
}
