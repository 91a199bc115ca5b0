/* Kafka clients configured the one way the pipeline needs them. */
#ifndef AIJ_KAFKA_H
#define AIJ_KAFKA_H

#include <librdkafka/rdkafka.h>

#define KAFKA_DEFAULT_BROKERS   "127.0.0.1:9092"
#define KAFKA_TOPIC_RECORDS     "aij.records"
#define KAFKA_TOPIC_OUTCOMES    "aij.outcomes"
#define KAFKA_TOPIC_RUNS        "aij.runs"
#define KAFKA_GROUP_MATCHERS    "aij-matchers"

typedef void kafka_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg,
			 void *opaque);

/* A producer: idempotent (a retried batch is neither duplicated nor
 * reordered), acks from all replicas, lz4-compressed batches. extra_conf is
 * NULL or "key=value,key=value" (any librdkafka property, for deployments).
 * dr_cb gets each delivery report with opaque. Free with rd_kafka_destroy(). */
rd_kafka_t *kafka_producer_new(const char *brokers, const char *extra_conf,
			       kafka_dr_cb *dr_cb, void *opaque,
			       char *errstr, size_t errstr_size);

/* A consumer of group_id that reads from the earliest offset when the group
 * has none and never commits by itself: the caller commits once the work for
 * a message is acknowledged. Group rebalances are logged (partitions
 * assigned, revoked) and applied by a callback of ours; a consumer that
 * assigns partitions itself (rd_kafka_assign()) uses none of that. Free with
 * kafka_consumer_close(). */
rd_kafka_t *kafka_consumer_new(const char *brokers, const char *group_id,
			       const char *extra_conf,
			       char *errstr, size_t errstr_size);

/* Closes and frees a consumer of kafka_consumer_new(): revokes its
 * partitions (rebalance callback), leaves its group, then rd_kafka_destroy().
 * Leaving is waited for at most timeout_ms: it can wait for a rebalance of
 * the group or a commit sent to a broker that went away (librdkafka waits
 * for those up to socket.timeout.ms); past it, the consumer is destroyed
 * without leaving (logged), and the group notices its absence after its
 * session timeout. Returns 0, or -1 when it gave up. */
int kafka_consumer_close(rd_kafka_t *rk, int timeout_ms);

/* Reading whole topics, from the beginning to where they end (the reporter,
 * a replay): no group coordination, an assignment of every partition. */

/* A consumer for whole-topic reads: kafka_consumer_new() of group_id and
 * extra_conf (NULL or "key=value,..."), which also reports the end of each
 * partition (enable.partition.eof) for kafka_partition_eof(). Free with
 * kafka_consumer_close(). */
rd_kafka_t *kafka_reader_new(const char *brokers, const char *group_id,
			     const char *extra_conf,
			     char *errstr, size_t errstr_size);

/* Assigns rk every partition of the count topics, from the beginning (the
 * metadata of each topic asked with metadata_ms). Topics not there yet, or
 * metadata that cannot be had, are waited for up to wait_s seconds (0: not
 * at all), a warning every 10 s, unless a stop request (signals_stop) ends
 * the wait. Returns the partitions assigned (free with
 * rd_kafka_topic_partition_list_destroy()), or NULL (errstr; "stopped"
 * when a stop request ended the wait). */
rd_kafka_topic_partition_list_t *
kafka_assign_topics(rd_kafka_t *rk, const char *const *topics, int count,
		    int wait_s, int metadata_ms,
		    char *errstr, size_t errstr_size);

/* The partitions of topic in parts (all of them when topic is NULL), each
 * awaiting its end, for kafka_partition_eof(). Free with
 * rd_kafka_topic_partition_list_destroy(). */
rd_kafka_topic_partition_list_t *
kafka_partition_ends(const rd_kafka_topic_partition_list_t *parts,
		     const char *topic);

/* Where each partition of a whole-topic read stands: ends comes from
 * kafka_partition_ends() (offset 1 while reading, -1 once its end came).
 * The end comes with a consumer of kafka_reader_new() as a message with
 * RD_KAFKA_RESP_ERR__PARTITION_EOF: an event, where
 * rd_kafka_query_watermark_offsets() could block far beyond its timeout,
 * deaf to SIGTERM, when the broker is gone. Marks msg's partition (msg may
 * be NULL) and returns 1 when every partition of ends reached its end. */
int kafka_partition_eof(rd_kafka_topic_partition_list_t *ends,
			const rd_kafka_message_t *msg);

/* Subscribes to one topic. Returns 0 or -1 (errstr). */
int kafka_subscribe(rd_kafka_t *rk, const char *topic,
		    char *errstr, size_t errstr_size);

/* Produces a copy of payload, retrying while the local queue is full (serving
 * delivery reports meanwhile) unless signals_stop is set. Returns 0 or -1
 * (errstr; "... stopped" when a stop request ended the wait). */
int kafka_produce(rd_kafka_t *rk, const char *topic, const void *key,
		  size_t key_len, const void *payload, size_t len,
		  void *msg_opaque, char *errstr, size_t errstr_size);

/* Waits until every produced message got its delivery report or timeout_ms
 * passed. Returns the number of messages still not reported (0: all done). */
int kafka_drain(rd_kafka_t *rk, int timeout_ms);

#endif
