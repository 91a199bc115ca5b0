/* Spreadsheets for download (libxlsxwriter): tables whose every cell is
 * text, so that a spreadsheet keeps "05", the INSEE code "08249", numéros
 * PE and dates as they are written (a CSV opened in a French spreadsheet
 * turns them into numbers and dates). Each table is a sheet: its header row
 * bold and frozen, an autofilter over it, column widths from the contents,
 * and the columns' default format text, so that what a user types in stays
 * text too. */
#ifndef AIJ_EDITIONS_XLSX_H
#define AIJ_EDITIONS_XLSX_H

#include <stddef.h>

struct xlsx_table {
	const char *name;          /* the sheet's name, at most 31 characters */
	const char *const *titles; /* the ncols column titles */
	size_t ncols, nrows;
	/* The text of the cell at row (0..nrows-1, under the titles) and col,
	 * UTF-8; NULL or "" for an empty cell. */
	const char *(*cell)(void *arg, size_t row, size_t col);
	void *arg;
	/* NULL, or ncols flags: a column whose flag is set wraps its text in
	 * its width (long sentences, read in the cell), and each row is made
	 * as high as the lines its wrapped text takes (words wrapped in the
	 * column's width, each line end a line, 15 points a line): a
	 * spreadsheet such as LibreOffice Calc does not grow rows when it
	 * opens the file, and would cut the text. */
	const unsigned char *wrap;
};

/* The workbook of the n tables, in order, as the bytes of an .xlsx file
 * (malloc'ed, free() it) with *len; NULL with errstr on a failure. Built in
 * a temporary file of $TMPDIR (or /tmp), row by row (libxlsxwriter's
 * constant_memory mode: inline strings), then read back and removed. */
char *xlsx_build(const struct xlsx_table *tables, size_t n, size_t *len,
		 char *errstr, size_t errstr_size);

#endif
