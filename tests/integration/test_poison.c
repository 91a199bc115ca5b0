/* Poison messages on the records topic, against aij-matcher as a process
 * (local broker over TCP, real redis-server), on ONE partition so that a
 * message that blocked it would hold back every record behind it:
 * - garbage bytes, a truncated message: logged as not a Record with their
 *   offset, committed past, the records behind them processed, and each
 *   reported by an Outcome with code 10 and its source (topic[partition]@offset),
 *   which aij-reporter lists under "poison" in the run's summary.json;
 * - a Record from a newer schema (unknown fields appended): processed as
 *   usual, its unknown fields ignored. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "aij.pb-c.h"
#include "index_load.h"
#include "kafka.h"
#include "log.h"
#include "clock.h"
#include "support/files.h"
#include "support/matcher.h"
#include "support/proc.h"

#define RUN_ID "2026-W75"
#define WAIT_MS 60000   /* a guard against a hung test, not a timing check */

static struct test_matcher fx; /* redis, broker, the matcher process */

static void setup(void)
{
	log_set_level(LOG_LVL_ERROR);
	cr_assert_eq(test_matcher_setup(&fx, "poison", 1), 0,
		     "redis-server or aij-broker did not start");
}

static void teardown(void)
{
	test_matcher_teardown(&fx);
}

TestSuite(poison, .init = setup, .fini = teardown, .timeout = 120);

static void load_index(void)
{
	static const char export[] = INDEX_LOAD_HEADER "\n"
		"D1;ML1;Le Goff;Anne;01/02/2000;PE1;\n";
	char errstr[256];
	cr_assert_eq(test_matcher_index_publish(&fx, export, errstr, sizeof(errstr)), 0,
		     "%s", errstr);
}

/* A packed Record of line `line`; with `newer`, fields of a later schema
 * (numbers 7, 20 and 1000, of every wire type) follow. Returns its length. */
static size_t pack_record(uint8_t *buf, uint64_t line, uint64_t seq, int newer)
{
	static const char *const f[12] = { "S1", "R", "pe1", "LE-GOFF", "Anne",
					   "01/02/2000", "75056", "AIJ", "01/09/2025",
					   "", "", "" };
	Aij__Record r = AIJ__RECORD__INIT;
	r.run_id = RUN_ID;
	r.line = line;
	r.seq = seq;
	r.fields = (char **)f;
	r.n_fields = 12;
	r.field_count = 12;
	size_t len = aij__record__pack(&r, buf);
	if (newer) {
		static const uint8_t unknown[] = {
			0x7a, 0x05, 'h', 'e', 'l', 'l', 'o',         /* 15: string */
			0xa0, 0x01, 0x96, 0x01,                      /* 20: varint 150 */
			0xc5, 0x3e, 0x01, 0x02, 0x03, 0x04,          /* 1000: fixed32 */
		};
		memcpy(buf + len, unknown, sizeof(unknown));
		len += sizeof(unknown);
	}
	return len;
}

static void produce(rd_kafka_t *rk, const char *key, const void *payload, size_t len)
{
	char errstr[512];
	cr_assert_eq(kafka_produce(rk, KAFKA_TOPIC_RECORDS, key, strlen(key), payload, len,
				   NULL, errstr, sizeof(errstr)), 0, "%s", errstr);
}

static void start_matcher(void)
{
	static const char *const flags[] = { "--batch", "2", NULL };
	cr_assert_eq(test_matcher_start(&fx, flags), 0, "aij-matcher did not start");
}

/* Counts the matcher's log lines holding text. */
static int log_count(const char *text)
{
	return test_matcher_log_count(&fx, text);
}

/* Reads outcomes of RUN_ID until lines 2 and 4 and two poison messages
 * have one (or the guard); the poison outcomes go to poison[0..2). */
