/* aij-reporter against the real local broker and a real Redis: outcomes
 * published by the test (duplicates, another run's, garbage), the reports,
 * integrated.csv, attached/ and summary.json it publishes, the dispositifs
 * it attaches, a run with a missing line, a run replacing the previous
 * one's reports, a held run, a reporter that dies between the attachments
 * and the files, a $TMPDIR that cannot hold the temporary file. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aij.pb-c.h"
#include "index_keys.h"
#include "support/broker.h"
#include "support/files.h"
#include "support/proc.h"
#include "support/redis_server.h"
#include "kafka.h"

#define COVERAGE "tests/integration/fixtures/reporter_coverage.csv"
#define BOM "\xef\xbb\xbf"
#define HEADER BOM "Identifiant SIGMA;Code P\xc3\xb4le Emploi;Nom de naissance;" \
	"Pr\xc3\xa9nom;Date de naissance;Commune INSEE de r\xc3\xa9sidence;Codes retour\r\n"

static struct test_broker broker;
static struct test_redis redis;
static rd_kafka_t *producer;
static char out_dir[64];
static char log_path[128];

static void setup(void)
{
	cr_assert_eq(test_broker_start(&broker, 12), 0);
	cr_assert_eq(test_redis_start(&redis), 0);
	char errstr[512];
	producer = kafka_producer_new(broker.bootstrap, NULL, NULL, NULL, errstr,
				      sizeof(errstr));
	cr_assert_not_null(producer, "%s", errstr);
	snprintf(out_dir, sizeof(out_dir), "/tmp/aij-test-reporter-XXXXXX");
	cr_assert_not_null(mkdtemp(out_dir), "mkdtemp: %s", strerror(errno));
	snprintf(log_path, sizeof(log_path), "%s.log", out_dir);
}

static void teardown(void)
{
	if (producer)
		rd_kafka_destroy(producer);
	producer = NULL;
	test_broker_stop(&broker);
	test_redis_stop(&redis);
	unsetenv("AIJ_FAULT");
	if (out_dir[0])
		test_rmtree(out_dir);
	unlink(log_path);
}

TestSuite(reporter, .init = setup, .fini = teardown, .timeout = 60);

/* One line of the test week, as a matcher would report it. */
struct line {
	uint64_t seq, line;
	const char *dossier;  /* integrated: the dossier id; NULL: failed */
	uint32_t step;
	uint32_t codes[3];
	size_t n_codes;
	const char *fields[12];
	size_t n_fields;
	const char *ml;       /* integrated: the dossier's ML */
};

static void produce(const char *topic, const char *key, const void *buf, size_t len)
{
	char errstr[512];
	cr_assert_eq(kafka_produce(producer, topic, key, strlen(key), buf, len, NULL,
				   errstr, sizeof(errstr)), 0, "%s", errstr);
}

static void publish_outcome(const char *run_id, const struct line *l)
{
	Aij__Outcome o = AIJ__OUTCOME__INIT;
	Aij__Integrated in = AIJ__INTEGRATED__INIT;
	Aij__Failed f = AIJ__FAILED__INIT;
	o.run_id = (char *)run_id;
	o.line = l->line;
	o.seq = l->seq;
	o.fields = (char **)l->fields;
	o.n_fields = l->n_fields;
	if (l->dossier) {
		in.dossier_id = (char *)l->dossier;
		in.ml_code = (char *)l->ml;
		in.step = l->step;
		o.result_case = AIJ__OUTCOME__RESULT_INTEGRATED;
		o.integrated = &in;
	} else {
		f.codes = (uint32_t *)l->codes;
		f.n_codes = l->n_codes;
		o.result_case = AIJ__OUTCOME__RESULT_FAILED;
		o.failed = &f;
	}
	uint8_t buf[4096];
	size_t len = aij__outcome__pack(&o, buf);
	char key[32];
	snprintf(key, sizeof(key), "%llu", (unsigned long long)l->line);
	produce(KAFKA_TOPIC_OUTCOMES, key, buf, len);
}

