/* Whether Redis answers and holds a dossier index (aij:index:current): a
 * week waits until it does. One connection, kept between checks; a check
 * costs one GET, at most every PROBE_INTERVAL_MS. */
#ifndef AIJ_INBOX_PROBE_H
#define AIJ_INBOX_PROBE_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#define PROBE_INTERVAL_MS 2000
#define PROBE_TIMEOUT_MS  1500

enum probe_state {
	PROBE_UNKNOWN,  /* not checked yet */
	PROBE_DOWN,     /* Redis does not answer */
	PROBE_NO_INDEX, /* it answers, without an index (restarted empty?) */
	PROBE_READY,    /* it answers, and an index is loaded */
};

struct probe {
	const char *addr;     /* "host:port", not copied */
	redisContext *rc;     /* NULL when not connected */
	enum probe_state state;
	long checked_ms;      /* clock_now_ms() of the last check */
	char gen[32];         /* the generation in use when PROBE_READY */
	char error[256];      /* why PROBE_DOWN */
};

void probe_init(struct probe *p, const char *addr);
void probe_release(struct probe *p);

/* The state, checked again when the last check is older than
 * PROBE_INTERVAL_MS or fresh is set. */
enum probe_state probe_check(struct probe *p, int fresh);

/* "Redis does not answer", "no dossier index loaded", "ready". */
const char *probe_state_name(enum probe_state s);

#endif
