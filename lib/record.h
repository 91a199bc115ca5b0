/* A line of the week's file as fields, and its validation (SPEC §2.1, §3). */
#ifndef AIJ_RECORD_H
#define AIJ_RECORD_H

#include <stddef.h>

struct referential;

/* The 12 fields of a record, in file order. */
enum record_field {
	FIELD_SIGMA = 0,        /* identifiant_sigma */
	FIELD_CODE_REGIONAL,
	FIELD_PE,               /* identifiant_pe (numéro Pôle Emploi) */
	FIELD_NOM,              /* nom_naissance */
	FIELD_PRENOM,
	FIELD_DATE_NAISSANCE,
	FIELD_INSEE,            /* code_insee_residence */
	FIELD_TYPE,             /* type_dispositif */
	FIELD_DATE_DEBUT,
	FIELD_DATE_FIN_PREVUE,
	FIELD_DATE_FIN_REELLE,
	FIELD_MOTIF,            /* motif_sortie */
	RECORD_FIELDS           /* 12 */
};

/* Validation codes (SPEC §3) and the technical error. */
enum record_code {
	CODE_OK = 0,
	CODE_COLUMNS = 1,       /* not exactly 12 fields, or a line too long */
	CODE_PE_SEVERAL = 2,
	CODE_NAME_DIFFERS = 3,
	CODE_IDENTITY_SEVERAL = 4,
	CODE_NOT_FOUND = 5,
	CODE_DATES = 6,
	CODE_MANDATORY = 7,
	CODE_INSEE = 8,
	CODE_MOTIF = 9,
	CODE_TECHNICAL = 10,
};

struct record_fields {
	const char *field[RECORD_FIELDS]; /* trimmed fields; "" past count */
	size_t count;                     /* fields on the line, may exceed 12 */
};

/* Trims spaces and tabs around s, in place; returns the trimmed start. */
char *record_trim(char *s);

/* Splits text in place on ';' and trims each field of spaces and tabs.
 * Keeps pointers to the first 12 fields (into text), counts them all. */
void record_split(char *text, struct record_fields *out);

/* Validates a split line against SPEC §3, rules in order; too_long marks a
 * line cut by the reader. Returns CODE_OK or the first failing code.
 * With ref NULL, codes 08 and 09 only catch empty fields (no look-up). */
enum record_code record_validate(const struct record_fields *f, int too_long,
				 const struct referential *ref);

#endif
