#include "throttle.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#define THROTTLE_MAX_FAILURES 32 /* the largest max it keeps times for */

struct throttle_entry {
	char *login;
	long fail[THROTTLE_MAX_FAILURES]; /* the latest failures, oldest first */
	unsigned n;
	long locked_until; /* 0: not locked */
	UT_hash_handle hh;
};

struct throttle {
	pthread_mutex_t lock;
	struct throttle_entry *table;
	unsigned max;
	long window_s, lock_s;
	size_t max_logins;
};

struct throttle *throttle_new(unsigned max, long window_s, long lock_s,
			      size_t max_logins)
{
	struct throttle *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	t->max = max < 1 ? 1 : max > THROTTLE_MAX_FAILURES ? THROTTLE_MAX_FAILURES : max;
	t->window_s = window_s;
	t->lock_s = lock_s;
	t->max_logins = max_logins ? max_logins : 1;
	return t;
}

static void throttle_remove(struct throttle *t, struct throttle_entry *e)
{
	HASH_DEL(t->table, e);
	free(e->login);
	free(e);
}

void throttle_free(struct throttle *t)
{
	if (!t)
		return;
	struct throttle_entry *e, *tmp;
	HASH_ITER(hh, t->table, e, tmp)
		throttle_remove(t, e);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* Forgets e's failures older than the window, and an expired lock (lock
 * held). Returns 1 when nothing is left to remember. */
static int throttle_age(struct throttle *t, struct throttle_entry *e, long now)
{
	if (e->locked_until && e->locked_until <= now) {
		e->locked_until = 0;
		e->n = 0;
	}
	unsigned keep = 0;
	for (unsigned i = 0; i < e->n; i++)
		if (e->fail[i] > now - t->window_s)
			e->fail[keep++] = e->fail[i];
	e->n = keep;
	return e->n == 0 && e->locked_until == 0;
}

long throttle_locked(struct throttle *t, const char *login, long now)
{
	long wait = 0;
	pthread_mutex_lock(&t->lock);
	struct throttle_entry *e = NULL;
	HASH_FIND_STR(t->table, login, e);
	if (e) {
		if (throttle_age(t, e, now))
			throttle_remove(t, e);
		else if (e->locked_until)
			wait = e->locked_until - now;
	}
	pthread_mutex_unlock(&t->lock);
	return wait;
}

/* The time of e's latest failure. */
static long throttle_latest(const struct throttle_entry *e)
{
	return e->n ? e->fail[e->n - 1] : 0;
}

/* Makes room for one more login (lock held): the forgotten ones go, then
 * the one whose latest failure is the oldest, a locked one last (failing
 * with many other logins must not unlock one). */
static void throttle_make_room(struct throttle *t, long now)
{
	struct throttle_entry *e, *tmp;
	HASH_ITER(hh, t->table, e, tmp) {
		if (throttle_age(t, e, now))
			throttle_remove(t, e);
	}
	while (HASH_COUNT(t->table) >= t->max_logins) {
		struct throttle_entry *victim = t->table;
		for (e = t->table; e; e = e->hh.next) {
			int el = e->locked_until != 0, vl = victim->locked_until != 0;
			if (el < vl || (el == vl && throttle_latest(e) < throttle_latest(victim)))
				victim = e;
		}
		throttle_remove(t, victim);
	}
}

long throttle_failed(struct throttle *t, const char *login, long now,
		     unsigned *failures)
{
	long locked = 0;
	unsigned count = 0;
	pthread_mutex_lock(&t->lock);
	struct throttle_entry *e = NULL;
	HASH_FIND_STR(t->table, login, e);
	if (e)
		throttle_age(t, e, now);
	if (!e) {
		throttle_make_room(t, now);
		e = calloc(1, sizeof(*e));
		if (e && !(e->login = strdup(login))) {
			free(e);
			e = NULL;
		}
		if (e)
			HASH_ADD_KEYPTR(hh, t->table, e->login, strlen(e->login), e);
	}
	if (e && !e->locked_until) {
		if (e->n == t->max) {
			memmove(e->fail, e->fail + 1, (t->max - 1) * sizeof(*e->fail));
			e->n--;
		}
		e->fail[e->n++] = now;
		count = e->n;
		if (e->n >= t->max) {
			e->locked_until = now + t->lock_s;
			locked = t->lock_s;
		}
	} else if (e) {
		count = e->n;
		locked = e->locked_until - now;
	}
	pthread_mutex_unlock(&t->lock);
	if (failures)
		*failures = count;
	return locked;
}

void throttle_succeeded(struct throttle *t, const char *login)
{
	pthread_mutex_lock(&t->lock);
	struct throttle_entry *e = NULL;
	HASH_FIND_STR(t->table, login, e);
	if (e)
		throttle_remove(t, e);
	pthread_mutex_unlock(&t->lock);
}
