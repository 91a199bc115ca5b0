/* editions/piste: the evidence of a report's rows and weeks.json read back
 * (the contract's form, absent, malformed), checked against the report
 * (row count, codes, a row edited since, the run), the privacy rule (an ML
 * sees the id of its own dossiers only; the national team every id), the
 * words of a « Piste » for each kind of candidate, « Semaines en échec »,
 * and the JSON of GET /editions/<ml>.json. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../editions/piste.h"
#include "evidence.h"
#include "../support/files.h"

#define ML_A "ML200054781"
#define ML_B "ML200000438"

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/aij-test-piste-XXXXXX");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	char sub[128];
	snprintf(sub, sizeof(sub), "%s/evidence", dir);
	cr_assert_eq(mkdir(sub, 0755), 0);
}

static void remove_dir(void)
{
	cr_expect_eq(test_rmtree(dir), 0);
}

TestSuite(piste, .init = make_dir, .fini = remove_dir);

static void write_file(const char *rel, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

/* The report the evidence below describes, as report_parse() reads it. */
static const char report_csv[] = REPORT_BOM REPORT_HEADER "\r\n"
	"4100000001;;Martin;Léa;13/03/2005;75101;05\r\n"
	"4100000002;1234567A;Le Goff;Anaïs;01/02/2003;75101;03/03/05\r\n"
	"4100000003;7654321B;Petit;Jean;02/02/2002;75101;02/02/04\r\n"
	"4100000004;;Durand;Ghislain;04/04/2004;75101;05\r\n"
	"4100000005;;Dupont;Paul;05/05/2005;75101;05\r\n"
	"4100000006;;Bernard;Zoé;06/06/2006;;08\r\n";

/* Its evidence file, in the contract's form (keys sorted). */
static const char evidence_json[] =
	"{\"rows\": ["
	/* 1: a birth date one day off, in the ML; another ML's farther date */
	"{\"codes\": \"05\", \"evidence\": ["
	" {\"code\": \"05\", \"differs\": [\"date_naissance\"], \"dossier_id\": \"10005206\","
	"  \"ml_code\": \"" ML_A "\", \"step\": 3, \"value\": \"12/03/2005\"},"
	" {\"code\": \"05\", \"differs\": [\"nom_naissance\"], \"dossier_id\": \"20000001\","
	"  \"ml_code\": \"" ML_B "\", \"step\": 3, \"value\": \"MARTINDUPONT\"}],"
	" \"first_rejected\": \"2026-11-15\", \"line\": 12, \"weeks_rejected\": 3},"
	/* 2: 03 at steps 1 and 2 */
	"{\"codes\": \"03/03/05\", \"evidence\": ["
	" {\"code\": \"03\", \"differs\": [\"nom_naissance\"], \"dossier_id\": \"D83\","
	"  \"ml_code\": \"" ML_A "\", \"step\": 1, \"value\": \"NDIAYE\"},"
	" {\"code\": \"03\", \"differs\": [\"nom_naissance\"], \"dossier_id\": \"D84\","
	"  \"ml_code\": \"" ML_B "\", \"step\": 2, \"value\": \"MARTIN\"}],"
	" \"first_rejected\": \"2026-11-29\", \"line\": 30, \"weeks_rejected\": 1},"
	/* 3: 02 at step 1 (one of another ML), 02 at step 2 (one left), 04 */
	"{\"codes\": \"02/02/04\", \"evidence\": ["
	" {\"code\": \"02\", \"differs\": [], \"dossier_id\": \"10001\", \"ml_code\": \"" ML_A "\","
	"  \"step\": 1, \"value\": \"\"},"
	" {\"code\": \"02\", \"differs\": [], \"dossier_id\": \"10002\", \"ml_code\": \"" ML_B "\","
	"  \"step\": 1, \"value\": \"\"},"
	" {\"code\": \"02\", \"differs\": [], \"dossier_id\": \"10003\", \"ml_code\": \"" ML_A "\","
	"  \"step\": 2, \"value\": \"\"},"
	" {\"code\": \"04\", \"differs\": [], \"dossier_id\": \"10004\", \"ml_code\": \"" ML_A "\","
	"  \"step\": 3, \"value\": \"\"},"
	" {\"code\": \"04\", \"differs\": [], \"dossier_id\": \"10005\", \"ml_code\": \"" ML_A "\","
	"  \"step\": 3, \"value\": \"\"}],"
	" \"first_rejected\": \"2026-11-22\", \"line\": 31, \"weeks_rejected\": 2},"
	/* 4: a first name lengthened, another ML */
	"{\"codes\": \"05\", \"evidence\": ["
	" {\"code\": \"05\", \"differs\": [\"prenom\"], \"dossier_id\": \"D158\","
	"  \"ml_code\": \"" ML_B "\", \"step\": 3, \"value\": \"GHISLAINMARIE\"}],"
	" \"first_rejected\": \"2026-11-29\", \"line\": 124, \"weeks_rejected\": 1,"
	" \"some_new_key\": [1, 2]},"
	/* 5: no dossier near; 6: a line failed at validation */
	"{\"codes\": \"05\", \"evidence\": [], \"first_rejected\": \"2026-11-29\", \"line\": 131,"
	" \"weeks_rejected\": 1},"
	"{\"codes\": \"08\", \"evidence\": [], \"first_rejected\": \"2026-11-01\", \"line\": 140,"
	" \"weeks_rejected\": 5}"
	"], \"run_id\": \"2026-W49\"}\n";

