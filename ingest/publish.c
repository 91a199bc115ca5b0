#include "publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka.h"
#include "log.h"
#include "signals.h"

/* Failed deliveries named one by one before only counting them. */
#define PUBLISH_FAILURES_LOGGED 10
/* Added to message.timeout.ms when draining: by then librdkafka has given
 * every message its delivery report. */
#define PUBLISH_DRAIN_MARGIN_MS 5000

static long publish_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Runs on the thread that polls (ours): plain counters suffice. */
static void publish_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg,
				void *opaque)
{
	(void)rk;
	struct publisher *p = opaque;
	if (!msg->err) {
		p->acked++;
		return;
	}
	p->failed++;
	if (p->closing)
		return; /* purged on release: the caller already reported them */
	if (p->failed <= PUBLISH_FAILURES_LOGGED)
		log_error("message key '%.*s' to '%s' not acknowledged: %s",
			  (int)msg->key_len, msg->key ? (const char *)msg->key : "",
			  rd_kafka_topic_name(msg->rkt), rd_kafka_err2str(msg->err));
	else if (p->failed == PUBLISH_FAILURES_LOGGED + 1)
		log_error("more messages not acknowledged, counting them only");
}

static int publish_conf_int(rd_kafka_t *rk, const char *name, int def)
{
	char value[64];
	size_t size = sizeof(value);
	if (rd_kafka_conf_get(rd_kafka_conf(rk), name, value, &size) !=
	    RD_KAFKA_CONF_OK)
		return def;
	return atoi(value);
}

int publish_init(struct publisher *p, const char *brokers,
		 const char *extra_conf, const char *topic_records,
		 const char *topic_runs, char *errstr, size_t errstr_size)
{
	memset(p, 0, sizeof(*p));
	p->topic_records = topic_records;
	p->topic_runs = topic_runs;
	p->rk = kafka_producer_new(brokers, extra_conf, publish_on_delivery, p,
				   errstr, errstr_size);
	if (!p->rk)
		return -1;
	p->message_timeout_ms = publish_conf_int(p->rk, "message.timeout.ms",
						 300000);
	int queue_max = publish_conf_int(p->rk, "queue.buffering.max.messages",
					 100000);
	p->max_pending = queue_max > 2 ? (uint64_t)queue_max / 2 : 1;
	return 0;
}

/* Packs msg into p->buf, growing it as needed. Returns 0 with *len set, or
 * -1 (errstr) when out of memory. */
static int publish_pack(struct publisher *p, const ProtobufCMessage *msg,
			size_t *len, char *errstr, size_t errstr_size)
{
	size_t need = protobuf_c_message_get_packed_size(msg);
	if (need > p->buf_size || !p->buf) {
		size_t size = need < 4096 ? 4096 : need * 2;
		uint8_t *buf = realloc(p->buf, size);
		if (!buf) {
			snprintf(errstr, errstr_size, "out of memory");
			return -1;
		}
		p->buf = buf;
		p->buf_size = size;
	}
	*len = protobuf_c_message_pack(msg, p->buf);
	return 0;
}

static int publish_message(struct publisher *p, const char *topic,
			   const char *key, const ProtobufCMessage *msg,
			   char *errstr, size_t errstr_size)
{
	size_t len;
	if (publish_pack(p, msg, &len, errstr, errstr_size) < 0)
		return -1;
	if (kafka_produce(p->rk, topic, key, strlen(key), p->buf, len, NULL,
			  errstr, errstr_size) < 0)
		return -1;
	p->produced++;
	return 0;
}

int publish_record(struct publisher *p, const Aij__Record *rec,
		   char *errstr, size_t errstr_size)
{
	char key[24];
	snprintf(key, sizeof(key), "%llu", (unsigned long long)rec->line);
	return publish_message(p, p->topic_records, key, &rec->base, errstr,
			       errstr_size);
}

int publish_manifest(struct publisher *p, const Aij__Manifest *m,
		     char *errstr, size_t errstr_size)
{
	return publish_message(p, p->topic_runs, m->run_id, &m->base, errstr,
			       errstr_size);
}

int publish_pace(struct publisher *p, char *errstr, size_t errstr_size)
{
	rd_kafka_poll(p->rk, 0);
	/* One record lost and the run cannot complete: reading on would only
	 * make the operator wait (message.timeout.ms) for the same verdict. */
	if (p->failed > 0) {
		snprintf(errstr, errstr_size, "%llu message(s) not acknowledged "
			 "by the broker", (unsigned long long)p->failed);
		return -1;
	}
	/* Keep below librdkafka's queue limit, so that kafka_produce() never
	 * waits on a full queue, where a stop request would go unnoticed. */
	while (publish_pending(p) >= p->max_pending) {
		if (p->failed > 0)
			return publish_pace(p, errstr, errstr_size);
		if (signals_stop) {
			snprintf(errstr, errstr_size, "stop requested");
			return -1;
		}
		rd_kafka_poll(p->rk, 100);
	}
	return 0;
}

uint64_t publish_pending(const struct publisher *p)
{
	return p->produced - p->acked - p->failed;
}

uint64_t publish_drain(struct publisher *p, int timeout_ms)
{
	long deadline = publish_now_ms() + timeout_ms;
	for (;;) {
		long left = deadline - publish_now_ms();
		if (publish_pending(p) == 0 || left <= 0)
			break;
		/* Short slices: the loop ends on our own count of reports. */
		kafka_drain(p->rk, left < 100 ? (int)left : 100);
	}
	return publish_pending(p);
}

int publish_drain_budget_ms(const struct publisher *p)
{
	return p->message_timeout_ms + PUBLISH_DRAIN_MARGIN_MS;
}

uint64_t publish_unacked(const struct publisher *p)
{
	return p->produced - p->acked;
}

void publish_release(struct publisher *p)
{
	if (p->rk) {
		/* What is still queued will not be waited for: fail it now
		 * (counted by the delivery reports) rather than have
		 * rd_kafka_destroy() linger on an unreachable broker. */
		if (publish_pending(p) > 0) {
			p->closing = 1;
			rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE |
					      RD_KAFKA_PURGE_F_INFLIGHT);
			rd_kafka_poll(p->rk, 0);
		}
		rd_kafka_destroy(p->rk);
	}
	p->rk = NULL;
	free(p->buf);
	p->buf = NULL;
	p->buf_size = 0;
}
