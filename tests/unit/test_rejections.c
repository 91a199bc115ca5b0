/* The reporter's side of issue 18 without Kafka: the evidence kept with a
 * failed line and written as JSON (escaped as Python's json.dumps), and the
 * weeks in a row counted from the state of the run published before
 * (consecutive runs, a corrected week replacing its run, identities
 * forgotten after REJECTIONS_KEEP runs, a line without identity, one
 * dispositif on two lines, a damaged state). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect.h"
#include "rejections.h"
#include "report.h"
#include "support/files.h"

TestSuite(rejections, .timeout = 60);

static char tmp[256];

static void tmp_setup(void)
{
	snprintf(tmp, sizeof(tmp), "%s/aij-test-rejections-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	cr_assert_not_null(mkdtemp(tmp));
}

static void tmp_teardown(void)
{
	test_rmtree(tmp);
}

/* A failed line: its sigma (identity with AIJ;01/09/2026), its codes. */
struct line {
	uint64_t line;
	const char *sigma;
	const char *codes;      /* "05/05/05" */
};

/* A run of failed lines, finished: c is to release. */
static void run_of(struct collect *c, const char *run_id, const struct line *lines,
		   size_t n)
{
	char errstr[256];
	cr_assert_eq(collect_init(c, run_id, NULL, NULL, errstr, sizeof(errstr)), 0, "%s",
		     errstr);
	Aij__Manifest m = AIJ__MANIFEST__INIT;
	m.run_id = (char *)run_id;
	m.source_name = "week.csv";
	m.sha256 = "00";
	m.records = n;
	m.last_line = n;
	cr_assert_geq(collect_manifest(c, &m, errstr, sizeof(errstr)), 0);
	for (size_t i = 0; i < n; i++) {
		Aij__Outcome o = AIJ__OUTCOME__INIT;
		Aij__Failed f = AIJ__FAILED__INIT;
		char *fields[] = { (char *)lines[i].sigma, "", "", "NOM", "PRENOM", "01/01/2000",
				   "75056", "AIJ", "01/09/2026", "", "", "" };
		uint32_t codes[3];
		size_t nc = 0;
		for (const char *p = lines[i].codes; *p; p += p[2] ? 3 : 2)
			codes[nc++] = (uint32_t)atoi(p);
		o.run_id = (char *)run_id;
		o.seq = i;
		o.line = lines[i].line;
		f.codes = codes;
		f.n_codes = nc;
		o.result_case = AIJ__OUTCOME__RESULT_FAILED;
		o.failed = &f;
		o.fields = fields;
		o.n_fields = 12;
		cr_assert_eq(collect_outcome(c, &o, errstr, sizeof(errstr)), 1, "%s", errstr);
	}
	cr_assert_eq(collect_finish(c, errstr, sizeof(errstr)), 0, "%s", errstr);
}

/* Publishes the weeks of a run into tmp/<gen> from tmp/<prev> (0: none);
 * out gets "sigma:weeks:first" a line, joined by ' '. */
static void publish(int gen, int prev, const char *run_id, const char *today,
		    const struct line *lines, size_t n, char *out, size_t out_size)
{
	char dir[512], prev_dir[512], errstr[256];
	snprintf(dir, sizeof(dir), "%s/%d", tmp, gen);
	snprintf(prev_dir, sizeof(prev_dir), "%s/%d", tmp, prev);
	cr_assert_eq(mkdir(dir, 0777), 0);
	struct collect c;
	run_of(&c, run_id, lines, n);
	struct rejections *r = rejections_load(prev ? prev_dir : NULL, run_id, errstr,
					       sizeof(errstr));
	cr_assert_not_null(r, "%s", errstr);
	struct rejections_line w[16];
	cr_assert_eq(rejections_count(r, &c, today, w, errstr, sizeof(errstr)), 0, "%s", errstr);
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < c.n_failed; i++)
		len += (size_t)snprintf(out + len, out_size - len, "%s%s:%u:%s", i ? " " : "",
					collect_failed_col(&c, &c.failed[i], COL_SIGMA),
					(unsigned)w[i].weeks, w[i].first);
	cr_assert_eq(rejections_write(r, dir, errstr, sizeof(errstr)), 0, "%s", errstr);
	rejections_free(r);
	collect_release(&c);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

