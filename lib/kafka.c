#include "kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

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
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errstr_size);
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_poll_set_consumer(rk);
	return rk;
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
		/* Queue full: serve delivery reports, which frees room. */
		rd_kafka_poll(rk, 100);
	}
}

int kafka_drain(rd_kafka_t *rk, int timeout_ms)
{
	rd_kafka_flush(rk, timeout_ms);
	return rd_kafka_outq_len(rk);
}
