/* The matcher's work on a batch: Kafka messages holding Records in, packed
 * Outcomes out, one per message, after one look-up script in Redis. Several
 * batches are in flight on the Redis connection at once (pipelining), so
 * that Redis works on one while the matcher prepares or publishes another. */
#ifndef AIJ_MATCHER_WORK_H
#define AIJ_MATCHER_WORK_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>

#include "aij.pb-c.h"
#include "index_lookup.h"

enum work_delivery { WORK_PENDING, WORK_DELIVERED, WORK_FAILED };

/* The outcome of one message. */
struct work_outcome {
	char key[24];               /* the line number in decimal */
	size_t key_len;
	uint8_t *payload;           /* packed Outcome; NULL: the message was not
				       a Record (logged), nothing to publish */
	size_t len;
	volatile int delivery;      /* enum work_delivery, set by delivery reports */
};

struct work_arena_block;
struct work_item;
struct work_batch;

#define WORK_INFLIGHT_MAX 4   /* batches sent to Redis and not yet read */

/* The matcher's working state, kept from batch to batch. */
struct work {
	redisContext *rc;           /* NULL while disconnected: reconnected */
	const char *addr;           /* Redis "host:port" */
	/* A replica to read from (--redis-read), or NULL: the primary serves
	 * the look-ups. A batch looked up on the replica is checked against the
	 * primary's index generation (both read with the batch): a replica that
	 * lags gives way to the primary for that batch. */
	redisContext *ro;
	const char *read_addr;
	long ro_retry_at;           /* clock_now_ms() when to try it again */
	long ro_stale_said;         /* when a lag was last logged */
	long retry_ms;              /* total retry budget before code 10 */
	long alert_ms;              /* no index for this long: an ERROR */
	int evidence;               /* read the evidence of failed lines and
				       send it in their outcomes (issue 18) */
	long down_since;            /* clock_now_ms() when a batch spent the
				       whole budget; 0 while Redis answers */
	long no_index_since;        /* when Redis was first seen without an
				       index; 0 while one is loaded */
	long no_index_said;         /* when that was last logged */
	int failed_attempts;        /* in a row, since Redis last answered */
	/* Batches sent on rc, oldest first: Redis answers in this order. */
	struct work_batch *queue[WORK_INFLIGHT_MAX];
	size_t inflight;
};

enum work_state { WORK_UNSENT, WORK_SENT, WORK_RESOLVED };

/* One batch from work_start() to work_end(). Zero it before first use; it
 * keeps its arrays from batch to batch; free with work_batch_release(). */
struct work_batch {
	int on_replica;                 /* sent to w->ro (with the generations) */
	rd_kafka_message_t *const *msgs; /* borrowed from the caller */
	struct work_outcome *out;       /* borrowed from the caller */
	size_t n;                       /* messages */
	struct work_arena_block *arena; /* its unpacked records */
	Aij__Record **rec;              /* NULL: the message was not a Record */
	struct work_item *items;        /* the valid records, to look up */
	struct index_lookup_query *q;
	struct index_lookup_result *res;
	size_t nitems, cap;
	uint64_t poison;                /* messages that were not Records */
	enum work_state state;
};

struct work_stats {
	uint64_t records, integrated, failed, technical, poison;
};

/* Starts msgs[0..n) in b (w: addr and retry_ms set, the rest zero the
 * first time): unpacks each Record; a record that failed validation gets
 * its outcome Failed{its code} in out at once; the others are sent to
 * Redis in one script call, which Redis answers while the caller goes on
 * (a failure to send is retried by work_end()). Adds to *stats. Returns 0,
 * or -1 when out of memory (out is then released, b cleared). */
int work_start(struct work *w, struct work_batch *b, rd_kafka_message_t *const *msgs,
	       size_t n, struct work_outcome *out, struct work_stats *stats);

/* Finishes the oldest started batch b: reads its look-up results,
 * retrying Redis with backoff (100 ms doubling to 2 s) within
 * w->retry_ms, after which its records get Failed{10} (and the next
 * batches one attempt each until Redis answers); waits, without budget,
 * while Redis holds no index (an alert at ERROR); packs an outcome
 * for each of its messages into the out given to work_start(). Batches
 * are finished in the order they were started. Adds to *stats. Returns 0,
 * or -1 when a stop was requested during the retries or memory ran out
 * (out is then released: nothing to publish, nothing to commit). Free the
 * payloads with work_outcomes_release(). */
int work_end(struct work *w, struct work_batch *b, struct work_stats *stats);

/* Abandons a started batch (its out released): nothing of it is
 * published or committed. */
void work_drop(struct work *w, struct work_batch *b);

/* Frees what b holds; b itself is the caller's. */
void work_batch_release(struct work_batch *b);

/* Frees what w holds (its connection too); w itself is the caller's. */
void work_release(struct work *w);

/* Frees the payloads of out[0..n). */
void work_outcomes_release(struct work_outcome *out, size_t n);

#endif
