#include "send.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "kafka.h"
#include "log.h"
#include "signals.h"

/* The flow control's watcher never joins the group: closing is quick. */
#define SEND_WATCH_CLOSE_MS 2000

/* Failed deliveries named one by one before only counting them. */
#define SEND_FAILURES_LOGGED 10
/* Added to message.timeout.ms when draining: by then librdkafka has given
 * every message its delivery report. */
#define SEND_DRAIN_MARGIN_MS 5000

/* Notes where an acknowledged record went, for flow control. */
static void send_flow_note(struct sender *p, const rd_kafka_message_t *msg)
{
	int part = (int)msg->partition;
	if (part < 0 || msg->offset < 0 ||
	    strcmp(rd_kafka_topic_name(msg->rkt), p->topic_records) != 0)
		return;
	if (part >= p->npart) {
		int n = part + 1;
		int64_t *first = realloc(p->first_offset, (size_t)n * sizeof(*first));
		if (first)
			p->first_offset = first;
		int64_t *next = realloc(p->next_offset, (size_t)n * sizeof(*next));
		if (next)
			p->next_offset = next;
		if (!first || !next)
			return; /* out of memory: this partition is not watched */
		for (int i = p->npart; i < n; i++)
			first[i] = next[i] = -1;
		p->npart = n;
	}
	if (p->first_offset[part] < 0 || msg->offset < p->first_offset[part])
		p->first_offset[part] = msg->offset;
	if (msg->offset + 1 > p->next_offset[part])
		p->next_offset[part] = msg->offset + 1;
}

/* Runs on the thread that polls (ours): plain counters suffice. */
static void send_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg,
				void *opaque)
{
	(void)rk;
	struct sender *p = opaque;
	if (!msg->err) {
		p->acked++;
		if (p->watch)
			send_flow_note(p, msg);
		return;
	}
	p->failed++;
	if (p->closing)
		return; /* purged on release: the caller already reported them */
	if (p->failed <= SEND_FAILURES_LOGGED)
		log_error("message key '%.*s' to '%s' not acknowledged: %s",
			  (int)msg->key_len, msg->key ? (const char *)msg->key : "",
			  rd_kafka_topic_name(msg->rkt), rd_kafka_err2str(msg->err));
	else if (p->failed == SEND_FAILURES_LOGGED + 1)
		log_error("more messages not acknowledged, counting them only");
}

static int send_conf_int(rd_kafka_t *rk, const char *name, int def)
{
	char value[64];
	size_t size = sizeof(value);
	if (rd_kafka_conf_get(rd_kafka_conf(rk), name, value, &size) !=
	    RD_KAFKA_CONF_OK)
		return def;
	return atoi(value);
}

int send_init(struct sender *p, const char *brokers,
		 const char *extra_conf, const char *topic_records,
		 const char *topic_runs, char *errstr, size_t errstr_size)
{
	memset(p, 0, sizeof(*p));
	p->topic_records = topic_records;
	p->topic_runs = topic_runs;
	p->rk = kafka_producer_new(brokers, extra_conf, send_on_delivery, p,
				   errstr, errstr_size);
	if (!p->rk)
		return -1;
	p->message_timeout_ms = send_conf_int(p->rk, "message.timeout.ms",
						 300000);
	int queue_max = send_conf_int(p->rk, "queue.buffering.max.messages",
					 100000);
	p->max_pending = queue_max > 2 ? (uint64_t)queue_max / 2 : 1;
	return 0;
}

/* Packs msg into p->buf, growing it as needed. Returns 0 with *len set, or
 * -1 (errstr) when out of memory. */
