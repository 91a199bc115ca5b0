#include "attached.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

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
	if (!*ml || !report_name_ok(ml) || strcmp(ml, ROUTE_NATIONAL) == 0)
		ml = ROUTE_NATIONAL;
	FILE *f = attached_file(w, ml, errstr, errstr_size);
	if (!f)
		return -1;
	const char *const *v = in->fields;
	fprintf(f, "%llu;%s;%u;%s;%s;%s;%s;%s;%s;%s;%s;%s;%s;%s\n",
		(unsigned long long)in->line, in->dossier, (unsigned)in->step,
		v[FIELD_SIGMA], v[FIELD_PE], v[FIELD_NOM], v[FIELD_PRENOM],
		v[FIELD_DATE_NAISSANCE], v[FIELD_INSEE], v[FIELD_TYPE],
		v[FIELD_DATE_DEBUT], v[FIELD_DATE_FIN_PREVUE], v[FIELD_DATE_FIN_REELLE],
		v[FIELD_MOTIF]);
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
