/* Test helper: a throwaway local Kafka broker, the real aij-broker process.
 *
 *   struct test_broker b;
 *   cr_assert_eq(test_broker_start(&b, 12), 0);
 *   ... connect to b.bootstrap ("127.0.0.1:port") ...
 *   test_broker_stop(&b);
 *
 * The program is $AIJ_BIN/aij-broker (AIJ_BIN defaults to "build/bin", so run
 * the tests from the repository root). The broker has the default topics
 * (aij.records, aij.outcomes with the given partitions; aij.runs with 1), and
 * logs warnings only, on the test's stderr. It dies with the test process
 * (PR_SET_PDEATHSIG), so a crashed test leaves no broker behind. */
#ifndef AIJ_TEST_BROKER_H
#define AIJ_TEST_BROKER_H

#include <sys/types.h>

struct test_broker {
	pid_t pid;            /* the aij-broker process; 0 when stopped */
	char bootstrap[256];  /* its bootstrap address, for bootstrap.servers */
};

/* Starts aij-broker with `partitions` partitions per topic and waits (at
 * most 10 s) for its bootstrap address. Returns 0, or -1 after printing why
 * on stderr (nothing left running). */
int test_broker_start(struct test_broker *b, int partitions);

/* Sends SIGTERM and reaps the process (SIGKILL after 10 s). Returns 0 when
 * the broker exited with status 0, else -1. Stopping a stopped broker is
 * fine (returns 0). */
int test_broker_stop(struct test_broker *b);

#endif
