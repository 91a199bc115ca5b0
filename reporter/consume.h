/* Reads the runs and outcomes topics from the beginning and feeds one run's
 * messages to a collect until the run is complete, stalls or is stopped. */
#ifndef AIJ_REPORTER_CONSUME_H
#define AIJ_REPORTER_CONSUME_H

#include <stddef.h>

#include "collect.h"

struct consume_opts {
	const char *brokers;
	const char *group;          /* group id of the consumer; nothing is committed */
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

#endif
