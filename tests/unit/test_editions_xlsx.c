/* editions/xlsx: the workbook opened back (its zip read with zlib): every
 * cell a string (inline or shared), never a number, "05", "08249" and
 * "05/02/05" as written; the header bold and frozen, an autofilter, the
 * columns' widths and text format, control characters made harmless. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../../editions/xlsx.h"

/* --- a minimal zip reader: the central directory, stored or deflated ----- */

static uint32_t le32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* The member name of the zip (data, len), NUL-terminated (free() it), or NULL. */
static char *zip_member(const char *data, size_t len, const char *name)
{
	const unsigned char *z = (const unsigned char *)data;
	size_t eocd = len >= 22 ? len - 22 : 0;
	while (eocd > 0 && le32(z + eocd) != 0x06054b50)
		eocd--;
	cr_assert_eq(le32(z + eocd), 0x06054b50, "no end of central directory");
	size_t entries = le16(z + eocd + 10), pos = le32(z + eocd + 16);
	for (size_t i = 0; i < entries; i++) {
		cr_assert_eq(le32(z + pos), 0x02014b50, "bad central directory entry");
		unsigned method = le16(z + pos + 10);
		size_t csize = le32(z + pos + 20), usize = le32(z + pos + 24);
		size_t nlen = le16(z + pos + 28), xlen = le16(z + pos + 30), clen = le16(z + pos + 32);
		size_t local = le32(z + pos + 42);
		int match = nlen == strlen(name) && memcmp(z + pos + 46, name, nlen) == 0;
		pos += 46 + nlen + xlen + clen;
		if (!match)
			continue;
		const unsigned char *d = z + local + 30 + le16(z + local + 26) + le16(z + local + 28);
		char *out = malloc(usize + 1);
		cr_assert_not_null(out);
		if (method == 0) {
			memcpy(out, d, usize);
		} else {
			cr_assert_eq(method, 8, "compression method %u", method);
			z_stream s;
			memset(&s, 0, sizeof(s));
			cr_assert_eq(inflateInit2(&s, -15), Z_OK);
			s.next_in = (unsigned char *)d;
			s.avail_in = (unsigned)csize;
			s.next_out = (unsigned char *)out;
			s.avail_out = (unsigned)usize;
			cr_assert_eq(inflate(&s, Z_FINISH), Z_STREAM_END);
			inflateEnd(&s);
		}
		out[usize] = '\0';
		return out;
	}
	return NULL;
}

/* --- the table written ------------------------------------------------------ */

static const char *const titles[4] = { "Code", "Commune INSEE", "Date", "Nom" };
static const char *const cells[3][4] = {
	{ "05", "08249", "05/02/05", "LÉFÈVRE" },
	{ "05/05/04", "2A004", "", "Œdipe & <Cie>" },
	{ "10", "00100", "01/01/2001", "a\x01" "b" },
};

static const char *cell(void *arg, size_t row, size_t col)
{
	(void)arg;
	return cells[row][col];
}

/* The count of non-overlapping occurrences of needle in hay. */
static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

Test(editions_xlsx, every_cell_is_text)
{
	struct xlsx_table t = { "Rapport", titles, 4, 3, cell, NULL };
	size_t len = 0;
	char errstr[256];
	char *x = xlsx_build(&t, 1, &len, errstr, sizeof(errstr));
	cr_assert_not_null(x, "%s", errstr);
	cr_assert_gt(len, 100);
	cr_expect_eq(memcmp(x, "PK\x03\x04", 4), 0, "a zip file");
	char *sheet = zip_member(x, len, "xl/worksheets/sheet1.xml");
	cr_assert_not_null(sheet, "no sheet1.xml");
	/* 4 titles + 11 non-empty cells, each an inline string; 1 blank cell. */
	cr_expect_eq(count(sheet, "<c "), 16, "%s", sheet);
	cr_expect_eq(count(sheet, "t=\"inlineStr\""), 15, "%s", sheet);
	cr_expect_eq(count(sheet, "<v>"), 0, "no numeric value: %s", sheet);
	cr_expect(strstr(sheet, "<t>05</t>"), "05 as written");
	cr_expect(strstr(sheet, "<t>08249</t>"), "the INSEE code keeps its 0");
	cr_expect(strstr(sheet, "<t>05/02/05</t>"), "not a date");
	cr_expect(strstr(sheet, "<t>05/05/04</t>"));
	cr_expect(strstr(sheet, "<t>2A004</t>"));
	cr_expect(strstr(sheet, "<t>LÉFÈVRE</t>"));
	cr_expect(strstr(sheet, "<t>Œdipe &amp; &lt;Cie&gt;</t>"));
	cr_expect(strstr(sheet, "<t>a\xEF\xBF\xBD" "b</t>"), "a control character replaced");
	cr_expect(strstr(sheet, "<pane ySplit=\"1\" topLeftCell=\"A2\" activePane=\"bottomLeft\" "
			 "state=\"frozen\"/>"), "header frozen: %s", sheet);
	cr_expect(strstr(sheet, "<autoFilter ref=\"A1:D4\"/>"), "autofilter: %s", sheet);
	cr_expect_eq(count(sheet, "<col "), 4, "a width per column");
	free(sheet);

	char *styles = zip_member(x, len, "xl/styles.xml");
	cr_assert_not_null(styles);
	cr_expect(strstr(styles, "formatCode=\"@\""), "the text format: %s", styles);
	cr_expect(strstr(styles, "<b/>"), "a bold font for the header");
	free(styles);
	char *book = zip_member(x, len, "xl/workbook.xml");
	cr_assert_not_null(book);
	cr_expect(strstr(book, "name=\"Rapport\""));
	cr_expect(strstr(book, "_xlnm._FilterDatabase"), "the autofilter's name");
	free(book);
	free(x);
}

