/* The reporter's collector without Kafka: integrated lines spilled to a
 * temporary file in sorted runs and merged back in line order (tiny chunks,
 * so that a few lines make several runs), duplicates, an empty run, lines
 * beyond the manifest's count, and the loud failures: a folder that cannot
 * hold the temporary file, a temporary file that cannot grow, an output that
 * cannot be created or written. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "collect.h"
#include "report.h"
#include "spill.h"
#include "summary.h"

TestSuite(collect, .timeout = 60);

/* The runs written to c's temporary file, its size, its descriptor. */
static size_t spill_runs(const struct collect *c)
{
	struct spill_stat st;
	spill_stat(c->spill, &st);
	return st.n_runs;
}

static off_t spill_file_len(const struct collect *c)
{
	struct spill_stat st;
	spill_stat(c->spill, &st);
	return st.file_len;
}

static int spill_fd(const struct collect *c)
{
	struct spill_stat st;
	spill_stat(c->spill, &st);
	return st.fd;
}

static void feed_manifest(struct collect *c, uint64_t records)
{
	Aij__Manifest m = AIJ__MANIFEST__INIT;
	char errstr[256];
	m.run_id = c->run_id;
	m.source_name = "week.csv";
	m.sha256 = "00ff";
	m.records = records;
	m.last_line = records;
	cr_assert_geq(collect_manifest(c, &m, errstr, sizeof(errstr)), 0, "%s", errstr);
}

/* Feeds an integrated outcome; returns what collect_outcome() returned. */
static int feed_integrated(struct collect *c, uint64_t seq, uint64_t line,
			   const char *dossier, uint32_t step, char *errstr,
			   size_t errstr_size)
{
	Aij__Outcome o = AIJ__OUTCOME__INIT;
	Aij__Integrated in = AIJ__INTEGRATED__INIT;
	o.run_id = c->run_id;
	o.seq = seq;
	o.line = line;
	in.dossier_id = (char *)dossier;
	in.step = step;
	o.result_case = AIJ__OUTCOME__RESULT_INTEGRATED;
	o.integrated = &in;
	return collect_outcome(c, &o, errstr, errstr_size);
}

static void feed_failed(struct collect *c, uint64_t seq, uint64_t line, uint32_t code)
{
	Aij__Outcome o = AIJ__OUTCOME__INIT;
	Aij__Failed f = AIJ__FAILED__INIT;
	char *fields[] = { "S1", "", "P1", "NOM", "PRENOM", "01/01/2000", "75056" };
	char errstr[256];
	o.run_id = c->run_id;
	o.seq = seq;
	o.line = line;
	f.codes = &code;
	f.n_codes = 1;
	o.result_case = AIJ__OUTCOME__RESULT_FAILED;
	o.failed = &f;
	o.fields = fields;
	o.n_fields = sizeof(fields) / sizeof(*fields);
	cr_assert_eq(collect_outcome(c, &o, errstr, sizeof(errstr)), 1, "%s", errstr);
}

static void start(struct collect *c, size_t chunk_rows)
{
	struct collect_spill_conf conf = { .dir = NULL, .chunk_rows = chunk_rows };
	char errstr[256];
	cr_assert_eq(collect_init(c, "run-1", NULL, &conf, errstr, sizeof(errstr)), 0,
		     "%s", errstr);
}

static int integrated_row(const struct collect_integrated *in, void *arg,
			  char *errstr, size_t errstr_size)
{
	(void)errstr;
	(void)errstr_size;
	report_integrated_row(arg, in);
	return 0;
}

/* Writes integrated.csv of c (finished) as the reporter publishes it. */
static int report_write_integrated(const char *path, const struct collect *c,
				   char *errstr, size_t errstr_size)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		snprintf(errstr, errstr_size, "cannot create '%s': %s", path, strerror(errno));
		return -1;
	}
	fputs(REPORT_INTEGRATED_HEADER "\n", f);
	if (collect_integrated_walk(c, integrated_row, f, errstr, errstr_size)) {
		fclose(f);
		return -1;
	}
	return report_close(f, path, errstr, errstr_size);
}

