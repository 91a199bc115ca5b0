#include "record.h"

#include <string.h>

#include "date.h"
#include "referential.h"

char *record_trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

void record_split(char *text, struct record_fields *out)
{
	char *p = text;

	/* One pass per field (find its end, trim it), where strchr and then
	 * record_trim's strlen read each field twice: this runs on every line
	 * of the week. Same result as record_trim on the fields kept: trailing
	 * blanks become NULs. */
	out->count = 0;
	for (;;) {
		char *end = p;
		while (*end && *end != ';')
			end++;
		char sep = *end;
		*end = '\0';
		if (out->count < RECORD_FIELDS) {
			while (*p == ' ' || *p == '\t')
				p++;
			for (char *t = end; t > p && (t[-1] == ' ' || t[-1] == '\t');)
				*--t = '\0';
			out->field[out->count] = p;
		}
		out->count++;
		if (!sep)
			break;
		p = end + 1;
	}
	for (size_t i = out->count; i < RECORD_FIELDS; i++)
		out->field[i] = "";
}

/* An end date that is filled must be a real date, not before the start. */
static int record_end_date_ok(const char *text, long start)
{
	long days;
	if (!*text)
		return 1;
	return date_parse(text, &days) == 0 && days >= start;
}

enum record_code record_validate(const struct record_fields *f, int too_long,
				 const struct referential *ref)
{
	static const enum record_field mandatory[] = {
		FIELD_SIGMA, FIELD_CODE_REGIONAL, FIELD_NOM, FIELD_PRENOM, FIELD_DATE_NAISSANCE,
	};
	long days;

	if (too_long || f->count != RECORD_FIELDS)
		return CODE_COLUMNS;

	for (size_t i = 0; i < sizeof(mandatory) / sizeof(mandatory[0]); i++)
		if (!*f->field[mandatory[i]])
			return CODE_MANDATORY;
	if (date_parse(f->field[FIELD_DATE_NAISSANCE], &days) < 0)
		return CODE_MANDATORY;

	long start;
	if (date_parse(f->field[FIELD_DATE_DEBUT], &start) < 0 ||
	    !record_end_date_ok(f->field[FIELD_DATE_FIN_PREVUE], start) ||
	    !record_end_date_ok(f->field[FIELD_DATE_FIN_REELLE], start))
		return CODE_DATES;

	const char *insee = f->field[FIELD_INSEE], *motif = f->field[FIELD_MOTIF];
	if (!*insee || (ref && !ref_commune_known(ref, insee)))
		return CODE_INSEE;
	if (*f->field[FIELD_DATE_FIN_REELLE] && (!*motif || (ref && !ref_motif_known(ref, motif))))
		return CODE_MOTIF;
	return CODE_OK;
}
