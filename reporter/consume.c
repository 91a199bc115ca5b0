#include "consume.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kafka.h"
#include "log.h"
#include "signals.h"

static double consume_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Adds every partition of topic to list, from the beginning. Returns 1 when
 * done, 0 when the topic does not exist (yet), -1 on an error (errstr). */
static int consume_partitions(rd_kafka_t *rk, const char *topic,
			      rd_kafka_topic_partition_list_t *list,
			      char *errstr, size_t errstr_size)
{
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	if (!rkt) {
		snprintf(errstr, errstr_size, "cannot use topic '%s': %s", topic,
			 rd_kafka_err2str(rd_kafka_last_error()));
		return -1;
	}
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
	rd_kafka_topic_destroy(rkt);
	if (err) {
		snprintf(errstr, errstr_size, "cannot get the metadata of '%s': %s",
			 topic, rd_kafka_err2str(err));
		return -1;
	}
	int rc = 0;
	if (md->topic_cnt == 1 && !md->topics[0].err &&
	    md->topics[0].partition_cnt > 0) {
		for (int p = 0; p < md->topics[0].partition_cnt; p++)
			rd_kafka_topic_partition_list_add(
				list, topic, md->topics[0].partitions[p].id)->offset =
				RD_KAFKA_OFFSET_BEGINNING;
		rc = 1;
	}
	rd_kafka_metadata_destroy(md);
	return rc;
}

/* Assigns every partition of both topics from the beginning: the reporter
 * reads whole topics, no group coordination needed. Waits for the topics
 * to exist while nothing stops it. Returns 0 or -1 (errstr). */
static int consume_assign(rd_kafka_t *rk, const struct consume_opts *opts,
			  char *errstr, size_t errstr_size)
{
	const char *topics[] = { opts->topic_runs, opts->topic_outcomes };
	double start = consume_now(), warned = 0;
	while (!signals_stop) {
		rd_kafka_topic_partition_list_t *list =
			rd_kafka_topic_partition_list_new(32);
		int found = 0, rc = 0;
		for (size_t i = 0; i < 2 && rc >= 0; i++) {
			rc = consume_partitions(rk, topics[i], list, errstr, errstr_size);
			found += rc > 0;
		}
		if (found == 2) {
			rd_kafka_resp_err_t err = rd_kafka_assign(rk, list);
			log_info("reading %d partitions of '%s' and '%s' from the beginning",
				 list->cnt, topics[0], topics[1]);
			rd_kafka_topic_partition_list_destroy(list);
			if (err) {
				snprintf(errstr, errstr_size, "cannot assign partitions: %s",
					 rd_kafka_err2str(err));
				return -1;
			}
			return 0;
		}
		rd_kafka_topic_partition_list_destroy(list);
		double now = consume_now();
		if (now - start > opts->stall_timeout_s) {
			if (rc >= 0)
				snprintf(errstr, errstr_size,
					 "topics '%s' and '%s' not found after %d s",
					 topics[0], topics[1], opts->stall_timeout_s);
			return -1;
		}
		if (now - warned > 10) {
			if (rc < 0)
				log_warn("%s; retrying", errstr);
			else
				log_warn("waiting for the topics '%s' and '%s'",
					 topics[0], topics[1]);
			warned = now;
		}
		struct timespec ts = { 0, 500 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	snprintf(errstr, errstr_size, "stopped");
	return -1;
}

/* Feeds one message to c. Returns 1 when it brought something new, 0 when
 * not, -1 on an error (errstr). */
static int consume_message(const struct consume_opts *opts, struct collect *c,
			   const rd_kafka_message_t *msg,
			   char *errstr, size_t errstr_size)
{
	const char *topic = rd_kafka_topic_name(msg->rkt);
	if (strcmp(topic, opts->topic_runs) == 0) {
		Aij__Manifest *m = aij__manifest__unpack(NULL, msg->len, msg->payload);
		if (!m) {
			log_warn("'%s' [%" PRId32 "] offset %" PRId64 ": not a manifest, ignored",
				 topic, msg->partition, msg->offset);
			return 0;
		}
		int rc = 0;
		if (strcmp(m->run_id, c->run_id) == 0) {
			rc = collect_manifest(c, m, errstr, errstr_size);
			if (rc > 0)
				log_info("manifest: %llu records from '%s' (sha256 %.12s...)",
					 (unsigned long long)m->records, m->source_name,
					 m->sha256);
		}
		aij__manifest__free_unpacked(m, NULL);
		return rc;
	}
	Aij__Outcome *o = aij__outcome__unpack(NULL, msg->len, msg->payload);
	if (!o) {
		log_warn("'%s' [%" PRId32 "] offset %" PRId64 ": not an outcome, ignored",
			 topic, msg->partition, msg->offset);
		return 0;
	}
	int rc = 0;
	if (strcmp(o->run_id, c->run_id) == 0)
		rc = collect_outcome(c, o, errstr, errstr_size);
	aij__outcome__free_unpacked(o, NULL);
	return rc;
}

static void consume_progress(const struct collect *c)
{
	if (c->have_manifest)
		log_info("outcomes received: %llu of %llu",
			 (unsigned long long)c->in_range,
			 (unsigned long long)c->records);
	else
		log_info("outcomes received: %llu, waiting for the manifest",
			 (unsigned long long)c->received);
}

enum consume_result consume_run(const struct consume_opts *opts,
				struct collect *c,
				char *errstr, size_t errstr_size)
{
	rd_kafka_t *rk = kafka_consumer_new(opts->brokers, opts->group, NULL,
					    errstr, errstr_size);
	if (!rk)
		return CONSUME_ERROR;
	enum consume_result res = CONSUME_ERROR;
	if (consume_assign(rk, opts, errstr, errstr_size)) {
		res = signals_stop ? CONSUME_STOPPED : CONSUME_ERROR;
		goto out;
	}

	double last_new = consume_now(), last_log = last_new;
	while (!collect_complete(c)) {
		if (signals_stop) {
			res = CONSUME_STOPPED;
			goto out;
		}
		rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 200);
		double now = consume_now();
		if (msg) {
			int rc = 0;
			if (msg->err) {
				if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
					log_warn("kafka: %s", rd_kafka_message_errstr(msg));
			} else {
				rc = consume_message(opts, c, msg, errstr, errstr_size);
			}
			rd_kafka_message_destroy(msg);
			if (rc < 0)
				goto out;
			if (rc > 0)
				last_new = now;
		}
		if (now - last_log >= opts->progress_s) {
			consume_progress(c);
			last_log = now;
		}
		if (!collect_complete(c) && now - last_new >= opts->stall_timeout_s) {
			res = CONSUME_STALLED;
			goto out;
		}
	}
	consume_progress(c);
	res = CONSUME_COMPLETE;
out:
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return res;
}