static void read_outcomes(Aij__Outcome **by_line, Aij__Outcome **poison)
{
	size_t n_poison = 0;
	char errstr[512];
	rd_kafka_t *rk = kafka_consumer_new(fx.broker.bootstrap, "test-poison-reader", NULL,
					    errstr, sizeof(errstr));
	cr_assert_not_null(rk, "%s", errstr);
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(parts, KAFKA_TOPIC_OUTCOMES, 0)->offset =
		RD_KAFKA_OFFSET_BEGINNING;
	cr_assert_eq(rd_kafka_assign(rk, parts), 0);
	rd_kafka_topic_partition_list_destroy(parts);
	long until = clock_now_ms() + WAIT_MS;
	while ((!by_line[2] || !by_line[4] || n_poison < 2) && clock_now_ms() < until) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
		if (!m)
			continue;
		if (!m->err) {
			Aij__Outcome *o = aij__outcome__unpack(NULL, m->len, m->payload);
			cr_assert_not_null(o, "an outcome that does not unpack");
			if (o->source && *o->source && n_poison < 2)
				poison[n_poison++] = o;
			else if (strcmp(o->run_id, RUN_ID) == 0 && o->line < 8 && !by_line[o->line])
				by_line[o->line] = o;
			else
				aij__outcome__free_unpacked(o, NULL);
		}
		rd_kafka_message_destroy(m);
	}
	kafka_consumer_close(rk, 2000);
}

/* The group's committed offset of the one partition, once it reaches want
 * (or the guard). */
static int64_t wait_committed(int64_t want)
{
	char errstr[512];
	rd_kafka_t *rk = kafka_consumer_new(fx.broker.bootstrap, fx.group, NULL, errstr,
					    sizeof(errstr));
	cr_assert_not_null(rk, "%s", errstr);
	int64_t got = -1;
	long until = clock_now_ms() + WAIT_MS;
	while (got < want && clock_now_ms() < until) {
		rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
		rd_kafka_topic_partition_list_add(parts, KAFKA_TOPIC_RECORDS, 0);
		if (rd_kafka_committed(rk, parts, 5000) == 0)
			got = parts->elems[0].offset;
		rd_kafka_topic_partition_list_destroy(parts);
		if (got < want)
			clock_sleep_ms(200);
	}
	rd_kafka_destroy(rk);
	return got;
}

/* The run's manifest: 2 records (lines 2 and 4), the poison lines skipped. */
static void publish_manifest(void)
{
	char errstr[512];
	uint8_t buf[512];
	Aij__Manifest m = AIJ__MANIFEST__INIT;
	m.run_id = RUN_ID;
	m.source_name = "week.csv";
	m.sha256 = "";
	m.records = 2;
	m.last_line = 4;
	rd_kafka_t *rk = kafka_producer_new(fx.broker.bootstrap, NULL, NULL, NULL, errstr,
					    sizeof(errstr));
	cr_assert_not_null(rk, "%s", errstr);
	size_t len = aij__manifest__pack(&m, buf);
	cr_assert_eq(kafka_produce(rk, KAFKA_TOPIC_RUNS, RUN_ID, strlen(RUN_ID), buf, len,
				   NULL, errstr, sizeof(errstr)), 0, "%s", errstr);
	cr_assert_eq(kafka_drain(rk, 30000), 0, "manifest not acknowledged");
	rd_kafka_destroy(rk);
}

/* aij-reporter --once on the run: exit 0, and summary.json lists both
 * poison messages with code 10. */
static void check_reported(void)
{
	char out[64], bin[4096], path[128];
	snprintf(out, sizeof(out), "/tmp/aij-test-poison-out.%d", (int)getpid());
	const char *argv[] = { test_proc_bin("aij-reporter", bin, sizeof(bin)), "--once",
			       "--brokers", fx.broker.bootstrap, "--run-id", RUN_ID,
			       "--out", out,
			       "--coverage", "tests/integration/fixtures/reporter_coverage.csv",
			       "--stall-timeout", "30", "--redis", fx.redis.addr,
			       "--max-technical-pct", "100", "--log-level", "warn", NULL };
	struct test_proc_io io = { .err = fx.log, .append = 1 };
	pid_t pid = test_proc_spawn(argv, &io);
	cr_assert_geq(pid, 0);
	int st = test_proc_wait(pid, -1);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "aij-reporter failed: --out %s",
		  out);
	cr_expect_eq(log_count("is not a record (code 10)"), 2, "the reporter did not log both");

	snprintf(path, sizeof(path), "%s/summary.json", out);
	json_error_t jerr;
	json_t *sum = json_load_file(path, 0, &jerr);
	cr_assert_not_null(sum, "%s: %s", path, jerr.text);
	cr_expect_eq(json_integer_value(json_object_get(sum, "lines")), 2);
	json_t *poison = json_object_get(sum, "poison");
	cr_assert(json_is_array(poison) && json_array_size(poison) == 2,
		  "no \"poison\" list of 2 in the summary");
	for (size_t i = 0; i < 2; i++) {
		json_t *p = json_array_get(poison, i);
		const char *src = json_string_value(json_object_get(p, "source"));
		cr_expect(src && (strcmp(src, "aij.records[0]@0") == 0 ||
				  strcmp(src, "aij.records[0]@2") == 0), "source %s", src);
		cr_expect_str_eq(json_string_value(json_object_get(p, "code")), "10");
	}
	json_decref(sum);
	cr_expect_eq(test_rmtree(out), 0);
}

