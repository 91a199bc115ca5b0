#include "date.h"

static int date_leap(long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int date_digits(const char *s, int n, long *out)
{
	long v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int date_parse(const char *text, long *days)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	long d, m, y;

	/* Exactly DD/MM/YYYY: checking each position also rejects a short text
	 * before reading past its end. */
	if (!text || date_digits(text, 2, &d) || text[2] != '/' ||
	    date_digits(text + 3, 2, &m) || text[5] != '/' ||
	    date_digits(text + 6, 4, &y) || text[10] != '\0')
		return -1;
	if (y < 1 || m < 1 || m > 12 || d < 1)
		return -1;
	if (d > mdays[m - 1] + (m == 2 && date_leap(y)))
		return -1;

	/* Days since 0001-01-01 in the proleptic Gregorian calendar; before[m]:
	 * the days of the months before m in a common year. */
	static const int before[13] = { 0, 0, 31, 59, 90, 120, 151, 181, 212, 243,
					273, 304, 334 };
	long py = y - 1;
	long n = py * 365 + py / 4 - py / 100 + py / 400;
	n += before[m] + (m > 2 && date_leap(y));
	*days = n + d - 1;
	return 0;
}
