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

#endif