Test(rejections, consecutive_runs, .init = tmp_setup, .fini = tmp_teardown)
{
	char got[512];
	const struct line w1[] = { { 1, "X", "05" }, { 2, "Y", "05/05/05" } };
	publish(1, 0, "2026-W01", "2026-01-04", w1, N(w1), got, sizeof(got));
	cr_expect_str_eq(got, "X:1:2026-01-04 Y:1:2026-01-04");
	const struct line w2[] = { { 1, "X", "05" }, { 3, "Z", "07" } };
	publish(2, 1, "2026-W02", "2026-01-11", w2, N(w2), got, sizeof(got));
	cr_expect_str_eq(got, "X:2:2026-01-04 Z:1:2026-01-11");
	/* Y failed in week 1, not in week 2: a streak starts again. */
	const struct line w3[] = { { 1, "X", "05" }, { 2, "Y", "05" } };
	publish(3, 2, "2026-W03", "2026-01-18", w3, N(w3), got, sizeof(got));
	cr_expect_str_eq(got, "X:3:2026-01-04 Y:1:2026-01-18");
}

/* A run published again under its run id (a corrected week) replaces it:
 * counted from the state before it, not one week more. */
Test(rejections, a_corrected_week_is_not_a_week_more, .init = tmp_setup,
     .fini = tmp_teardown)
{
	char got[512];
	const struct line w1[] = { { 1, "X", "05" } };
	publish(1, 0, "2026-W01", "2026-01-04", w1, N(w1), got, sizeof(got));
	publish(2, 1, "2026-W02", "2026-01-11", w1, N(w1), got, sizeof(got));
	cr_expect_str_eq(got, "X:2:2026-01-04");
	const struct line fixed[] = { { 1, "X", "05" }, { 2, "Y", "05" } };
	publish(3, 2, "2026-W02", "2026-01-12", fixed, N(fixed), got, sizeof(got));
	cr_expect_str_eq(got, "X:2:2026-01-04 Y:1:2026-01-12");
	/* And again: still counted from before week 2. */
	publish(4, 3, "2026-W02", "2026-01-13", w1, N(w1), got, sizeof(got));
	cr_expect_str_eq(got, "X:2:2026-01-04");
	publish(5, 4, "2026-W03", "2026-01-18", fixed, N(fixed), got, sizeof(got));
	cr_expect_str_eq(got, "X:3:2026-01-04 Y:1:2026-01-18");
}

/* Whether the state of tmp/<gen> holds sigma's identity. */
static int state_has(int gen, const char *sigma)
{
	char path[512], want[64], text[4096] = "";
	snprintf(path, sizeof(path), "%s/%d/" REJECTIONS_FILE, tmp, gen);
	snprintf(want, sizeof(want), "\t%s;AIJ;01/09/2026\n", sigma);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return strstr(text, want) != NULL;
}

Test(rejections, forgotten_after_keep_runs, .init = tmp_setup, .fini = tmp_teardown)
{
	char got[512], run_id[16];
	const struct line x[] = { { 1, "X", "05" } }, other[] = { { 1, "O", "05" } };
	publish(1, 0, "R1", "2026-01-01", x, N(x), got, sizeof(got));
	for (int g = 2; g <= REJECTIONS_KEEP + 1; g++) {
		snprintf(run_id, sizeof(run_id), "R%d", g);
		publish(g, g - 1, run_id, "2026-01-02", other, N(other), got, sizeof(got));
		cr_expect_eq(state_has(g, "X"), g < REJECTIONS_KEEP + 1,
			     "after run %d: X %s", g, state_has(g, "X") ? "kept" : "forgotten");
	}
	/* O failed in every run since the second. */
	cr_expect_str_eq(got, "O:8:2026-01-02");
}

