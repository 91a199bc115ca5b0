#include "kafka.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "signals.h"

static void kafka_on_error(rd_kafka_t *rk, int err, const char *reason,
			   void *opaque)
{
	(void)opaque;
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		char fatal[512];
		rd_kafka_resp_err_t orig =
			rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
		log_error("kafka fatal error %s: %s", rd_kafka_err2name(orig), fatal);
		return;
	}
	/* Transient (a broker going away, a retry): librdkafka recovers by
	 * itself; the operator still wants to see it. */
	log_warn("kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void kafka_on_log(const rd_kafka_t *rk, int level, const char *fac,
			 const char *buf)
{
	(void)rk;
	/* librdkafka logs a lost connection at level 3 (LOG_ERR) and then
	 * recovers by itself: only its critical levels are errors for us. */
	if (level <= 2)
		log_error("kafka %s: %s", fac, buf);
	else if (level <= 4)
		log_warn("kafka %s: %s", fac, buf);
	else
		log_debug("kafka %s: %s", fac, buf);
}

static int kafka_set(rd_kafka_conf_t *conf, const char *key, const char *value,
		     char *errstr, size_t errstr_size)
{
	char why[256];
	if (rd_kafka_conf_set(conf, key, value, why, sizeof(why)) != RD_KAFKA_CONF_OK) {
		snprintf(errstr, errstr_size, "kafka setting '%s=%s': %s", key, value, why);
		return -1;
	}
	return 0;
}

/* Applies "key=value,key=value". */
static int kafka_set_extra(rd_kafka_conf_t *conf, const char *extra,
			   char *errstr, size_t errstr_size)
{
	if (!extra || !*extra)
		return 0;
	char *copy = strdup(extra);
	if (!copy) {
		snprintf(errstr, errstr_size, "out of memory");
		return -1;
	}
	int rc = 0;
	char *save = NULL;
	for (char *item = strtok_r(copy, ",", &save); item && rc == 0;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		if (!eq) {
			snprintf(errstr, errstr_size,
				 "kafka setting '%s' is not key=value", item);
			rc = -1;
			break;
		}
		*eq = '\0';
		rc = kafka_set(conf, item, eq + 1, errstr, errstr_size);
	}
	free(copy);
	return rc;
}

static rd_kafka_conf_t *kafka_conf_base(const char *brokers, const char *extra,
					char *errstr, size_t errstr_size)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set_error_cb(conf, kafka_on_error);
	rd_kafka_conf_set_log_cb(conf, kafka_on_log);
	if (kafka_set(conf, "bootstrap.servers", brokers, errstr, errstr_size) ||
	    kafka_set_extra(conf, extra, errstr, errstr_size)) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	return conf;
}

rd_kafka_t *kafka_producer_new(const char *brokers, const char *extra_conf,
			       kafka_dr_cb *dr_cb, void *opaque,
			       char *errstr, size_t errstr_size)
{
	rd_kafka_conf_t *conf = kafka_conf_base(brokers, NULL, errstr, errstr_size);
	if (!conf)
		return NULL;
	if (kafka_set(conf, "enable.idempotence", "true", errstr, errstr_size) ||
	    kafka_set(conf, "compression.codec", "lz4", errstr, errstr_size) ||
	    kafka_set(conf, "linger.ms", "20", errstr, errstr_size) ||
	    kafka_set(conf, "batch.num.messages", "10000", errstr, errstr_size) ||
	    kafka_set_extra(conf, extra_conf, errstr, errstr_size)) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	if (dr_cb)
		rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	rd_kafka_conf_set_opaque(conf, opaque);

	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
	if (!rk)
		rd_kafka_conf_destroy(conf); /* rd_kafka_new() took it only on success */
	return rk;
}

/* "topic[0,1,2] other[3]" of a partition list, cut to fit. */
static void kafka_parts_text(const rd_kafka_topic_partition_list_t *parts,
			     char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = '\0';
	for (int i = 0; i < parts->cnt && len + 24 < size; i++) {
		const rd_kafka_topic_partition_t *p = &parts->elems[i];
		int same = i > 0 && strcmp(parts->elems[i - 1].topic, p->topic) == 0;
		int r = snprintf(buf + len, size - len, "%s%s%s%" PRId32,
				 same ? "," : (i ? "] " : ""), same ? "" : p->topic,
				 same ? "" : "[", p->partition);
		if (r < 0)
			break;
		len += (size_t)r;
	}
	if (parts->cnt > 0 && len + 2 < size)
		snprintf(buf + len, size - len, "]");
}