static void finish(struct collect *c)
{
	char errstr[256];
	cr_assert_eq(collect_finish(c, errstr, sizeof(errstr)), 0, "%s", errstr);
}

/* What a walk saw, one "line;dossier;step;seq" a row. */
struct seen_rows {
	char text[65536];
	size_t len, n;
};

static int seen_add(const struct collect_integrated *in, void *arg,
		    char *errstr, size_t errstr_size)
{
	(void)errstr;
	(void)errstr_size;
	struct seen_rows *s = arg;
	s->len += (size_t)snprintf(s->text + s->len, sizeof(s->text) - s->len,
				   "%llu;%s;%u;%llu\n", (unsigned long long)in->line,
				   in->dossier, (unsigned)in->step,
				   (unsigned long long)in->seq);
	cr_assert_lt(s->len, sizeof(s->text));
	s->n++;
	return 0;
}

static void walk(const struct collect *c, struct seen_rows *s)
{
	char errstr[256];
	memset(s, 0, sizeof(*s));
	cr_assert_eq(collect_integrated_walk(c, seen_add, s, errstr, sizeof(errstr)), 0,
		     "%s", errstr);
}

/* The whole text of path (malloc'ed, free() it). */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open '%s': %s", path, strerror(errno));
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strdup(buf);
}

Test(collect, merges_runs_back_in_line_order)
{
	/* 10 lines, arriving out of order, chunks of 3: 4 runs (3+3+3+1),
	 * each sorted on its own, merged. Failed lines in between. */
	static const uint64_t order[] = { 7, 2, 9, 0, 5, 3, 8, 1, 6, 4 };
	struct collect c;
	start(&c, 3);
	feed_manifest(&c, 12);
	char errstr[256], id[32];
	for (size_t i = 0; i < 10; i++) {
		uint64_t seq = order[i];
		snprintf(id, sizeof(id), "D%03llu", (unsigned long long)seq);
		cr_assert_eq(feed_integrated(&c, seq, seq + 2, id, (uint32_t)(seq % 3) + 1,
					     errstr, sizeof(errstr)), 1, "%s", errstr);
		if (i == 4)
			feed_failed(&c, 11, 13, 5);
	}
	feed_failed(&c, 10, 12, 1);
	cr_assert(collect_complete(&c));
	cr_expect_eq(spill_runs(&c), 3, "three full chunks written on the way");
	finish(&c);
	cr_expect_eq(spill_runs(&c), 4, "the last chunk written at the end");
	cr_expect_eq(c.n_integrated, 10);
	cr_expect_eq(c.n_failed, 2);
	cr_expect_eq(c.integrated_by_step[1], 4); /* seq 0 3 6 9 */
	cr_expect_eq(c.integrated_by_step[2], 3);
	cr_expect_eq(c.integrated_by_step[3], 3);
	cr_expect_eq(c.integrated_by_step[0], 0);
	struct seen_rows s;
	walk(&c, &s);
	cr_expect_str_eq(s.text,
			 "2;D000;1;0\n3;D001;2;1\n4;D002;3;2\n5;D003;1;3\n6;D004;2;4\n"
			 "7;D005;3;5\n8;D006;1;6\n9;D007;2;7\n10;D008;3;8\n11;D009;1;9\n");
	/* A walk reads the file again: twice gives the same. */
	struct seen_rows again;
	walk(&c, &again);
	cr_expect_str_eq(again.text, s.text);
	cr_expect_eq(c.failed[0].line, 12);
	cr_expect_eq(c.failed[1].line, 13);
	collect_release(&c);
}

