#include "redis.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"

int redis_parse_addr(const char *addr, char *host, size_t host_size, int *port,
		     char *errstr, size_t errstr_size)
{
	const char *colon = addr ? strrchr(addr, ':') : NULL;
	char *end = NULL;
	long p = colon ? strtol(colon + 1, &end, 10) : 0;
	if (!colon || colon == addr || (size_t)(colon - addr) >= host_size ||
	    !*(colon + 1) || *end || p <= 0 || p > 65535) {
		snprintf(errstr, errstr_size, "redis address '%s' is not HOST:PORT",
			 addr ? addr : "");
		return -1;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	*port = (int)p;
	return 0;
}

redisContext *redis_connect(const char *addr, int timeout_ms,
			    char *errstr, size_t errstr_size)
{
	char host[256];
	int port;
	if (redis_parse_addr(addr, host, sizeof(host), &port, errstr, errstr_size))
		return NULL;

	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	redisContext *rc = redisConnectWithTimeout(host, port, tv);
	if (!rc) {
		snprintf(errstr, errstr_size, "cannot connect to redis '%s': out of memory",
			 addr);
		return NULL;
	}
	if (rc->err) {
		snprintf(errstr, errstr_size, "cannot connect to redis '%s': %s", addr,
			 rc->errstr);
		redisFree(rc);
		return NULL;
	}
	if (redisSetTimeout(rc, tv) != REDIS_OK) {
		snprintf(errstr, errstr_size, "cannot set the timeout of redis '%s': %s",
			 addr, rc->errstr);
		redisFree(rc);
		return NULL;
	}
	return rc;
}

redisReply *redis_command(redisContext *rc, char *errstr, size_t errstr_size,
			  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *reply = redisvCommand(rc, fmt, ap);
	va_end(ap);
	if (!reply) {
		snprintf(errstr, errstr_size, "redis: %s", rc->errstr);
		return NULL;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		snprintf(errstr, errstr_size, "redis: %s", reply->str);
		freeReplyObject(reply);
		return NULL;
	}
	return reply;
}

redisReply *redis_reply(redisContext *rc, char *errstr, size_t errstr_size)
{
	void *r = NULL;
	if (redisGetReply(rc, &r) != REDIS_OK || !r) {
		snprintf(errstr, errstr_size, "redis: %s", rc->errstr);
		return NULL;
	}
	redisReply *reply = r;
	if (reply->type == REDIS_REPLY_ERROR) {
		snprintf(errstr, errstr_size, "redis: %s", reply->str);
		freeReplyObject(reply);
		return NULL;
	}
	return reply;
}

void redis_resp_put(struct redis_resp *r, const char *bulk, size_t len)
{
	char head[32], digits[24];
	size_t n = 0, d = 0;
	head[n++] = bulk ? '$' : '*';
	size_t v = len;
	do {
		digits[d++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (d)
		head[n++] = digits[--d];
	head[n++] = '\r';
	head[n++] = '\n';
	size_t need = r->len + n + (bulk ? len + 2 : 0);
	char *buf = r->failed ? NULL : array_grow(r->buf, &r->cap, need, 1, 65536);
	if (!buf) {
		r->failed = 1;
		return;
	}
	r->buf = buf;
	memcpy(r->buf + r->len, head, n);
	r->len += n;
	if (bulk) {
		memcpy(r->buf + r->len, bulk, len);
		memcpy(r->buf + r->len + len, "\r\n", 2);
		r->len += len + 2;
	}
}