static struct report rep;
static struct piste pst;

static void load_both(void)
{
	char errstr[512] = "";
	cr_assert_eq(report_parse(report_csv, sizeof(report_csv) - 1, &rep, errstr,
				  sizeof(errstr)), 0);
	write_file("evidence/" ML_A ".json", evidence_json);
	cr_assert_eq(piste_load(dir, ML_A, &pst, errstr, sizeof(errstr)), 0, "%s", errstr);
}

static void release_both(void)
{
	piste_release(&pst);
	report_release(&rep);
}

/* Row i's leads for viewer, joined by " | ", the report ML_A's (report
 * "_national" when viewer is "nat"). */
static char *leads(size_t i, const char *viewer)
{
	int nat = viewer && strcmp(viewer, "nat") == 0;
	char *s = piste_text(&pst.row[i], &rep.row[i], nat ? NULL : viewer,
			     nat ? REPORT_NATIONAL : ML_A, " | ");
	cr_assert_not_null(s);
	return s;
}

#define EXPECT_LEADS(i, viewer, want)                                          \
	do {                                                                   \
		char *got_ = leads(i, viewer);                                 \
		cr_expect_str_eq(got_, want, "row %d for %s", (int)(i) + 1,    \
				 (viewer) ? (viewer) : "national, ML_A's report"); \
		free(got_);                                                    \
	} while (0)

Test(piste, reads_the_contract_form)
{
	load_both();
	cr_expect_str_eq(pst.run_id, "2026-W49");
	cr_assert_eq(pst.n, 6);
	cr_expect_eq(pst.row[0].line, 12);
	cr_expect_str_eq(pst.row[0].codes, "05");
	cr_expect_eq(pst.row[0].weeks, 3);
	cr_expect_str_eq(pst.row[0].first, "2026-11-15");
	cr_assert_eq(pst.row[0].n_cand, 2);
	cr_expect_str_eq(pst.row[0].cand[0].dossier_id, "10005206");
	cr_expect_eq(pst.row[0].cand[0].differs, EVIDENCE_DATE);
	cr_expect_eq(pst.row[0].cand[0].code, 5);
	cr_expect_eq(pst.row[0].cand[0].step, 3);
	cr_expect_eq(pst.row[2].n_cand, 5);
	cr_expect_eq(pst.row[2].cand[2].step, 2);
	cr_expect_eq(pst.row[3].cand[0].differs, EVIDENCE_PRENOM);
	cr_expect_eq(pst.row[4].n_cand, 0);
	char why[200];
	cr_expect_eq(piste_matches(&pst, &rep, "2026-W49", why, sizeof(why)), 1, "%s", why);
	cr_expect_eq(piste_matches(&pst, &rep, NULL, why, sizeof(why)), 1, "%s", why);
	release_both();
}

