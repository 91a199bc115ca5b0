/* aij-matcher as a process, against the local broker over TCP and a real
 * redis-server: one outcome per record (validation codes, the cascade, a
 * message that is not a Record), offsets committed after the outcomes,
 * nothing written to Redis, Redis down (code 10 after the retry budget) and
 * Redis back within it, Redis without an index (an alert, and the records
 * wait), and a clean stop on SIGTERM. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "aij.pb-c.h"
#include "dispositif.h"
#include "index_load.h"
#include "kafka.h"
#include "log.h"
#include "clock.h"
#include "support/matcher.h"
#include "support/proc.h"

#define PARTITIONS 4
#define RUN_ID "2026-W10"
#define WAIT_MS 60000   /* a guard against a hung test, not a timing check */

static struct test_matcher fx; /* redis, broker, the matcher process */

static void setup(void)
{
	log_set_level(LOG_LVL_ERROR);
	cr_assert_eq(test_matcher_setup(&fx, "matcher", PARTITIONS), 0,
		     "redis-server or aij-broker did not start");
}

static void teardown(void)
{
	test_matcher_teardown(&fx);
}

TestSuite(matcher, .init = setup, .fini = teardown, .timeout = 120);

static void load_index(void)
{
	static const char export[] = INDEX_LOAD_HEADER "\n"
		"D1;ML1;Le Goff;Anne;01/02/2000;PE1;\n"
		"D2;ML1;Martin;Paul;03/04/2001;PE2;\n"
		"D3;ML1;Martin;Paul;03/04/2001;PE2;\n"
		"D4;ML2;Durand;Léa;05/06/2002;;\n";
	char errstr[256];
	cr_assert_eq(test_matcher_index_publish(&fx, export, errstr, sizeof(errstr)), 0,
		     "%s", errstr);
}

/* The week's records: line, validation code, fields. */
struct rec {
	uint64_t line;
	unsigned code;
	const char *f[12];
	/* expected outcome */
	unsigned step;
	const char *dossier;
	unsigned codes[3];
	const char *ml;     /* integrated: the dossier's ML */
};

static const struct rec week[] = {
	{ 2, 0, { "S1", "R", "pe1", "LE-GOFF", "Anne", "01/02/2000", "75056", "AIJ",
		  "01/09/2025", "", "", "" }, 1, "D1", { 0 }, "ML1" },
	{ 3, 0, { "S2", "R", "PE2", "Martin", "Paul", "03/04/2001", "75056", "AIJ",
		  "01/09/2025", "", "", "" }, 0, NULL, { 2, 5, 4 } },
	{ 4, 0, { "S3", "R", "", "DURAND", "Lea", "05/06/2002", "75056", "AIJ",
		  "01/09/2025", "", "", "" }, 3, "D4", { 0 }, "ML2" },
	{ 5, 0, { "S4", "R", "", "Nobody", "X", "05/06/2002", "75056", "AIJ",
		  "01/09/2025", "", "", "" }, 0, NULL, { 5 } },
	{ 6, 7, { "S5", "R", "", "", "X", "05/06/2002", "75056", "AIJ",
		  "01/09/2025", "", "", "" }, 0, NULL, { 7 } },
	{ 7, 1, { "S6", "R", "", "A" }, 0, NULL, { 1 } },
};

#define NWEEK (sizeof(week) / sizeof(week[0]))

/* Publishes the week's records, plus one message that is not a Record. */
static void publish_week(void)
{
	char errstr[512];
	rd_kafka_t *rk = kafka_producer_new(fx.broker.bootstrap, NULL, NULL, NULL, errstr,
					    sizeof(errstr));
	cr_assert_not_null(rk, "%s", errstr);
	for (size_t i = 0; i < NWEEK; i++) {
		Aij__Record r = AIJ__RECORD__INIT;
		r.run_id = RUN_ID;
		r.line = week[i].line;
		r.seq = i;
		r.validation_code = week[i].code;
		char *fields[12];
		size_t n = 0;
		while (n < 12 && week[i].f[n]) {
			fields[n] = (char *)week[i].f[n];
			n++;
		}
		r.fields = fields;
		r.n_fields = n;
		r.field_count = (uint32_t)n;
		uint8_t buf[1024];
		size_t len = aij__record__pack(&r, buf);
		char key[24];
		snprintf(key, sizeof(key), "%" PRIu64, r.line);
		cr_assert_eq(kafka_produce(rk, KAFKA_TOPIC_RECORDS, key, strlen(key), buf,
					   len, NULL, errstr, sizeof(errstr)), 0, "%s", errstr);
	}
	static const char garbage[] = "\xff\xff\xff\xff not a record";
	cr_assert_eq(kafka_produce(rk, KAFKA_TOPIC_RECORDS, "99", 2, garbage,
				   sizeof(garbage) - 1, NULL, errstr, sizeof(errstr)), 0);
	cr_assert_eq(kafka_drain(rk, 30000), 0, "records not acknowledged");
	rd_kafka_destroy(rk);
}

