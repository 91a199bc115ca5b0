/* aij-bench-inmem: the whole weekly job in one process, in memory — the
 * physical limit the distributed pipeline is compared with (issue 6).
 *
 * Loads the dossier export into three uthash tables (pe_cotraitance,
 * pe_complement, N(nom)|N(prenom)|date), reads the week with lib/reader,
 * validates each line (lib/record), runs the cascade of SPEC §4 and feeds the
 * outcomes to the reporter's own collector and writers, so the outputs are
 * byte for byte those of aij-reporter when the cascade agrees. No Kafka, no
 * Redis, no dispositif storage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uthash.h>

#include "../../reporter/collect.h"
#include "../../reporter/publish.h"
#include "../../reporter/report.h"
#include "../../reporter/summary.h"
#include "aij.pb-c.h"
#include "conf.h"
#include "date.h"
#include "dossier_index.h"
#include "log.h"
#include "normalize.h"
#include "reader.h"
#include "record.h"
#include "referential.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

/* One look-up key: the only dossier that has it, or how many do. */
struct inmem_entry {
	UT_hash_handle hh;
	const char *key;
	const char *id;   /* the dossier (when count == 1) */
	const char *nom;  /* its N(nom_naissance) (pe tables) */
	unsigned count;
};

/* Strings live in big blocks, never freed one by one. */
struct inmem_arena {
	char *block;
	size_t used, size;
	char **blocks;
	size_t nblocks;
};

struct inmem {
	struct inmem_entry *pe1, *pe2, *ident;
	struct inmem_arena arena;
	struct inmem_entry *entries; /* current slab */
	size_t nentries, capentries;
	struct inmem_entry **slabs;
	size_t nslabs;
};

static double inmem_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A copy of s[0..len) in the arena, or NULL when out of memory. */
static const char *inmem_strdup(struct inmem_arena *a, const char *s, size_t len)
{
	if (a->used + len + 1 > a->size) {
		size_t size = len + 1 > (1u << 22) ? len + 1 : (1u << 22);
		char **blocks = realloc(a->blocks, (a->nblocks + 1) * sizeof(*blocks));
		if (!blocks)
			return NULL;
		a->blocks = blocks;
		a->block = malloc(size);
		if (!a->block)
			return NULL;
		a->blocks[a->nblocks++] = a->block;
		a->used = 0;
		a->size = size;
	}
	char *p = a->block + a->used;
	memcpy(p, s, len);
	p[len] = '\0';
	a->used += len + 1;
	return p;
}

static struct inmem_entry *inmem_entry_new(struct inmem *m)
{
	if (m->nentries == m->capentries) {
		struct inmem_entry **slabs = realloc(m->slabs, (m->nslabs + 1) *
						     sizeof(*slabs));
		if (!slabs)
			return NULL;
		m->slabs = slabs;
		m->capentries = 65536;
		m->entries = calloc(m->capentries, sizeof(*m->entries));
		if (!m->entries)
			return NULL;
		m->slabs[m->nslabs++] = m->entries;
		m->nentries = 0;
	}
	return &m->entries[m->nentries++];
}

/* Adds dossier id (with N(nom) nom) under key to table. 0 or -1 (memory). */
static int inmem_add(struct inmem *m, struct inmem_entry **table,
		     const char *key, size_t key_len, const char *id,
		     const char *nom)
{
	struct inmem_entry *e;
	HASH_FIND(hh, *table, key, key_len, e);
	if (e) {
		e->count++;
		return 0;
	}
	e = inmem_entry_new(m);
	const char *k = inmem_strdup(&m->arena, key, key_len);
	if (!e || !k)
		return -1;
	e->key = k;
	e->id = id;
	e->nom = nom;
	e->count = 1;
	HASH_ADD_KEYPTR(hh, *table, e->key, key_len, e);
	return 0;
}

static int inmem_blank(char c)
{
	return c == ' ' || c == '\t';
}

enum { D_ID, D_ML, D_NOM, D_PRENOM, D_DATE, D_PE1, D_PE2, D_COLS };

/* Splits line in place on ';', trims each field; keeps the first D_COLS.
 * Returns the number of fields (as lib/dossier_index.c does). */
static size_t inmem_split(char *line, char *field[D_COLS])
{
	size_t n = 0;
	char *p = line;
	for (;;) {
		char *sep = strchr(p, ';');
		if (sep)
			*sep = '\0';
		while (inmem_blank(*p))
			p++;
		size_t len = strlen(p);
		while (len > 0 && inmem_blank(p[len - 1]))
			p[--len] = '\0';
		if (n < D_COLS)
			field[n] = p;
		n++;
		if (!sep)
			return n;
		p = sep + 1;
	}
}