Test(collect, output_does_not_depend_on_the_chunk_size)
{
	/* 2000 lines in a shuffled order (fixed seed), ids of varied length
	 * (one longer than a read buffer): every chunk size writes the same
	 * integrated.csv, sorted. */
	enum { N = 2000 };
	static uint64_t perm[N];
	for (uint64_t i = 0; i < N; i++)
		perm[i] = i;
	uint32_t x = 12345;
	for (size_t i = N - 1; i > 0; i--) {
		x = x * 1103515245u + 12345u;
		size_t j = (x >> 8) % (i + 1);
		uint64_t t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	static char long_id[100000];
	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	static const size_t chunks[] = { 1, 7, 64, 0 };
	char *first = NULL;
	char dir[] = "/tmp/aij-test-collect-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/integrated.csv", dir);
	for (size_t k = 0; k < sizeof(chunks) / sizeof(*chunks); k++) {
		struct collect c;
		start(&c, chunks[k]);
		char errstr[256], id[64];
		for (size_t i = 0; i < N; i++) {
			uint64_t seq = perm[i];
			snprintf(id, sizeof(id), "D%0*llu", (int)(seq % 13) + 1,
				 (unsigned long long)seq);
			const char *d = seq == 777 ? long_id : id;
			cr_assert_eq(feed_integrated(&c, seq, 3 * seq + 1, d, 1, errstr,
						     sizeof(errstr)), 1, "%s", errstr);
		}
		feed_manifest(&c, N);
		finish(&c);
		cr_expect_eq(c.n_integrated, N);
		cr_assert_eq(report_write_integrated(path, &c, errstr, sizeof(errstr)), 0,
			     "%s", errstr);
		char *text = slurp(path);
		if (!first) {
			first = text;
			cr_expect_eq(spill_runs(&c), N, "chunk of 1: one run a line");
		} else {
			cr_expect_str_eq(text, first, "chunk size %zu", chunks[k]);
			free(text);
		}
		collect_release(&c);
	}
	/* Sorted, every line once. */
	const char *p = first;
	cr_assert_eq(strncmp(p, "line;dossier_id;step\n", 21), 0);
	p += 21;
	for (uint64_t seq = 0; seq < N; seq++) {
		unsigned long long line = strtoull(p, (char **)&p, 10);
		cr_assert_eq(line, 3 * seq + 1, "row %llu", (unsigned long long)seq);
		p = strchr(p, '\n') + 1;
	}
	cr_expect_eq(*p, '\0');
	free(first);
	unlink(path);
	rmdir(dir);
}

Test(collect, duplicates_count_once_the_first_wins)
{
	struct collect c;
	start(&c, 2);
	char errstr[256];
	cr_assert_eq(feed_integrated(&c, 1, 3, "D1", 1, errstr, sizeof(errstr)), 1);
	cr_assert_eq(feed_integrated(&c, 0, 2, "D0", 2, errstr, sizeof(errstr)), 1);
	/* Written as a run already (chunk of 2), then again: ignored. */
	cr_expect_eq(feed_integrated(&c, 1, 3, "OTHER", 3, errstr, sizeof(errstr)), 0);
	cr_expect_eq(feed_integrated(&c, 0, 2, "D0", 2, errstr, sizeof(errstr)), 0);
	cr_assert_eq(feed_integrated(&c, 2, 4, "D2", 1, errstr, sizeof(errstr)), 1);
	cr_expect_eq(feed_integrated(&c, 2, 4, "D2", 1, errstr, sizeof(errstr)), 0,
		     "a duplicate still in the chunk");
	feed_manifest(&c, 3);
	cr_assert(collect_complete(&c));
	finish(&c);
	finish(&c); /* again: harmless */
	cr_expect_eq(c.n_integrated, 3);
	cr_expect_eq(c.integrated_by_step[1], 2);
	cr_expect_eq(c.integrated_by_step[2], 1);
	cr_expect_eq(c.integrated_by_step[3], 0);
	struct seen_rows s;
	walk(&c, &s);
	cr_expect_str_eq(s.text, "2;D0;2;0\n3;D1;1;1\n4;D2;1;2\n");
	collect_release(&c);
}