Test(rejections, no_identity_and_one_dispositif_on_two_lines, .init = tmp_setup,
     .fini = tmp_teardown)
{
	char got[512];
	const struct line w[] = { { 1, "", "07" }, { 2, "X", "05" }, { 3, "X", "05" } };
	publish(1, 0, "W1", "2026-01-04", w, N(w), got, sizeof(got));
	cr_expect_str_eq(got, ":1:2026-01-04 X:1:2026-01-04 X:1:2026-01-04");
	publish(2, 1, "W2", "2026-01-11", w, N(w), got, sizeof(got));
	cr_expect_str_eq(got, ":1:2026-01-11 X:2:2026-01-04 X:2:2026-01-04");
	cr_expect_not(state_has(2, ""));
}

Test(rejections, a_damaged_state_is_refused, .init = tmp_setup, .fini = tmp_teardown)
{
	char path[512], errstr[256];
	snprintf(path, sizeof(path), "%s/1", tmp);
	cr_assert_eq(mkdir(path, 0777), 0);
	snprintf(path, sizeof(path), "%s/1/" REJECTIONS_FILE, tmp);
	FILE *f = fopen(path, "w");
	fputs(REJECTIONS_HEADER "\truns 1\trun_id W1\n1\t1\t2026-01-04\tX;AIJ;01/09/2026\n"
	      "not a line\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/1", tmp);
	cr_expect_null(rejections_load(path, "W2", errstr, sizeof(errstr)));
	cr_expect(strstr(errstr, "line 3 is damaged") != NULL, "%s", errstr);
	/* No state there at all: a first run. */
	snprintf(path, sizeof(path), "%s/none", tmp);
	struct rejections *r = rejections_load(path, "W2", errstr, sizeof(errstr));
	cr_expect_not_null(r, "%s", errstr);
	rejections_free(r);
}

/* ------------------------------------------------------------- evidence */