static void publish_manifest(const char *run_id, uint64_t records, uint64_t last_line)
{
	Aij__Manifest m = AIJ__MANIFEST__INIT;
	Aij__LineRange header = AIJ__LINE_RANGE__INIT;
	Aij__LineRange *skipped[] = { &header };
	header.first = 1;
	header.last = 1;
	m.run_id = (char *)run_id;
	m.source_name = "week.csv";
	m.sha256 = (char *)run_id; /* one file a run: not "already" */
	m.records = records;
	m.last_line = last_line;
	m.skipped = skipped;
	m.n_skipped = 1;
	uint8_t buf[1024];
	size_t len = aij__manifest__pack(&m, buf);
	produce(KAFKA_TOPIC_RUNS, run_id, buf, len);
}

static void flush_producer(void)
{
	cr_assert_eq(kafka_drain(producer, 10000), 0, "messages not delivered");
}

#define F12(sigma, pe, nom, prenom, date, insee) \
	{ sigma, "R01", pe, nom, prenom, date, insee, "AIJ", "01/09/2026", "", "", "" }, 12

/* Line 1 is the header; seq k is line k + 2. */
static const struct line week[] = {
	{ 0, 2, NULL, 0, { 5 }, 1, F12("S1", "", "DUPONT", "Léa", "01/02/2003", "75101") },
	{ 1, 3, "D1", 1, { 0 }, 0, F12("S2", "1111111A", "BRUN", "Ali", "06/07/2004", "75102"), "MLA" },
	{ 2, 4, NULL, 0, { 1 }, 1, { "S3", "R01", "1234567A" }, 3 },
	{ 3, 5, NULL, 0, { 8 }, 1, F12("S4", "9", "MARTIN", "Jo", "02/03/2004", "99999") },
	{ 4, 6, NULL, 0, { 2, 5, 4 }, 3, F12("S5", "7777777X", "LE GOFF", "Anne", "03/04/2005", "01001") },
	{ 5, 7, NULL, 0, { 5, 5, 5 }, 3, F12("S6", "1", "D\"ALEMBERT", "Jean", "04/05/2006", "13201") },
	{ 6, 8, "D2", 3, { 0 }, 0, F12("S7", "", "PETIT", "Léo", "07/08/2005", "01001"), "MLB" },
	{ 7, 9, NULL, 0, { 3, 3, 5 }, 3, F12("S8", "2", "ŒILLET", "Zoé", "05/06/2007", "2A004") },
};
#define WEEK_N (sizeof(week) / sizeof(week[0]))

static const char mla[] = HEADER
	"S1;;DUPONT;Léa;01/02/2003;75101;05\r\n";
static const char mlb[] = HEADER
	"S1;;DUPONT;Léa;01/02/2003;75101;05\r\n"
	"S5;7777777X;LE GOFF;Anne;03/04/2005;01001;02/05/04\r\n";
static const char mlc[] = HEADER
	"S8;2;ŒILLET;Zoé;05/06/2007;2A004;03/03/05\r\n";
static const char national[] = HEADER
	"S3;1234567A;;;;;01\r\n"
	"S4;9;MARTIN;Jo;02/03/2004;99999;08\r\n"
	"S6;1;D\"ALEMBERT;Jean;04/05/2006;13201;05/05/05\r\n";
static const char integrated[] =
	"line;dossier_id;step\n3;D1;1\n8;D2;3\n";
#define ATTACHED_HEADER "line;dossier_id;step;identifiant_sigma;identifiant_pe;" \
	"nom_naissance;prenom;date_naissance;code_insee_residence;type_dispositif;" \
	"date_debut;date_fin_prevue;date_fin_reelle;motif_sortie\n"
static const char attached_mla[] = ATTACHED_HEADER
	"3;D1;1;S2;1111111A;BRUN;Ali;06/07/2004;75102;AIJ;01/09/2026;;;\n";
static const char attached_mlb[] = ATTACHED_HEADER
	"8;D2;3;S7;;PETIT;Léo;07/08/2005;01001;AIJ;01/09/2026;;;\n";
