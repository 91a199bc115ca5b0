/* A throwaway redis-server for tests, on a free port of 127.0.0.1, with no
 * persistence; the way hiredis's test.sh starts one.
 *
 *   struct test_redis r;
 *   cr_assert_eq(test_redis_start(&r), 0);
 *   ... r.rc (a connected context), r.port, r.addr ("127.0.0.1:N") ...
 *   test_redis_stop(&r);
 *
 * The server dies with the test process even if the test crashes (it gets
 * SIGTERM when its parent exits). The binary is $AIJ_REDIS_SERVER, default
 * "redis-server" from PATH. */
#ifndef AIJ_TEST_REDIS_SERVER_H
#define AIJ_TEST_REDIS_SERVER_H

#include <sys/types.h>

#include <hiredis/hiredis.h>

struct test_redis {
	pid_t pid;           /* the server process, 0 when stopped */
	int port;
	char host[16];       /* "127.0.0.1" */
	char addr[32];       /* "127.0.0.1:port", for --redis flags */
	redisContext *rc;    /* connected, owned: freed by test_redis_stop() */
	char dir[64];        /* its working folder, removed on stop */
};

/* Starts a server and waits until it answers PING (up to ~10 s). Returns 0,
 * or -1 with a message on stderr (nothing left running). */
int test_redis_start(struct test_redis *r);

/* Stops the server (SIGTERM, then SIGKILL after 3 s), frees r->rc and
 * removes its folder. Safe to call twice or after a failed start. */
void test_redis_stop(struct test_redis *r);

/* Stops the server abruptly (SIGKILL) and keeps r->port, so that a test can
 * restart it with test_redis_restart() on the same port. */
void test_redis_kill(struct test_redis *r);

/* Starts the server again on r->port after test_redis_kill(). Returns 0 or -1. */
int test_redis_restart(struct test_redis *r);

/* A new connection to the server; the caller frees it with redisFree(). */
redisContext *test_redis_connect(const struct test_redis *r);

#endif
