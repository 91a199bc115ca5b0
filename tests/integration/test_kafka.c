/* lib/kafka's whole-topic reader against a real aij-broker: every partition
 * of the topics assigned from the beginning, each partition's end told by
 * kafka_partition_eof(). (A missing topic cannot be had here: librdkafka's
 * mock cluster creates any topic a client asks the metadata of.) */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "kafka.h"
#include "support/broker.h"

#define PARTITIONS 4
#define RECORDS    20
#define RUNS       3

static struct test_broker broker;
static rd_kafka_t *reader;

static void setup(void)
{
	cr_assert_eq(test_broker_start(&broker, PARTITIONS), 0,
		     "cannot start aij-broker (built? AIJ_BIN?)");
	char errstr[512];
	reader = kafka_reader_new(broker.bootstrap, "test-kafka-reader", NULL,
				  errstr, sizeof(errstr));
	cr_assert_not_null(reader, "reader: %s", errstr);
}

static void teardown(void)
{
	if (reader)
		kafka_consumer_close(reader, 2000);
	reader = NULL;
	test_broker_stop(&broker);
}

TestSuite(kafka_reader, .init = setup, .fini = teardown, .timeout = 60);

static void produce(const char *topic, int count)
{
	char errstr[512];
	rd_kafka_t *rk = kafka_producer_new(broker.bootstrap, NULL, NULL, NULL,
					    errstr, sizeof(errstr));
	cr_assert_not_null(rk, "producer: %s", errstr);
	for (int i = 0; i < count; i++) {
		char key[16];
		int len = snprintf(key, sizeof(key), "%d", i);
		cr_assert_eq(kafka_produce(rk, topic, key, (size_t)len, key, (size_t)len,
					   NULL, errstr, sizeof(errstr)), 0,
			     "produce: %s", errstr);
	}
	cr_assert_eq(kafka_drain(rk, 10000), 0, "messages not acknowledged");
	rd_kafka_destroy(rk);
}

/* Three topics, one of them empty, read to their end: every message once,
 * the end of each topic told apart. */
Test(kafka_reader, reads_every_partition_to_its_end)
{
	produce(KAFKA_TOPIC_RECORDS, RECORDS);
	produce(KAFKA_TOPIC_RUNS, RUNS);
	char errstr[512];
	const char *topics[] = { KAFKA_TOPIC_RUNS, KAFKA_TOPIC_RECORDS,
				 KAFKA_TOPIC_OUTCOMES };
	rd_kafka_topic_partition_list_t *assigned =
		kafka_assign_topics(reader, topics, 3, 0, 10000, errstr, sizeof(errstr));
	cr_assert_not_null(assigned, "assign: %s", errstr);
	cr_assert_eq(assigned->cnt, 1 + 2 * PARTITIONS);
	for (int i = 0; i < assigned->cnt; i++)
		cr_assert_eq(assigned->elems[i].offset, RD_KAFKA_OFFSET_BEGINNING);

	rd_kafka_topic_partition_list_t *all = kafka_partition_ends(assigned, NULL);
	rd_kafka_topic_partition_list_t *runs =
		kafka_partition_ends(assigned, KAFKA_TOPIC_RUNS);
	cr_assert_eq(all->cnt, assigned->cnt);
	cr_assert_eq(runs->cnt, 1);
	cr_assert_str_eq(runs->elems[0].topic, KAFKA_TOPIC_RUNS);
	cr_assert_eq(kafka_partition_eof(all, NULL), 0);
	cr_assert_eq(kafka_partition_eof(runs, NULL), 0);

	int got_records = 0, got_runs = 0, runs_ended = 0;
	long deadline = clock_now_ms() + 30000;
	while (!kafka_partition_eof(all, NULL)) {
		cr_assert_lt(clock_now_ms(), deadline, "the topics' ends never came");
		rd_kafka_message_t *msg = rd_kafka_consumer_poll(reader, 200);
		if (!msg)
			continue;
		if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			kafka_partition_eof(all, msg);
			runs_ended |= kafka_partition_eof(runs, msg);
		} else {
			cr_assert_eq(msg->err, RD_KAFKA_RESP_ERR_NO_ERROR, "%s",
				     rd_kafka_message_errstr(msg));
			const char *topic = rd_kafka_topic_name(msg->rkt);
			cr_assert_str_neq(topic, KAFKA_TOPIC_OUTCOMES);
			if (strcmp(topic, KAFKA_TOPIC_RUNS) == 0)
				got_runs++;
			else
				got_records++;
		}
		rd_kafka_message_destroy(msg);
	}
	cr_assert_eq(got_records, RECORDS);
	cr_assert_eq(got_runs, RUNS);
	cr_assert_eq(runs_ended, 1);
	cr_assert_eq(kafka_partition_eof(runs, NULL), 1);
	rd_kafka_topic_partition_list_destroy(runs);
	rd_kafka_topic_partition_list_destroy(all);
	rd_kafka_topic_partition_list_destroy(assigned);
}