Test(collect, empty_run_writes_the_header_only)
{
	char dir[] = "/tmp/aij-test-collect-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[128], errstr[256];
	struct collect c;
	start(&c, 2);
	feed_manifest(&c, 0);
	cr_assert(collect_complete(&c));
	finish(&c);
	cr_expect_eq(c.n_integrated, 0);
	cr_expect_eq(spill_runs(&c), 0);
	struct seen_rows s;
	walk(&c, &s);
	cr_expect_eq(s.n, 0);
	snprintf(path, sizeof(path), "%s/integrated.csv", dir);
	cr_assert_eq(report_write_integrated(path, &c, errstr, sizeof(errstr)), 0,
		     "%s", errstr);
	char *text = slurp(path);
	cr_expect_str_eq(text, "line;dossier_id;step\n");
	free(text);
	snprintf(path, sizeof(path), "%s/summary.json", dir);
	cr_assert_eq(summary_write(path, &c, NULL, 0, errstr, sizeof(errstr)), 0,
		     "%s", errstr);
	text = slurp(path);
	cr_expect_str_eq(text, "{\n  \"by_code\": {},\n  \"by_step\": {\n    \"1\": 0,\n"
			 "    \"2\": 0,\n    \"3\": 0\n  },\n  \"failed\": 0,\n"
			 "  \"integrated\": 0,\n  \"lines\": 0,\n  \"reports\": {},\n"
			 "  \"run_id\": \"run-1\"\n}\n");
	free(text);
	collect_release(&c);
	snprintf(path, sizeof(path), "%s/integrated.csv", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/summary.json", dir);
	unlink(path);
	rmdir(dir);
}

Test(collect, lines_beyond_the_manifest_are_left_out)
{
	/* Outcomes came before the manifest, two of them beyond its count:
	 * neither in the walk nor in the counts. */
	struct collect c;
	start(&c, 2);
	char errstr[256];
	cr_assert_eq(feed_integrated(&c, 4, 6, "D4", 3, errstr, sizeof(errstr)), 1);
	cr_assert_eq(feed_integrated(&c, 0, 2, "D0", 1, errstr, sizeof(errstr)), 1);
	cr_assert_eq(feed_integrated(&c, 1, 3, "D1", 2, errstr, sizeof(errstr)), 1);
	cr_assert_eq(feed_integrated(&c, 3, 5, "D3", 3, errstr, sizeof(errstr)), 1);
	feed_failed(&c, 2, 4, 7);
	feed_manifest(&c, 3);
	cr_assert(collect_complete(&c));
	finish(&c);
	cr_expect_eq(c.n_integrated, 2);
	cr_expect_eq(c.n_failed, 1);
	cr_expect_eq(c.integrated_by_step[1], 1);
	cr_expect_eq(c.integrated_by_step[2], 1);
	cr_expect_eq(c.integrated_by_step[3], 0);
	struct seen_rows s;
	walk(&c, &s);
	cr_expect_str_eq(s.text, "2;D0;1;0\n3;D1;2;1\n");
	collect_release(&c);
}

static int stop_at_second(const struct collect_integrated *in, void *arg,
			  char *errstr, size_t errstr_size)
{
	int *n = arg;
	if (++*n == 2) {
		snprintf(errstr, errstr_size, "stopped at line %llu",
			 (unsigned long long)in->line);
		return -1;
	}
	return 0;
}

Test(collect, walk_stops_when_told)
{
	struct collect c;
	start(&c, 1);
	char errstr[256];
	for (uint64_t seq = 0; seq < 4; seq++)
		cr_assert_eq(feed_integrated(&c, seq, seq + 2, "D", 1, errstr,
					     sizeof(errstr)), 1);
	feed_manifest(&c, 4);
	finish(&c);
	int n = 0;
	cr_expect_eq(collect_integrated_walk(&c, stop_at_second, &n, errstr,
					     sizeof(errstr)), -1);
	cr_expect_eq(n, 2);
	cr_expect_str_eq(errstr, "stopped at line 3");
	collect_release(&c);
}

Test(collect, unusable_spill_folder_fails_at_init)
{
	struct collect c;
	struct collect_spill_conf conf = { .dir = "/nonexistent-aij-dir" };
	char errstr[256];
	cr_expect_eq(collect_init(&c, "run-1", NULL, &conf, errstr, sizeof(errstr)), -1);
	cr_expect_str_eq(errstr, "cannot create a temporary file in "
			 "'/nonexistent-aij-dir': No such file or directory");
	collect_release(&c);
	/* Without a folder: $TMPDIR. */
	cr_assert_eq(setenv("TMPDIR", "/nonexistent-aij-tmp", 1), 0);
	cr_expect_eq(collect_init(&c, "run-1", NULL, NULL, errstr, sizeof(errstr)), -1);
	cr_expect_str_eq(errstr, "cannot create a temporary file in "
			 "'/nonexistent-aij-tmp': No such file or directory");
	collect_release(&c);
	unsetenv("TMPDIR");
}

Test(collect, full_spill_file_is_a_loud_error)
{
	/* The temporary file may not grow past 4 KiB (as a full disk): the
	 * outcome that fills it fails, never a quietly short run. */
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit lim = { 4096, 4096 };
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0, "%s", strerror(errno));
	struct collect c;
	start(&c, 4);
	char errstr[256], id[200];
	memset(id, 'd', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	int rc = 1;
	uint64_t seq = 0;
	for (; seq < 1000 && rc == 1; seq++)
		rc = feed_integrated(&c, seq, seq + 2, id, 1, errstr, sizeof(errstr));
	cr_expect_eq(rc, -1, "still written after %llu lines", (unsigned long long)seq);
	cr_expect(strstr(errstr, "cannot write the temporary file of the integrated "
			 "lines in '") == errstr, "%s", errstr);
	cr_expect(strstr(errstr, strerror(EFBIG)), "%s", errstr);
	collect_release(&c);
}

Test(collect, output_that_cannot_be_written_is_an_error)
{
	struct collect c;
	start(&c, 2);
	char errstr[256];
	for (uint64_t seq = 0; seq < 5; seq++)
		cr_assert_eq(feed_integrated(&c, seq, seq + 2, "D12345", 1, errstr,
					     sizeof(errstr)), 1);
	feed_manifest(&c, 5);
	finish(&c);
	cr_expect_eq(report_write_integrated("/nonexistent-aij-dir/integrated.csv", &c,
					     errstr, sizeof(errstr)), -1);
	cr_expect_str_eq(errstr, "cannot create '/nonexistent-aij-dir/integrated.csv': "
			 "No such file or directory");
	/* A full disk: every write fails. */
	cr_expect_eq(report_write_integrated("/dev/full", &c, errstr, sizeof(errstr)), -1);
	cr_expect_str_eq(errstr, "cannot write '/dev/full': No space left on device");
	collect_release(&c);
}

Test(collect, release_closes_the_file_for_the_next_run)
{
	/* --follow: one run at a time, the temporary file of the previous one
	 * closed (its space back). */
	struct collect c;
	memset(&c, 0, sizeof(c));
	int open0 = fcntl(0, F_GETFD) != -1;
	collect_release(&c); /* a zeroed collect: nothing to close (not fd 0) */
	cr_expect_eq(fcntl(0, F_GETFD) != -1, open0);
	char errstr[256];
	start(&c, 1);
	int fd = spill_fd(&c);
	cr_assert_eq(feed_integrated(&c, 0, 2, "D0", 1, errstr, sizeof(errstr)), 1);
	cr_assert_eq(feed_integrated(&c, 1, 3, "D1", 1, errstr, sizeof(errstr)), 1);
	cr_expect_gt(spill_file_len(&c), 0);
	collect_release(&c);
	cr_expect_eq(fcntl(fd, F_GETFD), -1, "file %d still open", fd);
	start(&c, 1);
	cr_expect_eq(spill_file_len(&c), 0);
	cr_expect_eq(spill_runs(&c), 0);
	feed_manifest(&c, 0);
	finish(&c);
	cr_expect_eq(c.n_integrated, 0);
	collect_release(&c);
}
