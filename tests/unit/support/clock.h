/* Test helper: the monotonic clock in milliseconds, for the tests' wait
 * loops (guards against a hung test, never timing checks).
 *
 *   long until = test_clock_now_ms() + 60000;
 *   while (!done() && test_clock_now_ms() < until)
 *           test_clock_sleep_ms(100);
 */
#ifndef AIJ_TEST_CLOCK_H
#define AIJ_TEST_CLOCK_H

/* Milliseconds on CLOCK_MONOTONIC (a wall clock change does not move it). */
long test_clock_now_ms(void);

/* Sleeps ms milliseconds (less if a signal interrupts it). */
void test_clock_sleep_ms(long ms);

#endif