/* Group rebalances, logged: which partitions this member got or lost. A
 * consumer of ours finishes each batch (outcomes acknowledged, offsets
 * committed) before polling for more, so at a revocation no work of a
 * previous batch is pending; records of a batch being filled when its
 * partitions go are still processed and published, their commit may then
 * be refused (logged by the caller) and the new owner redoes them: at least
 * once, and the reporter counts a line once. */
static void kafka_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			       rd_kafka_topic_partition_list_t *parts,
			       void *opaque)
{
	(void)opaque;
	char text[512] = "none";
	if (parts)
		kafka_parts_text(parts, text, sizeof(text));
	int count = parts ? parts->cnt : 0;
	/* NULL while the group's protocol is not known (during a close, say). */
	const char *protocol = rd_kafka_rebalance_protocol(rk);
	int cooperative = protocol && strcmp(protocol, "COOPERATIVE") == 0;
	rd_kafka_error_t *error = NULL;
	rd_kafka_resp_err_t aerr = RD_KAFKA_RESP_ERR_NO_ERROR;
	switch (err) {
	case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
		log_info("rebalance: %d partition(s) assigned: %s", count,
			 count ? text : "none");
		if (cooperative)
			error = rd_kafka_incremental_assign(rk, parts);
		else
			aerr = rd_kafka_assign(rk, parts);
		break;
	case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
		log_info("rebalance: %d partition(s) revoked: %s", count,
			 count ? text : "none");
		if (cooperative)
			error = rd_kafka_incremental_unassign(rk, parts);
		else
			aerr = rd_kafka_assign(rk, NULL);
		break;
	default:
		log_warn("rebalance failed: %s", rd_kafka_err2str(err));
		aerr = rd_kafka_assign(rk, NULL);
		break;
	}
	if (error) {
		log_warn("rebalance: %s", rd_kafka_error_string(error));
		rd_kafka_error_destroy(error);
	} else if (aerr) {
		log_warn("rebalance: %s", rd_kafka_err2str(aerr));
	}
}

rd_kafka_t *kafka_consumer_new(const char *brokers, const char *group_id,
			       const char *extra_conf,
			       char *errstr, size_t errstr_size)
{
	rd_kafka_conf_t *conf = kafka_conf_base(brokers, NULL, errstr, errstr_size);
	if (!conf)
		return NULL;
	if (kafka_set(conf, "group.id", group_id, errstr, errstr_size) ||
	    kafka_set(conf, "enable.auto.commit", "false", errstr, errstr_size) ||
	    kafka_set(conf, "enable.auto.offset.store", "false", errstr, errstr_size) ||
	    kafka_set(conf, "auto.offset.reset", "earliest", errstr, errstr_size) ||
	    kafka_set(conf, "session.timeout.ms", "6000", errstr, errstr_size) ||
	    kafka_set(conf, "heartbeat.interval.ms", "500", errstr, errstr_size) ||
	    kafka_set_extra(conf, extra_conf, errstr, errstr_size)) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_conf_set_rebalance_cb(conf, kafka_on_rebalance);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errstr_size);
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_poll_set_consumer(rk);
	return rk;
}

int kafka_consumer_close(rd_kafka_t *rk, int timeout_ms)
{
	/* In the background, served here with a deadline: rd_kafka_consumer_close()
	 * blocks until librdkafka is done, with no bound of ours. */
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_error_t *error = rd_kafka_consumer_close_queue(rk, q);
	int closed = 0;
	if (error) {
		log_warn("cannot leave the consumer group: %s",
			 rd_kafka_error_string(error));
		rd_kafka_error_destroy(error);
	} else {
		long deadline = clock_now_ms() + timeout_ms;
		/* The consumer's queue is forwarded to q: the revocation comes
		 * as an event (applied as the callback does), messages fetched
		 * meanwhile too (dropped: not committed, so consumed again). */
		while (!(closed = rd_kafka_consumer_closed(rk)) &&
		       clock_now_ms() < deadline) {
			rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);
			if (ev && rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE)
				kafka_on_rebalance(rk, rd_kafka_event_error(ev),
						   rd_kafka_event_topic_partition_list(ev),
						   NULL);
			else if (ev && rd_kafka_event_type(ev) == RD_KAFKA_EVENT_ERROR)
				log_warn("kafka: %s: %s",
					 rd_kafka_err2name(rd_kafka_event_error(ev)),
					 rd_kafka_event_error_string(ev));
			if (ev)
				rd_kafka_event_destroy(ev);
		}
		if (!closed)
			log_warn("leaving the consumer group took more than %.1f s: "
				 "closing without it", timeout_ms / 1000.0);
	}
	rd_kafka_queue_destroy(q);
	rd_kafka_destroy_flags(rk, closed ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
	return closed ? 0 : -1;
}

