#include "matcher.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "index_load.h"
#include "index_write.h"
#include "proc.h"

#define TEST_MATCHER_STOP_MS 20000
#define TEST_MATCHER_MAX_FLAGS 32

int test_matcher_setup(struct test_matcher *m, const char *name, int partitions)
{
	memset(m, 0, sizeof(*m));
	if (test_redis_start(&m->redis) < 0)
		return -1;
	if (test_broker_start(&m->broker, partitions) < 0) {
		test_redis_stop(&m->redis);
		return -1;
	}
	snprintf(m->group, sizeof(m->group), "test-%s-%d", name, (int)getpid());
	snprintf(m->log, sizeof(m->log), "/tmp/aij-test-%s.%d.log", name, (int)getpid());
	return 0;
}

int test_matcher_index_publish(const struct test_matcher *m, const char *export_csv,
			       char *errstr, size_t errstr_size)
{
	FILE *in = fmemopen((void *)export_csv, strlen(export_csv), "r");
	if (!in) {
		snprintf(errstr, errstr_size, "cannot open the export: %s", strerror(errno));
		return -1;
	}
	struct index_load *d = index_load_read(in, "export.csv", 1, NULL, errstr, errstr_size);
	fclose(in);
	if (!d)
		return -1;
	/* Its own connection: the test may have killed the fixture's. */
	redisContext *rc = test_redis_connect(&m->redis);
	int ret = -1;
	char gen[32];
	if (!rc || rc->err)
		snprintf(errstr, errstr_size, "cannot connect to redis '%s': %s", m->redis.addr,
			 rc ? rc->errstr : "out of memory");
	else
		ret = index_write(rc, d, gen, sizeof(gen), errstr, errstr_size);
	redisFree(rc);
	index_load_free(d);
	return ret;
}

int test_matcher_start(struct test_matcher *m, const char *const *flags)
{
	char bin[512];
	const char *argv[TEST_MATCHER_MAX_FLAGS + 10] = {
		test_proc_bin("aij-matcher", bin, sizeof(bin)), "--brokers", m->broker.bootstrap,
		"--redis", m->redis.addr, "--group", m->group, "--log-level", "info" };
	size_t n = 9;
	for (size_t i = 0; flags && flags[i]; i++) {
		if (i == TEST_MATCHER_MAX_FLAGS) {
			fprintf(stderr, "test_matcher: more than %d flags\n",
				TEST_MATCHER_MAX_FLAGS);
			return -1;
		}
		argv[n++] = flags[i];
	}
	/* The matcher must not outlive a test that crashed. */
	struct test_proc_io io = { .err = m->log, .append = 1, .death_signal = SIGKILL };
	m->pid = test_proc_spawn(argv, &io);
	if (m->pid < 0) {
		m->pid = 0;
		return -1;
	}
	return 0;
}

int test_matcher_stop(struct test_matcher *m)
{
	kill(m->pid, SIGTERM);
	int status = test_proc_wait(m->pid, TEST_MATCHER_STOP_MS);
	if (status == -1)
		return -1;
	m->pid = 0;
	return test_proc_code(status);
}

int test_matcher_log_count(const struct test_matcher *m, const char *text)
{
	FILE *log = fopen(m->log, "r");
	char line[1024];
	int n = 0;
	while (log && fgets(line, sizeof(line), log))
		n += strstr(line, text) != NULL;
	if (log)
		fclose(log);
	return n;
}

void test_matcher_teardown(struct test_matcher *m)
{
	if (m->pid > 0) {
		test_proc_stop(m->pid, SIGKILL, -1);
		m->pid = 0;
	}
	FILE *log = m->log[0] ? fopen(m->log, "r") : NULL;
	if (log) {
		char line[1024];
		while (fgets(line, sizeof(line), log))
			fputs(line, stderr);
		fclose(log);
		unlink(m->log);
	}
	test_broker_stop(&m->broker);
	test_redis_stop(&m->redis);
}
