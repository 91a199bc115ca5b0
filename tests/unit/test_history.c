/* The run history DIR/runs.json: appends, look-ups, Paris times (appends
 * from several processes at once: tests/integration/test_history_writers.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "history.h"
#include "support/files.h"

static char dir[64], path[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_history.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/runs.json", dir);
	clock_use_paris();
}

static void teardown(void)
{
	cr_expect_eq(test_rmtree(dir), 0);
}

TestSuite(history, .init = setup, .fini = teardown);

static void append(const char *kind, const char *run, const char *attempt,
		   const char *sha, const char *status)
{
	struct history_entry e = {
		.kind = kind, .run_id = run, .attempt = attempt, .source = "w.csv",
		.sha256 = sha, .status = status, .lines = 10, .integrated = 7,
		.failed = 3, .started_at = 1765000000, .finished_at = 1765000060,
	};
	char errstr[256];
	cr_assert_eq(history_append(path, &e, errstr, sizeof(errstr)), 0, "%s", errstr);
}

Test(history, missing_file_is_empty)
{
	char errstr[256];
	json_t *h = history_load(path, errstr, sizeof(errstr));
	cr_assert_not_null(h, "%s", errstr);
	cr_expect_eq(json_array_size(h), 0);
	cr_expect_null(history_last(h, NULL, NULL));
	json_decref(h);
}

Test(history, appends_in_order_and_finds)
{
	append(HISTORY_KIND_EXPORT, "7", "dossiers#1", "aa", HISTORY_PUBLISHED);
	append(HISTORY_KIND_WEEK, "2026-W48", "2026-W48#1", "s48", HISTORY_PUBLISHED);
	append(HISTORY_KIND_WEEK, "2026-W49", "2026-W49#1", "s49", HISTORY_HELD);
	char errstr[256];
	json_t *h = history_load(path, errstr, sizeof(errstr));
	cr_assert_not_null(h, "%s", errstr);
	cr_assert_eq(json_array_size(h), 3);
	cr_expect_str_eq(history_str(json_array_get(h, 0), "kind"), "dossiers");
	json_t *last = history_last(h, HISTORY_KIND_WEEK, HISTORY_PUBLISHED);
	cr_assert_not_null(last);
	cr_expect_str_eq(history_str(last, "run_id"), "2026-W48");
	cr_expect_str_eq(history_str(history_last(h, HISTORY_KIND_WEEK, NULL), "status"),
			 "held");
	cr_expect_not_null(history_published_sha(h, "s48"));
	cr_expect_null(history_published_sha(h, "s49"), "a held run is not integrated");
	cr_expect_null(history_published_sha(h, "aa"), "an export is not a week");
	cr_expect_eq(history_num(history_find_attempt(h, "2026-W49#1"), "lines"), 10);
	cr_expect_null(history_find_attempt(h, "nope"));
	/* Paris time with its offset: 1765000000 is 2025-12-06T05:46:40Z. */
	cr_expect_str_eq(history_str(json_array_get(h, 0), "started_at"),
			 "2025-12-06T06:46:40+01:00");
	json_decref(h);
}

Test(history, summer_time)
{
	char buf[40];
	history_time(1782000000, buf, sizeof(buf)); /* 2026-06-21T00:00:00Z */
	cr_expect_str_eq(buf, "2026-06-21T02:00:00+02:00");
	history_time(0, buf, sizeof(buf));
	cr_expect_str_eq(buf, "");
}

Test(history, not_an_array_is_an_error)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("{\"a\": 1}\n", f);
	fclose(f);
	char errstr[256] = "";
	cr_expect_null(history_load(path, errstr, sizeof(errstr)));
	cr_expect(strstr(errstr, "not a JSON array"), "%s", errstr);
	struct history_entry e = { .kind = HISTORY_KIND_WEEK };
	cr_expect_eq(history_append(path, &e, errstr, sizeof(errstr)), -1,
		     "a damaged history is not overwritten");
}
