/* aij-ingest --replay: a week already on Kafka published again, without its
 * file (after the dossiers were corrected and the index reloaded, or after
 * the exit reasons changed), as a new attempt of the same run or of another
 * one. Its lines are validated again against the current referentials. */
#ifndef AIJ_INGEST_REPLAY_H
#define AIJ_INGEST_REPLAY_H

#include "send.h"
#include "progress.h"

struct replay_conf {
	const char *brokers;
	const char *kafka_conf;   /* extra librdkafka settings, or NULL */
	const char *from_run_id;  /* the run read back (its latest attempt) */
	const char *run_id;       /* the run published */
	const char *attempt;      /* the new attempt */
	int accept;               /* publish over the guards */
	const struct referential *ref; /* the lines are validated again */
	const char *topic_records;
	const char *topic_runs;
};

/* Reads from_run_id's latest manifest from the runs topic and the records
 * of that attempt from the records topic (every partition from the
 * beginning, up to its end or until every record is in), validates each
 * again against ref (a line whose fields were cut or too long stays 01),
 * publishes it once through snd as run_id / attempt, then, once every one
 * is acknowledged, a manifest with the same source name, sha256, counts and
 * skipped ranges, replay_of naming the attempt read back. Fails loudly (no
 * manifest) when some records are no longer on the topic. Returns the exit
 * code (lib/exit_codes.h): EXIT_DONE; EXIT_USAGE no such run on the topic;
 * EXIT_RUNTIME any other failure or a stop request. */
int replay_run(const struct replay_conf *rc, struct sender *snd,
	       struct progress *pg);

#endif