static void start_matcher(long retry_ms)
{
	char retry[24];
	snprintf(retry, sizeof(retry), "%ld", retry_ms);
	const char *const flags[] = { "--batch", "3", "--redis-retry-ms", retry,
				      "--index-alert", "1", NULL };
	cr_assert_eq(test_matcher_start(&fx, flags), 0, "aij-matcher did not start");
}

/* Waits until the matcher's log holds text; 0, or -1 at the guard. */
static int wait_log(const char *text)
{
	long until = clock_now_ms() + WAIT_MS;
	while (clock_now_ms() < until) {
		if (test_matcher_log_count(&fx, text) > 0)
			return 0;
		clock_sleep_ms(100);
	}
	return -1;
}

static size_t poison_outcomes; /* outcomes reporting a message that is not a Record */

/* Reads outcomes from the start of every partition until n distinct lines
 * have one (or the guard). out[line] gets the last one; the caller frees. */
static size_t read_outcomes(Aij__Outcome **by_line, size_t max_line, size_t n)
{
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	cr_assert_eq(rd_kafka_conf_set(conf, "bootstrap.servers", fx.broker.bootstrap,
				       errstr, sizeof(errstr)), RD_KAFKA_CONF_OK);
	/* assign() needs a group, even one that never commits. */
	cr_assert_eq(rd_kafka_conf_set(conf, "group.id", "test-matcher-reader", errstr,
				       sizeof(errstr)), RD_KAFKA_CONF_OK);
	cr_assert_eq(rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr,
				       sizeof(errstr)), RD_KAFKA_CONF_OK);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	cr_assert_not_null(rk, "%s", errstr);
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(PARTITIONS);
	for (int p = 0; p < PARTITIONS; p++)
		rd_kafka_topic_partition_list_add(parts, KAFKA_TOPIC_OUTCOMES, p)->offset =
			RD_KAFKA_OFFSET_BEGINNING;
	cr_assert_eq(rd_kafka_assign(rk, parts), 0);
	rd_kafka_topic_partition_list_destroy(parts);

	size_t got = 0;
	long until = clock_now_ms() + WAIT_MS;
	while (got < n && clock_now_ms() < until) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
		if (!m)
			continue;
		if (!m->err) {
			Aij__Outcome *o = aij__outcome__unpack(NULL, m->len, m->payload);
			cr_assert_not_null(o, "an outcome that does not unpack");
			cr_assert_lt(o->line, max_line);
			if (o->source && *o->source) {
				/* The poison message's report (test_poison.c checks it). */
				poison_outcomes++;
				aij__outcome__free_unpacked(o, NULL);
			} else {
				if (!by_line[o->line])
					got++;
				else
					aij__outcome__free_unpacked(by_line[o->line], NULL);
				by_line[o->line] = o;
			}
		}
		rd_kafka_message_destroy(m);
	}
	kafka_consumer_close(rk, 2000);
	return got;
}

