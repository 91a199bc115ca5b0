#include "probe.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "index_keys.h"
#include "redis.h"

void probe_init(struct probe *p, const char *addr)
{
	memset(p, 0, sizeof(*p));
	p->addr = addr;
}

void probe_release(struct probe *p)
{
	if (p->rc)
		redisFree(p->rc);
	p->rc = NULL;
}

const char *probe_state_name(enum probe_state s)
{
	switch (s) {
	case PROBE_DOWN: return "Redis does not answer";
	case PROBE_NO_INDEX: return "no dossier index loaded";
	case PROBE_READY: return "ready";
	default: return "not checked";
	}
}

enum probe_state probe_check(struct probe *p, int fresh)
{
	long now = clock_now_ms();
	if (!fresh && p->state != PROBE_UNKNOWN && now - p->checked_ms < PROBE_INTERVAL_MS)
		return p->state;
	p->checked_ms = now;
	char errstr[256];
	if (!p->rc)
		p->rc = redis_connect(p->addr, PROBE_TIMEOUT_MS, errstr, sizeof(errstr));
	redisReply *r = p->rc ? redis_command(p->rc, errstr, sizeof(errstr), "GET %s",
					      INDEX_KEY_CURRENT) : NULL;
	if (!r) {
		snprintf(p->error, sizeof(p->error), "%s", errstr);
		probe_release(p);
		p->state = PROBE_DOWN;
		return p->state;
	}
	if (r->type == REDIS_REPLY_STRING && r->len > 0) {
		snprintf(p->gen, sizeof(p->gen), "%.*s", (int)r->len, r->str);
		p->state = PROBE_READY;
	} else {
		p->gen[0] = '\0';
		p->state = PROBE_NO_INDEX;
	}
	freeReplyObject(r);
	return p->state;
}
