#include "health.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "history.h"
#include "index_lookup.h"
#include "redis.h"

#define HEALTH_REDIS_EVERY_S   5
#define HEALTH_REDIS_TIMEOUT_MS 1000

static pthread_mutex_t health_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t health_redis_at;
static char health_redis_reason[300];

/* The last attempt of kind, when it is not published: why. */
static int health_history(const json_t *h, const char *kind, const char *what,
			  char *reason, size_t reason_size)
{
	const json_t *last = history_last(h, kind, NULL);
	if (!last)
		return 0;
	const char *status = history_str(last, "status");
	if (strcmp(status, HISTORY_HELD) != 0 && strcmp(status, HISTORY_FAILED) != 0)
		return 0;
	snprintf(reason, reason_size, "%s %s %s: %s", what, history_str(last, "run_id"),
		 status, history_str(last, "reason"));
	return 1;
}

/* Redis's answer, asked again every HEALTH_REDIS_EVERY_S. */
static void health_redis(const char *redis, char *reason, size_t reason_size)
{
	time_t now = time(NULL);
	pthread_mutex_lock(&health_lock);
	if (now - health_redis_at >= HEALTH_REDIS_EVERY_S) {
		char errstr[256];
		health_redis_reason[0] = '\0';
		redisContext *rc = redis_connect(redis, HEALTH_REDIS_TIMEOUT_MS, errstr,
						 sizeof(errstr));
		int found = rc ? index_lookup_current(rc, NULL, 0, NULL, errstr, sizeof(errstr)) : -1;
		if (found < 0)
			snprintf(health_redis_reason, sizeof(health_redis_reason),
				 "redis %s: %s", redis, errstr);
		else if (found == 0)
			snprintf(health_redis_reason, sizeof(health_redis_reason),
				 "no dossier index in redis %s: the matchers wait for "
				 "an export to be loaded", redis);
		if (rc)
			redisFree(rc);
		health_redis_at = now;
	}
	snprintf(reason, reason_size, "%s", health_redis_reason);
	pthread_mutex_unlock(&health_lock);
}

int health_check(const char *out, const char *redis, char *reason, size_t reason_size)
{
	char path[4200], errstr[256];
	reason[0] = '\0';
	snprintf(path, sizeof(path), "%s/" HISTORY_FILE, out);
	json_t *h = history_load(path, errstr, sizeof(errstr));
	int bad = 0;
	if (!h) {
		snprintf(reason, reason_size, "the run history: %s", errstr);
		bad = 1;
	} else {
		bad = health_history(h, HISTORY_KIND_WEEK, "week", reason, reason_size) ||
		      health_history(h, HISTORY_KIND_EXPORT, "dossier export", reason,
				     reason_size);
	}
	json_decref(h);
	if (bad || !redis)
		return bad;
	health_redis(redis, reason, reason_size);
	return reason[0] != '\0';
}
