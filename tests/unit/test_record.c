/* Splitting a line into fields and validating it (SPEC §2.1, §3), with the
 * fixture referential of tests/unit/fixtures/. Run from the repository root. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reader.h"
#include "record.h"
#include "referential.h"

#define FIX "tests/unit/fixtures/"

/* ---- record_split ---- */

Test(record_split, twelve_fields_trimmed)
{
	char line[] = " S1 ;\tR11\t; 1234567a ;Le Goff;  Jean Pierre ;15/03/2004;75056;AIJ;"
		      "01/09/2025;28/02/2026;; ";
	struct record_fields f;
	record_split(line, &f);
	cr_assert_eq(f.count, 12);
	cr_expect_str_eq(f.field[FIELD_SIGMA], "S1");
	cr_expect_str_eq(f.field[FIELD_CODE_REGIONAL], "R11");
	cr_expect_str_eq(f.field[FIELD_PE], "1234567a", "kept as received");
	cr_expect_str_eq(f.field[FIELD_NOM], "Le Goff", "inner spaces kept");
	cr_expect_str_eq(f.field[FIELD_PRENOM], "Jean Pierre");
	cr_expect_str_eq(f.field[FIELD_DATE_NAISSANCE], "15/03/2004");
	cr_expect_str_eq(f.field[FIELD_INSEE], "75056");
	cr_expect_str_eq(f.field[FIELD_TYPE], "AIJ");
	cr_expect_str_eq(f.field[FIELD_DATE_DEBUT], "01/09/2025");
	cr_expect_str_eq(f.field[FIELD_DATE_FIN_PREVUE], "28/02/2026");
	cr_expect_str_eq(f.field[FIELD_DATE_FIN_REELLE], "");
	cr_expect_str_eq(f.field[FIELD_MOTIF], "");
}

Test(record_split, counts)
{
	static const struct {
		const char *line;
		size_t count;
	} cases[] = {
		{ "", 1 },
		{ "a", 1 },
		{ ";", 2 },
		{ ";;;;;;;;;;;", 12 },
		{ ";;;;;;;;;;;;", 13 },
		{ "a;b;c;d;e;f;g;h;i;j;k", 11 },
		{ "a;b;c;d;e;f;g;h;i;j;k;l;m;n", 14 },
		{ "\"a;b\";c", 3 }, /* no quoting: '"' is an ordinary character */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64];
		struct record_fields f;
		snprintf(buf, sizeof(buf), "%s", cases[i].line);
		record_split(buf, &f);
		cr_expect_eq(f.count, cases[i].count, "'%s': %zu fields", cases[i].line, f.count);
		for (size_t k = f.count; k < RECORD_FIELDS; k++)
			cr_expect_str_eq(f.field[k], "", "'%s' field %zu past the count", cases[i].line, k);
	}
}

Test(record_split, many_fields_keeps_twelve)
{
	char line[1024] = "";
	for (int i = 0; i < 200; i++)
		strcat(line, i ? ";x" : "f0");
	struct record_fields f;
	record_split(line, &f);
	cr_expect_eq(f.count, 200);
	cr_expect_str_eq(f.field[0], "f0");
	cr_expect_str_eq(f.field[11], "x");
}

Test(record_split, quotes_are_ordinary)
{
	char line[] = "\"S1\";\"a;b\"";
	struct record_fields f;
	record_split(line, &f);
	cr_assert_eq(f.count, 3);
	cr_expect_str_eq(f.field[0], "\"S1\"");
	cr_expect_str_eq(f.field[1], "\"a");
	cr_expect_str_eq(f.field[2], "b\"");
}

/* record_split() as first written (strchr, then record_trim on each field),
 * the reference for the one-pass version. */
static void split_reference(char *text, struct record_fields *out)
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

