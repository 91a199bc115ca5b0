#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "array.h"
#include "fmt.h"
#include "evidence.h"
#include "rejections.h"
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

static int report_write_one(const char *dir, const struct collect *c,
			    const struct report_rows *rows,
			    char *errstr, size_t errstr_size)
{
	if (!report_name_valid(rows->ml_code) && strcmp(rows->ml_code, ROUTE_NATIONAL) != 0) {
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
	fputs(REPORT_BOM REPORT_HEADER REPORT_EOL, f);
	for (size_t i = 0; i < rows->n; i++) {
		const struct collect_failed *fl = &c->failed[rows->idx[i]];
		for (int col = 0; col < COL_COUNT; col++) {
			fputs(collect_failed_col(c, fl, (enum collect_col)col), f);
			fputs(col + 1 < COL_COUNT ? ";" : REPORT_EOL, f);
		}
	}
	return report_close(f, path, errstr, errstr_size);
}

/* Writes s as a JSON string, escaped as Python's json.dumps() with
 * ensure_ascii=False does; an invalid UTF-8 byte becomes U+FFFD (the
 * export's dossier ids and ML codes are not checked). */
static void report_json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	putc('"', f);
	while (*p) {
		unsigned char b = *p;
		if (b == '"' || b == '\\') {
			putc('\\', f);
			putc(b, f);
			p++;
			continue;
		}
		if (b < 0x20) {
			static const char short_esc[] = "btnvfr"; /* 8..13 but 11 */
			if (b >= 8 && b <= 13 && b != 11)
				fprintf(f, "\\%c", short_esc[b - 8]);
			else
				fprintf(f, "\\u%04x", b);
			p++;
			continue;
		}
		if (b < 0x80) {
			putc(b, f);
			p++;
			continue;
		}
		/* A well-formed sequence (no overlong form, no surrogate, at most
		 * U+10FFFF) is copied; anything else is one U+FFFD a byte. */
		size_t len = b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 :
			     b >= 0xF0 && b <= 0xF4 ? 4 : 0;
		int ok = len > 0;
		for (size_t k = 1; ok && k < len; k++)
			ok = (p[k] & 0xC0) == 0x80;
		if (ok && len == 3)
			ok = !(b == 0xE0 && p[1] < 0xA0) && !(b == 0xED && p[1] > 0x9F);
		if (ok && len == 4)
			ok = !(b == 0xF0 && p[1] < 0x90) && !(b == 0xF4 && p[1] > 0x8F);
		if (!ok) {
			fputs("\xef\xbf\xbd", f);
			p++;
			continue;
		}
		fwrite(p, 1, len, f);
		p += len;
	}
	putc('"', f);
}

int report_evidence_write(const char *path, const struct collect *c, const size_t *idx,
			  size_t n, const struct rejections_line *weeks,
			  char *errstr, size_t errstr_size)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		snprintf(errstr, errstr_size, "cannot create '%s': %s", path,
			 strerror(errno));
		return -1;
	}
	fputs(n ? "{\n  \"rows\": [\n" : "{\n  \"rows\": [],\n", f);
	for (size_t i = 0; i < n; i++) {
		const struct collect_failed *fl = &c->failed[idx[i]];
		fputs("    {\n      \"codes\": ", f);
		report_json_string(f, collect_failed_col(c, fl, COL_CODES));
		fputs(fl->n_evidence ? ",\n      \"evidence\": [\n" : ",\n      \"evidence\": [],\n", f);
		for (uint32_t k = 0; k < fl->n_evidence; k++) {
			struct collect_candidate e;
			collect_failed_evidence(c, fl, k, &e);
			fprintf(f, "        {\n          \"code\": \"%02u\",\n", e.code);
			const char *field = evidence_field_name(e.differs);
			if (field)
				fprintf(f, "          \"differs\": [\n            \"%s\"\n          ],\n",
					field);
			else
				fputs("          \"differs\": [],\n", f);
			fputs("          \"dossier_id\": ", f);
			report_json_string(f, e.dossier_id);
			fputs(",\n          \"ml_code\": ", f);
			report_json_string(f, e.ml_code);
			fprintf(f, ",\n          \"step\": %u,\n          \"value\": ", e.step);
			report_json_string(f, e.value);
			fputs(k + 1 < fl->n_evidence ? "\n        },\n" : "\n        }\n      ],\n", f);
		}
		fputs("      \"first_rejected\": ", f);
		report_json_string(f, weeks[idx[i]].first);
		fprintf(f, ",\n      \"line\": %llu,\n      \"weeks_rejected\": %u\n    }%s\n",
			(unsigned long long)fl->line, (unsigned)weeks[idx[i]].weeks,
			i + 1 < n ? "," : "");
	}
	fputs(n ? "  ],\n  \"run_id\": " : "  \"run_id\": ", f);
	report_json_string(f, c->run_id);
	fputs("\n}\n", f);
	return report_close(f, path, errstr, errstr_size);
}

int report_write_all(const char *dir, const char *evidence_dir, const struct collect *c,
		     const struct referential *ref, const struct rejections_line *weeks,
		     struct report_count **counts, size_t *n_counts,
		     char *errstr, size_t errstr_size)
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
		if (evidence_dir) {
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s.json", evidence_dir, rows->ml_code);
			if (report_evidence_write(path, c, rows->idx, rows->n, weeks, errstr,
						  errstr_size))
				goto out;
		}
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
	fwrite(num, 1, fmt_u64(num, in->line), f);
	fputc(';', f);
	fputs(in->dossier, f);
	fputc(';', f);
	fputc('0' + (int)(in->step % 10), f);
	fputc('\n', f);
}

