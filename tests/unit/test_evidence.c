/* The evidence of a failed line (lib/evidence.h), without Redis: the
 * near-date rule, the near-name rule, the ranking of near candidates, and
 * the whole evidence built from index values as the look-up script returns
 * them. Table-driven. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "evidence.h"
#include "index_keys.h"

TestSuite(evidence);

/* ---------------------------------------------------------- near dates */

static const struct {
	const char *a, *b;
	int near;
	const char *why;
} dates[] = {
	{ "13/03/2005", "12/03/2005", 1, "the day one digit off" },
	{ "13/03/2005", "18/03/2005", 1, "the day's last digit, far off" },
	{ "13/03/2005", "23/03/2005", 1, "the day's first digit" },
	{ "13/03/2005", "13/08/2005", 1, "the month's last digit" },
	{ "13/03/2005", "13/03/2006", 1, "the year's last digit" },
	{ "13/03/2005", "13/03/1005", 1, "the year's first digit" },
	{ "03/12/2005", "12/03/2005", 1, "day and month swapped" },
	{ "01/02/2004", "02/01/2004", 1, "day and month swapped, small" },
	{ "13/03/2005", "13/03/2005", 0, "the same date" },
	{ "13/03/2005", "14/04/2005", 0, "two digits" },
	{ "13/03/2005", "31/03/2005", 0, "two digits of the day swapped" },
	{ "13/03/2005", "13/03/2050", 0, "two digits of the year swapped" },
	{ "03/12/2005", "12/03/2006", 0, "swapped, and another year" },
	{ "13/03/2005", "13-03-2005", 0, "not a digit that differs" },
	{ "13/03/2005", "13/03/205", 0, "another length" },
	{ "", "", 0, "empty" },
};

Test(evidence, date_near_rule)
{
	for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		const char *a = dates[i].a, *b = dates[i].b;
		cr_expect_eq(evidence_date_near(a, strlen(a), b, strlen(b)), dates[i].near,
			     "'%s' / '%s' (%s)", a, b, dates[i].why);
		cr_expect_eq(evidence_date_near(b, strlen(b), a, strlen(a)), dates[i].near,
			     "'%s' / '%s' (%s), the other way", b, a, dates[i].why);
	}
}

/* ---------------------------------------------------------- near names */

static const struct {
	const char *a, *b;
	int near;
	const char *why;
} names[] = {
	{ "MARTIN", "MARTINDUPONT", 1, "a compound name cut, its first part" },
	{ "DUPONT", "MARTINDUPONT", 1, "a compound name cut, its last part" },
	{ "JEAN", "JEANBAPTISTE", 1, "a second first name" },
	{ "MAX", "MAXIME", 1, "a short form" },
	{ "MARTIN", "DUPONT", 0, "another name (a married name)" },
	{ "MARTIN", "MARTIN", 0, "the same name" },
	{ "MARTIN", "MARTINE", 1, "one letter more at the end" },
	{ "ANNE", "JOANNES", 0, "inside, neither start nor end" },
	{ "", "MARTIN", 0, "empty" },
	{ "MARTINS", "MARTINE", 0, "the same length, another letter" },
};

Test(evidence, name_near_rule)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *a = names[i].a, *b = names[i].b;
		cr_expect_eq(evidence_name_near(a, strlen(a), b, strlen(b)), names[i].near,
			     "'%s' / '%s' (%s)", a, b, names[i].why);
		cr_expect_eq(evidence_name_near(b, strlen(b), a, strlen(a)), names[i].near,
			     "'%s' / '%s' (%s), the other way", b, a, names[i].why);
	}
}

Test(evidence, tiers)
{
	cr_expect_eq(evidence_tier(EVIDENCE_DATE, "13/03/2005", 10, "12/03/2005", 10), 0);
	cr_expect_eq(evidence_tier(EVIDENCE_DATE, "13/03/2005", 10, "01/01/1999", 10), 2);
	cr_expect_eq(evidence_tier(EVIDENCE_NOM, "MARTIN", 6, "MARTINDUPONT", 12), 1);
	cr_expect_eq(evidence_tier(EVIDENCE_NOM, "MARTIN", 6, "DUPONT", 6), 3);
	cr_expect_eq(evidence_tier(EVIDENCE_PRENOM, "JEAN", 4, "JEANBAPTISTE", 12), 1);
	cr_expect_eq(evidence_tier(EVIDENCE_PRENOM, "JEAN", 4, "PAUL", 4), 3);
	cr_expect_str_eq(evidence_field_name(EVIDENCE_DATE), "date_naissance");
	cr_expect_str_eq(evidence_field_name(EVIDENCE_NOM), "nom_naissance");
	cr_expect_str_eq(evidence_field_name(EVIDENCE_PRENOM), "prenom");
	cr_expect_null(evidence_field_name(0));
}