static void check_outcome(const Aij__Outcome *o, const struct rec *r, int technical)
{
	cr_assert_not_null(o, "line %" PRIu64 " has no outcome", r->line);
	cr_expect_str_eq(o->run_id, RUN_ID);
	cr_expect_eq(o->line, r->line);
	if (r->step && !technical) {
		cr_assert_eq(o->result_case, AIJ__OUTCOME__RESULT_INTEGRATED,
			     "line %" PRIu64 " not integrated", r->line);
		cr_expect_eq(o->integrated->step, r->step, "line %" PRIu64, r->line);
		cr_expect_str_eq(o->integrated->dossier_id, r->dossier);
		cr_expect_str_eq(o->integrated->ml_code, r->ml);
		/* The reporter attaches the dispositif from its fields. */
		cr_assert_eq(o->n_fields, 12);
		for (size_t i = 0; i < 12; i++)
			cr_expect_str_eq(o->fields[i], r->f[i]);
		return;
	}
	cr_assert_eq(o->result_case, AIJ__OUTCOME__RESULT_FAILED,
		     "line %" PRIu64 " not failed", r->line);
	/* Code 10 replaces the look-up's codes, not a validation code. */
	if (technical && r->code == 0) {
		cr_assert_eq(o->failed->n_codes, 1);
		cr_expect_eq(o->failed->codes[0], 10, "line %" PRIu64, r->line);
	} else {
		size_t n = 0;
		while (n < 3 && r->codes[n])
			n++;
		cr_assert_eq(o->failed->n_codes, n, "line %" PRIu64, r->line);
		for (size_t i = 0; i < n; i++)
			cr_expect_eq(o->failed->codes[i], r->codes[i], "line %" PRIu64, r->line);
	}
	/* A failed line carries its fields for the reports. */
	cr_assert_gt(o->n_fields, 0);
	cr_expect_str_eq(o->fields[0], r->f[0]);
}

static void check_week(int technical)
{
	Aij__Outcome *by_line[16] = { 0 };
	size_t got = read_outcomes(by_line, 16, NWEEK);
	cr_assert_eq(got, NWEEK, "%zu outcomes of %zu", got, NWEEK);
	for (size_t i = 0; i < NWEEK; i++)
		check_outcome(by_line[week[i].line], &week[i], technical);
	cr_expect_null(by_line[0], "no outcome for the message that is not a record");
	for (size_t i = 0; i < 16; i++)
		aij__outcome__free_unpacked(by_line[i], NULL);
}

/* Waits until the group committed every record (end offsets); returns the
 * number of records still uncommitted at the guard. */
static int64_t wait_committed(void)
{
	char errstr[512];
	rd_kafka_t *rk = kafka_consumer_new(fx.broker.bootstrap, fx.group, NULL, errstr,
					    sizeof(errstr));
	cr_assert_not_null(rk, "%s", errstr);
	int64_t left = -1;
	long until = clock_now_ms() + WAIT_MS;
	while (left != 0 && clock_now_ms() < until) {
		rd_kafka_topic_partition_list_t *parts =
			rd_kafka_topic_partition_list_new(PARTITIONS);
		for (int p = 0; p < PARTITIONS; p++)
			rd_kafka_topic_partition_list_add(parts, KAFKA_TOPIC_RECORDS, p);
		left = 0;
		if (rd_kafka_committed(rk, parts, 5000) != 0) {
			left = -1;
		} else {
			for (int p = 0; p < PARTITIONS; p++) {
				int64_t lo, hi;
				cr_assert_eq(rd_kafka_query_watermark_offsets(
						     rk, KAFKA_TOPIC_RECORDS, p, &lo, &hi, 5000), 0);
				int64_t done = parts->elems[p].offset < 0 ? 0 : parts->elems[p].offset;
				left += hi - done;
			}
		}
		rd_kafka_topic_partition_list_destroy(parts);
		if (left != 0)
			clock_sleep_ms(200);
	}
	rd_kafka_destroy(rk);
	return left;
}

Test(matcher, one_outcome_per_record_then_commit_then_clean_stop)
{
	load_index();
	publish_week();
	start_matcher(30000);
	check_week(0);
	cr_expect_eq(wait_committed(), 0, "records left uncommitted");

	/* The matchers only read: the reporter attaches the dispositifs when
	 * it publishes the run. */
	redisReply *r = redisCommand(fx.redis.rc, "EVAL %s 0 %s %s",
				     "return #redis.call('KEYS', ARGV[1] .. '*') + "
				     "redis.call('EXISTS', ARGV[2])",
				     INDEX_KEY_DISPOSITIFS, INDEX_KEY_OWNER);
	cr_assert(r && r->type == REDIS_REPLY_INTEGER);
	cr_expect_eq(r->integer, 0, "a matcher wrote %lld dispositif keys", r->integer);
	freeReplyObject(r);

	cr_expect_eq(test_matcher_stop(&fx), 0, "aij-matcher did not exit 0 on SIGTERM");
	cr_expect_eq(wait_log("is not a Record"), 0, "the poison message was not logged");
}