Test(piste, absent_and_malformed_files)
{
	struct piste p;
	char errstr[512] = "";
	cr_expect_eq(piste_load(dir, ML_B, &p, errstr, sizeof(errstr)), 1);
	cr_expect_eq(p.n, 0);
	cr_expect_eq(piste_load("/nonexistent-aij", ML_B, &p, errstr, sizeof(errstr)), 1);

	static const struct {
		const char *text;
		const char *why;
	} bad[] = {
		{ "{\"rows\": [", "cannot read" },
		{ "[]", "no rows" },
		{ "{\"rows\": {}}", "no rows" },
		{ "{\"rows\": [{\"codes\": \"05\", \"evidence\": [], \"line\": 0,"
		  " \"weeks_rejected\": 1, \"first_rejected\": \"2026-11-01\"}]}", "row 1: not a row" },
		{ "{\"rows\": [{\"codes\": \"05\", \"evidence\": [], \"line\": 3,"
		  " \"weeks_rejected\": 0, \"first_rejected\": \"2026-11-01\"}]}", "row 1: not a row" },
		{ "{\"rows\": [{\"codes\": \"05\", \"evidence\": [], \"line\": 3,"
		  " \"weeks_rejected\": 1, \"first_rejected\": \"01/11/2026\"}]}", "row 1: not a row" },
		{ "{\"rows\": [{\"codes\": \"05\", \"evidence\": [{\"code\": \"05\", \"differs\": "
		  "[\"adresse\"], \"dossier_id\": \"1\", \"ml_code\": \"M\", \"step\": 3, \"value\": \"\"}],"
		  " \"line\": 3, \"weeks_rejected\": 1, \"first_rejected\": \"2026-11-01\"}]}",
		  "differs by 'adresse'" },
		{ "{\"rows\": [{\"codes\": \"05\", \"evidence\": [{\"code\": \"07\", \"differs\": "
		  "[], \"dossier_id\": \"1\", \"ml_code\": \"M\", \"step\": 3, \"value\": \"\"}],"
		  " \"line\": 3, \"weeks_rejected\": 1, \"first_rejected\": \"2026-11-01\"}]}",
		  "code '07'" },
		{ "{\"rows\": [{\"codes\": \"05\", \"evidence\": [{\"code\": \"05\", \"differs\": "
		  "[], \"ml_code\": \"M\", \"step\": 3, \"value\": \"\"}],"
		  " \"line\": 3, \"weeks_rejected\": 1, \"first_rejected\": \"2026-11-01\"}]}",
		  "without dossier_id" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file("evidence/" ML_B ".json", bad[i].text);
		errstr[0] = '\0';
		cr_expect_eq(piste_load(dir, ML_B, &p, errstr, sizeof(errstr)), -1, "case %zu", i);
		cr_expect(strstr(errstr, bad[i].why) != NULL, "case %zu: '%s', want '%s'", i,
			  errstr, bad[i].why);
		cr_expect_null(p.root, "case %zu", i);
		cr_expect_eq(p.n, 0, "case %zu", i);
	}
	/* A link in place of the file is not followed. */
	char target[256], link[256];
	snprintf(target, sizeof(target), "%s/elsewhere.json", dir);
	snprintf(link, sizeof(link), "%s/evidence/" ML_B ".json", dir);
	write_file("elsewhere.json", "{\"rows\": []}");
	unlink(link);
	cr_assert_eq(symlink(target, link), 0);
	cr_expect_eq(piste_load(dir, ML_B, &p, errstr, sizeof(errstr)), -1);
}

Test(piste, a_replaced_report_does_not_match)
{
	load_both();
	char why[200] = "";
	struct report r2;
	char errstr[256];

	/* One row less. */
	static const char fewer[] = REPORT_HEADER "\r\n"
		"4100000001;;Martin;Léa;13/03/2005;75101;05\r\n";
	cr_assert_eq(report_parse(fewer, sizeof(fewer) - 1, &r2, errstr, sizeof(errstr)), 0);
	cr_expect_eq(piste_matches(&pst, &r2, NULL, why, sizeof(why)), 0);
	cr_expect(strstr(why, "the evidence has 6 rows, the report 1") != NULL, "%s", why);
	report_release(&r2);

	/* As many rows, two of them swapped: the codes differ. */
	char *swapped = strdup(report_csv);
	char *a = strstr(swapped, "4100000001;;Martin;Léa;13/03/2005;75101;05");
	char *b = strstr(swapped, "4100000002;1234567A;Le Goff;Anaïs;01/02/2003;75101;03/03/05");
	cr_assert(a && b);
	const char *ra = "4100000002;1234567A;Le Goff;Anaïs;01/02/2003;75101;03/03/05\r\n"
			 "4100000001;;Martin;Léa;13/03/2005;75101;05\r\n";
	memcpy(a, ra, strlen(ra));
	cr_assert_eq(report_parse(swapped, strlen(swapped), &r2, errstr, sizeof(errstr)), 0);
	cr_expect_eq(piste_matches(&pst, &r2, NULL, why, sizeof(why)), 0);
	cr_expect(strstr(why, "row 1: codes '05' in the evidence, '03/03/05' in the report"),
		  "%s", why);
	report_release(&r2);
	free(swapped);

	/* The same codes, but the line edited to the dossier's value: the lead
	 * would say « 12/03/2005 au lieu de 12/03/2005 ». */
	char *edited = strdup(report_csv);
	char *d = strstr(edited, "13/03/2005");
	memcpy(d, "12", 2);
	cr_assert_eq(report_parse(edited, strlen(edited), &r2, errstr, sizeof(errstr)), 0);
	cr_expect_eq(piste_matches(&pst, &r2, NULL, why, sizeof(why)), 0);
	cr_expect(strstr(why, "row 1: the line holds the date_naissance"), "%s", why);
	report_release(&r2);
	free(edited);

	/* A name edited to the dossier's, written otherwise: N() compares. */
	edited = strdup(report_csv);
	char *nom = strstr(edited, "Le Goff");
	memcpy(nom, "Ndiaye ", 7);
	cr_assert_eq(report_parse(edited, strlen(edited), &r2, errstr, sizeof(errstr)), 0);
	cr_expect_eq(piste_matches(&pst, &r2, NULL, why, sizeof(why)), 0);
	cr_expect(strstr(why, "row 2: the line holds the nom_naissance"), "%s", why);
	report_release(&r2);
	free(edited);

	/* Another run's evidence. */
	cr_expect_eq(piste_matches(&pst, &rep, "2026-W50", why, sizeof(why)), 0);
	cr_expect(strstr(why, "run '2026-W49', the reports of '2026-W50'"), "%s", why);
	release_both();
}

Test(piste, privacy)
{
	load_both();
	struct piste_candidate own = { "1", ML_A, "", 5, 3, EVIDENCE_DATE };
	struct piste_candidate other = { "2", ML_B, "", 5, 3, EVIDENCE_DATE };
	cr_expect(piste_visible(&own, ML_A));
	cr_expect(!piste_visible(&other, ML_A));
	cr_expect(piste_visible(&own, NULL));
	cr_expect(piste_visible(&other, NULL));
	/* No id of ML_B's dossiers in anything ML_A reads. */
	static const char *const ids_b[] = { "20000001", "D84", "10002", "D158" };
	for (size_t i = 0; i < pst.n; i++) {
		char *s = leads(i, ML_A);
		for (size_t k = 0; k < sizeof(ids_b) / sizeof(ids_b[0]); k++)
			cr_expect_null(strstr(s, ids_b[k]), "row %zu shows %s: %s", i + 1,
				       ids_b[k], s);
		free(s);
	}
	json_t *j = piste_json(&pst, PISTE_OK, &rep, ML_A, ML_A, NULL);
	char *text = json_dumps(j, 0);
	for (size_t k = 0; k < sizeof(ids_b) / sizeof(ids_b[0]); k++)
		cr_expect_null(strstr(text, ids_b[k]), "the JSON shows %s", ids_b[k]);
	cr_expect_not_null(strstr(text, "10005206"));
	free(text);
	json_decref(j);
	/* The national team sees them all. */
	j = piste_json(&pst, PISTE_OK, &rep, ML_A, NULL, NULL);
	text = json_dumps(j, 0);
	for (size_t k = 0; k < sizeof(ids_b) / sizeof(ids_b[0]); k++)
		cr_expect_not_null(strstr(text, ids_b[k]), "the national JSON lacks %s", ids_b[k]);
	free(text);
	json_decref(j);
	release_both();
}

Test(piste, the_words_for_an_ml)
{
	load_both();
	EXPECT_LEADS(0, ML_A,
		     "Dossier 10005206 : date de naissance 12/03/2005 au lieu de 13/03/2005 | "
		     "Un dossier d'une autre Mission Locale (" ML_B ") : nom de naissance "
		     "MARTINDUPONT au lieu de MARTIN");
	EXPECT_LEADS(1, ML_A,
		     "Dossier D83, même n° PE en cotraitance : nom de naissance NDIAYE au lieu "
		     "de LEGOFF | Un dossier d'une autre Mission Locale (" ML_B "), même n° PE "
		     "en complément : nom de naissance MARTIN au lieu de LEGOFF");
	EXPECT_LEADS(2, ML_A,
		     "2 dossiers ont ce n° PE en cotraitance : 10001 et un dossier d'une autre "
		     "Mission Locale (" ML_B ") | Un autre dossier a aussi ce n° PE en "
		     "complément : 10003 | 2 dossiers ont ces nom, prénom et date de naissance : "
		     "10004, 10005");
	EXPECT_LEADS(3, ML_A,
		     "Un dossier d'une autre Mission Locale (" ML_B ") : prénom GHISLAINMARIE "
		     "au lieu de GHISLAIN");
	EXPECT_LEADS(4, ML_A, "");
	EXPECT_LEADS(5, ML_A, "");
	release_both();
}

Test(piste, the_words_for_the_national_team)
{
	load_both();
	/* In ML_A's report: the ML of a dossier when it is another. */
	EXPECT_LEADS(0, NULL,
		     "Dossier 10005206 : date de naissance 12/03/2005 au lieu de "
		     "13/03/2005 | Dossier 20000001 (" ML_B ") : nom de naissance MARTINDUPONT "
		     "au lieu de MARTIN");
	EXPECT_LEADS(2, NULL,
		     "2 dossiers ont ce n° PE en cotraitance : 10001, 10002 (" ML_B ") | Un "
		     "autre dossier a aussi ce n° PE en complément : 10003 | 2 dossiers ont ces "
		     "nom, prénom et date de naissance : 10004, 10005");
	/* In the national report: every dossier's ML. */
	EXPECT_LEADS(0, "nat",
		     "Dossier 10005206 (" ML_A ") : date de naissance 12/03/2005 au lieu de "
		     "13/03/2005 | Dossier 20000001 (" ML_B ") : nom de naissance MARTINDUPONT "
		     "au lieu de MARTIN");
	EXPECT_LEADS(2, "nat",
		     "2 dossiers ont ce n° PE en cotraitance : 10001 (" ML_A "), 10002 (" ML_B
		     ") | Un autre dossier a aussi ce n° PE en complément : 10003 (" ML_A ") | "
		     "2 dossiers ont ces nom, prénom et date de naissance : 10004 (" ML_A "), "
		     "10005 (" ML_A ")");
	release_both();
}

Test(piste, groups_of_dossiers_hidden_and_cut)
{
	/* Five dossiers for a numéro PE (the most listed: maybe more), three
	 * of other MLs, two of them the same; then three for the identity, the
	 * row's eight: maybe more too. */
	struct piste_candidate c[8] = {
		{ "1", ML_A, "", 2, 1, 0 }, { "2", ML_B, "", 2, 1, 0 },
		{ "3", "ML3", "", 2, 1, 0 }, { "4", ML_B, "", 2, 1, 0 },
		{ "5", ML_A, "", 2, 1, 0 }, { "6", ML_B, "", 4, 3, 0 },
		{ "7", ML_B, "", 4, 3, 0 }, { "8", ML_B, "", 4, 3, 0 },
	};
	struct piste_row pr = { 9, "02/05/04", c, 8, 1, "2026-11-29" };
	struct report_row rr = { 2, { "", "", "A", "B", "01/01/2001", "", "02/05/04" }, { { 0 }, 0, 0 } };
	char *s = piste_text(&pr, &rr, ML_A, ML_A, "\n");
	cr_expect_str_eq(s, "Au moins 5 dossiers ont ce n° PE en cotraitance : 1, 5 et 3 "
			 "dossiers d'autres Missions Locales (" ML_B ", ML3)\n"
			 "Au moins 3 dossiers ont ces nom, prénom et date de naissance : 3 "
			 "dossiers d'une autre Mission Locale (" ML_B ")");
	free(s);
	/* Fewer than the row's most: the count is exact. */
	pr.n_cand = 7;
	s = piste_text(&pr, &rr, ML_A, ML_A, "\n");
	cr_expect(strstr(s, "\n2 dossiers ont ces nom, prénom et date de naissance : 2 "
			 "dossiers d'une autre Mission Locale (" ML_B ")"), "%s", s);
	free(s);
}

Test(piste, weeks_in_words)
{
	struct piste_row pr = { 9, "05", NULL, 0, 3, "2026-11-15" };
	char buf[64];
	piste_weeks_text(&pr, buf, sizeof(buf));
	cr_expect_str_eq(buf, "3 (depuis le 15/11/2026)");
	pr.weeks = 1;
	pr.first = "2026-12-06";
	piste_weeks_text(&pr, buf, sizeof(buf));
	cr_expect_str_eq(buf, "1 (depuis le 06/12/2026)");
	pr.weeks = 0;
	piste_weeks_text(&pr, buf, sizeof(buf));
	cr_expect_str_eq(buf, "");
}

Test(piste, the_api_json)
{
	load_both();
	json_t *j = piste_json(&pst, PISTE_OK, &rep, ML_A, ML_A, "ignored");
	char *text = json_dumps(j, JSON_PRESERVE_ORDER | JSON_COMPACT);
	/* Its order, the contract's keys only (not the file's unknown ones). */
	cr_expect(strncmp(text, "{\"run_id\":\"2026-W49\",\"ml_code\":\"" ML_A "\","
			  "\"evidence_state\":\"ok\",\"rows\":[{\"line\":12,\"codes\":\"05\","
			  "\"evidence\":[{\"dossier_id\":\"10005206\",\"ml_code\":\"" ML_A "\","
			  "\"code\":\"05\",\"step\":3,\"differs\":[\"date_naissance\"],"
			  "\"value\":\"12/03/2005\"},{\"ml_code\":\"" ML_B "\",\"code\":\"05\"",
			  strlen("{\"run_id\":\"2026-W49\",\"ml_code\":\"" ML_A "\","
				 "\"evidence_state\":\"ok\",\"rows\":[{\"line\":12,\"codes\":\"05\","
				 "\"evidence\":[{\"dossier_id\":\"10005206\",\"ml_code\":\"" ML_A "\","
				 "\"code\":\"05\",\"step\":3,\"differs\":[\"date_naissance\"],"
				 "\"value\":\"12/03/2005\"},{\"ml_code\":\"" ML_B "\",\"code\":\"05\"")) == 0,
		  "%s", text);
	cr_expect_null(strstr(text, "some_new_key"));
	free(text);
	json_t *rows = json_object_get(j, "rows");
	cr_assert_eq(json_array_size(rows), 6);
	json_t *last = json_array_get(rows, 5);
	cr_expect_eq(json_integer_value(json_object_get(last, "line")), 140);
	cr_expect_str_eq(json_string_value(json_object_get(last, "codes")), "08");
	cr_expect_eq(json_integer_value(json_object_get(last, "weeks_rejected")), 5);
	cr_expect_str_eq(json_string_value(json_object_get(last, "first_rejected")), "2026-11-01");
	cr_expect_eq(json_array_size(json_object_get(last, "evidence")), 0);
	json_decref(j);

	/* No evidence: the report's rows, nothing known. */
	j = piste_json(NULL, PISTE_ABSENT, &rep, ML_A, ML_A, "2026-W47");
	cr_expect_str_eq(json_string_value(json_object_get(j, "run_id")), "2026-W47");
	cr_expect_str_eq(json_string_value(json_object_get(j, "evidence_state")), "absent");
	rows = json_object_get(j, "rows");
	cr_assert_eq(json_array_size(rows), 6);
	for (size_t i = 0; i < 6; i++) {
		json_t *row = json_array_get(rows, i);
		cr_expect(json_is_null(json_object_get(row, "line")));
		cr_expect(json_is_null(json_object_get(row, "weeks_rejected")));
		cr_expect(json_is_null(json_object_get(row, "first_rejected")));
		cr_expect_eq(json_array_size(json_object_get(row, "evidence")), 0);
		cr_expect_str_eq(json_string_value(json_object_get(row, "codes")),
				 rep.row[i].field[REPORT_COL_CODES]);
	}
	json_decref(j);
	/* A replaced report: the same, whatever the file held. */
	j = piste_json(&pst, PISTE_REPLACED, &rep, ML_A, NULL, NULL);
	cr_expect_str_eq(json_string_value(json_object_get(j, "evidence_state")), "replaced");
	cr_expect(json_is_null(json_object_get(j, "run_id")));
	cr_expect(json_is_null(json_object_get(json_array_get(json_object_get(j, "rows"), 0),
					       "line")));
	json_decref(j);
	release_both();
}

Test(piste, weeks_file)
{
	struct piste_weeks w;
	char errstr[512] = "";
	cr_expect_eq(piste_weeks_load(dir, &w, errstr, sizeof(errstr)), 1);
	/* As the reporter publishes it: DIR/weeks.json -> current/weeks.json. */
	char cur[128], link[128];
	snprintf(cur, sizeof(cur), "%s/current", dir);
	snprintf(link, sizeof(link), "%s/weeks.json", dir);
	cr_assert_eq(mkdir(cur, 0755), 0);
	cr_assert_eq(symlink("current/weeks.json", link), 0);
	write_file("current/weeks.json", "{\"by_weeks_rejected\": {\"1\": 70112, \"10\": 4, "
		   "\"2\": 4210, \"3\": 817}, \"failed\": 75143, \"run_id\": \"2026-W49\"}\n");
	cr_assert_eq(piste_weeks_load(dir, &w, errstr, sizeof(errstr)), 0, "%s", errstr);
	cr_expect_str_eq(w.run_id, "2026-W49");
	cr_expect_eq(w.failed, 75143);
	cr_assert_eq(w.n, 4);
	cr_expect_eq(w.by[0].weeks, 1);
	cr_expect_eq(w.by[1].weeks, 2);
	cr_expect_eq(w.by[2].weeks, 3);
	cr_expect_eq(w.by[3].weeks, 10);
	cr_expect_eq(w.by[3].lines, 4);
	cr_expect_eq(piste_weeks_at_least(&w, 3), 821);
	cr_expect_eq(piste_weeks_at_least(&w, 1), 75143);
	piste_weeks_release(&w);
	write_file("weeks.json", "{\"by_weeks_rejected\": {\"trois\": 1}, \"failed\": 1}");
	cr_expect_eq(piste_weeks_load(dir, &w, errstr, sizeof(errstr)), -1);
	cr_expect(strstr(errstr, "\"trois\""), "%s", errstr);
	write_file("weeks.json", "{\"failed\": 1}");
	cr_expect_eq(piste_weeks_load(dir, &w, errstr, sizeof(errstr)), -1);
}