Test(editions_xlsx, two_sheets_and_an_empty_table)
{
	struct xlsx_table t[2] = {
		{ "Vide", titles, 4, 0, cell, NULL },
		{ "Codes retour", titles, 4, 1, cell, NULL },
	};
	size_t len = 0;
	char errstr[256];
	char *x = xlsx_build(t, 2, &len, errstr, sizeof(errstr));
	cr_assert_not_null(x, "%s", errstr);
	char *s1 = zip_member(x, len, "xl/worksheets/sheet1.xml");
	char *s2 = zip_member(x, len, "xl/worksheets/sheet2.xml");
	cr_assert(s1 && s2);
	cr_expect_eq(count(s1, "t=\"inlineStr\""), 4, "the titles alone");
	cr_expect(strstr(s1, "<autoFilter ref=\"A1:D1\"/>"));
	cr_expect_eq(count(s2, "t=\"inlineStr\""), 8);
	free(s1);
	free(s2);
	free(x);
}

Test(editions_xlsx, widths_follow_the_contents)
{
	static const char *const one[1] = { "x" };
	struct xlsx_table t = { "W", one, 1, 3, cell, NULL };
	size_t len = 0;
	char errstr[256];
	char *x = xlsx_build(&t, 1, &len, errstr, sizeof(errstr));
	cr_assert_not_null(x, "%s", errstr);
	char *sheet = zip_member(x, len, "xl/worksheets/sheet1.xml");
	cr_assert_not_null(sheet);
	/* The longest cell is "05/05/04" (8 characters): 10 wide (+2), above
	 * the minimum of 8; libxlsxwriter writes the width it is given plus
	 * its padding. */
	cr_expect(strstr(sheet, "<col min=\"1\" max=\"1\" width=\"10.7"), "%s", sheet);
	free(sheet);
	free(x);
}

Test(editions_xlsx, a_column_that_wraps)
{
	static const unsigned char wrap[4] = { 0, 0, 0, 1 };
	struct xlsx_table t = { "Rapport", titles, 4, 3, cell, NULL, wrap };
	size_t len = 0;
	char errstr[256];
	char *x = xlsx_build(&t, 1, &len, errstr, sizeof(errstr));
	cr_assert_not_null(x, "%s", errstr);
	char *styles = zip_member(x, len, "xl/styles.xml");
	char *sheet = zip_member(x, len, "xl/worksheets/sheet1.xml");
	cr_assert(styles && sheet);
	/* One more cell format: text, wrapped, at the top; the last column's
	 * cells and the column itself have it, the others the plain text one. */
	cr_expect(strstr(styles, "wrapText=\"1\""), "%s", styles);
	const char *xf = strstr(styles, "<cellXfs");
	const char *w = xf ? strstr(xf, "wrapText=\"1\"") : NULL;
	cr_assert(xf && w, "no wrapped cell format: %s", styles);
	/* Its index: the cell formats that start before it, less one. */
	size_t wrapped = 0;
	for (const char *p = strstr(xf, "<xf "); p && p < w; p = strstr(p + 1, "<xf "))
		wrapped++;
	cr_assert_gt(wrapped, 1, "%s", styles);
	wrapped--;
	char want[64];
	snprintf(want, sizeof(want), "<c r=\"D2\" s=\"%zu\" t=\"inlineStr\"", wrapped);
	cr_expect(strstr(sheet, want), "%s not in %s", want, sheet);
	snprintf(want, sizeof(want), "<c r=\"C2\" s=\"%zu\"", wrapped);
	cr_expect_null(strstr(sheet, want), "C2 wraps: %s", sheet);
	free(styles);
	free(sheet);
	free(x);
}

