#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "array.h"
#include "report.h"
#include "route.h"

/* The rows of one report: indexes into the collect's failed lines. */
struct report_rows {
	const char *ml_code;
	size_t *idx;
	size_t n, cap;
	UT_hash_handle hh;
};

int report_close(FILE *f, const char *path, char *errstr, size_t errstr_size)
{
	/* No fsync per file: publish_commit() syncs the staging folder's
	 * filesystem once, before anything is renamed into place. */
	int failed = fflush(f) != 0 || ferror(f);
	int err = errno;
	if (fclose(f) != 0 && !failed) {
		failed = 1;
		err = errno;
	}
	if (failed) {
		snprintf(errstr, errstr_size, "cannot write '%s': %s", path,
			 strerror(err ? err : EIO));
		return -1;
	}
	return 0;
}

static int report_rows_add(struct report_rows **table, const char *ml_code,
			   size_t idx)
{
	struct report_rows *rows = NULL;
	HASH_FIND_STR(*table, ml_code, rows);
	if (!rows) {
		rows = calloc(1, sizeof(*rows));
		if (!rows)
			return -1;
		rows->ml_code = ml_code;
		HASH_ADD_KEYPTR(hh, *table, rows->ml_code, strlen(rows->ml_code), rows);
	}
	size_t *idx_arr = array_grow(rows->idx, &rows->cap, rows->n + 1, sizeof(*idx_arr), 16);
	if (!idx_arr)
		return -1;
	rows->idx = idx_arr;
	rows->idx[rows->n++] = idx;
	return 0;
}

static int report_rows_cmp(struct report_rows *a, struct report_rows *b)
{
	return strcmp(a->ml_code, b->ml_code);
}

static void report_rows_free(struct report_rows **table)
{
	struct report_rows *rows, *tmp;
	HASH_ITER(hh, *table, rows, tmp) {
		HASH_DEL(*table, rows);
		free(rows->idx);
		free(rows);
	}
}

int report_name_ok(const char *ml_code)
{
	return *ml_code && ml_code[0] != '.' && !strchr(ml_code, '/');
}

static int report_write_one(const char *dir, const struct collect *c,
			    const struct report_rows *rows,
			    char *errstr, size_t errstr_size)
{
	if (!report_name_ok(rows->ml_code)) {
		snprintf(errstr, errstr_size,
			 "ml code '%s' cannot be a report file name", rows->ml_code);
		return -1;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.csv", dir, rows->ml_code);
	FILE *f = fopen(path, "wb");
	if (!f) {
		snprintf(errstr, errstr_size, "cannot create '%s': %s", path,
			 strerror(errno));
		return -1;
	}
	/* UTF-8 BOM and CRLF: a French spreadsheet opens it as is. */
	fputs("\xef\xbb\xbf" REPORT_HEADER "\r\n", f);
	for (size_t i = 0; i < rows->n; i++) {
		const struct collect_failed *fl = &c->failed[rows->idx[i]];
		for (int col = 0; col < COL_COUNT; col++) {
			fputs(collect_failed_col(c, fl, (enum collect_col)col), f);
			fputs(col + 1 < COL_COUNT ? ";" : "\r\n", f);
		}
	}
	return report_close(f, path, errstr, errstr_size);
}

int report_write_all(const char *dir, const struct collect *c,
		     const struct referential *ref, struct report_count **counts,
		     size_t *n_counts, char *errstr, size_t errstr_size)
{
	struct report_rows *table = NULL;
	struct route route = { 0 };
	int rc = -1;
	*counts = NULL;
	*n_counts = 0;

	for (size_t i = 0; i < c->n_failed; i++) {
		const struct collect_failed *fl = &c->failed[i];
		if (route_line(&route, ref, collect_failed_col(c, fl, COL_INSEE),
			       fl->code_mask))
			goto oom;
		for (size_t k = 0; k < route.n; k++)
			if (report_rows_add(&table, route.mls[k], i))
				goto oom;
	}
	HASH_SORT(table, report_rows_cmp);

	size_t n = HASH_COUNT(table);
	*counts = calloc(n ? n : 1, sizeof(**counts));
	if (!*counts)
		goto oom;
	for (struct report_rows *rows = table; rows; rows = rows->hh.next) {
		if (report_write_one(dir, c, rows, errstr, errstr_size))
			goto out;
		(*counts)[*n_counts].ml_code = rows->ml_code;
		(*counts)[*n_counts].rows = rows->n;
		(*n_counts)++;
	}
	rc = 0;
	goto out;
oom:
	snprintf(errstr, errstr_size, "out of memory routing the failed lines");
out:
	if (rc) {
		free(*counts);
		*counts = NULL;
		*n_counts = 0;
	}
	route_release(&route);
	report_rows_free(&table);
	return rc;
}

void report_integrated_row(FILE *f, const struct collect_integrated *in)
{
	/* A million rows a week: no format string to parse. */
	char num[24];
	fwrite(num, 1, report_u64(num, in->line), f);
	fputc(';', f);
	fputs(in->dossier, f);
	fputc(';', f);
	fputc('0' + (int)(in->step % 10), f);
	fputc('\n', f);
}

size_t report_u64(char out[24], uint64_t v)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}