static const char summary[] =
	"{\n"
	"  \"by_code\": {\n"
	"    \"01\": 1,\n    \"02\": 1,\n    \"03\": 1,\n    \"04\": 1,\n"
	"    \"05\": 4,\n    \"08\": 1\n  },\n"
	"  \"by_step\": {\n    \"1\": 1,\n    \"2\": 0,\n    \"3\": 1\n  },\n"
	"  \"failed\": 6,\n"
	"  \"integrated\": 2,\n"
	"  \"lines\": 8,\n"
	"  \"reports\": {\n    \"MLA\": 1,\n    \"MLB\": 2,\n    \"MLC\": 1,\n"
	"    \"_national\": 3\n  },\n"
	"  \"run_id\": \"2026-W48\"\n"
	"}\n";

/* The command line of the reporter for run_id (strings in the struct). */
struct reporter_cmd {
	char bin[4096], stall[16];
	const char *argv[32];
};

/* The reporter for run_id; strict: with the guards' default limits. */
static void reporter_cmd(struct reporter_cmd *c, const char *run_id, int stall, int strict)
{
	snprintf(c->stall, sizeof(c->stall), "%d", stall);
	const char *const argv[] = {
		test_proc_bin("aij-reporter", c->bin, sizeof(c->bin)), "--once",
		"--brokers", broker.bootstrap, "--run-id", run_id, "--out", out_dir,
		"--coverage", COVERAGE, "--stall-timeout", c->stall, "--redis", redis.addr,
		"--max-invalid-pct", "100",
		/* The guards' limits out of the way (one line in eight is code
		 * 01), unless strict: then argv ends here. */
		strict ? NULL : "--max-columns-pct", "100", NULL };
	memcpy(c->argv, argv, sizeof(argv));
}

/* Starts the reporter c, logging into log_path; returns its pid. */
static pid_t start_reporter(const struct reporter_cmd *c)
{
	struct test_proc_io io = { .err = log_path, .append = 1 };
	pid_t pid = test_proc_spawn(c->argv, &io);
	cr_assert_geq(pid, 0, "cannot start the reporter");
	return pid;
}

/* Runs the reporter c to its end; returns its wait status. */
static int run_reporter_cmd(const struct reporter_cmd *c)
{
	return test_proc_wait(start_reporter(c), -1);
}

/* Runs the reporter to its end; returns its exit status. */
static int run_reporter(const char *run_id, int stall)
{
	struct reporter_cmd c;
	reporter_cmd(&c, run_id, stall, 0);
	int st = run_reporter_cmd(&c);
	cr_assert(WIFEXITED(st), "reporter died: run %s", run_id);
	return WEXITSTATUS(st);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(1 << 20);
	cr_assert_not_null(buf);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static void assert_file(const char *name, const char *expected)
{
	char path[256];
	size_t len = 0;
	snprintf(path, sizeof(path), "%s/%s", out_dir, name);
	char *got = slurp(path, &len);
	cr_assert_not_null(got, "'%s' missing", path);
	cr_expect_eq(len, strlen(expected), "'%s': %zu bytes, expected %zu:\n%s",
		     name, len, strlen(expected), got);
	cr_expect_str_eq(got, expected, "'%s' differs", name);
	free(got);
}

static int exists(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", out_dir, name);
	return access(path, F_OK) == 0;
}

/* Number of entries in the folder out_dir/sub (0 when there is none). */
static size_t count_entries(const char *sub)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", out_dir, sub);
	DIR *d = opendir(path);
	size_t n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	if (d)
		closedir(d);
	return n;
}

/* The dispositif identity attached to dossier in Redis: its stored form
 * (want NULL: any). */
static void assert_attached(const char *dossier, const char *identity, const char *want)
{
	redisReply *r = redisCommand(redis.rc, "HGET %s%s %s", INDEX_KEY_DISPOSITIFS, dossier,
				     identity);
	cr_assert_not_null(r);
	cr_expect_eq(r->type, REDIS_REPLY_STRING, "%s not attached to %s", identity, dossier);
	if (want && r->type == REDIS_REPLY_STRING)
		cr_expect_str_eq(r->str, want);
	freeReplyObject(r);
	r = redisCommand(redis.rc, "HGET %s %s", INDEX_KEY_OWNER, identity);
	cr_expect(r && r->type == REDIS_REPLY_STRING && strcmp(r->str, dossier) == 0,
		  "%s's owner is not %s", identity, dossier);
	freeReplyObject(r);
}

