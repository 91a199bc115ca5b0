/* lib/report_format: the report of SPEC §6 read back and an upload turned
 * into its exact bytes (encodings, BOM, line ends), return codes, names. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_format.h"

#define H REPORT_HEADER
#define BOM REPORT_BOM

Test(report_format, header_is_the_column_titles)
{
	char joined[512] = "";
	for (int i = 0; i < REPORT_COLUMNS; i++) {
		if (i)
			strcat(joined, ";");
		strcat(joined, report_column_titles[i]);
	}
	cr_expect_str_eq(joined, REPORT_HEADER);
}

Test(report_format, names)
{
	static const struct {
		const char *name;
		int ok;
	} cases[] = {
		{ "ML200054781", 1 }, { "_national", 1 }, { "a-b_C9", 1 },
		{ "", 0 }, { ".", 0 }, { "..", 0 }, { "a/b", 0 }, { "a%2f", 0 },
		{ "ML 1", 0 }, { "\xc3\xa9", 0 }, { "a.csv", 0 },
		{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 1 },  /* 63 */
		{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0 }, /* 64 */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(report_name_valid(cases[i].name), cases[i].ok, "'%s'", cases[i].name);
}

Test(report_format, codes)
{
	static const struct {
		const char *s;
		int ok;
		size_t n;
		unsigned c0, c2;
	} cases[] = {
		{ "05", 0, 1, 5, 0 },       { "01", 0, 1, 1, 0 },    { "10", 0, 1, 10, 0 },
		{ "05/05/04", 0, 3, 5, 4 }, { "03/03/05", 0, 3, 3, 5 },
		{ "02/05", 0, 2, 2, 0 },
		{ "5", -1, 0, 0, 0 },       { "00", -1, 0, 0, 0 },   { "11", -1, 0, 0, 0 },
		{ "05/05/05/05", -1, 0, 0, 0 }, { "05-05", -1, 0, 0, 0 }, { "05/", -1, 0, 0, 0 },
		{ "", -1, 0, 0, 0 },        { "5/5/4", -1, 0, 0, 0 }, { "05/02/2005", -1, 0, 0, 0 },
		{ " 05", -1, 0, 0, 0 },     { "0a", -1, 0, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct report_codes c;
		int rc = report_codes_parse(cases[i].s, strlen(cases[i].s), &c);
		cr_expect_eq(rc, cases[i].ok, "'%s'", cases[i].s);
		cr_expect_eq(c.n, cases[i].n, "'%s'", cases[i].s);
		if (rc == 0) {
			cr_expect_eq(c.code[0], cases[i].c0, "'%s'", cases[i].s);
			if (c.n == 3)
				cr_expect_eq(c.code[2], cases[i].c2, "'%s'", cases[i].s);
			for (size_t k = 0; k < c.n; k++)
				cr_expect(c.mask & (1u << c.code[k]), "'%s'", cases[i].s);
		} else {
			cr_expect_eq(c.mask, 0, "'%s'", cases[i].s);
		}
	}
}

Test(report_format, parse_a_report)
{
	static const char data[] = BOM H "\r\n"
		"4100052174;;Garnier;Chlo\xc3\xa9;22/11/2001;75101;05\r\n"
		"\r\n"
		"4100171799;5032518C;Lacroix;Hugo;04/05/2007;94067;03/03/05\r\n";
	struct report r;
	char errstr[128];
	cr_assert_eq(report_parse(data, sizeof(data) - 1, &r, errstr, sizeof(errstr)), 0);
	cr_assert_eq(r.n, 2);
	cr_expect_eq(r.row[0].line, 2);
	cr_expect_str_eq(r.row[0].field[REPORT_COL_SIGMA], "4100052174");
	cr_expect_str_eq(r.row[0].field[REPORT_COL_PE], "");
	cr_expect_str_eq(r.row[0].field[REPORT_COL_PRENOM], "Chlo\xc3\xa9");
	cr_expect_eq(r.row[0].codes.n, 1);
	cr_expect_eq(r.row[1].line, 4, "blank lines are counted, not rows");
	cr_expect_str_eq(r.row[1].field[REPORT_COL_CODES], "03/03/05");
	cr_expect_eq(r.row[1].codes.n, 3);
	cr_expect_eq(r.row[1].codes.mask, (1u << 3) | (1u << 5));
	report_release(&r);
}

Test(report_format, parse_forgives)
{
	/* No BOM, LF, a short row, a long row, bad codes, no final line end. */
	static const char data[] = H "\nA;B\nA;B;C;D;E;F;05;X;Y\nA;B;C;D;E;F;5";
	struct report r;
	char errstr[128];
	cr_assert_eq(report_parse(data, sizeof(data) - 1, &r, errstr, sizeof(errstr)), 0);
	cr_assert_eq(r.n, 3);
	cr_expect_str_eq(r.row[0].field[1], "B");
	cr_expect_str_eq(r.row[0].field[6], "");
	cr_expect_eq(r.row[0].codes.n, 0);
	cr_expect_str_eq(r.row[1].field[6], "05");
	cr_expect_eq(r.row[1].codes.n, 1);
	cr_expect_str_eq(r.row[2].field[6], "5");
	cr_expect_eq(r.row[2].codes.n, 0);
	report_release(&r);

	cr_assert_eq(report_parse("", 0, &r, errstr, sizeof(errstr)), 0);
	cr_expect_eq(r.n, 0);
	report_release(&r);
}

/* The report of SPEC §6 that every form of the upload below must become. */
static const char spec_form[] = BOM H "\r\n"
	"4100042709;7791863N;Girard;Aur\xc3\xa9lien;01/05/2000;94028;09\r\n"
	"4100000001;1234567A;L\xc3\x89" "F\xc3\x88VRE;\xc5\x92" "dipe \xe2\x82\xac;01/02/2003;08249;02/05/04\r\n";

static void expect_normalized(const char *upload, size_t len, int bom, int cp1252, int lf)
{
	size_t out_len = 0;
	struct report_normalized w;
	char errstr[512] = "";
	char *out = report_normalize(upload, len, &out_len, &w, errstr, sizeof(errstr));
	cr_assert_not_null(out, "refused: %s", errstr);
	cr_expect_eq(out_len, sizeof(spec_form) - 1);
	cr_expect(memcmp(out, spec_form, sizeof(spec_form) - 1) == 0, "got '%s'", out);
	cr_expect_eq(w.rows, 2);
	cr_expect_eq(w.had_bom, bom);
	cr_expect_eq(w.windows_1252, cp1252);
	cr_expect_eq(w.lf, lf);
	free(out);
}

Test(report_format, normalize_keeps_the_spec_form)
{
	expect_normalized(spec_form, sizeof(spec_form) - 1, 1, 0, 0);
}

Test(report_format, normalize_windows_1252_no_bom_lf)
{
	/* As Excel saves « CSV (séparateur : point-virgule) », with LF. */
	static const char cp[] = "Identifiant SIGMA;Code P\xf4le Emploi;Nom de naissance;"
		"Pr\xe9nom;Date de naissance;Commune INSEE de r\xe9sidence;Codes retour\n"
		"4100042709;7791863N;Girard;Aur\xe9lien;01/05/2000;94028;09\n"
		"4100000001;1234567A;L\xc9" "F\xc8VRE;\x8c" "dipe \x80;01/02/2003;08249;02/05/04\n";
	expect_normalized(cp, sizeof(cp) - 1, 0, 1, 1);
}

Test(report_format, normalize_crlf_cp1252_with_bom_no_final_eol_blank_lines)
{
	static const char cp[] = BOM "Identifiant SIGMA;Code P\xf4le Emploi;Nom de naissance;"
		"Pr\xe9nom;Date de naissance;Commune INSEE de r\xe9sidence;Codes retour\r\n"
		"\r\n"
		"4100042709;7791863N;Girard;Aur\xe9lien;01/05/2000;94028;09\r\n"
		";;;;;;\r\n"
		"4100000001;1234567A;L\xc9" "F\xc8VRE;\x8c" "dipe \x80;01/02/2003;08249;02/05/04";
	size_t out_len = 0;
	struct report_normalized w;
	char errstr[512] = "";
	char *out = report_normalize(cp, sizeof(cp) - 1, &out_len, &w, errstr, sizeof(errstr));
	cr_assert_not_null(out, "refused: %s", errstr);
	cr_expect_eq(out_len, sizeof(spec_form) - 1);
	cr_expect(memcmp(out, spec_form, out_len) == 0);
	cr_expect_eq(w.blank, 2);
	cr_expect_eq(w.lf, 0);
	free(out);
}

Test(report_format, normalize_drops_the_xlsx_columns)
{
	/* The XLSX of the editions service saved by Excel as « CSV (séparateur :
	 * point-virgule) »: Windows-1252, its two more columns, one of them
	 * empty on a row; they go, the rest is the report of SPEC §6. */
	static const char cp[] = "Identifiant SIGMA;Code P\xf4le Emploi;Nom de naissance;"
		"Pr\xe9nom;Date de naissance;Commune INSEE de r\xe9sidence;Codes retour;"
		"Piste;Semaines en \xe9" "chec\r\n"
		"4100042709;7791863N;Girard;Aur\xe9lien;01/05/2000;94028;09;;1 (depuis le 29/11/2026)\r\n"
		";;;;;;;;\r\n"
		"4100000001;1234567A;L\xc9" "F\xc8VRE;\x8c" "dipe \x80;01/02/2003;08249;02/05/04;"
		"2 dossiers pour ce n\xb0 PE (cotraitance) : D1, D2;3 (depuis le 15/11/2026)\r\n";
	size_t out_len = 0;
	struct report_normalized w;
	char errstr[512] = "";
	char *out = report_normalize(cp, sizeof(cp) - 1, &out_len, &w, errstr, sizeof(errstr));
	cr_assert_not_null(out, "refused: %s", errstr);
	cr_expect_eq(out_len, sizeof(spec_form) - 1);
	cr_expect(memcmp(out, spec_form, sizeof(spec_form) - 1) == 0, "got '%s'", out);
	cr_expect_eq(w.xlsx_columns, 1);
	cr_expect_eq(w.rows, 2);
	cr_expect_eq(w.blank, 1);
	free(out);

	/* The SPEC's own form says nothing of them. */
	out = report_normalize(spec_form, sizeof(spec_form) - 1, &out_len, &w, errstr,
			       sizeof(errstr));
	cr_assert_not_null(out, "refused: %s", errstr);
	cr_expect_eq(w.xlsx_columns, 0);
	free(out);

	/* With that header, every row has the 9 columns. */
	static const char short_row[] = H REPORT_XLSX_EXTRA "\r\n1;;A;B;01/01/2001;75101;05\r\n";
	out = report_normalize(short_row, sizeof(short_row) - 1, &out_len, NULL, errstr,
			       sizeof(errstr));
	cr_expect_null(out);
	free(out);
	cr_expect(strstr(errstr, "la ligne 2 a 7 colonnes au lieu de 9") != NULL, "%s", errstr);
	static const char bad_codes[] = H REPORT_XLSX_EXTRA "\r\n1;;A;B;01/01/2001;75101;5;x;1\r\n";
	out = report_normalize(bad_codes, sizeof(bad_codes) - 1, &out_len, NULL, errstr,
			       sizeof(errstr));
	cr_expect_null(out);
	free(out);
	cr_expect(strstr(errstr, "ligne 2 : \xc2\xab 5 \xc2\xbb") != NULL, "%s", errstr);
}

Test(report_format, normalize_refuses)
{
	static const struct {
		const char *data;
		size_t len; /* 0: strlen */
		const char *why;
	} cases[] = {
		{ "", 0, "le fichier est vide" },
		{ "\r\n\r\n", 0, "le fichier n'a que des lignes vides" },
		{ BOM "Identifiant;Code\r\n", 0, "la ligne 1 n'est pas l'en-t\xc3\xaate" },
		{ BOM H "\r\n1;;A;B;01/01/2001;05\r\n", 0, "la ligne 2 a 6 colonnes au lieu de 7" },
		{ BOM H "\r\n1;;A;B;01/01/2001;75101;05;x\r\n", 0, "la ligne 2 a 8 colonnes" },
		{ BOM H "\n\n1;;A;B;01/01/2001;75101;5\n", 0, "ligne 3 : \xc2\xab 5 \xc2\xbb n'est pas" },
		{ BOM H "\r\n1;;A;B;01/01/2001;75101;05/11\r\n", 0, "ligne 2 : \xc2\xab 05/11 \xc2\xbb" },
		{ BOM H "\r\n1;;A;B;01/01/2001;75101;05/02/2005\r\n", 0, "ligne 2 :" },
		{ BOM H "\r\n1;;A\rB;B;01/01/2001;75101;05\r\n", 0, "la ligne 2 contient un retour chariot" },
		{ BOM H "\r\n1;;A\0;B;01/01/2001;75101;05\r\n", sizeof(BOM H "\r\n1;;A\0;B;01/01/2001;75101;05\r\n") - 1,
		  "la ligne 2 contient un octet nul" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].data);
		size_t out_len = 0;
		char errstr[512] = "";
		char *out = report_normalize(cases[i].data, len, &out_len, NULL, errstr, sizeof(errstr));
		cr_expect_null(out, "case %zu accepted", i);
		free(out);
		cr_expect(strstr(errstr, cases[i].why) != NULL, "case %zu: '%s', want '%s'", i,
			  errstr, cases[i].why);
	}
}

