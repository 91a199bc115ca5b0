#include "replay.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exit_codes.h"
#include "kafka.h"
#include "record.h"
#include "log.h"
#include "signals.h"

#define REPLAY_TIMEOUT_MS  10000
#define REPLAY_MISSING_SHOWN 20

#define REPLAY_CLOSE_MS 2000 /* a reader leaves no group: closing is quick */

/* A consumer assigned every partition of topic from the beginning (not
 * waiting for it to exist); *ends lists the partitions for
 * kafka_partition_eof() (free with rd_kafka_topic_partition_list_destroy()).
 * NULL on an error (errstr). */
static rd_kafka_t *replay_open(const struct replay_conf *rc, const char *topic,
			       rd_kafka_topic_partition_list_t **ends,
			       char *errstr, size_t errstr_size)
{
	char group[96];
	snprintf(group, sizeof(group), "aij-replay-%ld", (long)getpid());
	rd_kafka_t *rk = kafka_reader_new(rc->brokers, group, rc->kafka_conf,
					  errstr, errstr_size);
	if (!rk)
		return NULL;
	rd_kafka_topic_partition_list_t *assigned =
		kafka_assign_topics(rk, &topic, 1, 0, REPLAY_TIMEOUT_MS,
				    errstr, errstr_size);
	if (!assigned) {
		kafka_consumer_close(rk, REPLAY_CLOSE_MS);
		return NULL;
	}
	*ends = kafka_partition_ends(assigned, NULL);
	rd_kafka_topic_partition_list_destroy(assigned);
	return rk;
}

static void replay_close(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *ends)
{
	if (ends)
		rd_kafka_topic_partition_list_destroy(ends);
	if (rk)
		kafka_consumer_close(rk, REPLAY_CLOSE_MS);
}

/* The latest manifest of from_run_id (free with
 * aij__manifest__free_unpacked()), or NULL: none (errstr empty) or an error. */
static Aij__Manifest *replay_manifest(const struct replay_conf *rc,
				      char *errstr, size_t errstr_size)
{
	rd_kafka_topic_partition_list_t *ends = NULL;
	errstr[0] = '\0';
	rd_kafka_t *rk = replay_open(rc, rc->topic_runs, &ends, errstr, errstr_size);
	if (!rk)
		return NULL;
	Aij__Manifest *found = NULL;
	while (!kafka_partition_eof(ends, NULL) && !signals_stop) {
		rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 500);
		if (!msg)
			continue;
		if (!msg->err) {
			Aij__Manifest *m = aij__manifest__unpack(NULL, msg->len, msg->payload);
			if (m && strcmp(m->run_id, rc->from_run_id) == 0) {
				aij__manifest__free_unpacked(found, NULL);
				found = m;
			} else if (m) {
				aij__manifest__free_unpacked(m, NULL);
			}
		} else if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			kafka_partition_eof(ends, msg);
		} else {
			log_warn("'%s': %s", rc->topic_runs, rd_kafka_message_errstr(msg));
		}
		rd_kafka_message_destroy(msg);
	}
	replay_close(rk, ends);
	if (signals_stop) {
		aij__manifest__free_unpacked(found, NULL);
		snprintf(errstr, errstr_size, "stopped");
		return NULL;
	}
	return found;
}

/* Names the first missing lines: their seqs, since a record's line is only
 * known from the record itself. */
static void replay_missing(const uint8_t *seen, uint64_t records, uint64_t missing,
			   const char *from)
{
	char list[REPLAY_MISSING_SHOWN * 22 + 32] = "";
	size_t len = 0;
	int shown = 0;
	for (uint64_t s = 0; s < records && shown < REPLAY_MISSING_SHOWN; s++)
		if (!((seen[s / 8] >> (s % 8)) & 1)) {
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%" PRIu64,
						shown ? ", " : "", s);
			shown++;
		}
	log_error("%" PRIu64 " of %" PRIu64 " records of run %s are not on the "
		  "records topic any more (retention, or a broker that dropped them): "
		  "record numbers (seq) %s%s; nothing published as complete, replay "
		  "from the file instead (aij-ingest --file)", missing, records, from,
		  list, missing > (uint64_t)shown ? ", ..." : "");
}

/* Validates rec again against the current referentials (a motif added
 * since, a commune code that came back): its fields as kept on Kafka, its
 * field count as the file had it. A line cut for its length or with another
 * count than 12 stays 01. */
static void replay_validate(Aij__Record *rec, const struct referential *ref)
{
	if (rec->validation_code == CODE_COLUMNS || rec->field_count != RECORD_FIELDS ||
	    rec->n_fields != RECORD_FIELDS)
		return;
	struct record_fields f;
	for (size_t i = 0; i < RECORD_FIELDS; i++)
		f.field[i] = rec->fields[i] ? rec->fields[i] : "";
	f.count = rec->field_count;
	rec->validation_code = (uint32_t)record_validate(&f, 0, ref);
}

/* Whether rec belongs to the attempt of m (an older producer's records and
 * manifests had no attempt: the run id alone then). */
static int replay_of_attempt(const Aij__Record *rec, const Aij__Manifest *m)
{
	return strcmp(rec->run_id, m->run_id) == 0 &&
	       strcmp(rec->attempt ? rec->attempt : "", m->attempt ? m->attempt : "") == 0;
}

/* Reads the records of m's attempt and publishes them as rc->run_id. Returns
 * the number of distinct records published, or -1 on an error (logged). */
