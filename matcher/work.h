/* The matcher's work on one batch: Kafka messages holding Records in,
 * packed Outcomes out, one per record, after one look-up script in Redis. */
#ifndef AIJ_MATCHER_WORK_H
#define AIJ_MATCHER_WORK_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>

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
struct work_json;

/* The matcher's working state, kept from batch to batch. */
struct work {
	redisContext *rc;           /* NULL while disconnected: reconnected */
	const char *addr;           /* Redis "host:port" */
	long retry_ms;              /* total retry budget before code 10 */
	struct work_arena_block *arena; /* the batch's unpacked records */
	struct work_json *json;     /* the JSON object reused for each record */
};

struct work_stats {
	uint64_t records, integrated, failed, technical, poison;
};

/* Turns msgs[0..n) into out[0..n) (w: addr and retry_ms set, the rest
 * zero the first time): unpacks each Record; a record that failed
 * validation gets Failed{its code}; the others are resolved together in one
 * script call, retried with backoff (100 ms doubling to 2 s) within
 * w->retry_ms, after which they get Failed{10}. Adds to *stats.
 * Returns 0, or -1 when a stop was requested during the retries (out is
 * then released: nothing to publish, nothing to commit).
 * Free the payloads with work_release(). */
int work_batch(struct work *w, rd_kafka_message_t *const *msgs, size_t n,
	       struct work_outcome *out, struct work_stats *stats);

/* Frees what w holds (its connection too); w itself is the caller's. */
void work_free(struct work *w);

/* Frees the payloads of out[0..n). */
void work_release(struct work_outcome *out, size_t n);

#endif