rd_kafka_t *kafka_reader_new(const char *brokers, const char *group_id,
			     const char *extra_conf,
			     char *errstr, size_t errstr_size)
{
	static const char eof[] = "enable.partition.eof=true";
	size_t size = sizeof(eof) + 1 + (extra_conf ? strlen(extra_conf) : 0);
	char *conf = malloc(size);
	if (!conf) {
		snprintf(errstr, errstr_size, "out of memory");
		return NULL;
	}
	/* Ours first: a deployment's settings come after, as everywhere. */
	snprintf(conf, size, "%s%s%s", eof, extra_conf && *extra_conf ? "," : "",
		 extra_conf ? extra_conf : "");
	rd_kafka_t *rk = kafka_consumer_new(brokers, group_id, conf,
					    errstr, errstr_size);
	free(conf);
	return rk;
}

/* Adds every partition of topic to list with offset RD_KAFKA_OFFSET_BEGINNING
 * (metadata asked with timeout_ms). Returns 1 when added, 0 when the topic
 * does not exist (yet), -1 on an error (errstr). */
static int kafka_topic_partitions(rd_kafka_t *rk, const char *topic,
				  rd_kafka_topic_partition_list_t *list,
				  int timeout_ms, char *errstr, size_t errstr_size)
{
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	if (!rkt) {
		snprintf(errstr, errstr_size, "cannot use topic '%s': %s", topic,
			 rd_kafka_err2str(rd_kafka_last_error()));
		return -1;
	}
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
	rd_kafka_topic_destroy(rkt);
	if (err) {
		snprintf(errstr, errstr_size, "cannot get the metadata of '%s': %s",
			 topic, rd_kafka_err2str(err));
		return -1;
	}
	int found = md->topic_cnt == 1 && !md->topics[0].err &&
		    md->topics[0].partition_cnt > 0;
	for (int p = 0; found && p < md->topics[0].partition_cnt; p++)
		rd_kafka_topic_partition_list_add(list, topic,
						  md->topics[0].partitions[p].id)->offset =
			RD_KAFKA_OFFSET_BEGINNING;
	rd_kafka_metadata_destroy(md);
	return found;
}

/* "'a'", "'a' and 'b'", "'a', 'b' and 'c'": topics named in a message. */
static void kafka_topics_text(const char *const *topics, int count,
			      char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = '\0';
	for (int i = 0; i < count && len < size; i++) {
		int r = snprintf(buf + len, size - len, "%s'%s'",
				 i == 0 ? "" : i == count - 1 ? " and " : ", ",
				 topics[i]);
		if (r < 0)
			break;
		len += (size_t)r;
	}
}