Test(matcher, redis_down_past_the_budget_gives_code_10)
{
	test_redis_kill(&fx.redis);
	publish_week();
	start_matcher(500);
	check_week(1);
	/* Every record has its outcome, so the batch is committed too. */
	cr_expect_eq(wait_committed(), 0, "records left uncommitted");
	cr_expect_eq(test_matcher_stop(&fx), 0);
}

Test(matcher, redis_back_within_the_budget)
{
	test_redis_kill(&fx.redis);
	publish_week();
	start_matcher(60000);
	cr_assert_eq(wait_log("retry 2 in"), 0, "the matcher never retried redis");
	cr_assert_eq(test_redis_restart(&fx.redis), 0);
	load_index();
	check_week(0);
	cr_expect_eq(wait_log("redis is back"), 0);
	cr_expect_eq(test_matcher_stop(&fx), 0);
}

/* Redis answers without an index (restarted empty): an alert, and the
 * records wait for a load past the retry budget instead of getting 10. */
Test(matcher, no_index_is_an_alert_and_the_records_wait)
{
	publish_week();
	start_matcher(500);
	cr_assert_eq(wait_log("no dossier index in redis yet"), 0, "the wait not said");
	cr_assert_eq(wait_log("alert: redis holds no dossier index"), 0,
		     "no alert for the missing index");
	clock_sleep_ms(1500); /* three retry budgets: no code 10 meanwhile */
	load_index();
	check_week(0);
	cr_expect_eq(wait_log("a dossier index is loaded"), 0);
	cr_expect_eq(wait_committed(), 0, "records left uncommitted");
	cr_expect_eq(test_matcher_stop(&fx), 0);
}

/* Runs aij-matcher with one bad flag and its value (NULL: none), its stderr
 * dropped; returns its wait status. */
static int run_bad_usage(const char *flag, const char *value)
{
	char bin[512];
	const char *argv[] = { test_proc_bin("aij-matcher", bin, sizeof(bin)), flag, value,
			       NULL };
	struct test_proc_io io = { .err = "/dev/null" };
	pid_t pid = test_proc_spawn(argv, &io);
	cr_assert_geq(pid, 0);
	return test_proc_wait(pid, -1);
}

Test(matcher, bad_usage_exits_2)
{
	int status = run_bad_usage("--batch", "0");
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 2);
	status = run_bad_usage("--no-such-flag", NULL);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 2);
	status = run_bad_usage("--redis", "localhost");
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 2);
}

/* The modification time of path in ms, or -1 when it does not exist. */
static long long mtime_ms(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return -1;
	return (long long)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

/* --health-file: created at start, touched again while the loop turns (idle
 * here: nothing to consume); a path that cannot be written is one warning,
 * and the matcher goes on. */
Test(matcher, health_file_touched_while_running)
{
	char path[96];
	snprintf(path, sizeof(path), "/tmp/aij-test-health.%d", (int)getpid());
	unlink(path);
	const char *const flags[] = { "--health-file", path, NULL };
	cr_assert_eq(test_matcher_start(&fx, flags), 0, "aij-matcher did not start");
	long until = clock_now_ms() + WAIT_MS;
	long long first;
	while ((first = mtime_ms(path)) < 0 && clock_now_ms() < until)
		clock_sleep_ms(50);
	cr_assert_geq(first, 0, "no health file '%s'", path);
	while (mtime_ms(path) <= first && clock_now_ms() < until)
		clock_sleep_ms(100);
	cr_expect_gt(mtime_ms(path), first, "the health file was not touched again");
	cr_expect_eq(test_matcher_stop(&fx), 0);
	unlink(path);

	const char *const bad[] = { "--health-file", "/nonexistent/health", NULL };
	cr_assert_eq(test_matcher_start(&fx, bad), 0, "aij-matcher did not start");
	cr_expect_eq(wait_log("cannot touch the health file '/nonexistent/health'"), 0);
	clock_sleep_ms(2500); /* two more touches, not logged again */
	cr_expect_eq(test_matcher_log_count(&fx, "cannot touch the health file"), 1);
	cr_expect_eq(test_matcher_stop(&fx), 0, "aij-matcher did not go on");
}