/* Keys of attached dispositifs in Redis. */
static long long attached_keys(void)
{
	redisReply *r = redisCommand(redis.rc, "EVAL %s 0 %s %s",
				     "return #redis.call('KEYS', ARGV[1] .. '*') + "
				     "redis.call('EXISTS', ARGV[2])",
				     INDEX_KEY_DISPOSITIFS, INDEX_KEY_OWNER);
	cr_assert(r && r->type == REDIS_REPLY_INTEGER);
	long long n = r->integer;
	freeReplyObject(r);
	return n;
}

/* Entry i of runs.json has this status and guard. */
static void assert_history(size_t i, const char *status, const char *guard)
{
	char path[256], want[128];
	size_t len;
	snprintf(path, sizeof(path), "%s/runs.json", out_dir);
	char *text = slurp(path, &len);
	cr_assert_not_null(text, "no runs.json");
	const char *p = text;
	for (size_t k = 0; k <= i; k++) {
		p = strstr(p, "\"status\"");
		cr_assert_not_null(p, "runs.json has fewer than %zu entries: %s", i + 1, text);
		p++;
	}
	snprintf(want, sizeof(want), "\"status\": \"%s\"", status);
	cr_expect_eq(strncmp(p - 1, want, strlen(want)), 0, "entry %zu: %s", i, text);
	snprintf(want, sizeof(want), "\"guard\": \"%s\"", guard);
	cr_expect(strstr(p, want) != NULL, "entry %zu: %s", i, text);
	free(text);
}

static char *read_log(void)
{
	size_t len;
	char *log = slurp(log_path, &len);
	return log ? log : strdup("");
}

/* A child that ends at once: a pid that is surely not running. */
static int exit_at_once(void *arg)
{
	(void)arg;
	return 0;
}

Test(reporter, writes_every_output_once_per_line)
{
	/* Another run on the same topics, garbage, and redeliveries: none of
	 * them may show. The manifest comes between the outcomes. */
	struct line other = week[0];
	other.fields[0] = "OTHER";
	publish_outcome("2026-W47", &other);
	publish_manifest("2026-W47", 1, 2);
	produce(KAFKA_TOPIC_OUTCOMES, "1", "\xff\xff\xff garbage", 12);
	for (size_t i = 0; i < WEEK_N; i++) {
		publish_outcome("2026-W48", &week[i]);
		if (i == 3)
			publish_manifest("2026-W48", WEEK_N, 9);
	}
	publish_outcome("2026-W48", &week[0]);
	publish_outcome("2026-W48", &week[4]);
	flush_producer();

	/* What a reporter killed midway left: swept away. */
	pid_t dead = test_proc_call(exit_at_once, NULL, NULL);
	cr_assert_geq(dead, 0);
	test_proc_wait(dead, -1);
	char stale[128];
	snprintf(stale, sizeof(stale), "%s/.tmp-%d", out_dir, (int)dead);
	cr_assert_eq(mkdir(stale, 0777), 0);
	snprintf(stale, sizeof(stale), "%s/.published", out_dir);
	cr_assert_eq(mkdir(stale, 0777), 0);
	snprintf(stale, sizeof(stale), "%s/.published/1.tmp-%d", out_dir, (int)dead);
	cr_assert_eq(mkdir(stale, 0777), 0);

	cr_assert_eq(run_reporter("2026-W48", 20), 0, "%s", read_log());
	assert_file("reports/MLA.csv", mla);
	assert_file("reports/MLB.csv", mlb);
	assert_file("reports/MLC.csv", mlc);
	assert_file("reports/_national.csv", national);
	cr_expect_eq(count_entries("reports"), 4);
	assert_file("integrated.csv", integrated);
	assert_file("summary.json", summary);
	assert_file("attached/MLA.csv", attached_mla);
	assert_file("attached/MLB.csv", attached_mlb);
	cr_expect_eq(count_entries("attached"), 2);
	/* One generation, no staging left anywhere. */
	cr_expect_eq(count_entries(".published"), 1);
	cr_expect_neq(access(stale, F_OK), 0, "'%s' is still there", stale);
	snprintf(stale, sizeof(stale), "%s/.tmp-%d", out_dir, (int)dead);
	cr_expect_neq(access(stale, F_OK), 0, "'%s' is still there", stale);
	assert_attached("D1", "S2;AIJ;01/09/2026", "1;3;2026-W48;S2;R01;1111111A;BRUN;Ali;"
			"06/07/2004;75102;AIJ;01/09/2026;;;");
	assert_attached("D2", "S7;AIJ;01/09/2026", NULL);
	assert_history(0, "published", "");
}

