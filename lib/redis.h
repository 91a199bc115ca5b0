/* Talking to Redis: the address, a connection with its timeouts, one
 * command or the next reply of a pipeline with error replies turned into
 * errstr, and commands written in Redis's protocol (RESP) at once. Every
 * program that uses Redis goes through it (the dossier index's modules,
 * the matchers, the reporter, the editions service, the inbox); what the
 * keys are is lib/index_keys.h's. */
#ifndef AIJ_REDIS_H
#define AIJ_REDIS_H

#include <stddef.h>

#include <hiredis/hiredis.h>

/* Splits "host:port" into host (host_size bytes) and port. Returns 0, or -1
 * with errstr ("redis address 'x' is not HOST:PORT"). */
int redis_parse_addr(const char *addr, char *host, size_t host_size, int *port,
		     char *errstr, size_t errstr_size);

/* Connects to "host:port" with timeout_ms for the connection and for each
 * command. Returns NULL with errstr on failure. Free with redisFree(). */
redisContext *redis_connect(const char *addr, int timeout_ms,
			    char *errstr, size_t errstr_size);

/* Runs one command built from a format (redisCommand's). Returns the reply,
 * to freeReplyObject(), or NULL with errstr, also for an error reply. */
redisReply *redis_command(redisContext *rc, char *errstr, size_t errstr_size,
			  const char *fmt, ...);

/* Reads the next reply of a pipeline (redisAppendCommand...), the same way. */
redisReply *redis_reply(redisContext *rc, char *errstr, size_t errstr_size);

/* Commands in Redis's protocol (RESP), built here and handed to hiredis at
 * once (redisAppendFormattedCommand): a week has a million attachments and
 * 2,000 look-up calls of 3,000 arguments, and hiredis's own formatting
 * (redisAppendCommandArgv) was a sixth of the reporter's instructions and
 * a twelfth of the matchers' (callgrind, 50,000-line week). Start from
 * { NULL, 0, 0, 0 }; free buf with free(). */
struct redis_resp {
	char *buf;
	size_t len, cap;
	int failed;             /* out of memory: what follows is dropped */
};

/* Appends "$<len>\r\n<bytes>\r\n" (or "*<n>\r\n" with bulk NULL). */
void redis_resp_put(struct redis_resp *r, const char *bulk, size_t len);

#endif
