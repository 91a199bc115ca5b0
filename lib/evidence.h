/* Evidence for a failed line (issue 18): the dossiers that nearly matched
 * it, and which of their fields differ from the line. Built from the values
 * the look-up script read in the dossier index (lib/index_keys.h) for the
 * steps that failed; pure functions, no Redis here.
 *
 * The rules (tests/e2e/oracle.py implements them again, independently):
 *   - 02 at step 1 or 2: the dossiers sharing the numéro PE in that table,
 *     at most EVIDENCE_SEVERAL (the smallest ids, byte order); nothing
 *     differs;
 *   - 03 at step 1 or 2: that dossier, differs nom_naissance, value its
 *     N(nom_naissance);
 *   - 04 at step 3: the dossiers with the line's identity, at most
 *     EVIDENCE_SEVERAL; nothing differs;
 *   - 05 at step 3: the near candidates, at most EVIDENCE_NEAR, nearest
 *     first: the dossiers with the line's N(nom) and N(prenom) and another
 *     birth date (differs date_naissance, value the date), with its
 *     N(prenom) and birth date and another N(nom) (differs nom_naissance),
 *     with its N(nom) and birth date and another N(prenom) (differs prenom).
 *     A blocking key of more than INDEX_NEAR_MAX rows of the export gives
 *     none (too common a name to point at one dossier).
 *     Nearest first: tier 0, a date one typo away (evidence_date_near());
 *     tier 1, a name that starts or ends with the other (evidence_name_near():
 *     a compound name cut, a second first name, a short form); tier 2, any
 *     other date; tier 3, any other name; then date before nom before prenom;
 *     then the dossier id (byte order).
 * The steps' candidates go in step order; a dossier already listed is not
 * listed again (a near candidate already listed leaves its place to the
 * next nearest); at most EVIDENCE_MAX in all. */
#ifndef AIJ_EVIDENCE_H
#define AIJ_EVIDENCE_H

#include <stddef.h>

#define EVIDENCE_MAX     8  /* candidates for one line */
#define EVIDENCE_SEVERAL 5  /* dossiers listed for a 02 or a 04 */
#define EVIDENCE_NEAR    3  /* near candidates for a 05 at step 3 */

/* The fields that may differ (bits of evidence_candidate.differs). */
enum evidence_field {
	EVIDENCE_DATE = 1,      /* date_naissance */
	EVIDENCE_NOM = 2,       /* nom_naissance */
	EVIDENCE_PRENOM = 4,    /* prenom */
};

/* What the look-up script read for a failed line, by where it read it. */
enum evidence_source {
	EVIDENCE_PE1,           /* step 1, pe_cotraitance: 02 or 03 */
	EVIDENCE_PE2,           /* step 2, pe_complement: 02 or 03 */
	EVIDENCE_IDENT,         /* step 3, the identity: 04 */
	EVIDENCE_NP,            /* step 3, 05: same N(nom), N(prenom) */
	EVIDENCE_PD,            /* step 3, 05: same N(prenom), date */
	EVIDENCE_ND,            /* step 3, 05: same N(nom), date */
	EVIDENCE_SOURCES
};

/* The index values read (lib/index_keys.h gives their forms); a source
 * with v NULL was not read or holds nothing. Borrowed. */
struct evidence_raw {
	const char *v[EVIDENCE_SOURCES];
	size_t len[EVIDENCE_SOURCES];
};

/* Part of a string, not NUL-terminated. */
struct evidence_slice {
	const char *s;
	size_t len;
};

/* One dossier that nearly matched. Its slices point into the raw values. */
struct evidence_candidate {
	struct evidence_slice id, ml, value;
	unsigned step;          /* 1, 2 or 3 */
	unsigned code;          /* that step's code: 2, 3, 4 or 5 */
	unsigned differs;       /* enum evidence_field bits; 0 for 02 and 04 */
	unsigned tier;          /* 05: 0 nearest .. 3; else 0 */
};

/* Whether the birth dates a and b (JJ/MM/AAAA) are one typo apart: they
 * differ by one digit, or by day and month swapped. Equal dates are not. */
int evidence_date_near(const char *a, size_t a_len, const char *b, size_t b_len);

/* Whether the names a and b (normalised, N()) differ but one starts or
 * ends with the other, neither empty: MARTINDUPONT and MARTIN, JEAN and
 * JEANBAPTISTE, BAPTISTE and JEANBAPTISTE. */
int evidence_name_near(const char *a, size_t a_len, const char *b, size_t b_len);

/* The tier of a near candidate whose field (one enum evidence_field) is
 * value where the line has line: 0 a date one typo away, 1 a name
 * evidence_name_near(), 2 another date, 3 another name. */
unsigned evidence_tier(unsigned field, const char *line, size_t line_len,
		       const char *value, size_t value_len);

/* The ranking of near candidates, for qsort(): tier, then the field (date,
 * nom, prenom), then the dossier id in byte order. */
int evidence_near_cmp(const void *a, const void *b);

/* Builds the evidence of a failed line from raw: ident is the line's
 * identity key "N(nom)|N(prenom)|JJ/MM/AAAA" (index_key_ident()), whose
 * parts the near candidates are ranked against. Writes at most
 * EVIDENCE_MAX candidates to out, in order; returns how many. Malformed
 * values give nothing from that source. */
size_t evidence_build(const struct evidence_raw *raw, const char *ident,
		      struct evidence_candidate out[EVIDENCE_MAX]);

/* The name of a field bit: "date_naissance", "nom_naissance", "prenom"
 * (NULL for anything else). */
const char *evidence_field_name(unsigned field);

#endif
