/* The run history DIR/runs.json appended to from several processes at once
 * (the indexer, the reporter and the inbox share one): nothing lost. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "history.h"
#include "support/files.h"
#include "support/proc.h"

enum { WRITERS = 4, EACH = 25 };

static char dir[64], path[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_history.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/runs.json", dir);
}

static void teardown(void)
{
	cr_expect_eq(test_rmtree(dir), 0);
}

TestSuite(history, .init = setup, .fini = teardown);

/* In a child: writer *arg appends its EACH entries "w<writer>-<i>"; 0, or 1
 * on the first failure. */
static int writer(void *arg)
{
	int w = *(const int *)arg;
	for (int i = 0; i < EACH; i++) {
		char attempt[32];
		snprintf(attempt, sizeof(attempt), "w%d-%d", w, i);
		struct history_entry e = { .kind = HISTORY_KIND_WEEK,
					   .attempt = attempt,
					   .status = HISTORY_PUBLISHED };
		char errstr[256];
		if (history_append(path, &e, errstr, sizeof(errstr)))
			return 1;
	}
	return 0;
}

Test(history, concurrent_appends_lose_nothing)
{
	static int ids[WRITERS];
	pid_t pids[WRITERS];
	for (int w = 0; w < WRITERS; w++) {
		ids[w] = w;
		pids[w] = test_proc_call(writer, &ids[w], NULL);
		cr_assert_neq(pids[w], -1);
	}
	for (int w = 0; w < WRITERS; w++) {
		int status = test_proc_wait(pids[w], -1);
		cr_expect(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	char errstr[256];
	json_t *h = history_load(path, errstr, sizeof(errstr));
	cr_assert_not_null(h, "%s", errstr);
	cr_expect_eq(json_array_size(h), WRITERS * EACH);
	for (int w = 0; w < WRITERS; w++)
		for (int i = 0; i < EACH; i++) {
			char attempt[32];
			snprintf(attempt, sizeof(attempt), "w%d-%d", w, i);
			cr_expect_not_null(history_find_attempt(h, attempt), "%s lost", attempt);
		}
	json_decref(h);
}