rd_kafka_topic_partition_list_t *
kafka_assign_topics(rd_kafka_t *rk, const char *const *topics, int count,
		    int wait_s, int metadata_ms,
		    char *errstr, size_t errstr_size)
{
	char names[512];
	kafka_topics_text(topics, count, names, sizeof(names));
	const char *noun = count == 1 ? "topic" : "topics";
	double start = clock_now_s(), warned = 0;
	for (;;) {
		rd_kafka_topic_partition_list_t *list =
			rd_kafka_topic_partition_list_new(32);
		const char *missing = NULL;
		int found = 0, rc = 0;
		for (int i = 0; i < count && rc >= 0; i++) {
			rc = kafka_topic_partitions(rk, topics[i], list, metadata_ms,
						    errstr, errstr_size);
			found += rc > 0;
			if (rc == 0 && !missing)
				missing = topics[i];
		}
		if (found == count) {
			rd_kafka_resp_err_t err = rd_kafka_assign(rk, list);
			if (!err)
				return list;
			snprintf(errstr, errstr_size, "cannot read %s %s: %s", noun,
				 names, rd_kafka_err2str(err));
			rd_kafka_topic_partition_list_destroy(list);
			return NULL;
		}
		rd_kafka_topic_partition_list_destroy(list);
		double now = clock_now_s();
		if (now - start >= wait_s) {
			/* rc < 0: errstr says what failed last. */
			if (rc >= 0 && wait_s == 0)
				snprintf(errstr, errstr_size, "cannot read topic '%s': %s",
					 missing, rd_kafka_err2str(
						 RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART));
			else if (rc >= 0)
				snprintf(errstr, errstr_size, "%s %s not found after %d s",
					 noun, names, wait_s);
			return NULL;
		}
		if (now - warned > 10) {
			if (rc < 0)
				log_warn("%s; retrying", errstr);
			else
				log_warn("waiting for the %s %s", noun, names);
			warned = now;
		}
		clock_sleep_ms(500);
		if (signals_stop) {
			snprintf(errstr, errstr_size, "stopped");
			return NULL;
		}
	}
}

/* kafka_partition_eof()'s marks, in the offset of each partition of ends. */
#define KAFKA_END_AWAITED  1
#define KAFKA_END_REACHED  (-1)

rd_kafka_topic_partition_list_t *
kafka_partition_ends(const rd_kafka_topic_partition_list_t *parts,
		     const char *topic)
{
	rd_kafka_topic_partition_list_t *ends =
		rd_kafka_topic_partition_list_new(parts->cnt);
	for (int i = 0; i < parts->cnt; i++) {
		const rd_kafka_topic_partition_t *p = &parts->elems[i];
		if (!topic || strcmp(p->topic, topic) == 0)
			rd_kafka_topic_partition_list_add(ends, p->topic,
							  p->partition)->offset =
				KAFKA_END_AWAITED;
	}
	return ends;
}

int kafka_partition_eof(rd_kafka_topic_partition_list_t *ends,
			const rd_kafka_message_t *msg)
{
	int done = 1;
	for (int i = 0; i < ends->cnt; i++) {
		rd_kafka_topic_partition_t *p = &ends->elems[i];
		if (msg && msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF &&
		    p->partition == msg->partition &&
		    strcmp(p->topic, rd_kafka_topic_name(msg->rkt)) == 0)
			p->offset = KAFKA_END_REACHED;
		done &= p->offset == KAFKA_END_REACHED;
	}
	return done;
}

int kafka_subscribe(rd_kafka_t *rk, const char *topic,
		    char *errstr, size_t errstr_size)
{
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, list);
	rd_kafka_topic_partition_list_destroy(list);
	if (err) {
		snprintf(errstr, errstr_size, "cannot subscribe to '%s': %s", topic,
			 rd_kafka_err2str(err));
		return -1;
	}
	return 0;
}

int kafka_produce(rd_kafka_t *rk, const char *topic, const void *key,
		  size_t key_len, const void *payload, size_t len,
		  void *msg_opaque, char *errstr, size_t errstr_size)
{
	for (;;) {
		rd_kafka_resp_err_t err = rd_kafka_producev(
			rk, RD_KAFKA_V_TOPIC(topic),
			RD_KAFKA_V_KEY(key, key_len),
			RD_KAFKA_V_VALUE((void *)payload, len),
			RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			RD_KAFKA_V_OPAQUE(msg_opaque), RD_KAFKA_V_END);
		if (!err)
			return 0;
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			snprintf(errstr, errstr_size, "cannot produce to '%s': %s",
				 topic, rd_kafka_err2str(err));
			return -1;
		}
		/* Queue full: serve delivery reports, which frees room. A stop
		 * request ends the wait: with the broker gone the queue would
		 * never empty, and the operator wants the process gone. */
		if (signals_stop) {
			snprintf(errstr, errstr_size, "cannot produce to '%s': stopped",
				 topic);
			return -1;
		}
		rd_kafka_poll(rk, 100);
	}
}

int kafka_drain(rd_kafka_t *rk, int timeout_ms)
{
	rd_kafka_flush(rk, timeout_ms);
	return rd_kafka_outq_len(rk);
}