Test(rejections, evidence_kept_and_written_as_python_would, .init = tmp_setup,
     .fini = tmp_teardown)
{
	struct collect c;
	char errstr[256];
	cr_assert_eq(collect_init(&c, "2026-W02", NULL, NULL, errstr, sizeof(errstr)), 0);
	Aij__Manifest m = AIJ__MANIFEST__INIT;
	m.run_id = "2026-W02";
	m.source_name = "w";
	m.sha256 = "00";
	m.records = 2;
	m.last_line = 2;
	cr_assert_geq(collect_manifest(&c, &m, errstr, sizeof(errstr)), 0);
	char *fields[] = { "S1", "", "PE", "NOM", "PRENOM", "13/03/2005", "75056", "AIJ",
			   "01/09/2026", "", "", "" };
	/* Line 7: two candidates; the second's id and ML test the escaping. */
	Aij__Candidate a = AIJ__CANDIDATE__INIT, b = AIJ__CANDIDATE__INIT;
	char *date[] = { "date_naissance" };
	a.dossier_id = "D1";
	a.ml_code = "ML1";
	a.step = 3;
	a.code = 5;
	a.differs = date;
	a.n_differs = 1;
	a.value = "12/03/2005";
	b.dossier_id = "D\"2\\\x01\t\xc3\xa9\xff";
	b.ml_code = "M\xc3\xa9L";
	b.step = 1;
	b.code = 2;
	b.value = "";
	Aij__Candidate *ev[] = { &a, &b };
	uint32_t codes[] = { 2, 5, 5 };
	Aij__Failed f = AIJ__FAILED__INIT;
	f.codes = codes;
	f.n_codes = 3;
	f.evidence = ev;
	f.n_evidence = 2;
	Aij__Outcome o = AIJ__OUTCOME__INIT;
	o.run_id = "2026-W02";
	o.line = 7;
	o.seq = 0;
	o.result_case = AIJ__OUTCOME__RESULT_FAILED;
	o.failed = &f;
	o.fields = fields;
	o.n_fields = 12;
	cr_assert_eq(collect_outcome(&c, &o, errstr, sizeof(errstr)), 1, "%s", errstr);
	/* Line 9: none. */
	uint32_t five = 5;
	Aij__Failed g = AIJ__FAILED__INIT;
	g.codes = &five;
	g.n_codes = 1;
	o.line = 9;
	o.seq = 1;
	o.failed = &g;
	cr_assert_eq(collect_outcome(&c, &o, errstr, sizeof(errstr)), 1, "%s", errstr);
	cr_assert_eq(collect_finish(&c, errstr, sizeof(errstr)), 0, "%s", errstr);
	cr_expect_eq(c.failed[0].n_evidence, 2);
	cr_expect_str_eq(collect_failed_col(&c, &c.failed[0], COL_TYPE), "AIJ");
	cr_expect_str_eq(collect_failed_col(&c, &c.failed[0], COL_DATE_DEBUT), "01/09/2026");

	struct rejections_line w[2] = { { 2, "2026-01-04" }, { 1, "2026-01-11" } };
	size_t idx[] = { 0, 1 };
	char path[512];
	snprintf(path, sizeof(path), "%s/ML1.json", tmp);
	cr_assert_eq(report_evidence_write(path, &c, idx, 2, w, errstr, sizeof(errstr)), 0,
		     "%s", errstr);
	/* json.dumps({...}, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
	 * the invalid byte 0xff read as U+FFFD. */
	const char *want =
		"{\n"
		"  \"rows\": [\n"
		"    {\n"
		"      \"codes\": \"02/05/05\",\n"
		"      \"evidence\": [\n"
		"        {\n"
		"          \"code\": \"05\",\n"
		"          \"differs\": [\n"
		"            \"date_naissance\"\n"
		"          ],\n"
		"          \"dossier_id\": \"D1\",\n"
		"          \"ml_code\": \"ML1\",\n"
		"          \"step\": 3,\n"
		"          \"value\": \"12/03/2005\"\n"
		"        },\n"
		"        {\n"
		"          \"code\": \"02\",\n"
		"          \"differs\": [],\n"
		"          \"dossier_id\": \"D\\\"2\\\\\\u0001\\t\xc3\xa9\xef\xbf\xbd\",\n"
		"          \"ml_code\": \"M\xc3\xa9L\",\n"
		"          \"step\": 1,\n"
		"          \"value\": \"\"\n"
		"        }\n"
		"      ],\n"
		"      \"first_rejected\": \"2026-01-04\",\n"
		"      \"line\": 7,\n"
		"      \"weeks_rejected\": 2\n"
		"    },\n"
		"    {\n"
		"      \"codes\": \"05\",\n"
		"      \"evidence\": [],\n"
		"      \"first_rejected\": \"2026-01-11\",\n"
		"      \"line\": 9,\n"
		"      \"weeks_rejected\": 1\n"
		"    }\n"
		"  ],\n"
		"  \"run_id\": \"2026-W02\"\n"
		"}\n";
	char got[4096] = "";
	FILE *in = fopen(path, "rb");
	cr_assert_not_null(in);
	size_t n = fread(got, 1, sizeof(got) - 1, in);
	got[n] = '\0';
	fclose(in);
	cr_expect_str_eq(got, want);

	/* No row: an empty list. */
	cr_assert_eq(report_evidence_write(path, &c, idx, 0, w, errstr, sizeof(errstr)), 0);
	in = fopen(path, "rb");
	n = fread(got, 1, sizeof(got) - 1, in);
	got[n] = '\0';
	fclose(in);
	cr_expect_str_eq(got, "{\n  \"rows\": [],\n  \"run_id\": \"2026-W02\"\n}\n");
	collect_release(&c);
}