/* Loads the dossier export. Returns the number of dossiers, or -1 (errstr). */
static long inmem_load(struct inmem *m, const char *path, long *malformed,
		       char *errstr, size_t errstr_size)
{
	FILE *in = fopen(path, "r");
	if (!in) {
		snprintf(errstr, errstr_size, "cannot open '%s': %s", path,
			 strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long n = 0, lineno = 0;
	char key[1024], nom[512];
	*malformed = 0;
	while ((len = getline(&line, &cap, in)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (lineno == 1 || len == 0)
			continue; /* header (checked by aij-indexer), blank */
		char *f[D_COLS];
		long days;
		size_t nf = inmem_split(line, f);
		if (nf != D_COLS || !*f[D_ID] || strlen(f[D_ID]) >= INDEX_ID_MAX ||
		    strchr(f[D_ID], '\t') || date_parse(f[D_DATE], &days) != 0 ||
		    strlen(f[D_NOM]) >= sizeof(nom) ||
		    strlen(f[D_NOM]) + strlen(f[D_PRENOM]) + strlen(f[D_DATE]) + 3 >
			    sizeof(key)) {
			(*malformed)++;
			continue;
		}
		const char *id = inmem_strdup(&m->arena, f[D_ID], strlen(f[D_ID]));
		size_t nl = name_normalize(f[D_NOM], nom, sizeof(nom));
		const char *n_nom = inmem_strdup(&m->arena, nom, nl);
		if (!id || !n_nom)
			goto oom;
		size_t kl = index_pe_key(f[D_PE1], key, sizeof(key));
		if (kl && inmem_add(m, &m->pe1, key, kl, id, n_nom))
			goto oom;
		kl = index_pe_key(f[D_PE2], key, sizeof(key));
		if (kl && inmem_add(m, &m->pe2, key, kl, id, n_nom))
			goto oom;
		kl = index_ident_key(f[D_NOM], f[D_PRENOM], f[D_DATE], key, sizeof(key));
		if (kl && inmem_add(m, &m->ident, key, kl, id, NULL))
			goto oom;
		n++;
	}
	free(line);
	fclose(in);
	return n;
oom:
	free(line);
	fclose(in);
	snprintf(errstr, errstr_size, "out of memory");
	return -1;
}

/* Step 1 or 2 against table: 0 integrated (*id set), else the code. */
static unsigned inmem_pe_step(struct inmem_entry *table, const char *pe,
			      const char *nom, const char **id)
{
	struct inmem_entry *e;
	HASH_FIND_STR(table, pe, e);
	if (!e)
		return CODE_NOT_FOUND;
	if (e->count > 1)
		return CODE_PE_SEVERAL;
	if (strcmp(e->nom, nom) != 0)
		return CODE_NAME_DIFFERS;
	*id = e->id;
	return 0;
}

/* The cascade of SPEC §4 for a valid line: fills the outcome. */
static void inmem_cascade(const struct inmem *m, const struct record_fields *f,
			  Aij__Outcome *o, Aij__Integrated *integ,
			  Aij__Failed *failed, uint32_t codes[3])
{
	char pe[256], nom[1024], ident[3200];
	const char *id = NULL;
	size_t nc = 0;
	if (strlen(f->field[FIELD_PE]) >= sizeof(pe) ||
	    strlen(f->field[FIELD_NOM]) >= sizeof(nom))
		pe[0] = nom[0] = '\0';
	else {
		index_pe_key(f->field[FIELD_PE], pe, sizeof(pe));
		name_normalize(f->field[FIELD_NOM], nom, sizeof(nom));
	}
	if (*pe) {
		unsigned c = inmem_pe_step(m->pe1, pe, nom, &id);
		if (!c) {
			integ->step = 1;
			goto integrated;
		}
		codes[nc++] = c;
		c = inmem_pe_step(m->pe2, pe, nom, &id);
		if (!c) {
			integ->step = 2;
			goto integrated;
		}
		codes[nc++] = c;
	}
	struct inmem_entry *e = NULL;
	if (index_ident_key(f->field[FIELD_NOM], f->field[FIELD_PRENOM],
			    f->field[FIELD_DATE_NAISSANCE], ident, sizeof(ident)))
		HASH_FIND_STR(m->ident, ident, e);
	if (e && e->count == 1) {
		id = e->id;
		integ->step = 3;
		goto integrated;
	}
	codes[nc++] = e ? CODE_IDENTITY_SEVERAL : CODE_NOT_FOUND;
	failed->n_codes = nc;
	failed->codes = codes;
	o->result_case = AIJ__OUTCOME__RESULT_FAILED;
	o->failed = failed;
	return;
integrated:
	integ->dossier_id = (char *)id;
	o->result_case = AIJ__OUTCOME__RESULT_INTEGRATED;
	o->integrated = integ;
}

/* Reads, validates and matches every line of the week into c. Returns the
 * number of records, or -1 (errstr). */
static long inmem_week(const struct inmem *m, const char *path,
		       const char *run_id, const struct referential *ref,
		       struct collect *c, char *errstr, size_t errstr_size)
{
	struct reader *r = reader_open(path, errstr, errstr_size);
	if (!r)
		return -1;
	char *text = NULL;
	size_t text_size = 0;
	uint64_t seq = 0;
	long rc = -1;
	for (;;) {
		struct reader_line line;
		int got = reader_next(r, &line, errstr, errstr_size);
		if (got < 0)
			goto out;
		if (got == 0)
			break;
		if (line.len + 1 > text_size) {
			text_size = (line.len + 1) * 2;
			free(text);
			text = malloc(text_size);
			if (!text) {
				snprintf(errstr, errstr_size, "out of memory");
				goto out;
			}
		}
		memcpy(text, line.text, line.len + 1);
		struct record_fields f;
		record_split(text, &f);
		enum record_code code = record_validate(&f, line.too_long, ref);

		Aij__Outcome o = AIJ__OUTCOME__INIT;
		Aij__Integrated integ = AIJ__INTEGRATED__INIT;
		Aij__Failed failed = AIJ__FAILED__INIT;
		uint32_t codes[3];
		char *fields[RECORD_FIELDS];
		size_t kept = f.count < RECORD_FIELDS ? f.count : RECORD_FIELDS;
		for (size_t i = 0; i < kept; i++)
			fields[i] = (char *)f.field[i];
		o.run_id = (char *)run_id;
		o.line = line.line;
		o.seq = seq++;
		if (code != CODE_OK) {
			codes[0] = (uint32_t)code;
			failed.n_codes = 1;
			failed.codes = codes;
			o.result_case = AIJ__OUTCOME__RESULT_FAILED;
			o.failed = &failed;
		} else {
			inmem_cascade(m, &f, &o, &integ, &failed, codes);
		}
		if (o.result_case == AIJ__OUTCOME__RESULT_FAILED) {
			o.n_fields = kept;
			o.fields = fields;
		}
		if (collect_outcome(c, &o, errstr, errstr_size) < 0)
			goto out;
	}
	/* The manifest ingest would publish. */
	size_t nskipped = 0;
	const struct reader_range *sk = reader_skipped(r, &nskipped);
	Aij__LineRange *ranges = calloc(nskipped + 1, sizeof(*ranges));
	Aij__LineRange **ptrs = calloc(nskipped + 1, sizeof(*ptrs));
	if (!ranges || !ptrs) {
		free(ranges);
		free(ptrs);
		snprintf(errstr, errstr_size, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nskipped; i++) {
		aij__line_range__init(&ranges[i]);
		ranges[i].first = sk[i].first;
		ranges[i].last = sk[i].last;
		ptrs[i] = &ranges[i];
	}
	char sha[65];
	reader_sha256(r, sha);
	Aij__Manifest man = AIJ__MANIFEST__INIT;
	man.run_id = (char *)run_id;
	man.source_name = (char *)basename(path);
	man.sha256 = sha;
	man.records = seq;
	man.last_line = reader_last_line(r);
	man.n_skipped = nskipped;
	man.skipped = ptrs;
	int mrc = collect_manifest(c, &man, errstr, errstr_size);
	free(ranges);
	free(ptrs);
	if (mrc >= 0)
		rc = (long)seq;
out:
	free(text);
	reader_close(r);
	return rc;
}

/* Writes the outputs of c into dir, as aij-reporter does. 0 or -1. */
static int inmem_write(const char *dir, struct collect *c,
		       const struct referential *ref, char *errstr,
		       size_t errstr_size)
{
	char stage[4096], path[4200];
	struct report_count *counts = NULL;
	size_t n_counts = 0;
	collect_finish(c);
	if (publish_begin(dir, stage, sizeof(stage), errstr, errstr_size))
		return -1;
	int rc = -1;
	snprintf(path, sizeof(path), "%s/reports", stage);
	if (report_write_all(path, c, ref, &counts, &n_counts, errstr, errstr_size))
		goto out;
	snprintf(path, sizeof(path), "%s/integrated.csv", stage);
	if (report_write_integrated(path, c, errstr, errstr_size))
		goto out;
	snprintf(path, sizeof(path), "%s/summary.json", stage);
	if (summary_write(path, c, counts, n_counts, errstr, errstr_size))
		goto out;
	if (publish_commit(dir, stage, errstr, errstr_size))
		goto out;
	rc = 0;
out:
	if (rc)
		publish_abort(stage);
	free(counts);
	return rc;
}

static void inmem_free(struct inmem *m)
{
	HASH_CLEAR(hh, m->pe1);
	HASH_CLEAR(hh, m->pe2);
	HASH_CLEAR(hh, m->ident);
	for (size_t i = 0; i < m->nslabs; i++)
		free(m->slabs[i]);
	free(m->slabs);
	for (size_t i = 0; i < m->arena.nblocks; i++)
		free(m->arena.blocks[i]);
	free(m->arena.blocks);
}

int main(int argc, char **argv)
{
	const char *dispositifs, *dossiers, *coverage, *communes, *motifs, *out,
		*run_id, *log_level;
	const struct conf_opt opts[] = {
		{ "dispositifs", "AIJ_DISPOSITIFS", NULL, "FILE",
		  "the week's dispositifs file (required)", &dispositifs },
		{ "dossiers", "AIJ_DOSSIERS", NULL, "FILE",
		  "the dossier export (required)", &dossiers },
		{ "coverage", "AIJ_COVERAGE", NULL, "FILE",
		  "ML coverage zones (required)", &coverage },
		{ "communes", "AIJ_COMMUNES", REF_DEFAULT_COMMUNES, "FILE",
		  "communes referential", &communes },
		{ "motifs", "AIJ_MOTIFS", REF_DEFAULT_MOTIFS, "FILE",
		  "exit reasons", &motifs },
		{ "out", "AIJ_OUT", NULL, "DIR", "output folder (required)", &out },
		{ "run-id", "AIJ_RUN_ID", "bench", "ID", "run id", &run_id },
		{ "log-level", "AIJ_LOG_LEVEL", "info", "LEVEL",
		  "error, warn, info or debug", &log_level },
		{ NULL, NULL, NULL, NULL, NULL, NULL },
	};
	char errstr[1024];
	log_init("bench-inmem", NULL);
	int rc = conf_parse(opts, argc, argv, errstr, sizeof(errstr));
	if (rc == 1) {
		conf_usage(stdout, "aij-bench-inmem",
			   "The weekly job in one process, in memory (the benchmark's "
			   "reference):\nsame outputs as aij-local.", opts);
		return 0;
	}
	enum log_level level;
	if (rc == 0 && log_level_parse(log_level, &level)) {
		snprintf(errstr, sizeof(errstr), "unknown log level '%s'", log_level);
		rc = -1;
	}
	if (rc == 0 && (!dispositifs || !dossiers || !coverage || !out)) {
		snprintf(errstr, sizeof(errstr), "--dispositifs, --dossiers, "
			 "--coverage and --out are required");
		rc = -1;
	}
	if (rc) {
		log_error("%s", errstr);
		return EXIT_USAGE;
	}
	log_set_level(level);

	double t0 = inmem_now();
	struct referential *ref = referential_load(communes, motifs, coverage,
						   errstr, sizeof(errstr));
	if (!ref) {
		log_error("%s", errstr);
		return EXIT_USAGE;
	}
	struct inmem m;
	memset(&m, 0, sizeof(m));
	long malformed = 0;
	long nd = inmem_load(&m, dossiers, &malformed, errstr, sizeof(errstr));
	if (nd < 0) {
		log_error("%s", errstr);
		inmem_free(&m);
		referential_free(ref);
		return EXIT_USAGE;
	}
	double t1 = inmem_now();
	log_info("index: %ld dossiers (%ld malformed) in %.2f s (%.0f dossiers/s)",
		 nd, malformed, t1 - t0, (double)nd / (t1 - t0));
	struct collect c;
	int code = 0;
	if (collect_init(&c, run_id, errstr, sizeof(errstr)) < 0) {
		log_error("%s", errstr);
		code = EXIT_RUNTIME;
	} else {
		long n = inmem_week(&m, dispositifs, run_id, ref, &c, errstr,
				    sizeof(errstr));
		double t2 = inmem_now();
		if (n < 0) {
			log_error("%s", errstr);
			code = EXIT_USAGE;
		} else if (inmem_write(out, &c, ref, errstr, sizeof(errstr)) < 0) {
			log_error("%s", errstr);
			code = EXIT_RUNTIME;
		} else {
			double t3 = inmem_now();
			log_info("week: %ld lines matched in %.2f s (%.0f lines/s), "
				 "outputs written in %.2f s: %zu integrated, %zu "
				 "failed; total %.2f s", n, t2 - t1,
				 (double)n / (t2 - t1), t3 - t2, c.n_integrated,
				 c.n_failed, t3 - t0);
		}
		collect_release(&c);
	}
	inmem_free(&m);
	referential_free(ref);
	return code;
}