/* ---------------------------------------------------------- building */

/* One line's raw values and the evidence expected, as "id:ml:step:code:
 * differs:value" joined by ' ' ("" for none; differs d, n, p or -). */
static const struct {
	const char *why;
	const char *ident;
	const char *v[EVIDENCE_SOURCES];
	const char *want;
} builds[] = {
	{ "nothing read", "MARTIN|LEA|13/03/2005", { 0 }, "" },
	{ "03 at step 1",
	  "MARTIN|LEA|13/03/2005", { "D1\tDUPONT\tML1" },
	  "D1:ML1:1:3:n:DUPONT" },
	{ "02 at step 1: the ids listed, nothing differs",
	  "MARTIN|LEA|13/03/2005", { "\t3\tD1\tML1\tD2\tML2\tD3\tML1" },
	  "D1:ML1:1:2:-: D2:ML2:1:2:-: D3:ML1:1:2:-:" },
	{ "02 from an index without ids: nothing",
	  "MARTIN|LEA|13/03/2005", { "\t2" }, "" },
	{ "03/03/05: the same dossier at steps 1 and 2 is listed once",
	  "MARTIN|LEA|13/03/2005", { "D1\tDUPONT\tML1", "D1\tDUPONT\tML1" },
	  "D1:ML1:1:3:n:DUPONT" },
	{ "02/03/04: step 1's, step 2's, step 3's",
	  "MARTIN|LEA|13/03/2005",
	  { "\t2\tD1\tML1\tD2\tML1", "D3\tDURAND\tML2", "\t2\tD4\tML1\tD1\tML1" },
	  "D1:ML1:1:2:-: D2:ML1:1:2:-: D3:ML2:2:3:n:DURAND D4:ML1:3:4:-:" },
	{ "05 at step 3: a date one digit off before a far date, any order",
	  "MARTIN|LEA|13/03/2005",
	  { [EVIDENCE_NP] = "D9\tML1\t01/01/1999\tD8\tML2\t12/03/2005" },
	  "D8:ML2:3:5:d:12/03/2005 D9:ML1:3:5:d:01/01/1999" },
	{ "05: the three kinds, by tier: near date, then near names, then the rest",
	  "MARTIN|JEAN|03/12/2005",
	  { [EVIDENCE_NP] = "D1\tML1\t01/01/1999\tD2\tML1\t12/03/2005",
	    [EVIDENCE_PD] = "D3\tML1\tDUPONT\tD4\tML1\tMARTINDUPONT",
	    [EVIDENCE_ND] = "D5\tML1\tJEANBAPTISTE\tD6\tML1\tPAUL" },
	  "D2:ML1:3:5:d:12/03/2005 D4:ML1:3:5:n:MARTINDUPONT D5:ML1:3:5:p:JEANBAPTISTE" },
	{ "05: far candidates, the date before the names, then by id",
	  "MARTIN|JEAN|13/03/2005",
	  { [EVIDENCE_NP] = "D7\tML1\t01/01/1999",
	    [EVIDENCE_PD] = "D3\tML1\tDUPONT\tD2\tML1\tDURAND",
	    [EVIDENCE_ND] = "D1\tML1\tPAUL" },
	  "D7:ML1:3:5:d:01/01/1999 D2:ML1:3:5:n:DURAND D3:ML1:3:5:n:DUPONT" },
	{ "05: by id in byte order within a tier",
	  "MARTIN|JEAN|13/03/2005",
	  { [EVIDENCE_PD] = "D10\tML1\tDUPONT\tD9\tML1\tDURAND\tD1\tML1\tBOYER" },
	  "D1:ML1:3:5:n:BOYER D10:ML1:3:5:n:DUPONT D9:ML1:3:5:n:DURAND" },
	{ "03/03/05: a near candidate already listed leaves its place",
	  "MARTIN|JEAN|13/03/2005",
	  { "D1\tDUPONT\tML1", "D1\tDUPONT\tML1",
	    [EVIDENCE_PD] = "D1\tML1\tDUPONT\tD2\tML1\tDURAND",
	    [EVIDENCE_NP] = "D3\tML2\t13/03/2004" },
	  "D1:ML1:1:3:n:DUPONT D3:ML2:3:5:d:13/03/2004 D2:ML1:3:5:n:DURAND" },
	{ "a crowded blocking key gives nothing",
	  "MARTIN|JEAN|13/03/2005",
	  { [EVIDENCE_NP] = "\t40", [EVIDENCE_ND] = "D5\tML1\tJEANNE" },
	  "D5:ML1:3:5:p:JEANNE" },
	{ "a malformed value gives nothing from it",
	  "MARTIN|JEAN|13/03/2005",
	  { "D1", [EVIDENCE_NP] = "D2\tML1" },
	  "" },
};

