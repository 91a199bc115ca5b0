#include "xlsx.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xlsxwriter.h>

#define XLSX_WIDTH_MIN 8
#define XLSX_WIDTH_MAX 60
#define XLSX_ROWS_MAX  1048575 /* a sheet's rows, the header aside */
#define XLSX_LINE_PT   15.0    /* the height of a line of text (the default row's) */
#define XLSX_LINES_MAX 27      /* a row at most 409 points high (Excel's limit) */

/* Characters of the UTF-8 s (its bytes that do not continue one). */
static size_t xlsx_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* The lines the UTF-8 s takes in a wrapped cell width characters wide:
 * each line end starts a line, and words go to the next line when they do
 * not fit (a word longer than a line is cut), as a spreadsheet wraps them.
 * Counts in characters of the width of '0' (the column width's unit) less
 * a margin, so that it errs on more lines, never on fewer: a cut text is
 * lost, a spare line is not. At least 1, at most XLSX_LINES_MAX. */
static size_t xlsx_lines(const char *s, double width)
{
	size_t room = width > 4 ? (size_t)width - 2 : 2;
	size_t lines = 1, used = 0;
	while (*s && lines < XLSX_LINES_MAX) {
		if (*s == '\n') {
			lines++;
			used = 0;
			s++;
			continue;
		}
		if (*s == ' ') {
			used += used > 0; /* a space at the start of a line is not drawn */
			s++;
			continue;
		}
		size_t word = 0;
		const char *w = s;
		for (; *w && *w != ' ' && *w != '\n'; w++)
			word += ((unsigned char)*w & 0xC0) != 0x80;
		if (used > 0 && used + word > room) {
			lines++;
			used = 0;
		}
		while (word > room) { /* cut */
			lines++;
			word -= room;
		}
		used += word;
		s = w;
	}
	return lines < XLSX_LINES_MAX ? lines : XLSX_LINES_MAX;
}

/* s, or a copy in *scratch (realloc'ed; free() it) with each control
 * character but the tab and the line end as U+FFFD: XML cannot hold them. */
static const char *xlsx_clean(const char *s, char **scratch, size_t *cap)
{
	size_t bad = 0, n = 0;
	for (; s[n]; n++)
		bad += (unsigned char)s[n] < 0x20 && s[n] != '\t' && s[n] != '\n';
	if (!bad)
		return s;
	size_t need = n + 2 * bad + 1;
	if (need > *cap) {
		char *grown = realloc(*scratch, need);
		if (!grown)
			return "";
		*scratch = grown;
		*cap = need;
	}
	char *w = *scratch;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t' && s[i] != '\n') {
			memcpy(w, "\xEF\xBF\xBD", 3);
			w += 3;
		} else {
			*w++ = s[i];
		}
	}
	*w = '\0';
	return *scratch;
}

static int xlsx_sheet(lxw_workbook *wb, const struct xlsx_table *t,
		      lxw_format *text, lxw_format *text_wrap, lxw_format *head, char **scratch,
		      size_t *scratch_cap, char *errstr, size_t errstr_size)
{
	if (t->nrows > XLSX_ROWS_MAX) {
		snprintf(errstr, errstr_size, "%zu rows do not fit in a sheet", t->nrows);
		return -1;
	}
	lxw_worksheet *ws = workbook_add_worksheet(wb, t->name);
	if (!ws) {
		snprintf(errstr, errstr_size, "cannot add the sheet '%s'", t->name);
		return -1;
	}
	/* Each wrapping column's width, for its rows' heights. */
	double *wrap_width = t->wrap ? calloc(t->ncols ? t->ncols : 1, sizeof(double)) : NULL;
	if (t->wrap && !wrap_width) {
		snprintf(errstr, errstr_size, "out of memory writing the sheet '%s'", t->name);
		return -1;
	}
	/* constant_memory: column settings first, then the rows in order. */
	for (size_t col = 0; col < t->ncols; col++) {
		size_t w = xlsx_chars(t->titles[col]);
		for (size_t row = 0; row < t->nrows; row++) {
			const char *s = t->cell(t->arg, row, col);
			size_t n = s ? xlsx_chars(s) : 0;
			if (n > w)
				w = n;
		}
		double width = (double)(w + 2);
		if (width < XLSX_WIDTH_MIN)
			width = XLSX_WIDTH_MIN;
		if (width > XLSX_WIDTH_MAX)
			width = XLSX_WIDTH_MAX;
		worksheet_set_column(ws, (lxw_col_t)col, (lxw_col_t)col, width,
				     t->wrap && t->wrap[col] ? text_wrap : text);
		if (t->wrap && t->wrap[col])
			wrap_width[col] = width;
	}
	lxw_error err = LXW_NO_ERROR;
	for (size_t col = 0; col < t->ncols && !err; col++)
		err = worksheet_write_string(ws, 0, (lxw_col_t)col, t->titles[col], head);
	for (size_t row = 0; row < t->nrows && !err; row++) {
		/* A spreadsheet may not grow a row to its wrapped text when it
		 * opens the file (LibreOffice Calc does not): the row's height,
		 * set before its cells, says how many lines its text takes. */
		size_t lines = 1;
		for (size_t col = 0; t->wrap && col < t->ncols; col++) {
			const char *s = t->wrap[col] ? t->cell(t->arg, row, col) : NULL;
			size_t n = s && *s ? xlsx_lines(s, wrap_width[col]) : 1;
			if (n > lines)
				lines = n;
		}
		if (lines > 1)
			err = worksheet_set_row(ws, (lxw_row_t)(row + 1),
						XLSX_LINE_PT * (double)lines, NULL);
		for (size_t col = 0; col < t->ncols && !err; col++) {
			const char *s = t->cell(t->arg, row, col);
			lxw_format *f = t->wrap && t->wrap[col] ? text_wrap : text;
			if (s && *s)
				err = worksheet_write_string(ws, (lxw_row_t)(row + 1), (lxw_col_t)col,
							     xlsx_clean(s, scratch, scratch_cap), f);
			else
				err = worksheet_write_blank(ws, (lxw_row_t)(row + 1), (lxw_col_t)col,
							    f);
		}
	}
	if (!err)
		worksheet_freeze_panes(ws, 1, 0);
	if (!err && t->ncols)
		err = worksheet_autofilter(ws, 0, 0, (lxw_row_t)t->nrows,
					   (lxw_col_t)(t->ncols - 1));
	free(wrap_width);
	if (err) {
		snprintf(errstr, errstr_size, "cannot write the sheet '%s': %s", t->name,
			 lxw_strerror(err));
		return -1;
	}
	return 0;
}