Test(report_format, normalize_header_only)
{
	size_t out_len = 0;
	char errstr[256];
	struct report_normalized w;
	char *out = report_normalize(H "\n", strlen(H "\n"), &out_len, &w, errstr, sizeof(errstr));
	cr_assert_not_null(out, "%s", errstr);
	cr_expect_str_eq(out, BOM H "\r\n");
	cr_expect_eq(w.rows, 0);
	free(out);
}

/* The report of one row that LibreOffice Calc damaged (issue: the CSV
 * opened in Calc, saved back), and the row as the portal wrote it. */
#define ROY_GOOD "4100083214;0615214W;Roy;No\xc3\xa9mie;28/03/1999;08249;05/05/05"

/* report_normalize() of one row under the header: the message when
 * refused, NULL when accepted. */
static const char *normalize_row(const char *row, char *errstr, size_t errstr_size)
{
	char upload[512];
	snprintf(upload, sizeof(upload), BOM H "\r\n%s\r\n", row);
	size_t out_len = 0;
	errstr[0] = '\0';
	char *out = report_normalize(upload, strlen(upload), &out_len, NULL, errstr,
				     errstr_size);
	if (!out)
		return errstr;
	cr_expect_eq(out_len, strlen(upload), "'%s' stored as is", row);
	cr_expect(memcmp(out, upload, out_len) == 0, "'%s' stored as is", row);
	free(out);
	return NULL;
}