Test(editions_xlsx, a_tmpdir_that_cannot_be_written)
{
	setenv("TMPDIR", "/nonexistent", 1);
	struct xlsx_table t = { "Rapport", titles, 4, 3, cell, NULL };
	size_t len = 0;
	char errstr[256] = "";
	char *x = xlsx_build(&t, 1, &len, errstr, sizeof(errstr));
	unsetenv("TMPDIR");
	cr_expect_null(x);
	cr_expect(strstr(errstr, "cannot create a file in '/nonexistent'"), "%s", errstr);
}

/* The ht="..." of row r of the sheet, or -1 when the row has none. */
static double row_height(const char *sheet, unsigned r)
{
	char want[32];
	snprintf(want, sizeof(want), "<row r=\"%u\"", r);
	const char *row = strstr(sheet, want);
	cr_assert_not_null(row, "no row %u: %s", r, sheet);
	const char *end = strchr(row, '>');
	const char *ht = strstr(row, " ht=\"");
	if (!ht || ht > end)
		return -1;
	return strtod(ht + 5, NULL);
}

static const char *const long_cells[5][2] = {
	{ "05", "Dossier 10005206 : date de naissance 12/03/2005 au lieu de 13/03/2005" },
	{ "05/05/05", "court" },
	{ "03", "un\ndeux\ntrois" },
	{ "04", "" },
	{ "02", "2 dossiers ont ce n° PE en cotraitance : D0000146 (ML248500530), "
		"D0000147 (ML249100157) · 2 dossiers ont ces nom, prénom et date de "
		"naissance : D0000148 (ML200083392), D0000149 (ML242900744)" },
};

static const char *long_cell(void *arg, size_t row, size_t col)
{
	(void)arg;
	return long_cells[row][col];
}

Test(editions_xlsx, wrapped_rows_are_as_high_as_their_lines)
{
	/* LibreOffice Calc 7.4 does not grow a row to its wrapped text when it
	 * opens a file: each row says its height, 15 points a line. */
	static const char *const two[2] = { "Code", "Piste" };
	static const unsigned char wrap[2] = { 0, 1 };
	struct xlsx_table t = { "Rapport", two, 2, 5, long_cell, NULL, wrap };
	size_t len = 0;
	char errstr[256];
	char *x = xlsx_build(&t, 1, &len, errstr, sizeof(errstr));
	cr_assert_not_null(x, "%s", errstr);
	char *sheet = zip_member(x, len, "xl/worksheets/sheet1.xml");
	cr_assert_not_null(sheet);
	/* The column is 60 wide (the most); 58 characters a line. */
	cr_expect(strstr(sheet, "<col min=\"2\" max=\"2\" width=\"60.7"), "%s", sheet);
	cr_expect_eq(row_height(sheet, 1), -1, "the header: one line");
	/* 70 characters: 2 lines, words kept whole. */
	cr_expect_float_eq(row_height(sheet, 2), 30, 1e-9, "%s", sheet);
	cr_expect_eq(row_height(sheet, 3), -1, "one line: the default height");
	/* Line ends start lines, and stay in the cell. */
	cr_expect_float_eq(row_height(sheet, 4), 45, 1e-9, "%s", sheet);
	cr_expect(strstr(sheet, "<t>un\ndeux\ntrois</t>"), "%s", sheet);
	cr_expect_eq(row_height(sheet, 5), -1, "an empty cell");
	/* 190 characters in words: 4 lines of at most 58. */
	cr_expect_float_eq(row_height(sheet, 6), 60, 1e-9, "%s", sheet);
	free(sheet);
	free(x);

	/* A table without wrapping columns: no row has a height. */
	struct xlsx_table plain = { "Rapport", two, 2, 5, long_cell, NULL, NULL };
	x = xlsx_build(&plain, 1, &len, errstr, sizeof(errstr));
	cr_assert_not_null(x, "%s", errstr);
	sheet = zip_member(x, len, "xl/worksheets/sheet1.xml");
	cr_assert_not_null(sheet);
	cr_expect_null(strstr(sheet, " ht=\""), "%s", sheet);
	free(sheet);
	free(x);
}

static const char *word_cell(void *arg, size_t row, size_t col)
{
	(void)row;
	(void)col;
	return arg;
}

Test(editions_xlsx, a_word_longer_than_the_column_is_cut)
{
	static const char *const one[1] = { "Piste" };
	static const unsigned char wrap[1] = { 1 };
	/* 150 characters without a space, 60 wide: 3 lines of at most 58. */
	char word[151];
	memset(word, 'A', 150);
	word[150] = '\0';
	struct xlsx_table t = { "W", one, 1, 1, word_cell, word, wrap };
	size_t len = 0;
	char errstr[256];
	char *x = xlsx_build(&t, 1, &len, errstr, sizeof(errstr));
	cr_assert_not_null(x, "%s", errstr);
	char *sheet = zip_member(x, len, "xl/worksheets/sheet1.xml");
	cr_assert_not_null(sheet);
	cr_expect_float_eq(row_height(sheet, 2), 45, 1e-9, "%s", sheet);
	free(sheet);
	free(x);
}
