/* The monotonic clock, for durations, time-outs and pacing: a change of the
 * wall clock (NTP, an operator) does not move it. */
#ifndef AIJ_CLOCK_H
#define AIJ_CLOCK_H

/* Milliseconds since an arbitrary start. */
long clock_now_ms(void);

/* Seconds since the same start, for rates and logged durations. */
double clock_now_s(void);

/* Sleeps ms milliseconds, less if a signal interrupts it: every caller loops
 * on a condition (and on signals_stop), so the sleep is not resumed. */
void clock_sleep_ms(long ms);

/* The n-th wait (n >= 1) of a back-off that starts at first_ms and doubles
 * up to max_ms: first_ms, 2 first_ms, 4 first_ms, ..., then max_ms. */
long clock_backoff_ms(long first_ms, long max_ms, unsigned n);

/* The time zone of the people who read our dates: Mission Locale staff and
 * the national team, in France. Makes localtime_r() and mktime() work in
 * Europe/Paris (tzdata), whatever the machine's zone; log_init() calls it,
 * so every program shows its dates in Paris time (its log lines stay UTC). */
void clock_use_paris(void);

#endif