Test(report_format, normalize_refuses_what_a_spreadsheet_damaged)
{
	/* A line that passed validation (every code of the look-ups, or 10)
	 * had a real JJ/MM/AAAA birth date and a 5-character INSEE code. */
	static const struct {
		const char *row;
		const char *why; /* NULL: accepted */
	} cases[] = {
		{ ROY_GOOD, NULL },
		{ "4100083214;0615214W;Roy;No\xc3\xa9mie;28/03/1999;8249;05/05/05",
		  "ligne 2 : le code INSEE \xc2\xab 8249 \xc2\xbb n'a pas 5 caract\xc3\xa8res" },
		{ "4100083214;0615214W;Roy;No\xc3\xa9mie;28/03/99;08249;05/05/05",
		  "ligne 2 : la date de naissance \xc2\xab 28/03/99 \xc2\xbb n'est pas une date "
		  "JJ/MM/AAAA" },
		{ "4100083214;0615214W;Roy;No\xc3\xa9mie;1999-03-28;08249;05", "1999-03-28" },
		{ "4100083214;0615214W;Roy;No\xc3\xa9mie;30/02/1999;08249;03/05/05", "30/02/1999" },
		{ "4100083214;0615214W;Roy;No\xc3\xa9mie;;08249;02", "date de naissance \xc2\xab  \xc2\xbb" },
		{ "4100083214;0615214W;Roy;No\xc3\xa9mie;28/03/1999;;04", "code INSEE \xc2\xab  \xc2\xbb" },
		{ "4100083214;0615214W;Roy;No\xc3\xa9mie;28/03/1999;082490;10", "082490" },
		{ "4100083214;;Roy;No\xc3\xa9mie;28/03/1999;2A004;05", NULL },
		{ "4100083214;;Roy;No\xc3\xa9mie;28/03/1999;2a004;05", "2a004" },
		/* 09: rules 07, 06 and 08 passed: both checked. */
		{ "4100083214;;Roy;No\xc3\xa9mie;28/03/1999;8249;09", "8249" },
		/* 06 and 08: rule 07 passed (the date), not 08 (the commune). */
		{ "4100083214;;Roy;No\xc3\xa9mie;28/3/1999;08249;06", "28/3/1999" },
		{ "4100083214;;Roy;No\xc3\xa9mie;28/03/1999;8249;06", NULL },
		{ "4100083214;;Roy;No\xc3\xa9mie;28/03/1999;99999999;08", NULL },
		{ "4100083214;;Roy;No\xc3\xa9mie;28/03/99;;08", "28/03/99" },
		/* 07 and 01: the line failed validation, any value may be there. */
		{ "4100083214;;Roy;No\xc3\xa9mie;31/02/2005;8249;07", NULL },
		{ "4100083214;;Roy;;;;07", NULL },
		{ "4100083214;;Roy;No\xc3\xa9mie;28/03/99;8249;01", NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char errstr[1024];
		const char *got = normalize_row(cases[i].row, errstr, sizeof(errstr));
		if (!cases[i].why) {
			cr_expect_null(got, "case %zu refused: %s", i, got);
			continue;
		}
		cr_assert_not_null(got, "case %zu accepted: %s", i, cases[i].row);
		cr_expect(strstr(got, cases[i].why), "case %zu: '%s', want '%s'", i, got,
			  cases[i].why);
		/* Each says where to start from instead. */
		cr_expect(strstr(got, "T\xc3\xa9l\xc3\xa9" "charger (Excel)"), "case %zu: %s", i, got);
	}
}

Test(report_format, normalize_takes_csv_quoting)
{
	/* LibreOffice Calc's « Mettre entre guillemets toutes les cellules
	 * texte »: every text field quoted, the header's too; an empty cell
	 * is not text, left bare. The same report once unquoted. */
	static const char quoted[] =
		"\"Identifiant SIGMA\";\"Code P\xc3\xb4le Emploi\";\"Nom de naissance\";"
		"\"Pr\xc3\xa9nom\";\"Date de naissance\";\"Commune INSEE de r\xc3\xa9sidence\";"
		"\"Codes retour\"\n"
		"\"4100083214\";\"0615214W\";\"Roy\";\"No\xc3\xa9mie\";\"28/03/1999\";\"08249\";"
		"\"05/05/05\"\n"
		"\"4100083215\";;\"O\"\"Brien\";\"Ana \"\"Lou\"\"\";\"01/01/2001\";\"75101\";\"05\"\n"
		"\"\";\"\";;;;;\n"
		"4100083216;;O\"Neil;\"Jo;01/01/2001;75101;04\n";
	static const char want[] = BOM H "\r\n" ROY_GOOD "\r\n"
		"4100083215;;O\"Brien;Ana \"Lou\";01/01/2001;75101;05\r\n"
		"4100083216;;O\"Neil;\"Jo;01/01/2001;75101;04\r\n";
	size_t out_len = 0;
	struct report_normalized w;
	char errstr[1024] = "";
	char *out = report_normalize(quoted, sizeof(quoted) - 1, &out_len, &w, errstr,
				     sizeof(errstr));
	cr_assert_not_null(out, "refused: %s", errstr);
	cr_expect_str_eq(out, want);
	cr_expect_eq(out_len, sizeof(want) - 1);
	cr_expect_eq(w.quoted, 1);
	cr_expect_eq(w.rows, 3);
	cr_expect_eq(w.blank, 1, "a row of empty quoted fields is blank");
	free(out);

	/* The XLSX's columns too, quoted, then dropped. */
	static const char xlsx[] = "\"Identifiant SIGMA\";\"Code P\xc3\xb4le Emploi\";"
		"\"Nom de naissance\";\"Pr\xc3\xa9nom\";\"Date de naissance\";"
		"\"Commune INSEE de r\xc3\xa9sidence\";\"Codes retour\";\"Piste\";"
		"\"Semaines en \xc3\xa9" "chec\"\r\n"
		"\"4100083214\";\"0615214W\";\"Roy\";\"No\xc3\xa9mie\";\"28/03/1999\";\"08249\";"
		"\"05/05/05\";\"Dossier D1 : date de naissance 27/03/1999 au lieu de "
		"28/03/1999\";\"1 (depuis le 04/12/2026)\"\r\n";
	out = report_normalize(xlsx, sizeof(xlsx) - 1, &out_len, &w, errstr, sizeof(errstr));
	cr_assert_not_null(out, "refused: %s", errstr);
	cr_expect_str_eq(out, BOM H "\r\n" ROY_GOOD "\r\n");
	cr_expect_eq(w.xlsx_columns, 1);
	cr_expect_eq(w.quoted, 1);
	free(out);

	/* A file without quotes says none. */
	out = report_normalize(spec_form, sizeof(spec_form) - 1, &out_len, &w, errstr,
			       sizeof(errstr));
	cr_assert_not_null(out, "refused: %s", errstr);
	cr_expect_eq(w.quoted, 0);
	free(out);

	/* Every other check still holds once unquoted; a quoted ';' is no
	 * field of a report. */
	static const struct {
		const char *row;
		const char *why;
	} refused[] = {
		{ "\"4100083214\";\"0615214W\";\"Roy\";\"No\xc3\xa9mie\";\"28/03/1999\";\"8249\";"
		  "\"05/05/05\"", "code INSEE \xc2\xab 8249 \xc2\xbb" },
		{ "\"4100083214\";\"0615214W\";\"Roy\";\"No\xc3\xa9mie\";\"28/03/1999\";\"08249\";"
		  "\"5\"", "ligne 2 : \xc2\xab 5 \xc2\xbb n'est pas" },
		{ "\"4100083214\";\"0615214W\";\"Roy;Dupont\";\"No\xc3\xa9mie\";\"28/03/1999\";"
		  "\"08249\";\"05\"", "ligne 2 : la colonne 3, entre guillemets, contient un "
		  "\xc2\xab ; \xc2\xbb" },
		{ "\"4100083214\";\"0615214W\";\"Roy\";\"28/03/1999\";\"08249\";\"05\"",
		  "la ligne 2 a 6 colonnes au lieu de 7" },
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		const char *got = normalize_row(refused[i].row, errstr, sizeof(errstr));
		cr_assert_not_null(got, "case %zu accepted", i);
		cr_expect(strstr(got, refused[i].why), "case %zu: '%s', want '%s'", i, got,
			  refused[i].why);
	}
}
