#include "attached.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "fmt.h"
#include "report.h"
#include "route.h"

/* Files kept open at once: a week has ~450 MLs, below the usual limit of
 * 1024 descriptors, but nothing bounds the codes of an export. Past this,
 * every file is closed and reopened for appending when needed. */
#define ATTACHED_OPEN_MAX 256

struct attached_file {
	char *ml_code;
	FILE *f;                /* NULL while closed */
	int created;
	UT_hash_handle hh;
};

struct attached {
	char *dir;
	struct attached_file *files;
	size_t open;
	int failed;
	char errstr[512];
};

struct attached *attached_open(const char *dir, char *errstr, size_t errstr_size)
{
	struct attached *w = calloc(1, sizeof(*w));
	if (!w || !(w->dir = strdup(dir))) {
		free(w);
		snprintf(errstr, errstr_size, "out of memory");
		return NULL;
	}
	return w;
}

/* Closes one file, keeping the first error. */
static void attached_close_one(struct attached *w, struct attached_file *af)
{
	if (!af->f)
		return;
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s.csv", w->dir, af->ml_code);
	char errstr[512];
	if (report_close(af->f, path, errstr, sizeof(errstr)) && !w->failed) {
		w->failed = 1;
		snprintf(w->errstr, sizeof(w->errstr), "%s", errstr);
	}
	af->f = NULL;
	w->open--;
}

/* The open file of ml_code, created with its header the first time. */
static FILE *attached_file(struct attached *w, const char *ml_code,
			   char *errstr, size_t errstr_size)
{
	struct attached_file *af = NULL;
	HASH_FIND_STR(w->files, ml_code, af);
	if (af && af->f)
		return af->f;
	if (!af) {
		af = calloc(1, sizeof(*af));
		if (!af || !(af->ml_code = strdup(ml_code))) {
			free(af);
			snprintf(errstr, errstr_size, "out of memory");
			return NULL;
		}
		HASH_ADD_KEYPTR(hh, w->files, af->ml_code, strlen(af->ml_code), af);
	}
	if (w->open >= ATTACHED_OPEN_MAX) {
		struct attached_file *o, *tmp;
		HASH_ITER(hh, w->files, o, tmp)
			attached_close_one(w, o);
	}
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s.csv", w->dir, ml_code);
	af->f = fopen(path, af->created ? "ab" : "wb");
	if (!af->f) {
		snprintf(errstr, errstr_size, "cannot create '%s': %s", path, strerror(errno));
		return NULL;
	}
	w->open++;
	if (!af->created)
		fputs(ATTACHED_HEADER "\n", af->f);
	af->created = 1;
	return af->f;
}

int attached_add(struct attached *w, const struct collect_integrated *in,
		 char *errstr, size_t errstr_size)
{
	const char *ml = in->ml_code;
	if (!report_name_valid(ml) || strcmp(ml, ROUTE_NATIONAL) == 0)
		ml = ROUTE_NATIONAL;
	FILE *f = attached_file(w, ml, errstr, errstr_size);
	if (!f)
		return -1;
	/* The columns of ATTACHED_HEADER after line;dossier_id;step. */
	static const enum record_field cols[] = {
		FIELD_SIGMA, FIELD_PE, FIELD_NOM, FIELD_PRENOM, FIELD_DATE_NAISSANCE,
		FIELD_INSEE, FIELD_TYPE, FIELD_DATE_DEBUT, FIELD_DATE_FIN_PREVUE,
		FIELD_DATE_FIN_REELLE, FIELD_MOTIF,
	};
	enum { NCOLS = sizeof(cols) / sizeof(cols[0]) };
	/* The row built in one buffer and written at once: a million rows a
	 * week, and stdio's per-call locking shows at that scale. */
	size_t lens[NCOLS], dossier_len = strlen(in->dossier);
	size_t need = 24 + dossier_len + 4 + NCOLS + 1;
	for (size_t i = 0; i < NCOLS; i++)
		need += lens[i] = strlen(in->fields[cols[i]]);
	char stack[2048];
	char *row = need <= sizeof(stack) ? stack : malloc(need);
	if (!row) {
		snprintf(errstr, errstr_size, "out of memory");
		return -1;
	}
	size_t n = fmt_u64(row, in->line);
	row[n++] = ';';
	memcpy(row + n, in->dossier, dossier_len);
	n += dossier_len;
	row[n++] = ';';
	row[n++] = (char)('0' + in->step % 10);
	for (size_t i = 0; i < NCOLS; i++) {
		row[n++] = ';';
		memcpy(row + n, in->fields[cols[i]], lens[i]);
		n += lens[i];
	}
	row[n++] = '\n';
	fwrite(row, 1, n, f);
	if (row != stack)
		free(row);
	return 0;
}

int attached_close(struct attached *w, char *errstr, size_t errstr_size)
{
	if (!w)
		return 0;
	struct attached_file *af, *tmp;
	HASH_ITER(hh, w->files, af, tmp) {
		attached_close_one(w, af);
		HASH_DEL(w->files, af);
		free(af->ml_code);
		free(af);
	}
	int failed = w->failed;
	if (failed)
		snprintf(errstr, errstr_size, "%s", w->errstr);
	free(w->dir);
	free(w);
	return failed ? -1 : 0;
}
