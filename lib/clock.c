#include "clock.h"

#include <stdlib.h>
#include <time.h>

long clock_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double clock_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void clock_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

long clock_backoff_ms(long first_ms, long max_ms, unsigned n)
{
	long ms = first_ms;
	for (unsigned i = 1; i < n && ms < max_ms; i++)
		ms *= 2;
	return ms < max_ms ? ms : max_ms;
}

void clock_use_paris(void)
{
	setenv("TZ", "Europe/Paris", 1);
	tzset();
}
