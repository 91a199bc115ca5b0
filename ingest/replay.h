/* aij-ingest --replay: a week already on Kafka published again as a new
 * run, without its file (after the dossiers were corrected and the index
 * reloaded, or after a fix). */
#ifndef AIJ_INGEST_REPLAY_H
#define AIJ_INGEST_REPLAY_H

#include "publish.h"
#include "progress.h"

struct replay_conf {
	const char *brokers;
	const char *kafka_conf;   /* extra librdkafka settings, or NULL */
	const char *from_run_id;  /* the run read back */
	const char *run_id;       /* the new run */
	const char *topic_records;
	const char *topic_runs;
};

/* Reads from_run_id's latest manifest from the runs topic and its records
 * from the records topic (every partition from the beginning, up to its end
 * or until every record is in), publishes each record once through pub with
 * run_id, then, once every one is acknowledged, a manifest with the same
 * source name, sha256, counts and skipped ranges. Fails loudly (no manifest)
 * when some records are no longer on the topic. Returns the exit code: 0;
 * 2 no such run on the topic; 1 any other failure or a stop request. */
int replay_run(const struct replay_conf *rc, struct publisher *pub,
	       struct progress *pg);

#endif