static int64_t replay_records(const struct replay_conf *rc, const Aij__Manifest *m,
			      struct sender *snd, struct progress *pg,
			      uint8_t *seen)
{
	char errstr[512];
	rd_kafka_topic_partition_list_t *ends = NULL;
	rd_kafka_t *rk = replay_open(rc, rc->topic_records, &ends, errstr, sizeof(errstr));
	if (!rk) {
		log_error("%s", errstr);
		return -1;
	}
	uint64_t got = 0;
	int64_t rc_out = 0;
	while (got < m->records && !kafka_partition_eof(ends, NULL)) {
		if (signals_stop) {
			log_error("stopped after %" PRIu64 " of %" PRIu64 " records: "
				  "no manifest published", got, m->records);
			rc_out = -1;
			break;
		}
		if (send_pace(snd, errstr, sizeof(errstr)) < 0) {
			log_error("%s", errstr);
			rc_out = -1;
			break;
		}
		rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 500);
		if (!msg)
			continue;
		if (msg->err) {
			if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
				kafka_partition_eof(ends, msg);
			else
				log_warn("'%s': %s", rc->topic_records,
					 rd_kafka_message_errstr(msg));
			rd_kafka_message_destroy(msg);
			continue;
		}
		Aij__Record *rec = aij__record__unpack(NULL, msg->len, msg->payload);
		if (rec && replay_of_attempt(rec, m) &&
		    rec->seq < m->records && !((seen[rec->seq / 8] >> (rec->seq % 8)) & 1)) {
			char *old = rec->run_id, *old_attempt = rec->attempt;
			rec->run_id = (char *)rc->run_id;
			rec->attempt = (char *)rc->attempt;
			replay_validate(rec, rc->ref);
			int rc_pub = send_record(snd, rec, errstr, sizeof(errstr));
			rec->run_id = old; /* freed with the record */
			rec->attempt = old_attempt;
			if (rc_pub < 0) {
				log_error("record %" PRIu64 " (line %" PRIu64 "): %s",
					  rec->seq, rec->line, errstr);
				aij__record__free_unpacked(rec, NULL);
				rd_kafka_message_destroy(msg);
				rc_out = -1;
				break;
			}
			seen[rec->seq / 8] |= (uint8_t)(1u << (rec->seq % 8));
			got++;
			progress_count(pg, rec->validation_code <= CODE_TECHNICAL
					       ? (enum record_code)rec->validation_code
					       : CODE_TECHNICAL);
			progress_tick(pg);
		}
		aij__record__free_unpacked(rec, NULL);
		rd_kafka_message_destroy(msg);
	}
	replay_close(rk, ends);
	return rc_out < 0 ? -1 : (int64_t)got;
}

int replay_run(const struct replay_conf *rc, struct sender *snd,
	       struct progress *pg)
{
	char errstr[512];
	log_info("replaying run %s as run %s (attempt %s): reading its manifest "
		 "from '%s'", rc->from_run_id, rc->run_id, rc->attempt, rc->topic_runs);
	Aij__Manifest *m = replay_manifest(rc, errstr, sizeof(errstr));
	if (!m) {
		if (errstr[0]) {
			log_error("%s", errstr);
			return EXIT_RUNTIME;
		}
		log_error("no manifest of run '%s' on '%s': nothing to replay (a run "
			  "is complete on Kafka only once ingest published its manifest)",
			  rc->from_run_id, rc->topic_runs);
		return EXIT_USAGE;
	}
	log_info("run %s, attempt %s: %" PRIu64 " records from '%s' (sha256 "
		 "%.12s...): reading them back from '%s' and validating them again",
		 rc->from_run_id, m->attempt, m->records, m->source_name, m->sha256,
		 rc->topic_records);
	uint8_t *seen = calloc(m->records / 8 + 1, 1);
	if (!seen) {
		log_error("out of memory");
		aij__manifest__free_unpacked(m, NULL);
		return EXIT_RUNTIME;
	}
	int code = EXIT_RUNTIME;
	int64_t got = replay_records(rc, m, snd, pg, seen);
	uint64_t unacked = 0;
	if (got >= 0) {
		send_drain(snd, send_drain_budget_ms(snd));
		unacked = send_unacked(snd);
	}
	progress_final(pg, m->last_line);
	if (got < 0) {
		/* logged */
	} else if ((uint64_t)got < m->records) {
		replay_missing(seen, m->records, m->records - (uint64_t)got, rc->from_run_id);
	} else if (unacked > 0) {
		log_error("%" PRIu64 " of %" PRIu64 " records were not acknowledged by "
			  "the broker: no manifest published, run the replay again",
			  unacked, m->records);
	} else {
		char *old = m->run_id, *old_attempt = m->attempt, *old_replay = m->replay_of;
		char replay_of[600];
		snprintf(replay_of, sizeof(replay_of), "%s", *m->attempt ? m->attempt
									  : m->run_id);
		m->run_id = (char *)rc->run_id;
		m->attempt = (char *)rc->attempt;
		m->replay_of = replay_of;
		m->accept = rc->accept;
		m->created_at = (int64_t)time(NULL);
		int rc_pub = send_manifest(snd, m, errstr, sizeof(errstr));
		m->run_id = old;
		m->attempt = old_attempt;
		m->replay_of = old_replay;
		if (rc_pub < 0) {
			log_error("cannot publish the manifest: %s", errstr);
		} else if (send_drain(snd, send_drain_budget_ms(snd)) > 0 ||
			   send_unacked(snd) > 0) {
			log_error("the manifest was not acknowledged by the broker: "
				  "run the replay again");
		} else {
			log_info("run %s replayed as run %s (attempt %s): %" PRIu64
				 " records and the manifest published to '%s'",
				 rc->from_run_id, rc->run_id, rc->attempt, m->records,
				 rc->topic_runs);
			code = EXIT_DONE;
		}
	}
	free(seen);
	aij__manifest__free_unpacked(m, NULL);
	return code;
}