Test(record_split, same_as_strchr_and_trim)
{
	/* Random lines of separators, blanks and text: same fields, same
	 * count, and the same bytes left in the buffer. */
	static const char alphabet[] = ";; \t\tab\xc3\xa9";
	srand(6);
	for (int round = 0; round < 20000; round++) {
		char a[64], b[64];
		size_t len = (size_t)rand() % (sizeof(a) - 1);
		for (size_t i = 0; i < len; i++)
			a[i] = alphabet[rand() % (int)(sizeof(alphabet) - 1)];
		a[len] = '\0';
		memcpy(b, a, len + 1);
		struct record_fields fa, fb;
		record_split(a, &fa);
		split_reference(b, &fb);
		cr_assert_eq(fa.count, fb.count, "round %d", round);
		cr_assert(memcmp(a, b, len + 1) == 0, "round %d: buffers differ", round);
		for (size_t k = 0; k < RECORD_FIELDS; k++) {
			cr_assert_str_eq(fa.field[k], fb.field[k], "round %d field %zu", round, k);
			if (k < fa.count)
				cr_assert_eq(fa.field[k] - a, fb.field[k] - b,
					     "round %d field %zu starts elsewhere", round, k);
		}
	}
}

/* ---- record_validate ---- */

static struct referential *ref;

static void load_ref(void)
{
	char err[512] = "";
	ref = referential_load(FIX "communes.csv", FIX "motifs.csv", NULL, err, sizeof(err));
	cr_assert_not_null(ref, "%s", err);
}

static void free_ref(void)
{
	referential_free(ref);
	ref = NULL;
}

struct validate_case {
	char line[200];  /* arrays, not pointers: Criterion copies the
			    parameters into another process */
	int too_long;
	int code;
};

/* A valid line: S1;R11;PE;nom;prenom;naissance;insee;type;debut;fin_prevue;fin_reelle;motif */
#define OK_HEAD "S1;R11;1234567A;Dupont;Jean;15/03/2004"

