/* Dates JJ/MM/AAAA: exact shape, real calendar days, ordering. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>

#include "date.h"

struct date_case {
	char text[16]; /* arrays, not pointers: Criterion copies the
			  parameters into another process */
	int ok;
};

ParameterizedTestParameters(date, parse)
{
	static struct date_case cases[] = {
		{ "01/01/2000", 1 },
		{ "29/02/2024", 1 },  /* leap year */
		{ "29/02/2000", 1 },  /* divisible by 400: leap */
		{ "29/02/2023", 0 },  /* not leap */
		{ "29/02/1900", 0 },  /* divisible by 100, not by 400 */
		{ "28/02/2023", 1 },
		{ "31/04/2024", 0 },  /* April has 30 days */
		{ "30/04/2024", 1 },
		{ "31/12/1999", 1 },
		{ "31/01/2024", 1 },
		{ "32/01/2024", 0 },
		{ "00/01/2024", 0 },
		{ "01/00/2024", 0 },
		{ "01/13/2024", 0 },
		{ "01/01/0000", 0 },  /* no year zero */
		{ "01/01/0001", 1 },
		{ "1/01/2024", 0 },   /* two digits for the day */
		{ "01/1/2024", 0 },
		{ "01/01/24", 0 },
		{ "01/01/20245", 0 },
		{ "01-01-2024", 0 },
		{ "2024/01/01", 0 },
		{ " 01/01/2024", 0 },
		{ "01/01/2024 ", 0 },
		{ "0a/01/2024", 0 },
		{ "+1/01/2024", 0 },
		{ "", 0 },
		{ "01/", 0 },
	};
	return cr_make_param_array(struct date_case, cases,
				   sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct date_case *c, date, parse)
{
	long days = -12345;
	int rc = date_parse(c->text, &days);
	cr_expect_eq(rc, c->ok ? 0 : -1, "date_parse(\"%s\") = %d", c->text, rc);
	if (!c->ok)
		cr_expect_eq(days, -12345, "days left untouched on failure");
}

Test(date, null_rejected)
{
	long days;
	cr_expect_eq(date_parse(NULL, &days), -1);
}

Test(date, day_counts)
{
	long a, b;
	cr_assert_eq(date_parse("01/01/0001", &a), 0);
	cr_expect_eq(a, 0);
	cr_assert_eq(date_parse("01/01/1970", &a), 0);
	cr_expect_eq(a, 719162); /* Python: date(1970,1,1).toordinal() - 1 */
	cr_assert_eq(date_parse("28/02/2024", &a), 0);
	cr_assert_eq(date_parse("01/03/2024", &b), 0);
	cr_expect_eq(b - a, 2, "29/02/2024 lies between");
	cr_assert_eq(date_parse("28/02/2023", &a), 0);
	cr_assert_eq(date_parse("01/03/2023", &b), 0);
	cr_expect_eq(b - a, 1);
	cr_assert_eq(date_parse("31/12/2023", &a), 0);
	cr_assert_eq(date_parse("01/01/2024", &b), 0);
	cr_expect_eq(b - a, 1);
}

/* Every day of 1600-2400 is the day before plus one, across month ends and
 * leap years (the month offsets come from a table). */
Test(date, consecutive_days)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	char text[32];
	long prev, days;
	cr_assert_eq(date_parse("31/12/1599", &prev), 0);
	for (int y = 1600; y <= 2400; y++) {
		int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
		for (int m = 1; m <= 12; m++)
			for (int d = 1; d <= mdays[m - 1] + (m == 2 && leap); d++) {
				snprintf(text, sizeof(text), "%02d/%02d/%04d", d, m, y);
				cr_assert_eq(date_parse(text, &days), 0, "'%s'", text);
				cr_assert_eq(days, prev + 1, "'%s'", text);
				prev = days;
			}
	}
}

Test(date, ordering)
{
	long a, b;
	cr_assert_eq(date_parse("15/06/2025", &a), 0);
	cr_assert_eq(date_parse("14/06/2025", &b), 0);
	cr_expect_gt(a, b);
	cr_assert_eq(date_parse("01/07/2025", &b), 0);
	cr_expect_lt(a, b);
	cr_assert_eq(date_parse("15/06/2026", &b), 0);
	cr_expect_lt(a, b);
}
