/* aij-broker: the mock cluster as other processes see it over TCP (topics,
 * partitions, brokers), its ready file, its stop, its usage errors. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "clock.h"
#include "support/broker.h"
#include "support/proc.h"

static struct test_broker broker;
static char tmp_dir[64];
static char ready_path[128];
static pid_t child;

static void setup(void)
{
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/aij-test-broker-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp_dir), "mkdtemp: %s", strerror(errno));
	snprintf(ready_path, sizeof(ready_path), "%s/broker.addr", tmp_dir);
}

static void teardown(void)
{
	test_broker_stop(&broker);
	if (child > 0)
		test_proc_stop(child, SIGKILL, -1);
	unlink(ready_path);
	rmdir(tmp_dir);
}

TestSuite(broker, .init = setup, .fini = teardown, .timeout = 60);

/* Checks the cluster's metadata, as any client sees it: nbrokers brokers on
 * host, and topic names[i] with partitions[i] partitions. */
static void metadata_check_on(const char *bootstrap, const char *host,
			      const char *const *names, const int *partitions,
			      size_t n, int nbrokers)
{
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	cr_assert_eq(rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap,
				       errstr, sizeof(errstr)), RD_KAFKA_CONF_OK);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	cr_assert_not_null(rk, "%s", errstr);
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, 10000);
	cr_assert_eq(err, RD_KAFKA_RESP_ERR_NO_ERROR, "metadata: %s",
		     rd_kafka_err2str(err));
	cr_assert_eq(md->broker_cnt, nbrokers, "%d brokers", md->broker_cnt);
	for (int b = 0; b < md->broker_cnt; b++)
		cr_assert_str_eq(md->brokers[b].host, host);
	for (size_t i = 0; i < n; i++) {
		int found = -1;
		for (int t = 0; t < md->topic_cnt; t++)
			if (strcmp(md->topics[t].topic, names[i]) == 0)
				found = t;
		cr_assert_geq(found, 0, "topic '%s' missing", names[i]);
		cr_assert_eq(md->topics[found].partition_cnt, partitions[i],
			     "topic '%s': %d partitions, expected %d", names[i],
			     md->topics[found].partition_cnt, partitions[i]);
	}
	rd_kafka_metadata_destroy(md);
	rd_kafka_destroy(rk);
}

static void metadata_check(const char *bootstrap, const char *const *names,
			   const int *partitions, size_t n, int nbrokers)
{
	metadata_check_on(bootstrap, "127.0.0.1", names, partitions, n, nbrokers);
}

Test(broker, default_topics_over_tcp)
{
	cr_assert_eq(test_broker_start(&broker, 12), 0);
	cr_assert_eq(strncmp(broker.bootstrap, "127.0.0.1:", 10), 0, "'%s'",
		     broker.bootstrap);
	const char *names[] = { "aij.records", "aij.outcomes", "aij.runs" };
	const int parts[] = { 12, 12, 1 };
	metadata_check(broker.bootstrap, names, parts, 3, 1);
	cr_assert_eq(test_broker_stop(&broker), 0, "aij-broker did not exit 0");
}

Test(broker, partitions_flag)
{
	cr_assert_eq(test_broker_start(&broker, 3), 0);
	const char *names[] = { "aij.records", "aij.outcomes", "aij.runs" };
	const int parts[] = { 3, 3, 1 };
	metadata_check(broker.bootstrap, names, parts, 3, 1);
}

static pid_t spawn_broker(const char *const *args)
{
	char path[4096];
	const char *argv[16] = { test_proc_bin("aij-broker", path, sizeof(path)) };
	for (size_t i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	/* stdout (the address) is not read here: the ready file is. */
	struct test_proc_io io = { .out = "/dev/null" };
	pid_t pid = test_proc_spawn(argv, &io);
	cr_assert_geq(pid, 0);
	return pid;
}

/* Waits at most 30 s for pid to exit; returns its exit status. */
static int wait_exit(pid_t pid)
{
	int status = test_proc_wait(pid, 30000);
	cr_assert_neq(status, -1, "aij-broker did not exit");
	child = 0;
	cr_assert(WIFEXITED(status), "aij-broker killed by a signal");
	return WEXITSTATUS(status);
}

/* Waits at most 10 s for the ready file; its one line, without the line end,
 * into addr. The file appears whole (written then renamed). */
static void ready_read(char *addr, size_t size)
{
	long deadline = clock_now_ms() + 10000;
	for (;;) {
		FILE *f = fopen(ready_path, "r");
		if (f) {
			cr_assert_not_null(fgets(addr, (int)size, f));
			fclose(f);
			break;
		}
		cr_assert_lt(clock_now_ms(), deadline, "no ready file");
		usleep(20000);
	}
	cr_assert_neq(strchr(addr, '\n'), NULL, "ready file not a whole line");
	*strchr(addr, '\n') = '\0';
}

Test(broker, ready_file_brokers_and_topic_list)
{
	const char *args[] = { "--brokers", "3", "--partitions", "4",
			       "--topics", "t.records,t.runs,t.other:7",
			       "--ready-file", ready_path, NULL };
	child = spawn_broker(args);

	char addr[256] = "";
	ready_read(addr, sizeof(addr));
	cr_assert_eq(strncmp(addr, "127.0.0.1:", 10), 0, "'%s'", addr);

	const char *names[] = { "t.records", "t.runs", "t.other" };
	const int parts[] = { 4, 1, 7 };
	metadata_check(addr, names, parts, 3, 3);

	kill(child, SIGTERM);
	cr_assert_eq(wait_exit(child), 0);
	cr_assert_neq(access(ready_path, F_OK), 0,
		      "ready file left behind by a stopped broker");
}

/* --listen: every broker listens on, and is advertised at, the address
 * given (another loopback address here), as clients see it over TCP. */
Test(broker, listen_flag)
{
	const char *args[] = { "--brokers", "2", "--partitions", "3",
			       "--listen", "127.0.0.2", "--ready-file", ready_path,
			       NULL };
	child = spawn_broker(args);

	char addr[256] = "";
	ready_read(addr, sizeof(addr));
	cr_assert_eq(strncmp(addr, "127.0.0.2:", 10), 0, "'%s'", addr);
	cr_assert_not_null(strstr(addr, ",127.0.0.2:"), "'%s': not 2 brokers", addr);
	const char *names[] = { "aij.records", "aij.outcomes", "aij.runs" };
	const int parts[] = { 3, 3, 1 };
	metadata_check_on(addr, "127.0.0.2", names, parts, 3, 2);

	kill(child, SIGTERM);
	cr_assert_eq(wait_exit(child), 0);
}

Test(broker, bad_usage_is_exit_2)
{
	const char *bad[][3] = {
		{ "--partitions", "0", NULL },
		{ "--brokers", "x", NULL },
		{ "--no-such-flag", NULL, NULL },
		{ "--listen", ":9092", NULL },
		{ "--listen", "127.0.0.2:70000", NULL },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		child = spawn_broker(bad[i]);
		cr_assert_eq(wait_exit(child), 2, "%s %s", bad[i][0],
			     bad[i][1] ? bad[i][1] : "");
	}
}
