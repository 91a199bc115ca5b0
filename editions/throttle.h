/* Failed log-ins, per login: after max failures within window_s seconds,
 * every attempt for that login is refused for lock_s seconds, whatever the
 * password (the service answers 429), then the count starts again. A
 * successful log-in clears the count. Logins that do not exist are counted
 * the same way (their answer must not differ). One mutex; at most
 * max_logins logins are tracked (past that, those with the oldest failure
 * go). Times are the caller's "now" in seconds of a monotonic clock. */
#ifndef AIJ_EDITIONS_THROTTLE_H
#define AIJ_EDITIONS_THROTTLE_H

#include <stddef.h>

struct throttle;

/* NULL when out of memory. Free with throttle_free(). */
struct throttle *throttle_new(unsigned max, long window_s, long lock_s,
			      size_t max_logins);

void throttle_free(struct throttle *t);

/* 0 when login may try to log in at now; else the seconds it still waits. */
long throttle_locked(struct throttle *t, const char *login, long now);

/* A failed log-in of login at now. Returns the seconds it is now locked for
 * (lock_s when this failure locks it), or 0; *failures (may be NULL) gets
 * the failures counted within the window, this one included. */
long throttle_failed(struct throttle *t, const char *login, long now,
		     unsigned *failures);

/* A successful log-in of login: its failures are forgotten. */
void throttle_succeeded(struct throttle *t, const char *login);

#endif