Test(reporter, waits_for_outcomes_published_while_it_runs)
{
	struct reporter_cmd cmd;
	reporter_cmd(&cmd, "2026-W48", 20, 0);
	pid_t pid = start_reporter(&cmd);
	publish_manifest("2026-W48", WEEK_N, 9);
	flush_producer();
	sleep(2); /* the reporter is reading and waiting by now */
	cr_expect_not(exists("summary.json"), "written before the run completed");
	for (size_t i = WEEK_N; i-- > 0;)
		publish_outcome("2026-W48", &week[i]);
	flush_producer();
	int st = test_proc_wait(pid, -1);
	cr_assert_neq(st, -1);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", read_log());
	assert_file("reports/MLB.csv", mlb);
	assert_file("summary.json", summary);
}

Test(reporter, missing_line_fails_loudly_and_writes_nothing)
{
	publish_manifest("2026-W48", WEEK_N, 9);
	for (size_t i = 0; i < WEEK_N; i++)
		if (i != 4 && i != 6)
			publish_outcome("2026-W48", &week[i]);
	flush_producer();

	cr_assert_eq(run_reporter("2026-W48", 3), 3);
	char *log = read_log();
	cr_expect(strstr(log, "run 2026-W48 incomplete: 2 of 8 lines have no outcome")
		  != NULL, "log: %s", log);
	cr_expect(strstr(log, "lines 6, 8") != NULL, "log: %s", log);
	free(log);
	cr_expect_not(exists("summary.json"));
	cr_expect_not(exists("integrated.csv"));
	cr_expect_not(exists("reports"));
	cr_expect_eq(attached_keys(), 0, "nothing attached");
	assert_history(0, "failed", "incomplete");
}

/* A guard holds the week: nothing published, nothing attached, exit 4;
 * published by --accept. */
Test(reporter, a_held_run_changes_nothing)
{
	publish_manifest("2026-W48", WEEK_N, 9);
	for (size_t i = 0; i < WEEK_N; i++)
		publish_outcome("2026-W48", &week[i]);
	flush_producer();
	struct reporter_cmd cmd;
	/* The default limit of code 01 is 10 %: one line in eight is 12.5 %. */
	reporter_cmd(&cmd, "2026-W48", 20, 1);
	int st = run_reporter_cmd(&cmd);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 4, "%s", read_log());
	char *log = read_log();
	cr_expect(strstr(log, "held: 12.5% of the lines have code 01") != NULL, "%s", log);
	free(log);
	cr_expect_not(exists("summary.json"));
	cr_expect_not(exists("reports"));
	cr_expect_eq(attached_keys(), 0, "a held run attached dispositifs");
	assert_history(0, "held", "format");
}

/* The reporter dies once the dispositifs are attached, before the files
 * are switched: its next start finishes the publication. */