static void build_text(const struct evidence_candidate *c, size_t n, char *out,
		       size_t size)
{
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char d = c[i].differs == EVIDENCE_DATE ? 'd' : c[i].differs == EVIDENCE_NOM ? 'n' :
			 c[i].differs == EVIDENCE_PRENOM ? 'p' : '-';
		len += (size_t)snprintf(out + len, size - len, "%s%.*s:%.*s:%u:%u:%c:%.*s",
					i ? " " : "", (int)c[i].id.len, c[i].id.s,
					(int)c[i].ml.len, c[i].ml.s, c[i].step, c[i].code, d,
					(int)c[i].value.len, c[i].value.s);
	}
}

Test(evidence, build_from_index_values)
{
	for (size_t i = 0; i < sizeof(builds) / sizeof(builds[0]); i++) {
		struct evidence_raw raw;
		memset(&raw, 0, sizeof(raw));
		for (int s = 0; s < EVIDENCE_SOURCES; s++)
			if (builds[i].v[s]) {
				raw.v[s] = builds[i].v[s];
				raw.len[s] = strlen(builds[i].v[s]);
			}
		struct evidence_candidate c[EVIDENCE_MAX];
		size_t n = evidence_build(&raw, builds[i].ident, c);
		char got[1024];
		build_text(c, n, got, sizeof(got));
		cr_expect_str_eq(got, builds[i].want, "%s", builds[i].why);
	}
}

/* At most EVIDENCE_SEVERAL a 02 or 04, EVIDENCE_NEAR near ones, and
 * EVIDENCE_MAX in all. */
Test(evidence, caps)
{
	struct evidence_raw raw;
	memset(&raw, 0, sizeof(raw));
	/* Shared values list INDEX_SHARED_IDS ids at most: more here. */
	const char *pe1 = "\t9\tA1\tM\tA2\tM\tA3\tM\tA4\tM\tA5\tM\tA6\tM\tA7\tM";
	const char *pe2 = "\t9\tB1\tM\tB2\tM\tB3\tM\tB4\tM\tB5\tM\tB6\tM";
	raw.v[EVIDENCE_PE1] = pe1;
	raw.len[EVIDENCE_PE1] = strlen(pe1);
	raw.v[EVIDENCE_PE2] = pe2;
	raw.len[EVIDENCE_PE2] = strlen(pe2);
	struct evidence_candidate c[EVIDENCE_MAX];
	size_t n = evidence_build(&raw, "X|Y|01/01/2000", c);
	cr_expect_eq(n, EVIDENCE_MAX);
	char got[1024];
	build_text(c, n, got, sizeof(got));
	cr_expect_str_eq(got, "A1:M:1:2:-: A2:M:1:2:-: A3:M:1:2:-: A4:M:1:2:-: A5:M:1:2:-: "
			      "B1:M:2:2:-: B2:M:2:2:-: B3:M:2:2:-:");

	memset(&raw, 0, sizeof(raw));
	const char *np = "N1\tM\t01/01/1990\tN2\tM\t01/01/1991\tN3\tM\t01/01/1992\t"
			 "N4\tM\t01/01/1993\tN5\tM\t01/01/1994";
	raw.v[EVIDENCE_NP] = np;
	raw.len[EVIDENCE_NP] = strlen(np);
	n = evidence_build(&raw, "X|Y|01/01/2000", c);
	build_text(c, n, got, sizeof(got));
	/* Every date far from 01/01/2000: by id, the first three. */
	cr_expect_str_eq(got, "N1:M:3:5:d:01/01/1990 N2:M:3:5:d:01/01/1991 "
			      "N3:M:3:5:d:01/01/1992");
}
