/* Test helper: aij-matcher as a process, with its own redis-server and local
 * broker (support/redis_server.h, support/broker.h).
 *
 *   static struct test_matcher m;
 *   cr_assert_eq(test_matcher_setup(&m, "poison", 1), 0);          (.init)
 *   cr_assert_eq(test_matcher_index_publish(&m, csv, err, n), 0);
 *   const char *const flags[] = { "--batch", "2", NULL };
 *   cr_assert_eq(test_matcher_start(&m, flags), 0);
 *   ... m.broker.bootstrap, m.redis.rc, m.group, m.log ...
 *   test_matcher_teardown(&m);                                     (.fini)
 *
 * The program is $AIJ_BIN/aij-matcher (AIJ_BIN defaults to "build/bin", so
 * run the tests from the repository root). Its stderr goes to m.log, a file
 * that the teardown copies to the test's stderr, for whoever reads a
 * failure. It dies with the test process (PR_SET_PDEATHSIG). */
#ifndef AIJ_TEST_MATCHER_H
#define AIJ_TEST_MATCHER_H

#include <stddef.h>
#include <sys/types.h>

#include "broker.h"
#include "redis_server.h"

struct test_matcher {
	struct test_redis redis;
	struct test_broker broker;
	pid_t pid;          /* the aij-matcher process; 0 when not running */
	char group[64];     /* its consumer group: "test-<name>-<pid>" */
	char log[64];       /* its stderr: "/tmp/aij-test-<name>.<pid>.log" */
};

/* Starts the redis-server and the broker (`partitions` per topic) and names
 * the group and log after `name`. Returns 0, or -1 after printing why on
 * stderr (nothing left running). */
int test_matcher_setup(struct test_matcher *m, const char *name, int partitions);

/* Publishes an index export (INDEX_LOAD_HEADER, then its lines) to the
 * fixture's Redis. Returns 0, or -1 with errstr. */
int test_matcher_index_publish(const struct test_matcher *m, const char *export_csv,
			       char *errstr, size_t errstr_size);

/* Starts aij-matcher on the fixture's broker, Redis and group, at log level
 * info, with the extra flags `flags` (NULL-terminated). Returns 0, or -1
 * after printing why on stderr. */
int test_matcher_start(struct test_matcher *m, const char *const *flags);

/* Sends SIGTERM and waits (at most 20 s). Returns the exit status (128 +
 * signal when killed), or -1 if it did not exit in time. */
int test_matcher_stop(struct test_matcher *m);

/* The number of lines of the matcher's log holding text (0 without a log). */
int test_matcher_log_count(const struct test_matcher *m, const char *text);

/* Kills the matcher if it runs, copies its log to stderr and removes it,
 * stops the broker and the redis-server. Safe after a failed setup. */
void test_matcher_teardown(struct test_matcher *m);

#endif
