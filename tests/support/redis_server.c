#include "redis_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "proc.h"

/* A port the kernel just gave out: free now, and very likely still free when
 * the server binds it a moment later (a clash is retried by the caller). */
static int test_redis_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(sa);
	int port = -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static pid_t test_redis_spawn(const struct test_redis *r)
{
	const char *bin = getenv("AIJ_REDIS_SERVER");
	if (!bin || !*bin)
		bin = "redis-server";
	char port[16], log[128];
	snprintf(port, sizeof(port), "%d", r->port);
	snprintf(log, sizeof(log), "%s/redis.log", r->dir);
	const char *argv[] = { bin, "--port", port, "--bind", "127.0.0.1", "--save", "",
			       "--appendonly", "no", "--dir", r->dir, "--daemonize", "no",
			       NULL };
	/* It dies with the test, whatever happens to it. */
	struct test_proc_io io = { .out = log, .err = log, .append = 1,
				   .death_signal = SIGTERM };
	return test_proc_spawn(argv, &io);
}

redisContext *test_redis_connect(const struct test_redis *r)
{
	struct timeval tv = { 2, 0 };
	return redisConnectWithTimeout(r->host, r->port, tv);
}

/* Waits until the server answers PING; 0, or -1 if it died or never did. */
static int test_redis_wait(struct test_redis *r)
{
	for (int i = 0; i < 500; i++) {
		if (test_proc_wait(r->pid, 0) != -1) {
			r->pid = 0;
			return -1;
		}
		redisContext *rc = test_redis_connect(r);
		if (rc && !rc->err) {
			redisReply *reply = redisCommand(rc, "PING");
			int ok = reply && reply->type == REDIS_REPLY_STATUS;
			freeReplyObject(reply);
			if (ok) {
				r->rc = rc;
				return 0;
			}
		}
		redisFree(rc);
		clock_sleep_ms(20);
	}
	return -1;
}

static void test_redis_end(struct test_redis *r, int sig)
{
	if (r->rc) {
		redisFree(r->rc);
		r->rc = NULL;
	}
	if (r->pid <= 0)
		return;
	test_proc_stop(r->pid, sig, 3000);
	r->pid = 0;
}

static void test_redis_rmdir(struct test_redis *r)
{
	if (!r->dir[0])
		return;
	char log[128];
	snprintf(log, sizeof(log), "%s/redis.log", r->dir);
	unlink(log);
	rmdir(r->dir);
	r->dir[0] = '\0';
}

int test_redis_start(struct test_redis *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->host, sizeof(r->host), "127.0.0.1");
	snprintf(r->dir, sizeof(r->dir), "/tmp/aij-test-redis.XXXXXX");
	if (!mkdtemp(r->dir)) {
		fprintf(stderr, "test_redis: cannot create '%s': %s\n", r->dir,
			strerror(errno));
		r->dir[0] = '\0';
		return -1;
	}
	/* A port taken between our probe and the server's bind: try another. */
	for (int attempt = 0; attempt < 5; attempt++) {
		r->port = test_redis_free_port();
		if (r->port <= 0)
			continue;
		snprintf(r->addr, sizeof(r->addr), "%s:%d", r->host, r->port);
		r->pid = test_redis_spawn(r);
		if (r->pid < 0)
			break;
		if (test_redis_wait(r) == 0)
			return 0;
		test_redis_end(r, SIGKILL);
	}
	fprintf(stderr, "test_redis: redis-server did not start (see AIJ_REDIS_SERVER)\n");
	test_redis_rmdir(r);
	return -1;
}

void test_redis_kill(struct test_redis *r)
{
	test_redis_end(r, SIGKILL);
}

int test_redis_restart(struct test_redis *r)
{
	if (r->pid > 0)
		return 0;
	/* The old socket may linger a moment in the kernel: retry the bind. */
	for (int attempt = 0; attempt < 20; attempt++) {
		r->pid = test_redis_spawn(r);
		if (r->pid < 0)
			return -1;
		if (test_redis_wait(r) == 0)
			return 0;
		test_redis_end(r, SIGKILL);
		clock_sleep_ms(100);
	}
	return -1;
}

void test_redis_stop(struct test_redis *r)
{
	test_redis_end(r, SIGTERM);
	test_redis_rmdir(r);
}
