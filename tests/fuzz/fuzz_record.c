/* libFuzzer target: one line through record_split and record_validate with
 * a small referential (the fixtures of the unit tests), as ingest does. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "referential.h"

static struct referential *fuzz_ref;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];
	(void)argc;
	(void)argv;
	/* Run from the repository root, as every test. */
	fuzz_ref = referential_load("tests/unit/fixtures/communes.csv",
				    "tests/unit/fixtures/motifs.csv", NULL, err,
				    sizeof(err));
	if (!fuzz_ref) {
		fprintf(stderr, "fuzz_record: %s\n", err);
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A line as the reader gives it: a C string (no NUL inside). */
	char *text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';

	struct record_fields f;
	size_t semis = 0;
	for (size_t i = 0; i < strlen(text); i++)
		semis += text[i] == ';';
	record_split(text, &f);
	if (f.count != semis + 1)
		abort();
	for (size_t i = 0; i < RECORD_FIELDS; i++) {
		const char *s = f.field[i];
		size_t n = strlen(s);
		if (strchr(s, ';') || (n > 0 && (s[0] == ' ' || s[0] == '\t' ||
						 s[n - 1] == ' ' || s[n - 1] == '\t')))
			abort();
	}
	enum record_code with = record_validate(&f, (int)(size & 1), fuzz_ref);
	enum record_code without = record_validate(&f, 0, NULL);
	if ((size & 1) && with != CODE_COLUMNS)
		abort();
	if (with > CODE_TECHNICAL || without > CODE_TECHNICAL)
		abort();
	/* The referential only turns codes 00 and 09 into 08 or 09 (look-ups of
	 * codes that are filled); every other code stays as it was. */
	if (!(size & 1) && with != without &&
	    !((without == CODE_OK || without == CODE_MOTIF) &&
	      (with == CODE_INSEE || with == CODE_MOTIF)))
		abort();
	free(text);
	return 0;
}
