/* aij-inbox's parts: which names in an inbox folder are data, when a file
 * is complete (its .done marker, the settle time), the schedule in
 * Europe/Paris across the daylight-saving changes of 2026-10-25 and
 * 2027-03-28, the names a file is filed under (never overwriting), the run
 * history queries and the .reason line. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "history.h"
#include "support/files.h"
#include "../../inbox/digest.h"
#include "../../inbox/filing.h"
#include "../../inbox/scan.h"
#include "../../inbox/schedule.h"
#include "../../inbox/service.h"
#include "../../inbox/verdict.h"

static void paris(void)
{
	setenv("TZ", "Europe/Paris", 1);
	tzset();
}

static time_t at(const char *iso)
{
	time_t t;
	cr_assert_eq(history_time_parse(iso, &t), 0, "history_time_parse(\"%s\")", iso);
	return t;
}

static char tmpdir[64];

static void tmp_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/aij-test-inbox.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void tmp_teardown(void)
{
	test_rmtree(tmpdir);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "cannot write '%s'", path);
	fputs(text, f);
	fclose(f);
}

/* The text of dir/name ("" when missing), in a static buffer. */
static const char *read_file(const char *dir, const char *name)
{
	static char buf[4096];
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	buf[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return buf;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int exists(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void set_mtime(const char *dir, const char *name, time_t t)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };
	cr_assert_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* --- names ------------------------------------------------------------------ */

struct name_case {
	char name[48];
	enum scan_name kind;
};

ParameterizedTestParameters(inbox, classify)
{
	static struct name_case cases[] = {
		{ "week-49.csv", SCAN_DATA },
		{ "export.csv", SCAN_DATA },
		{ "week", SCAN_DATA },
		{ "week-49.csv.done", SCAN_DONE },
		{ "week-49.csv.DONE", SCAN_DONE },
		{ "week-49.csv.accept", SCAN_ACCEPT },
		{ "week-49.csv.reason", SCAN_REASON },
		{ ".week-49.csv.Xa81Zq", SCAN_IGNORED }, /* rsync's temporary */
		{ ".hidden", SCAN_IGNORED },
		{ ".week.csv.aij-attempt", SCAN_IGNORED }, /* the inbox's own state */
		{ "week-49.csv.part", SCAN_IGNORED },
		{ "week-49.csv.tmp", SCAN_IGNORED },
		{ "week-49.csv.filepart", SCAN_IGNORED }, /* WinSCP */
		{ "week-49.csv.PART", SCAN_IGNORED },
		{ "week.partial.csv", SCAN_DATA },
		{ "done", SCAN_DATA },
		{ ".done", SCAN_IGNORED },
	};
	return cr_make_param_array(struct name_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct name_case *c, inbox, classify)
{
	cr_expect_eq(scan_classify(c->name), c->kind, "scan_classify(\"%s\") = %d, not %d",
		     c->name, scan_classify(c->name), c->kind);
}

/* --- completeness ------------------------------------------------------------ */

Test(inbox, complete_rule)
{
	struct scan_file f = { .stable_since_ms = 1000, .marker = SCAN_DATA };
	cr_expect(!scan_complete(&f, 1000, 30000));
	cr_expect(!scan_complete(&f, 30999, 30000));
	cr_expect(scan_complete(&f, 31000, 30000), "unchanged for the settle time");
	f.marker = SCAN_DONE;
	cr_expect(scan_complete(&f, 1000, 30000), "a .done marker: at once");
	f.marker = SCAN_ACCEPT;
	cr_expect(scan_complete(&f, 1000, 30000), "an .accept marker: at once");
	f.marker = SCAN_DATA;
	cr_expect(scan_complete(&f, 1000, 0), "settle 0: at once");
}

Test(inbox, scan_settles_and_restarts_on_change, .init = tmp_setup, .fini = tmp_teardown)
{
	char err[256];
	struct scan_dir d;
	cr_assert_eq(scan_dir_init(&d, tmpdir), 0);
	write_file(tmpdir, "week.csv", "line 1\n");
	write_file(tmpdir, ".week2.csv.Ab12Cd", "rsync is writing\n");
	write_file(tmpdir, "week3.csv.part", "sftp is writing\n");
	cr_assert_eq(scan_dir_update(&d, 0, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(d.n, 1, "only week.csv is data, not %zu files", d.n);
	cr_expect_str_eq(d.files[0].name, "week.csv");
	cr_expect(!scan_complete(&d.files[0], 0, 2000));

	cr_assert_eq(scan_dir_update(&d, 1500, err, sizeof(err)), 0);
	cr_expect(!scan_complete(&d.files[0], 1500, 2000));
	/* The upload goes on: its size changes, the settle time starts again. */
	write_file(tmpdir, "week.csv", "line 1\nline 2\n");
	cr_assert_eq(scan_dir_update(&d, 1800, err, sizeof(err)), 0);
	cr_expect_eq(d.files[0].stable_since_ms, 1800);
	cr_assert_eq(scan_dir_update(&d, 3700, err, sizeof(err)), 0);
	cr_expect(!scan_complete(&d.files[0], 3700, 2000), "1.9 s since the change");
	cr_assert_eq(scan_dir_update(&d, 3800, err, sizeof(err)), 0);
	cr_expect(scan_complete(&d.files[0], 3800, 2000), "2 s since the change");

	/* Only the mtime changes (same size): not settled either. */
	set_mtime(tmpdir, "week.csv", 1700000000);
	cr_assert_eq(scan_dir_update(&d, 4000, err, sizeof(err)), 0);
	cr_expect_eq(d.files[0].stable_since_ms, 4000);

	/* Replaced by another file of the same size and time (mv over it):
	 * another inode, settled again. */
	write_file(tmpdir, "other", "line 1\nline 3\n");
	set_mtime(tmpdir, "other", 1700000000);
	char from[512], to[512];
	snprintf(from, sizeof(from), "%s/other", tmpdir);
	snprintf(to, sizeof(to), "%s/week.csv", tmpdir);
	cr_assert_eq(rename(from, to), 0);
	cr_assert_eq(scan_dir_update(&d, 5000, err, sizeof(err)), 0);
	cr_expect_eq(d.files[0].stable_since_ms, 5000);
	scan_dir_release(&d);
}

Test(inbox, scan_done_marker, .init = tmp_setup, .fini = tmp_teardown)
{
	char err[256];
	struct scan_dir d;
	cr_assert_eq(scan_dir_init(&d, tmpdir), 0);
	write_file(tmpdir, "week.csv.done", ""); /* the marker first: no data yet */
	cr_assert_eq(scan_dir_update(&d, 0, err, sizeof(err)), 0);
	cr_expect_eq(d.n, 0, "a marker alone is nothing to take");
	write_file(tmpdir, "week.csv", "data\n");
	write_file(tmpdir, "export.csv", "data\n");
	write_file(tmpdir, "export.csv.accept", "");
	cr_assert_eq(scan_dir_update(&d, 10, err, sizeof(err)), 0);
	cr_assert_eq(d.n, 2);
	struct scan_file *w = scan_dir_find(&d, "week.csv"), *e = scan_dir_find(&d, "export.csv");
	cr_assert(w && e);
	cr_expect_eq(w->marker, SCAN_DONE);
	cr_expect_eq(e->marker, SCAN_ACCEPT);
	cr_expect(scan_complete(w, 10, 30000), "complete at once with .done");
	cr_expect(scan_complete(e, 10, 30000), "complete at once with .accept");
	/* The file goes: dropped. */
	char path[512];
	snprintf(path, sizeof(path), "%s/week.csv", tmpdir);
	unlink(path);
	cr_assert_eq(scan_dir_update(&d, 20, err, sizeof(err)), 0);
	cr_expect_eq(d.n, 1);
	cr_expect_null(scan_dir_find(&d, "week.csv"));
	scan_dir_release(&d);
}

Test(inbox, scan_oldest_first_and_regular_files_only, .init = tmp_setup, .fini = tmp_teardown)
{
	char err[256], sub[512];
	struct scan_dir d;
	cr_assert_eq(scan_dir_init(&d, tmpdir), 0);
	write_file(tmpdir, "c-week-48.csv", "x\n");
	write_file(tmpdir, "a-week-50.csv", "x\n");
	write_file(tmpdir, "b-week-49.csv", "x\n");
	write_file(tmpdir, "d-same-time.csv", "x\n");
	set_mtime(tmpdir, "c-week-48.csv", 1764000000);
	set_mtime(tmpdir, "b-week-49.csv", 1764600000);
	set_mtime(tmpdir, "a-week-50.csv", 1765200000);
	set_mtime(tmpdir, "d-same-time.csv", 1765200000);
	snprintf(sub, sizeof(sub), "%s/folder.csv", tmpdir);
	cr_assert_eq(mkdir(sub, 0755), 0);
	snprintf(sub, sizeof(sub), "%s/link.csv", tmpdir);
	cr_assert_eq(symlink("c-week-48.csv", sub), 0);
	cr_assert_eq(scan_dir_update(&d, 0, err, sizeof(err)), 0);
	cr_assert_eq(d.n, 4, "no folder, no symbolic link: %zu files", d.n);
	cr_expect_str_eq(d.files[0].name, "c-week-48.csv");
	cr_expect_str_eq(d.files[1].name, "b-week-49.csv");
	cr_expect_str_eq(d.files[2].name, "a-week-50.csv", "same time: by name");
	cr_expect_str_eq(d.files[3].name, "d-same-time.csv");
	scan_dir_release(&d);
}

/* --- the schedule -------------------------------------------------------------- */

Test(inbox, schedule_parse)
{
	struct schedule s;
	char err[256], out[32];
	cr_assert_eq(schedule_parse("sun 02:00", &s, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(s.wday, 0);
	cr_expect_eq(s.hour, 2);
	cr_expect_eq(s.minute, 0);
	schedule_format(&s, out, sizeof(out));
	cr_expect_str_eq(out, "sun 02:00");
	cr_assert_eq(schedule_parse("  Mon   6:30 ", &s, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(s.wday, 1);
	cr_expect_eq(s.hour, 6);
	cr_expect_eq(s.minute, 30);
	cr_assert_eq(schedule_parse("daily 23:59", &s, err, sizeof(err)), 0);
	cr_expect_eq(s.wday, SCHEDULE_DAILY);
	schedule_format(&s, out, sizeof(out));
	cr_expect_str_eq(out, "daily 23:59");
	static const char *const bad[] = { "", "sun", "02:00", "sun 2", "sun 24:00",
		"sun 02:60", "sun 02:00 extra", "sunday 02:00", "sun 0200", "sun 02:0",
		"sun 002:00", "sun -1:00", "every 02:00", "sun 02:00:00" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_expect_eq(schedule_parse(bad[i], &s, err, sizeof(err)), -1,
			     "'%s' accepted", bad[i]);
		cr_expect(strstr(err, "schedule '") != NULL, "message: %s", err);
	}
}

struct sched_case {
	char schedule[16];
	char from[32];     /* the time from which the next one is computed */
	char next[32];     /* expected, as history_time() writes it */
};

ParameterizedTestParameters(inbox, schedule_next)
{
	static struct sched_case cases[] = {
		/* An ordinary week. */
		{ "sun 02:00", "2026-12-02T10:00:00+01:00", "2026-12-06T02:00:00+01:00" },
		{ "sun 02:00", "2026-12-06T01:59:59+01:00", "2026-12-06T02:00:00+01:00" },
		{ "sun 02:00", "2026-12-06T02:00:00+01:00", "2026-12-13T02:00:00+01:00" },
		{ "sat 23:30", "2026-12-06T02:00:00+01:00", "2026-12-12T23:30:00+01:00" },
		{ "mon 00:00", "2026-12-06T23:59:00+01:00", "2026-12-07T00:00:00+01:00" },
		/* Autumn, 2026-10-25: 03:00 CEST goes back to 02:00 CET; 02:00-02:59
		 * happens twice: the first one only. */
		{ "sun 02:00", "2026-10-20T12:00:00+02:00", "2026-10-25T02:00:00+02:00" },
		{ "sun 02:00", "2026-10-25T02:00:00+02:00", "2026-11-01T02:00:00+01:00" },
		{ "sun 02:00", "2026-10-25T02:30:00+01:00", "2026-11-01T02:00:00+01:00" },
		{ "sun 02:30", "2026-10-25T00:00:00+02:00", "2026-10-25T02:30:00+02:00" },
		{ "sun 02:30", "2026-10-25T02:30:00+02:00", "2026-11-01T02:30:00+01:00" },
		{ "sun 03:00", "2026-10-25T02:59:00+02:00", "2026-10-25T03:00:00+01:00" },
		/* Spring, 2027-03-28: 02:00 CET jumps to 03:00 CEST; 02:xx does not
		 * exist: the first instant after the gap. */
		{ "sun 02:00", "2027-03-22T12:00:00+01:00", "2027-03-28T03:00:00+02:00" },
		{ "sun 02:30", "2027-03-28T01:59:00+01:00", "2027-03-28T03:00:00+02:00" },
		{ "sun 02:00", "2027-03-28T03:00:00+02:00", "2027-04-04T02:00:00+02:00" },
		{ "sun 01:59", "2027-03-28T00:00:00+01:00", "2027-03-28T01:59:00+01:00" },
		{ "sun 03:00", "2027-03-28T01:59:00+01:00", "2027-03-28T03:00:00+02:00" },
		/* daily, across both changes: once a day. */
		{ "daily 02:00", "2026-10-24T23:00:00+02:00", "2026-10-25T02:00:00+02:00" },
		{ "daily 02:00", "2026-10-25T02:00:00+02:00", "2026-10-26T02:00:00+01:00" },
		{ "daily 02:00", "2027-03-27T12:00:00+01:00", "2027-03-28T03:00:00+02:00" },
		{ "daily 02:00", "2027-03-28T03:00:00+02:00", "2027-03-29T02:00:00+02:00" },
		{ "daily 00:00", "2026-12-31T23:59:59+01:00", "2027-01-01T00:00:00+01:00" },
	};
	return cr_make_param_array(struct sched_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct sched_case *c, inbox, schedule_next, .init = paris)
{
	struct schedule s;
	char err[256], got[40];
	cr_assert_eq(schedule_parse(c->schedule, &s, err, sizeof(err)), 0, "%s", err);
	time_t next = schedule_next(&s, at(c->from));
	history_time(next, got, sizeof(got));
	cr_expect_str_eq(got, c->next, "%s after %s: %s, not %s", c->schedule, c->from, got,
			 c->next);
	/* And the last one at or before that time is that time. */
	history_time(schedule_prev(&s, next), got, sizeof(got));
	cr_expect_str_eq(got, c->next, "%s: the last at or before %s is %s", c->schedule,
			 c->next, got);
}

Test(inbox, schedule_prev, .init = paris)
{
	struct schedule s;
	char err[256], got[40];
	cr_assert_eq(schedule_parse("sun 02:00", &s, err, sizeof(err)), 0);
	history_time(schedule_prev(&s, at("2026-12-06T01:59:59+01:00")), got, sizeof(got));
	cr_expect_str_eq(got, "2026-11-29T02:00:00+01:00");
	history_time(schedule_prev(&s, at("2026-12-06T02:00:00+01:00")), got, sizeof(got));
	cr_expect_str_eq(got, "2026-12-06T02:00:00+01:00");
	/* Between the two 02:30s of the autumn change: the first one. */
	history_time(schedule_prev(&s, at("2026-10-25T02:30:00+01:00")), got, sizeof(got));
	cr_expect_str_eq(got, "2026-10-25T02:00:00+02:00");
}

Test(inbox, iso_times, .init = paris)
{
	char got[40];
	time_t t = at("2026-12-06T01:59:50+01:00");
	cr_expect_eq(t, at("2026-12-06T00:59:50Z"));
	history_time(t, got, sizeof(got));
	cr_expect_str_eq(got, "2026-12-06T01:59:50+01:00");
	history_time(at("2026-07-14T12:00:00Z"), got, sizeof(got));
	cr_expect_str_eq(got, "2026-07-14T14:00:00+02:00");
	static const char *const bad[] = { "", "2026-12-06", "2026-12-06T01:59:50",
		"2026-12-06 01:59:50+01:00", "2026-13-06T01:59:50+01:00",
		"2026-12-06T01:59:50+0100", "2026-12-06T01:59:50+01:00x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(history_time_parse(bad[i], &t), -1, "'%s' accepted", bad[i]);
}

Test(inbox, fake_clock, .init = paris)
{
	char err[256];
	setenv("AIJ_FAKE_NOW", "2026-12-06T01:59:50+01:00", 1);
	cr_assert_eq(clock_fake_init(err, sizeof(err)), 0, "%s", err);
	cr_expect(clock_faked());
	time_t fake = at("2026-12-06T01:59:50+01:00");
	time_t now = inbox_now();
	cr_expect(now >= fake && now <= fake + 5, "now %ld, fake start %ld", (long)now,
		  (long)fake);
	cr_expect_eq(clock_offset(), (long)(now - time(NULL)));
	setenv("AIJ_FAKE_NOW", "tomorrow", 1);
	cr_expect_eq(clock_fake_init(err, sizeof(err)), -1);
	cr_expect(strstr(err, "AIJ_FAKE_NOW 'tomorrow'") != NULL, "%s", err);
	unsetenv("AIJ_FAKE_NOW");
	cr_assert_eq(clock_fake_init(err, sizeof(err)), 0);
	cr_expect(!clock_faked());
	cr_expect_eq(clock_offset(), 0);
}

/* --- filing away --------------------------------------------------------------- */

Test(inbox, filing_candidates)
{
	char out[64];
	cr_assert_eq(filing_candidate("week.csv", 1, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "week.csv");
	cr_assert_eq(filing_candidate("week.csv", 2, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "week.csv.2");
	cr_assert_eq(filing_candidate("week.csv", 17, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "week.csv.17");
	cr_expect_eq(filing_candidate("week.csv", 2, out, 10), -1, "does not fit");
}

Test(inbox, filing_never_overwrites, .init = tmp_setup, .fini = tmp_teardown)
{
	char in[256], dest[256], final[256], err[512];
	snprintf(in, sizeof(in), "%s/in", tmpdir);
	snprintf(dest, sizeof(dest), "%s/archive/dispositifs", tmpdir);
	cr_assert_eq(filing_mkdirs(in, err, sizeof(err)), 0, "%s", err);

	/* First: its own name; the folder is created. */
	write_file(in, "week.csv", "first\n");
	write_file(in, "week.csv.done", "");
	cr_assert_eq(filing_move(in, "week.csv", dest, NULL, final, sizeof(final), err,
				 sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(final, "week.csv");
	cr_expect(!exists(in, "week.csv"));
	cr_expect(!exists(in, "week.csv.done"), "the marker is removed");
	cr_expect_str_eq(read_file(dest, "week.csv"), "first\n");

	/* The same name again, twice: .2 then .3; nothing replaced. */
	write_file(in, "week.csv", "second\n");
	write_file(in, "week.csv.accept", "");
	cr_assert_eq(filing_move(in, "week.csv", dest, NULL, final, sizeof(final), err,
				 sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(final, "week.csv.2");
	cr_expect(!exists(in, "week.csv.accept"));
	write_file(in, "week.csv", "third\n");
	cr_assert_eq(filing_move(in, "week.csv", dest, NULL, final, sizeof(final), err,
				 sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(final, "week.csv.3");
	cr_expect_str_eq(read_file(dest, "week.csv"), "first\n");
	cr_expect_str_eq(read_file(dest, "week.csv.2"), "second\n");
	cr_expect_str_eq(read_file(dest, "week.csv.3"), "third\n");

	/* A file named like a suffixed one takes the next free name. */
	write_file(in, "week.csv.2", "fourth\n");
	cr_assert_eq(filing_move(in, "week.csv.2", dest, NULL, final, sizeof(final), err,
				 sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(final, "week.csv.2.2");
	cr_expect_str_eq(read_file(dest, "week.csv.2"), "second\n");

	/* Missing file: an error, nothing created. */
	cr_expect_eq(filing_move(in, "gone.csv", dest, NULL, final, sizeof(final), err,
				 sizeof(err)), -1);
	cr_expect(strstr(err, "gone.csv") != NULL, "%s", err);
	cr_expect(!exists(dest, "gone.csv"));
}

Test(inbox, filing_held_with_reason, .init = tmp_setup, .fini = tmp_teardown)
{
	char in[256], dest[256], final[256], err[512];
	snprintf(in, sizeof(in), "%s/in", tmpdir);
	snprintf(dest, sizeof(dest), "%s/held/dispositifs", tmpdir);
	cr_assert_eq(filing_mkdirs(in, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(filing_mkdirs(dest, err, sizeof(err)), 0, "%s", err);
	/* A reason left in held/ by a file an operator moved back: kept, the
	 * file held again takes the next name. */
	write_file(dest, "week.csv.reason", "the old reason\n");
	write_file(in, "week.csv", "data\n");
	write_file(in, "week.csv.reason", "moved back with it\n");
	cr_assert_eq(filing_move(in, "week.csv", dest, "retenu / held: why", final,
				 sizeof(final), err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(final, "week.csv.2");
	cr_expect_str_eq(read_file(dest, "week.csv.2.reason"), "retenu / held: why\n");
	cr_expect_str_eq(read_file(dest, "week.csv.2"), "data\n");
	cr_expect_str_eq(read_file(dest, "week.csv.reason"), "the old reason\n");
	cr_expect(!exists(in, "week.csv.reason"), "the reason moved back is a marker");
	cr_expect(!exists(dest, "week.csv"));
}

Test(inbox, rename_noreplace, .init = tmp_setup, .fini = tmp_teardown)
{
	char a[256], b[256];
	write_file(tmpdir, "a", "a\n");
	write_file(tmpdir, "b", "b\n");
	snprintf(a, sizeof(a), "%s/a", tmpdir);
	snprintf(b, sizeof(b), "%s/b", tmpdir);
	cr_expect_eq(filing_rename_noreplace(a, b), -1);
	cr_expect_eq(errno, EEXIST);
	cr_expect_str_eq(read_file(tmpdir, "b"), "b\n");
	cr_expect_str_eq(read_file(tmpdir, "a"), "a\n");
}

/* --- the run history ------------------------------------------------------------- */

static struct history_entry entry(const char *kind, const char *sha, const char *status,
				  const char *guard, const char *attempt)
{
	return (struct history_entry){ .kind = kind, .run_id = "2026-W49", .attempt = attempt,
				       .sha256 = sha, .status = status, .guard = guard,
				       .source = "week.csv" };
}

Test(inbox, retries_counted_from_the_history, .init = tmp_setup, .fini = tmp_teardown)
{
	char path[256], err[512];
	snprintf(path, sizeof(path), "%s/runs.json", tmpdir);
	struct history_entry e[] = {
		entry("dossiers", "d1", "published", "", "7"),
		entry("dispositifs", "aa", "published", "", "W48#1"),
		entry("dispositifs", "bb", "failed", "incomplete", "W49#1"),
		entry("dispositifs", "bb", "held", "technical", "W49#2"),
		entry("dispositifs", "bb", "failed", "incomplete", "W49#3"),
		entry("dossiers", "bb", "failed", "incomplete", "x"), /* another kind */
		entry("dispositifs", "cc", "held", "validation", "W50#1"),
		entry("dispositifs", "bb", "failed", "incomplete", "W49#4"),
	};
	for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
		cr_assert_eq(history_append(path, &e[i], err, sizeof(err)), 0, "%s", err);
	}
	json_t *h = history_load(path, err, sizeof(err));
	cr_assert_not_null(h, "%s", err);
	/* bb: incomplete, incomplete (another kind and another file in between
	 * do not count), then technical ends the count. */
	cr_expect_eq(verdict_week_trailing(h, "bb", "failed", "incomplete"), 2);
	cr_expect_eq(verdict_week_trailing(h, "bb", "held", "technical"), 0);
	cr_expect_eq(verdict_week_trailing(h, "cc", "held", "validation"), 1);
	cr_expect_eq(verdict_week_trailing(h, "cc", "failed", "incomplete"), 0);
	cr_expect_eq(verdict_week_trailing(h, "zz", "failed", "incomplete"), 0);
	cr_expect_eq(verdict_week_trailing(h, "d1", "published", ""), 0, "an export is not a week");
	json_decref(h);
}

Test(inbox, reason_line)
{
	char line[512];
	filing_reason_line("validation", "42,0 % des lignes en échec de validation (limite 30 %)",
			   "42.0% of the lines fail validation (limit 30%)", line, sizeof(line));
	cr_expect_str_eq(line, "retenu / held (validation): 42,0 % des lignes en échec de "
			       "validation (limite 30 %) / 42.0% of the lines fail validation "
			       "(limit 30%)");
	/* No French reason (an older history), or the same as the English one:
	 * the guard's phrase. */
	filing_reason_line("validation", NULL, "42 % of the lines fail validation", line,
			   sizeof(line));
	cr_expect_str_eq(line, "retenu / held (validation): trop de lignes en échec de "
			       "validation / 42 % of the lines fail validation");
	filing_reason_line("format", "same", "same", line, sizeof(line));
	cr_expect_str_eq(line, "retenu / held (format): trop de lignes au mauvais format "
			       "(code 01) / same");
	filing_reason_line("", "", "two\nlines\r", line, sizeof(line));
	cr_expect_str_eq(line, "retenu / held (error): échec / two lines ");
	filing_reason_line("dossiers_empty", NULL, "", line, sizeof(line));
	cr_expect_str_eq(line, "retenu / held (dossiers_empty): export sans aucun dossier / "
			       "no reason given");
}

Test(inbox, digest, .init = tmp_setup, .fini = tmp_teardown)
{
	char path[256], hex[65], err[512];
	write_file(tmpdir, "abc", "abc");
	snprintf(path, sizeof(path), "%s/abc", tmpdir);
	cr_assert_eq(digest_file(path, hex, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	snprintf(path, sizeof(path), "%s/none", tmpdir);
	cr_expect_eq(digest_file(path, hex, err, sizeof(err)), -1);
	cr_expect(strstr(err, "cannot open") != NULL, "%s", err);
}