static int send_pack(struct sender *p, const ProtobufCMessage *msg,
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

static int send_message(struct sender *p, const char *topic,
			   const char *key, const ProtobufCMessage *msg,
			   char *errstr, size_t errstr_size)
{
	size_t len;
	if (send_pack(p, msg, &len, errstr, errstr_size) < 0)
		return -1;
	if (kafka_produce(p->rk, topic, key, strlen(key), p->buf, len, NULL,
			  errstr, errstr_size) < 0)
		return -1;
	p->produced++;
	return 0;
}

int send_record(struct sender *p, const Aij__Record *rec,
		   char *errstr, size_t errstr_size)
{
	char key[24];
	snprintf(key, sizeof(key), "%llu", (unsigned long long)rec->line);
	return send_message(p, p->topic_records, key, &rec->base, errstr,
			       errstr_size);
}

int send_manifest(struct sender *p, const Aij__Manifest *m,
		     char *errstr, size_t errstr_size)
{
	return send_message(p, p->topic_runs, m->run_id, &m->base, errstr,
			       errstr_size);
}

int send_flow_init(struct sender *p, const char *brokers,
		      const char *group, uint64_t max_ahead,
		      char *errstr, size_t errstr_size)
{
	p->max_ahead = max_ahead;
	if (max_ahead == 0)
		return 0;
	/* Never subscribed: it only reads the group's committed offsets. */
	p->watch = kafka_consumer_new(brokers, group, NULL, errstr, errstr_size);
	return p->watch ? 0 : -1;
}

/* Reads the group's committed offsets: sets p->ahead to the records produced
 * that the group has not committed yet. Returns 0, or -1 when the broker did
 * not answer (p->ahead unchanged). */
static int send_flow_read(struct sender *p, char *errstr,
			     size_t errstr_size)
{
	rd_kafka_topic_partition_list_t *list =
		rd_kafka_topic_partition_list_new(p->npart > 0 ? p->npart : 1);
	for (int i = 0; i < p->npart; i++)
		if (p->first_offset[i] >= 0)
			rd_kafka_topic_partition_list_add(list, p->topic_records, i);
	rd_kafka_resp_err_t err = rd_kafka_committed(p->watch, list, 5000);
	if (err) {
		snprintf(errstr, errstr_size, "cannot read the committed offsets "
			 "of '%s': %s", p->topic_records, rd_kafka_err2str(err));
		rd_kafka_topic_partition_list_destroy(list);
		return -1;
	}
	uint64_t done = 0;
	for (int i = 0; i < list->cnt; i++) {
		const rd_kafka_topic_partition_t *tp = &list->elems[i];
		int64_t first = p->first_offset[tp->partition];
		int64_t next = p->next_offset[tp->partition];
		int64_t c = tp->err ? -1 : tp->offset; /* none yet: < 0 */
		if (c > next)
			c = next;
		if (c > first)
			done += (uint64_t)(c - first);
	}
	rd_kafka_topic_partition_list_destroy(list);
	p->ahead = p->produced > done ? p->produced - done : 0;
	return 0;
}

/* Waits while more than max_ahead records are not committed by the matchers:
 * the broker may drop what they have not read yet. */
static int send_flow_wait(struct sender *p, char *errstr,
			     size_t errstr_size)
{
	/* p->ahead only grows with what we produce between two reads. */
	if (p->produced < p->ahead_base + p->max_ahead)
		return 0;
	long since = clock_now_ms();
	for (;;) {
		char why[256];
		if (send_flow_read(p, why, sizeof(why)) < 0)
			log_warn("%s", why);
		p->ahead_base = p->produced - p->ahead;
		/* Down to half before going on: ingest then publishes in bursts
		 * and sleeps in between. Trickling one record per commit kept
		 * the local broker busy with tiny batches and made each of the
		 * matchers' outcome batches wait ~40 ms for its acknowledgement
		 * (a 1M-line week 3x slower). */
		if (p->ahead <= p->max_ahead / 2)
			break;
		long now = clock_now_ms();
		/* Once, then every 10 s at most: ingest waits in bursts. */
		if (!p->flow_logged_ms || now - p->flow_logged_ms >= 10000) {
			log_info("waiting for the matchers: %llu records published "
				 "and not yet committed (--max-ahead %llu)",
				 (unsigned long long)p->ahead,
				 (unsigned long long)p->max_ahead);
			p->flow_logged_ms = now;
		}
		if (signals_stop) {
			snprintf(errstr, errstr_size, "stop requested");
			return -1;
		}
		if (p->failed > 0)
			return 0; /* send_pace() reports it */
		rd_kafka_poll(p->rk, 100);
	}
	long waited = clock_now_ms() - since;
	p->waited_ms += waited;
	if (waited >= 1000)
		log_debug("waited %ld ms for the matchers", waited);
	return 0;
}

int send_pace(struct sender *p, char *errstr, size_t errstr_size)
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
	while (send_pending(p) >= p->max_pending) {
		if (p->failed > 0)
			return send_pace(p, errstr, errstr_size);
		if (signals_stop) {
			snprintf(errstr, errstr_size, "stop requested");
			return -1;
		}
		rd_kafka_poll(p->rk, 100);
	}
	if (p->watch && send_flow_wait(p, errstr, errstr_size) < 0)
		return -1;
	return p->failed > 0 ? send_pace(p, errstr, errstr_size) : 0;
}

uint64_t send_pending(const struct sender *p)
{
	return p->produced - p->acked - p->failed;
}

uint64_t send_drain(struct sender *p, int timeout_ms)
{
	long deadline = clock_now_ms() + timeout_ms;
	for (;;) {
		long left = deadline - clock_now_ms();
		if (send_pending(p) == 0 || left <= 0)
			break;
		/* Short slices: the loop ends on our own count of reports. */
		kafka_drain(p->rk, left < 100 ? (int)left : 100);
	}
	return send_pending(p);
}

int send_drain_budget_ms(const struct sender *p)
{
	return p->message_timeout_ms + SEND_DRAIN_MARGIN_MS;
}

uint64_t send_unacked(const struct sender *p)
{
	return p->produced - p->acked;
}

void send_release(struct sender *p)
{
	if (p->rk) {
		/* What is still queued will not be waited for: fail it now
		 * (counted by the delivery reports) rather than have
		 * rd_kafka_destroy() linger on an unreachable broker. */
		if (send_pending(p) > 0) {
			p->closing = 1;
			rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE |
					      RD_KAFKA_PURGE_F_INFLIGHT);
			rd_kafka_poll(p->rk, 0);
		}
		rd_kafka_destroy(p->rk);
	}
	p->rk = NULL;
	if (p->watch) {
		kafka_consumer_close(p->watch, SEND_WATCH_CLOSE_MS);
		p->watch = NULL;
	}
	free(p->first_offset);
	free(p->next_offset);
	p->first_offset = p->next_offset = NULL;
	p->npart = 0;
	free(p->buf);
	p->buf = NULL;
	p->buf_size = 0;
}