/* Reads the file path whole. NULL with errstr on a failure. */
static char *xlsx_slurp(const char *path, size_t *len, char *errstr, size_t errstr_size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(errstr, errstr_size, "cannot read '%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	size_t size = (size_t)st.st_size, got = 0;
	char *buf = malloc(size ? size : 1);
	if (!buf) {
		close(fd);
		snprintf(errstr, errstr_size, "out of memory reading '%s'", path);
		return NULL;
	}
	while (got < size) {
		ssize_t r = read(fd, buf + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(errstr, errstr_size, "cannot read '%s': %s", path,
				 r < 0 ? strerror(errno) : "shorter than it was");
			free(buf);
			close(fd);
			return NULL;
		}
		got += (size_t)r;
	}
	close(fd);
	*len = size;
	return buf;
}

char *xlsx_build(const struct xlsx_table *tables, size_t n, size_t *len,
		 char *errstr, size_t errstr_size)
{
	const char *tmpdir = getenv("TMPDIR");
	if (!tmpdir || !*tmpdir)
		tmpdir = "/tmp";
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/aij-editions-XXXXXX", tmpdir) >= (int)sizeof(path)) {
		snprintf(errstr, errstr_size, "TMPDIR '%s' is too long", tmpdir);
		return NULL;
	}
	int fd = mkstemp(path);
	if (fd < 0) {
		snprintf(errstr, errstr_size, "cannot create a file in '%s': %s", tmpdir,
			 strerror(errno));
		return NULL;
	}
	close(fd);
	char tmpdir_copy[4096];
	snprintf(tmpdir_copy, sizeof(tmpdir_copy), "%s", tmpdir);
	lxw_workbook_options opts = { .constant_memory = LXW_TRUE, .tmpdir = tmpdir_copy };
	lxw_workbook *wb = workbook_new_opt(path, &opts);
	char *out = NULL;
	char *scratch = NULL;
	size_t scratch_cap = 0;
	if (!wb) {
		snprintf(errstr, errstr_size, "cannot start a workbook in '%s'", path);
		goto done;
	}
	lxw_format *text = workbook_add_format(wb);
	lxw_format *text_wrap = workbook_add_format(wb);
	lxw_format *head = workbook_add_format(wb);
	format_set_num_format(text, "@");
	format_set_num_format(text_wrap, "@");
	format_set_text_wrap(text_wrap);
	format_set_align(text_wrap, LXW_ALIGN_VERTICAL_TOP);
	format_set_num_format(head, "@");
	format_set_bold(head);
	format_set_bottom(head, LXW_BORDER_THIN);
	int failed = 0;
	for (size_t i = 0; i < n && !failed; i++)
		failed = xlsx_sheet(wb, &tables[i], text, text_wrap, head, &scratch,
				    &scratch_cap, errstr, errstr_size) < 0;
	lxw_error err = workbook_close(wb);
	if (!failed && err) {
		snprintf(errstr, errstr_size, "cannot write the workbook '%s': %s", path,
			 lxw_strerror(err));
		failed = 1;
	}
	if (!failed)
		out = xlsx_slurp(path, len, errstr, errstr_size);
done:
	free(scratch);
	unlink(path);
	return out;
}
