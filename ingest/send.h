/* The Kafka side of ingest: sends (produces) the records and the run
 * manifest, and accounts for every delivery report, so that a record the
 * broker did not take is counted and named, never lost in silence. (send_,
 * not publish_: publishing a run is the reporter's, lib/publish.h.) */
#ifndef AIJ_INGEST_SEND_H
#define AIJ_INGEST_SEND_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "aij.pb-c.h"

struct sender {
	rd_kafka_t *rk;
	const char *topic_records;
	const char *topic_runs;
	uint64_t produced;        /* messages handed to librdkafka */
	uint64_t acked;           /* delivery reports without error */
	uint64_t failed;          /* delivery reports with an error */
	int message_timeout_ms;   /* librdkafka's message.timeout.ms in force */
	uint64_t max_pending;     /* send_pace() waits above this */
	int closing;              /* set by send_release(): purge quietly */
	uint8_t *buf;             /* packing buffer, reused */
	size_t buf_size;
	/* Flow control (send_flow_init()): per partition of the records
	 * topic, the first and the next offset our delivery reports gave. */
	rd_kafka_t *watch;        /* consumer handle of the matchers' group, or NULL */
	uint64_t max_ahead;       /* records produced and not committed, at most */
	int64_t *first_offset;    /* [npart]: -1 until a report for the partition */
	int64_t *next_offset;     /* [npart] */
	int npart;
	uint64_t ahead;           /* records not committed by the group, last read */
	uint64_t ahead_base;      /* records committed at the last read */
	long waited_ms;           /* total time spent waiting for the matchers */
	long flow_logged_ms;      /* when the wait was last logged */
};

/* Default of --max-ahead. librdkafka 2.0.2's mock broker (aij-broker) keeps
 * at most ~5 MiB or 100,000 batches per partition and drops older data
 * silently: 120,000 records spread over 12 partitions are ~10,000 records
 * (~1.5 MiB before lz4) per partition, well inside. */
#define SEND_MAX_AHEAD_DEFAULT 120000

/* Creates the producer (lib/kafka.h: idempotent, acks from all replicas,
 * lz4; extra_conf "key=value,..." or NULL). Topic names are borrowed and
 * must outlive p. Returns 0 or -1 (errstr). Release with send_release(). */
int send_init(struct sender *p, const char *brokers,
		 const char *extra_conf, const char *topic_records,
		 const char *topic_runs, char *errstr, size_t errstr_size);

/* Produces one record, keyed by its line number in decimal so that records
 * spread over the partitions. Returns 0 or -1 (errstr). */
int send_record(struct sender *p, const Aij__Record *rec,
		   char *errstr, size_t errstr_size);

/* Called between records: serves the delivery reports that arrived, and
 * makes ingest wait while too many messages are unreported. Flow control
 * against a broker that drops old data (waiting while too far ahead of what
 * the matchers committed) belongs here too. Returns 0 to go on, -1 when a
 * message failed (the run cannot complete) or a stop was requested while
 * waiting (errstr). */
int send_pace(struct sender *p, char *errstr, size_t errstr_size);

/* Turns on flow control: send_pace() then waits while more than
 * max_ahead records are produced and not yet committed by the consumer group
 * `group` (the matchers), then until half of that is left, on the records topic, read with rd_kafka_committed()
 * through a consumer handle that never joins the group. max_ahead 0: off.
 * Returns 0 or -1 (errstr). */
int send_flow_init(struct sender *p, const char *brokers,
		      const char *group, uint64_t max_ahead,
		      char *errstr, size_t errstr_size);

/* Messages produced and not yet reported (neither acked nor failed). */
uint64_t send_pending(const struct sender *p);

/* Serves delivery reports for at most timeout_ms, returning early once every
 * message produced has its report. Returns the number still without one. */
uint64_t send_drain(struct sender *p, int timeout_ms);

/* How long a full drain may take: librdkafka's message.timeout.ms plus a
 * margin, by which every message has its delivery report. */
int send_drain_budget_ms(const struct sender *p);

/* Messages produced and not acknowledged (failed, or still without report). */
uint64_t send_unacked(const struct sender *p);

/* Produces the manifest to the runs topic, keyed by the run id. Returns 0 or
 * -1 (errstr); its delivery is checked with send_drain(). */
int send_manifest(struct sender *p, const Aij__Manifest *m,
		     char *errstr, size_t errstr_size);

/* Destroys the producer (without waiting: drain first) and the buffer. */
void send_release(struct sender *p);

#endif