Test(reporter, a_crash_midway_is_finished_at_the_next_start)
{
	publish_manifest("2026-W48", WEEK_N, 9);
	for (size_t i = 0; i < WEEK_N; i++)
		publish_outcome("2026-W48", &week[i]);
	flush_producer();
	cr_assert_eq(setenv("AIJ_FAULT", "publish-after-attach", 1), 0);
	cr_assert_eq(run_reporter("2026-W48", 20), 9, "%s", read_log());
	cr_assert_eq(unsetenv("AIJ_FAULT"), 0);
	cr_expect_not(exists("summary.json"), "the files were switched before the crash");
	assert_attached("D1", "S2;AIJ;01/09/2026", NULL);

	/* The next start: the publication finished, then the same file again. */
	cr_assert_eq(run_reporter("2026-W48", 20), 0, "%s", read_log());
	char *log = read_log();
	cr_expect(strstr(log, "finishing its publication") != NULL, "%s", log);
	cr_expect(strstr(log, "already integrated as run 2026-W48") != NULL, "%s", log);
	free(log);
	assert_file("summary.json", summary);
	assert_file("reports/MLB.csv", mlb);
	assert_file("attached/MLA.csv", attached_mla);
	assert_history(0, "published", "");
	assert_history(1, "already", "already");
	cr_expect_eq(count_entries(".published"), 1);
	cr_expect_not(exists(".published/1/attachments"), "the journal stays once done");
}

Test(reporter, no_manifest_fails_loudly)
{
	for (size_t i = 0; i < WEEK_N; i++)
		publish_outcome("2026-W48", &week[i]);
	flush_producer();
	cr_assert_eq(run_reporter("2026-W48", 3), 3);
	char *log = read_log();
	cr_expect(strstr(log, "no manifest") != NULL, "log: %s", log);
	free(log);
	cr_expect_not(exists("summary.json"));
}

Test(reporter, next_run_replaces_every_report)
{
	publish_manifest("2026-W48", WEEK_N, 9);
	for (size_t i = 0; i < WEEK_N; i++)
		publish_outcome("2026-W48", &week[i]);
	flush_producer();
	cr_assert_eq(run_reporter("2026-W48", 20), 0, "%s", read_log());
	cr_assert_eq(count_entries("reports"), 4);

	/* Next week only line 2 fails: MLC and the national report go. */
	publish_manifest("2026-W49", WEEK_N, 9);
	for (size_t i = 0; i < WEEK_N; i++) {
		struct line l = week[i];
		if (i != 0 && !l.dossier) {
			l.dossier = "D9";
			l.step = 2;
		}
		publish_outcome("2026-W49", &l);
	}
	flush_producer();
	cr_assert_eq(run_reporter("2026-W49", 20), 0, "%s", read_log());
	assert_file("reports/MLA.csv", mla);
	cr_expect_eq(count_entries("reports"), 2);
	cr_expect_not(exists("reports/MLC.csv"));
	cr_expect_not(exists("reports/_national.csv"));
	assert_file("integrated.csv",
		    "line;dossier_id;step\n3;D1;1\n4;D9;2\n5;D9;2\n6;D9;2\n"
		    "7;D9;2\n8;D2;3\n9;D9;2\n");
	size_t len;
	char path[256];
	snprintf(path, sizeof(path), "%s/summary.json", out_dir);
	char *s = slurp(path, &len);
	cr_assert_not_null(s);
	cr_expect(strstr(s, "\"run_id\": \"2026-W49\"") != NULL, "%s", s);
	cr_expect(strstr(s, "\"by_code\": {\n    \"05\": 1\n  }") != NULL, "%s", s);
	free(s);
}

Test(reporter, unusable_tmpdir_fails_loudly_and_writes_nothing)
{
	/* The integrated lines wait in a temporary file in $TMPDIR: without
	 * one, exit 1 at once, nothing written (never a short integrated.csv). */
	publish_manifest("2026-W48", WEEK_N, 9);
	for (size_t i = 0; i < WEEK_N; i++)
		publish_outcome("2026-W48", &week[i]);
	flush_producer();
	cr_assert_eq(setenv("TMPDIR", "/nonexistent-aij-tmp", 1), 0);
	cr_assert_eq(run_reporter("2026-W48", 20), 1);
	char *log = read_log();
	cr_expect(strstr(log, "cannot create a temporary file in '/nonexistent-aij-tmp': "
			 "No such file or directory") != NULL, "log: %s", log);
	free(log);
	cr_expect_not(exists("summary.json"));
	cr_expect_not(exists("integrated.csv"));
	cr_expect_not(exists("reports"));
}
