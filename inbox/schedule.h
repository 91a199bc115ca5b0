/* The inbox's wall clock and its optional schedule ("sun 02:00", "daily
 * 06:30"), in the local time zone, which main.c sets to Europe/Paris.
 *
 * A schedule time is the first instant whose local date and time is at or
 * after the given day and hour: a time that the spring change skips (02:30
 * on 2027-03-28 in Paris) falls on the first instant after the gap (03:00
 * CEST); a time that the autumn change repeats (02:30 on 2026-10-25) is its
 * first occurrence only (CEST), so a day never has two. */
#ifndef AIJ_INBOX_SCHEDULE_H
#define AIJ_INBOX_SCHEDULE_H

#include <stddef.h>
#include <time.h>

#define SCHEDULE_DAILY 7 /* wday of a daily schedule; 0..6 is sun..sat */

struct schedule {
	int wday;   /* 0 (sunday) .. 6, or SCHEDULE_DAILY */
	int hour;   /* 0..23 */
	int minute; /* 0..59 */
};

/* Parses "DAY HH:MM", DAY one of mon tue wed thu fri sat sun (any case) or
 * daily. Returns 0, or -1 with errstr naming the text. */
int schedule_parse(const char *text, struct schedule *s,
		   char *errstr, size_t errstr_size);

/* The first schedule time strictly after t. */
time_t schedule_next(const struct schedule *s, time_t t);

/* The last schedule time at or before t. */
time_t schedule_prev(const struct schedule *s, time_t t);

/* Writes s as "sun 02:00" into out. */
void schedule_format(const struct schedule *s, char *out, size_t size);

/* The inbox's "now": the real time, or, for tests only, the time that the
 * environment variable AIJ_FAKE_NOW gave (ISO 8601 with an offset,
 * "2026-12-06T01:59:50+01:00") at clock_fake_init() and advancing with the
 * real time since. Write it with history_time() (lib/history.h). */
time_t inbox_now(void);

/* Reads AIJ_FAKE_NOW once. Returns 0 (also without it), or -1 with errstr
 * when it is set and not such a time. */
int clock_fake_init(char *errstr, size_t errstr_size);

/* Whether a fake clock is in force (the log says so). */
int clock_faked(void);

/* What inbox_now() adds to the real time: 0 unless faked. File times
 * (mtime, ctime) are moved by it to compare with the schedule. */
long clock_offset(void);

#endif
