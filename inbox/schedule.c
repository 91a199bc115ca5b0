#include "schedule.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "history.h"

static const char *const schedule_days[] = { "sun", "mon", "tue", "wed",
					     "thu", "fri", "sat" };

/* Copies the next word of *p (at most size - 1 bytes) into out and moves
 * *p past it. Returns its length, or 0 when there is none or it is longer. */
static size_t schedule_word(const char **p, char *out, size_t size)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
	size_t n = 0;
	while ((*p)[n] && (*p)[n] != ' ' && (*p)[n] != '\t')
		n++;
	if (n == 0 || n >= size)
		return 0;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p += n;
	return n;
}

int schedule_parse(const char *text, struct schedule *s,
		   char *errstr, size_t errstr_size)
{
	const char *p = text ? text : "";
	char day[16], hm[8], rest[2];
	size_t hm_len = 0;
	int ok = schedule_word(&p, day, sizeof(day)) > 0 &&
		 (hm_len = schedule_word(&p, hm, sizeof(hm))) > 0 &&
		 schedule_word(&p, rest, sizeof(rest)) == 0 && *p == '\0';
	/* "H:MM" or "HH:MM" */
	if (ok)
		ok = (hm_len == 4 || hm_len == 5) && hm[hm_len - 3] == ':' &&
		     isdigit((unsigned char)hm[0]) && isdigit((unsigned char)hm[hm_len - 4]) &&
		     isdigit((unsigned char)hm[hm_len - 2]) &&
		     isdigit((unsigned char)hm[hm_len - 1]);
	int hour = ok ? atoi(hm) : 0, minute = ok ? atoi(hm + hm_len - 2) : 0;
	if (!ok || hour > 23 || minute > 59) {
		snprintf(errstr, errstr_size, "schedule '%s' is not 'DAY HH:MM' "
			 "(DAY: mon..sun or daily; e.g. 'sun 02:00')", text ? text : "");
		return -1;
	}
	s->wday = -1;
	if (strcasecmp(day, "daily") == 0)
		s->wday = SCHEDULE_DAILY;
	for (int i = 0; i < 7; i++)
		if (strcasecmp(day, schedule_days[i]) == 0)
			s->wday = i;
	if (s->wday < 0) {
		snprintf(errstr, errstr_size, "schedule '%s': unknown day '%s' "
			 "(mon, tue, wed, thu, fri, sat, sun or daily)", text, day);
		return -1;
	}
	s->hour = hour;
	s->minute = minute;
	return 0;
}

void schedule_format(const struct schedule *s, char *out, size_t size)
{
	snprintf(out, size, "%s %02d:%02d",
		 s->wday == SCHEDULE_DAILY ? "daily" : schedule_days[s->wday],
		 s->hour, s->minute);
}

/* A local calendar day. */
struct day {
	int year, mon, mday, wday; /* struct tm's: year - 1900, month 0..11 */
};

/* The day of t shifted by delta days (noon of it: it always exists). */
static struct day day_shift(time_t t, int delta)
{
	struct tm tm;
	localtime_r(&t, &tm);
	tm.tm_mday += delta;
	tm.tm_hour = 12;
	tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	mktime(&tm);
	return (struct day){ tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_wday };
}

/* Compares the local date and time of tm with day d at hour:minute. */
static int tm_cmp(const struct tm *tm, const struct day *d, int hour, int minute)
{
	const int a[] = { tm->tm_year, tm->tm_mon, tm->tm_mday, tm->tm_hour, tm->tm_min };
	const int b[] = { d->year, d->mon, d->mday, hour, minute };
	for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}

/* The first instant whose local time is at or after day d, hour:minute.
 * A scan by minute from the evening before (time zones shift by whole
 * minutes): mktime() alone is unspecified in a gap and in a repeated hour. */
static time_t schedule_on(const struct day *d, int hour, int minute)
{
	struct tm tm = { 0 };
	tm.tm_year = d->year;
	tm.tm_mon = d->mon;
	tm.tm_mday = d->mday;
	tm.tm_hour = 12;
	tm.tm_isdst = -1;
	time_t noon = mktime(&tm);
	time_t t = noon - 14 * 3600;
	t -= t % 60;
	for (; t <= noon + 14 * 3600; t += 60) {
		struct tm lt;
		localtime_r(&t, &lt);
		if (tm_cmp(&lt, d, hour, minute) >= 0)
			return t;
	}
	return t; /* not reached: 26 hours cover any day */
}

static int schedule_day_matches(const struct schedule *s, const struct day *d)
{
	return s->wday == SCHEDULE_DAILY || s->wday == d->wday;
}

time_t schedule_next(const struct schedule *s, time_t t)
{
	for (int k = 0; k <= 8; k++) {
		struct day d = day_shift(t, k);
		if (!schedule_day_matches(s, &d))
			continue;
		time_t at = schedule_on(&d, s->hour, s->minute);
		if (at > t)
			return at;
	}
	return t + 7 * 86400; /* not reached */
}

time_t schedule_prev(const struct schedule *s, time_t t)
{
	for (int k = 0; k <= 8; k++) {
		struct day d = day_shift(t, -k);
		if (!schedule_day_matches(s, &d))
			continue;
		time_t at = schedule_on(&d, s->hour, s->minute);
		if (at <= t)
			return at;
	}
	return t - 7 * 86400; /* not reached */
}

/* --- the clock ----------------------------------------------------------- */

static long clock_fake_offset;
static int clock_fake_on;

int clock_fake_init(char *errstr, size_t errstr_size)
{
	const char *fake = getenv("AIJ_FAKE_NOW");
	clock_fake_on = 0;
	clock_fake_offset = 0;
	if (!fake || !*fake)
		return 0;
	time_t t;
	if (history_time_parse(fake, &t) < 0) {
		snprintf(errstr, errstr_size, "AIJ_FAKE_NOW '%s' is not a time like "
			 "2026-12-06T01:59:50+01:00", fake);
		return -1;
	}
	clock_fake_offset = (long)(t - time(NULL));
	clock_fake_on = 1;
	return 0;
}

int clock_faked(void)
{
	return clock_fake_on;
}

long clock_offset(void)
{
	return clock_fake_offset;
}

time_t inbox_now(void)
{
	return time(NULL) + clock_fake_offset;
}