ParameterizedTestParameters(record, validate)
{
	static struct validate_case cases[] = {
		/* valid lines */
		{ OK_HEAD ";75056;AIJ;01/09/2025;28/02/2026;;", 0, CODE_OK },
		{ OK_HEAD ";75056;AIJ;01/09/2025;;;", 0, CODE_OK },
		{ OK_HEAD ";75056;AIJ;01/09/2025;28/02/2026;15/01/2026;01", 0, CODE_OK },
		{ OK_HEAD ";75056;AIJ;01/09/2025;01/09/2025;01/09/2025;11", 0, CODE_OK },
		{ "S1;R11;;Dupont;Jean;15/03/2004;75056;AIJ;01/09/2025;;;", 0, CODE_OK },
		{ "S1;R11;1234567A;Dupont;Jean;29/02/2004;75056;AIJ;01/09/2025;;;", 0, CODE_OK },
		{ " S1 ; R11 ;\t1234567A;Dupont ; Jean; 15/03/2004 ; 75056 ;AIJ; 01/09/2025 ;;; ", 0, CODE_OK },
		{ OK_HEAD ";2A004;AIJ;01/09/2025;;;", 0, CODE_OK },
		{ OK_HEAD ";98411;AIJ;01/09/2025;;;", 0, CODE_OK }, /* known, no postal code */
		{ OK_HEAD ";01015;AIJ;01/09/2025;;;", 0, CODE_OK },
		{ OK_HEAD ";75056;;01/09/2025;;;", 0, CODE_OK }, /* type_dispositif has no rule */
		{ OK_HEAD ";75056;AIJ;01/09/2025;;;99", 0, CODE_OK }, /* motif without end: no rule */

		/* 01: not exactly 12 fields, or too long */
		{ OK_HEAD ";75056;AIJ;01/09/2025;28/02/2026;", 0, CODE_COLUMNS },
		{ OK_HEAD ";75056;AIJ;01/09/2025;28/02/2026;;;", 0, CODE_COLUMNS },
		{ OK_HEAD ";75056;AIJ;01/09/2025;28/02/2026;;;x;y", 0, CODE_COLUMNS },
		{ "", 0, CODE_COLUMNS },
		{ "S1", 0, CODE_COLUMNS },
		{ ";;;;;;;;;;;;", 0, CODE_COLUMNS },
		{ OK_HEAD ";75056;AIJ;01/09/2025;28/02/2026;;", 1, CODE_COLUMNS },
		{ ";;;;;;;;;;", 0, CODE_COLUMNS }, /* 01 comes before 07 */

		/* 07: a mandatory field empty or only blanks, a bad birth date */
		{ ";R11;1234567A;Dupont;Jean;15/03/2004;75056;AIJ;01/09/2025;;;", 0, CODE_MANDATORY },
		{ "S1;;1234567A;Dupont;Jean;15/03/2004;75056;AIJ;01/09/2025;;;", 0, CODE_MANDATORY },
		{ "S1;R11;1234567A;;Jean;15/03/2004;75056;AIJ;01/09/2025;;;", 0, CODE_MANDATORY },
		{ "S1;R11;1234567A;Dupont;;15/03/2004;75056;AIJ;01/09/2025;;;", 0, CODE_MANDATORY },
		{ "S1;R11;1234567A;Dupont;Jean;;75056;AIJ;01/09/2025;;;", 0, CODE_MANDATORY },
		{ "   ;R11;1234567A;Dupont;Jean;15/03/2004;75056;AIJ;01/09/2025;;;", 0, CODE_MANDATORY },
		{ "S1;\t;1234567A;Dupont;Jean;15/03/2004;75056;AIJ;01/09/2025;;;", 0, CODE_MANDATORY },
		{ "S1;R11;1234567A; \t ;Jean;15/03/2004;75056;AIJ;01/09/2025;;;", 0, CODE_MANDATORY },
		{ "S1;R11;1234567A;Dupont;  ;15/03/2004;75056;AIJ;01/09/2025;;;", 0, CODE_MANDATORY },
		{ "S1;R11;1234567A;Dupont;Jean;   ;75056;AIJ;01/09/2025;;;", 0, CODE_MANDATORY },
		{ "S1;R11;1234567A;Dupont;Jean;31/04/2004;75056;AIJ;01/09/2025;;;", 0, CODE_MANDATORY },
		{ "S1;R11;1234567A;Dupont;Jean;29/02/2003;75056;AIJ;01/09/2025;;;", 0, CODE_MANDATORY },
		{ "S1;R11;1234567A;Dupont;Jean;2004-03-15;75056;AIJ;01/09/2025;;;", 0, CODE_MANDATORY },
		{ "S1;R11;1234567A;Dupont;Jean;15/3/2004;75056;AIJ;01/09/2025;;;", 0, CODE_MANDATORY },
		{ ";;;;;;;;;;;", 0, CODE_MANDATORY },
		/* 07 comes before 06, 08 and 09 */
		{ "S1;R11;1234567A;;Jean;15/03/2004;99999;AIJ;;;01/01/2020;", 0, CODE_MANDATORY },

		/* 06: start date, end dates, order */
		{ OK_HEAD ";75056;AIJ;;;;", 0, CODE_DATES },
		{ OK_HEAD ";75056;AIJ;   ;;;", 0, CODE_DATES },
		{ OK_HEAD ";75056;AIJ;31/04/2025;;;", 0, CODE_DATES },
		{ OK_HEAD ";75056;AIJ;29/02/2025;;;", 0, CODE_DATES },
		{ OK_HEAD ";75056;AIJ;01/09/25;;;", 0, CODE_DATES },
		{ OK_HEAD ";75056;AIJ;01/09/2025;31/06/2026;;", 0, CODE_DATES },
		{ OK_HEAD ";75056;AIJ;01/09/2025;;32/01/2026;01", 0, CODE_DATES },
		{ OK_HEAD ";75056;AIJ;01/09/2025;31/08/2025;;", 0, CODE_DATES },
		{ OK_HEAD ";75056;AIJ;01/09/2025;;31/08/2025;01", 0, CODE_DATES },
		{ OK_HEAD ";75056;AIJ;01/09/2025;01/09/2026;01/09/2024;01", 0, CODE_DATES },
		{ OK_HEAD ";75056;AIJ;29/02/2024;28/02/2024;;", 0, CODE_DATES },
		/* 06 comes before 08 and 09 */
		{ OK_HEAD ";99999;AIJ;01/09/2025;;31/08/2025;", 0, CODE_DATES },

		/* 08: INSEE code empty or unknown */
		{ OK_HEAD ";;AIJ;01/09/2025;;;", 0, CODE_INSEE },
		{ OK_HEAD ";  ;AIJ;01/09/2025;;;", 0, CODE_INSEE },
		{ OK_HEAD ";99999;AIJ;01/09/2025;;;", 0, CODE_INSEE },
		{ OK_HEAD ";7505;AIJ;01/09/2025;;;", 0, CODE_INSEE },
		{ OK_HEAD ";75001;AIJ;01/09/2025;;;", 0, CODE_INSEE }, /* a postal code */
		/* 08 comes before 09 */
		{ OK_HEAD ";99999;AIJ;01/09/2025;;01/10/2025;", 0, CODE_INSEE },

		/* 09: end date filled, exit reason missing or unknown */
		{ OK_HEAD ";75056;AIJ;01/09/2025;;01/10/2025;", 0, CODE_MOTIF },
		{ OK_HEAD ";75056;AIJ;01/09/2025;;01/10/2025;  ", 0, CODE_MOTIF },
		{ OK_HEAD ";75056;AIJ;01/09/2025;;01/10/2025;99", 0, CODE_MOTIF },
		{ OK_HEAD ";75056;AIJ;01/09/2025;;01/10/2025;1", 0, CODE_MOTIF },
		{ OK_HEAD ";98411;AIJ;01/09/2025;;01/10/2025;", 0, CODE_MOTIF }, /* not 08 */
	};
	return cr_make_param_array(struct validate_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct validate_case *c, record, validate, .init = load_ref, .fini = free_ref)
{
	char line[sizeof(c->line)];
	struct record_fields f;
	memcpy(line, c->line, sizeof(line));
	record_split(line, &f);
	enum record_code code = record_validate(&f, c->too_long, ref);
	cr_expect_eq(code, c->code, "'%s'%s: code %02d, want %02d", c->line,
		     c->too_long ? " (too long)" : "", (int)code, c->code);
}

Test(record, validate_without_referential)
{
	/* Without reference data, only empty INSEE codes and exit reasons fail. */
	static const struct {
		const char *line;
		int code;
	} cases[] = {
		{ OK_HEAD ";99999;AIJ;01/09/2025;;01/10/2025;99", CODE_OK },
		{ OK_HEAD ";;AIJ;01/09/2025;;;", CODE_INSEE },
		{ OK_HEAD ";99999;AIJ;01/09/2025;;01/10/2025;", CODE_MOTIF },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[200];
		struct record_fields f;
		snprintf(buf, sizeof(buf), "%s", cases[i].line);
		record_split(buf, &f);
		cr_expect_eq(record_validate(&f, 0, NULL), cases[i].code, "'%s'", cases[i].line);
	}
}

/* ---- a whole file: reader, then split and validate ---- */

struct coded {
	uint64_t line;
	int code;
	char nom[64];
};

/* Reads the file made of data, and splits and validates each line. */
static size_t read_validate(const char *data, size_t len, struct coded *out, size_t max)
{
	char path[] = "/tmp/aij-test-record-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, data + off, len - off);
		cr_assert_gt(w, 0);
		off += (size_t)w;
	}
	close(fd);

	char err[256] = "";
	struct reader *r = reader_open(path, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	struct reader_line l;
	size_t n = 0;
	int rc;
	while ((rc = reader_next(r, &l, err, sizeof(err))) == 1) {
		cr_assert_lt(n, max);
		char *copy = strdup(l.text);
		struct record_fields f;
		record_split(copy, &f);
		out[n].line = l.line;
		out[n].code = record_validate(&f, l.too_long, ref);
		snprintf(out[n].nom, sizeof(out[n].nom), "%s", f.field[FIELD_NOM]);
		free(copy);
		n++;
	}
	cr_assert_eq(rc, 0, "%s", err);
	reader_close(r);
	unlink(path);
	return n;
}

Test(record, file_with_a_line_of_64_kib_plus_one, .init = load_ref, .fini = free_ref)
{
	/* A valid line padded to READER_MAX_LINE + 1 bytes with spaces in the
	 * last field: without the bound it would be valid. */
	const char *valid = OK_HEAD ";75056;AIJ;01/09/2025;;;";
	size_t vl = strlen(valid), len = 0;
	char *data = malloc(READER_MAX_LINE + 2 * vl + 16);
	cr_assert_not_null(data);
	memcpy(data, valid, vl);
	memset(data + vl, ' ', READER_MAX_LINE + 1 - vl);
	len = READER_MAX_LINE + 1;
	data[len++] = '\n';
	memcpy(data + len, valid, vl);
	len += vl;
	data[len++] = '\n';

	struct coded got[4];
	size_t n = read_validate(data, len, got, 4);
	cr_assert_eq(n, 2);
	cr_expect_eq(got[0].line, 1);
	cr_expect_eq(got[0].code, CODE_COLUMNS, "the long line is code 01");
	cr_expect_eq(got[1].line, 2, "reading goes on with the right line number");
	cr_expect_eq(got[1].code, CODE_OK);

	/* The same line one byte shorter is at the bound, hence valid. */
	memcpy(data + READER_MAX_LINE, "\n", 1);
	n = read_validate(data, READER_MAX_LINE + 1, got, 4);
	cr_assert_eq(n, 1);
	cr_expect_eq(got[0].code, CODE_OK);
	free(data);
}

Test(record, windows_1252_crlf_file_with_header, .init = load_ref, .fini = free_ref)
{
	static const char data[] =
		"IDENTIFIANT_SIGMA;code_regional;identifiant_pe;nom_naissance;prenom;"
		"date_naissance;code_insee_residence;type_dispositif;date_debut;"
		"date_fin_prevue;date_fin_reelle;motif_sortie\r\n"
		"\r\n"
		"S1;R11;1234567A;LEF\xC8VRE;Ren\xE9" "e;15/03/2004;75056;AIJ;01/09/2025;;;\r\n"
		"  \r\n"
		"S2;R11;;Dupont;Jean;31/04/2004;75056;AIJ;01/09/2025;;;\r\n"
		"S3;R11;;Dupont;Jean;15/03/2004;75056;AIJ;01/09/2025;;\r\n"
		"S4;R11;;Dupont;Jean;15/03/2004;75056;AIJ;01/09/2025;01/08/2025;;\r\n"
		"S5;R11;;Dupont;Jean;15/03/2004;99999;AIJ;01/09/2025;;;\r\n"
		"S6;R11;;Dupont;Jean;15/03/2004;75056;AIJ;01/09/2025;;01/10/2025;\r\n"
		"S7;R11;;Dupont;Jean;15/03/2004;75056;AIJ;01/09/2025;;01/10/2025;01";
	static const struct {
		uint64_t line;
		int code;
	} want[] = {
		{ 3, CODE_OK }, { 5, CODE_MANDATORY }, { 6, CODE_COLUMNS }, { 7, CODE_DATES },
		{ 8, CODE_INSEE }, { 9, CODE_MOTIF }, { 10, CODE_OK },
	};
	struct coded got[16];
	size_t n = read_validate(data, sizeof(data) - 1, got, 16);
	cr_assert_eq(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n; i++) {
		cr_expect_eq(got[i].line, want[i].line, "record %zu", i);
		cr_expect_eq(got[i].code, want[i].code, "line %llu: code %02d, want %02d",
			     (unsigned long long)got[i].line, got[i].code, want[i].code);
	}
	cr_expect_str_eq(got[0].nom, "LEF\xC3\x88VRE", "decoded to UTF-8");
}