Test(poison, garbage_never_blocks_and_a_newer_record_is_processed)
{
	char errstr[512];
	uint8_t buf[2048];
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0x0f, 'x', 0x00, 0x80 };
	/* A length that runs past the end of the message. */
	static const uint8_t truncated[] = { 0x0a, 0x7f, 'r', 'u', 'n' };

	load_index();
	rd_kafka_t *rk = kafka_producer_new(fx.broker.bootstrap, NULL, NULL, NULL, errstr,
					    sizeof(errstr));
	cr_assert_not_null(rk, "%s", errstr);
	produce(rk, "1", garbage, sizeof(garbage));                   /* offset 0 */
	produce(rk, "2", buf, pack_record(buf, 2, 0, 1));             /* offset 1 */
	produce(rk, "3", truncated, sizeof(truncated));               /* offset 2 */
	produce(rk, "4", buf, pack_record(buf, 4, 1, 0));             /* offset 3 */
	cr_assert_eq(kafka_drain(rk, 30000), 0, "messages not acknowledged");
	rd_kafka_destroy(rk);

	start_matcher();
	Aij__Outcome *by_line[8] = { 0 }, *poison[2] = { 0 };
	read_outcomes(by_line, poison);

	/* The newer-schema record: integrated as any other. */
	cr_assert_not_null(by_line[2], "no outcome for the newer-schema record");
	cr_expect_eq(by_line[2]->result_case, AIJ__OUTCOME__RESULT_INTEGRATED);
	if (by_line[2]->result_case == AIJ__OUTCOME__RESULT_INTEGRATED)
		cr_expect_str_eq(by_line[2]->integrated->dossier_id, "D1");
	/* The record behind two poison messages: processed too. */
	cr_assert_not_null(by_line[4], "the record behind the poison messages was blocked");
	cr_expect_eq(by_line[4]->seq, 1);

	/* Everything committed, the poison messages included: nothing left for
	 * the next matcher to trip on. */
	cr_expect_eq(wait_committed(4), 4, "the partition was not committed to its end");
	cr_expect_eq(log_count("is not a Record"), 2, "each poison message logged once");
	cr_expect_eq(log_count("offset 0 "), 1, "the garbage's offset not logged");
	cr_expect_eq(log_count("offset 2 "), 1, "the truncated message's offset not logged");
	/* Each poison message reported: code 10, where it is, the batch's run. */
	static const char *const sources[2] = { "aij.records[0]@0", "aij.records[0]@2" };
	for (size_t i = 0; i < 2; i++) {
		cr_assert_not_null(poison[i], "poison message %zu not reported", i);
		cr_expect_str_eq(poison[i]->source, sources[i]);
		cr_expect_str_eq(poison[i]->run_id, RUN_ID);
		cr_expect_eq(poison[i]->line, 0);
		cr_expect_eq(poison[i]->seq, UINT64_MAX);
		cr_assert_eq(poison[i]->result_case, AIJ__OUTCOME__RESULT_FAILED);
		cr_assert_eq(poison[i]->failed->n_codes, 1);
		cr_expect_eq(poison[i]->failed->codes[0], 10);
		aij__outcome__free_unpacked(poison[i], NULL);
	}
	cr_expect_null(by_line[0], "a poison outcome taken for a line");
	for (size_t i = 0; i < 8; i++)
		aij__outcome__free_unpacked(by_line[i], NULL);

	publish_manifest();
	check_reported();
}
