/* Reads the runs and outcomes topics from the beginning and feeds one run's
 * messages to a collect until the run is complete, stalls or is stopped. */
#ifndef AIJ_REPORTER_CONSUME_H
#define AIJ_REPORTER_CONSUME_H

#include <stddef.h>

#include "collect.h"

struct consume_opts {
	const char *brokers;
	const char *group;          /* group id of the consumer; nothing is committed */
	const char *kafka_conf;     /* more consumer settings "key=value,...", or NULL */
	const char *topic_outcomes;
	const char *topic_runs;
	int stall_timeout_s;        /* give up after this long without anything new */
	int progress_s;             /* log progress this often */
};

enum consume_result {
	CONSUME_COMPLETE = 0,  /* c is complete */
	CONSUME_ERROR,         /* errstr says why */
	CONSUME_STALLED,       /* nothing new for stall_timeout_s, lines missing */
	CONSUME_STOPPED        /* SIGTERM or SIGINT */
};

/* Consumes until c is complete (or stalls, fails or is stopped). */
enum consume_result consume_run(const struct consume_opts *opts,
				struct collect *c,
				char *errstr, size_t errstr_size);

/* What the follower does with a run (consume_follow). */
struct consume_follow_hooks {
	/* Whether attempt was decided already (published, held...): found
	 * again as the latest at start, it is not collected again. */
	int (*decided)(const char *attempt, void *arg);
	/* c is complete: decide and publish it (or not). Failures are the
	 * hook's to log and record. */
	void (*on_complete)(struct collect *c, void *arg);
	/* Lines of c are missing and nothing new came for stall_timeout_s:
	 * say which (the follower keeps waiting). */
	void (*on_stalled)(const struct collect *c, int stall_s, void *arg);
	void *arg;
};

/* Follows every run, for ever: reads the runs topic to its end first, then
 * collects the attempt of the latest manifest and hands it to on_complete
 * once complete; a newer manifest (another attempt) starts that one over,
 * reading the outcomes again from the beginning. Only one attempt is held
 * in memory. Returns CONSUME_STOPPED on SIGTERM/SIGINT, CONSUME_ERROR on a
 * Kafka error. */
enum consume_result consume_follow(const struct consume_opts *opts,
				   const struct consume_follow_hooks *hooks,
				   char *errstr, size_t errstr_size);

#endif
