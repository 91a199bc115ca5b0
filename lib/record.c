#include "record.h"

#include <string.h>

static char *record_trim(char *s)
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

	out->count = 0;
	for (;;) {
		char *sep = strchr(p, ';');
		if (sep)
			*sep = '\0';
		if (out->count < RECORD_FIELDS)
			out->field[out->count] = record_trim(p);
		out->count++;
		if (!sep)
			break;
		p = sep + 1;
	}
	for (size_t i = out->count; i < RECORD_FIELDS; i++)
		out->field[i] = "";
}
