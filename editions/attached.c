#include "attached.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

int attached_load(const char *dir, const char *ml_code, struct attached *a,
		  int *no_folder, char *errstr, size_t errstr_size)
{
	memset(a, 0, sizeof(*a));
	if (no_folder)
		*no_folder = 0;
	char sub[4096];
	snprintf(sub, sizeof(sub), "%s/" ATTACHED_DIR, dir);
	char *data = NULL;
	size_t len = 0;
	int r = store_file_read(sub, ml_code, &data, &len, NULL, errstr, errstr_size);
	if (r == 1 && no_folder && access(sub, F_OK) < 0)
		*no_folder = 1;
	if (r != 0)
		return r;
	a->text = data;
	size_t cap = 1;
	for (size_t i = 0; i < len; i++)
		cap += data[i] == '\n';
	a->row = calloc(cap, sizeof(*a->row));
	if (!a->row) {
		attached_release(a);
		snprintf(errstr, errstr_size, "out of memory reading '%s/%s.csv'", sub, ml_code);
		return -1;
	}
	char *p = data, *end = data + len;
	size_t lineno = 0;
	while (p < end) {
		char *s = report_next_line(&p, end);
		lineno++;
		if (lineno == 1) {
			if (strcmp(s, ATTACHED_HEADER) != 0) {
				snprintf(errstr, errstr_size,
					 "'%s/%s.csv': the header is not '%s'", sub, ml_code,
					 ATTACHED_HEADER);
				attached_release(a);
				return -1;
			}
			continue;
		}
		if (!*s)
			continue;
		struct attached_row *row = &a->row[a->n];
		if (report_split_fields(s, row->field, ATTACHED_COLUMNS) != ATTACHED_COLUMNS) {
			a->malformed++;
			continue;
		}
		row->line = strtoull(row->field[ATT_LINE], NULL, 10);
		const char *st = row->field[ATT_STEP];
		row->step = (st[0] >= '1' && st[0] <= '3' && !st[1]) ? (unsigned)(st[0] - '0') : 0;
		a->n++;
	}
	return 0;
}

void attached_release(struct attached *a)
{
	free(a->text);
	free(a->row);
	memset(a, 0, sizeof(*a));
}

long attached_list(const char *dir, char ***codes, size_t **rows,
		   char *errstr, size_t errstr_size)
{
	char sub[4096];
	snprintf(sub, sizeof(sub), "%s/" ATTACHED_DIR, dir);
	struct store_entry *entries = NULL;
	size_t n = 0;
	*codes = NULL;
	*rows = NULL;
	if (store_file_list(sub, &entries, &n, errstr, errstr_size) < 0)
		return -1;
	if (n == 0)
		return 0;
	*codes = calloc(n, sizeof(**codes));
	*rows = calloc(n, sizeof(**rows));
	if (!*codes || !*rows) {
		free(*codes);
		free(*rows);
		free(entries);
		snprintf(errstr, errstr_size, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		(*codes)[i] = strdup(entries[i].ml_code);
		/* LF line ends: the header is one of them. */
		(*rows)[i] = entries[i].lines > 0 ? entries[i].lines - 1 : 0;
	}
	free(entries);
	return (long)n;
}

void attached_list_free(char **codes, size_t *rows, size_t n)
{
	for (size_t i = 0; codes && i < n; i++)
		free(codes[i]);
	free(codes);
	free(rows);
}
