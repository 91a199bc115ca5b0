#include "referential.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uthash.h>

#include "record.h"
#include "report_format.h"

#define REF_MAX_FIELDS 3

struct ref_commune {
	char *code;
	char *name;
	char **postcodes;
	size_t npostcodes, cap;
	UT_hash_handle hh;
};

struct ref_motif {
	char *code;
	char *label;
	UT_hash_handle hh;
};

struct ref_ml {
	char *code;
	char *name;
	UT_hash_handle hh;
};

/* A postal code and the MLs whose zone holds it (codes owned by ref_ml). */
struct ref_postcode {
	char *code;
	const char **mls;
	size_t nmls, cap;
	UT_hash_handle hh;
};

/* Slots of ref_insee_slot(): 00000-99999, then 2A000-2A999, 2B000-2B999. */
#define REF_INSEE_SLOTS 102000

struct referential {
	struct ref_commune *communes;
	/* Bit ref_insee_slot(code) set for each commune: ref_commune_known()
	 * runs once per line of the week, and 13 KB stay in the cache where
	 * the hash table's scattered entries do not. */
	unsigned char commune_bits[(REF_INSEE_SLOTS + 7) / 8];
	struct ref_motif *motifs;
	struct ref_ml *mls;
	struct ref_postcode *postcodes;
};

/* One kind of file: its header, and what to do with each row. */
struct ref_file {
	const char *const *header;
	size_t nfields;
	int last_takes_rest;  /* the last field may contain ';' (free text) */
	/* Adds a row; returns 0, or -1 with a message in err. */
	int (*row)(struct referential *ref, char **f, char *err, size_t err_size);
};

/* Splits line into at most max fields; returns how many there are in all
 * (more than max when the line has too many). */
static size_t ref_split(char *line, char **f, size_t max, int last_takes_rest)
{
	size_t n = 0;
	char *p = line;
	for (;;) {
		char *sep = (last_takes_rest && n + 1 == max) ? NULL : strchr(p, ';');
		if (sep)
			*sep = '\0';
		if (n < max)
			f[n] = record_trim(p);
		n++;
		if (!sep)
			return n;
		p = sep + 1;
	}
}

static int ref_is_digits(const char *s, size_t len)
{
	if (strlen(s) != len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* INSEE commune codes: 5 characters, digits, or 2A/2B for Corsica. */
static int ref_is_insee(const char *s)
{
	if (strlen(s) != 5)
		return 0;
	for (size_t i = 0; i < 5; i++) {
		int ok = s[i] >= '0' && s[i] <= '9';
		if (i == 1 && (s[i] == 'A' || s[i] == 'B'))
			ok = s[0] == '2';
		if (!ok)
			return 0;
	}
	return 1;
}

/* The slot of an INSEE code (ref_is_insee), or -1 when s is not one. */
static long ref_insee_slot(const char *s)
{
	if (!ref_is_insee(s))
		return -1;
	long n = (s[2] - '0') * 100 + (s[3] - '0') * 10 + (s[4] - '0');
	if (s[1] == 'A' || s[1] == 'B')
		return 100000 + (s[1] - 'A') * 1000 + n;
	return (s[0] - '0') * 10000L + (s[1] - '0') * 1000 + n;
}

static int ref_oom(char *err, size_t err_size)
{
	snprintf(err, err_size, "out of memory");
	return -1;
}

static int ref_commune_row(struct referential *ref, char **f, char *err, size_t err_size)
{
	const char *code = f[0], *postcode = f[1], *name = f[2];
	struct ref_commune *c;

	if (!ref_is_insee(code)) {
		snprintf(err, err_size, "bad code_insee '%s' (5 characters, digits or 2A/2B)", code);
		return -1;
	}
	if (*postcode && !ref_is_digits(postcode, 5)) {
		snprintf(err, err_size, "bad code_postal '%s' (5 digits)", postcode);
		return -1;
	}
	HASH_FIND_STR(ref->communes, code, c);
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return ref_oom(err, err_size);
		c->code = strdup(code);
		c->name = strdup(name);
		if (!c->code || !c->name) {
			free(c->code);
			free(c->name);
			free(c);
			return ref_oom(err, err_size);
		}
		HASH_ADD_KEYPTR(hh, ref->communes, c->code, strlen(c->code), c);
		long slot = ref_insee_slot(code);
		ref->commune_bits[slot / 8] |= (unsigned char)(1u << (slot % 8));
	}
	if (!*postcode)
		return 0; /* a commune without postal code is still a known code */
	for (size_t i = 0; i < c->npostcodes; i++)
		if (strcmp(c->postcodes[i], postcode) == 0)
			return 0;
	if (c->npostcodes == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 2;
		char **p = realloc(c->postcodes, cap * sizeof(*p));
		if (!p)
			return ref_oom(err, err_size);
		c->postcodes = p;
		c->cap = cap;
	}
	if (!(c->postcodes[c->npostcodes] = strdup(postcode)))
		return ref_oom(err, err_size);
	c->npostcodes++;
	return 0;
}

static int ref_motif_row(struct referential *ref, char **f, char *err, size_t err_size)
{
	struct ref_motif *m;

	if (!*f[0]) {
		snprintf(err, err_size, "empty code");
		return -1;
	}
	HASH_FIND_STR(ref->motifs, f[0], m);
	if (m) {
		snprintf(err, err_size, "code '%s' appears twice", f[0]);
		return -1;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return ref_oom(err, err_size);
	m->code = strdup(f[0]);
	m->label = strdup(f[1]);
	if (!m->code || !m->label) {
		free(m->code);
		free(m->label);
		free(m);
		return ref_oom(err, err_size);
	}
	HASH_ADD_KEYPTR(hh, ref->motifs, m->code, strlen(m->code), m);
	return 0;
}

static int ref_coverage_row(struct referential *ref, char **f, char *err, size_t err_size)
{
	const char *ml_code = f[0], *ml_name = f[1], *postcode = f[2];
	struct ref_ml *ml;
	struct ref_postcode *pc;

	if (!*ml_code) {
		snprintf(err, err_size, "empty ml_code");
		return -1;
	}
	/* An ML code names its report and its files: DIR/reports/<ml_code>.csv. */
	if (!report_name_valid(ml_code) || strcmp(ml_code, REPORT_NATIONAL) == 0) {
		snprintf(err, err_size, "ml_code '%.64s' cannot name a report (1 to %d of "
			 "A-Z a-z 0-9 _ -, not %s)", ml_code, REPORT_NAME_MAX, REPORT_NATIONAL);
		return -1;
	}
	if (!ref_is_digits(postcode, 5)) {
		snprintf(err, err_size, "bad code_postal '%s' (5 digits)", postcode);
		return -1;
	}
	HASH_FIND_STR(ref->mls, ml_code, ml);
	if (!ml) {
		ml = calloc(1, sizeof(*ml));
		if (!ml)
			return ref_oom(err, err_size);
		ml->code = strdup(ml_code);
		ml->name = strdup(ml_name);
		if (!ml->code || !ml->name) {
			free(ml->code);
			free(ml->name);
			free(ml);
			return ref_oom(err, err_size);
		}
		HASH_ADD_KEYPTR(hh, ref->mls, ml->code, strlen(ml->code), ml);
	}
	HASH_FIND_STR(ref->postcodes, postcode, pc);
	if (!pc) {
		pc = calloc(1, sizeof(*pc));
		if (!pc || !(pc->code = strdup(postcode))) {
			free(pc);
			return ref_oom(err, err_size);
		}
		HASH_ADD_KEYPTR(hh, ref->postcodes, pc->code, strlen(pc->code), pc);
	}
	for (size_t i = 0; i < pc->nmls; i++)
		if (pc->mls[i] == ml->code)
			return 0;
	if (pc->nmls == pc->cap) {
		size_t cap = pc->cap ? 2 * pc->cap : 2;
		const char **p = realloc(pc->mls, cap * sizeof(*p));
		if (!p)
			return ref_oom(err, err_size);
		pc->mls = p;
		pc->cap = cap;
	}
	pc->mls[pc->nmls++] = ml->code;
	return 0;
}

static const char *const ref_communes_header[] = { "code_insee", "code_postal", "nom_commune" };
static const char *const ref_motifs_header[] = { "code", "libelle" };
static const char *const ref_coverage_header[] = { "ml_code", "ml_nom", "code_postal" };

static const struct ref_file ref_communes_file = { ref_communes_header, 3, 0, ref_commune_row };
static const struct ref_file ref_motifs_file = { ref_motifs_header, 2, 1, ref_motif_row };
static const struct ref_file ref_coverage_file = { ref_coverage_header, 3, 0, ref_coverage_row };

static void ref_header_text(const struct ref_file *kind, char *out, size_t out_size)
{
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < kind->nfields && n < out_size; i++)
		n += (size_t)snprintf(out + n, out_size - n, "%s%s", i ? ";" : "",
				      kind->header[i]);
}

/* Reads one file: a header, then rows (blank lines skipped). Errors name
 * the file and the line: "data/communes.csv:12: expected 3 fields, found 2". */
static int ref_read(struct referential *ref, const char *path, const struct ref_file *kind,
		    char *errstr, size_t errstr_size)
{
	FILE *fp = fopen(path, "r");
	if (!fp) {
		snprintf(errstr, errstr_size, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned long lineno = 0;
	int header_seen = 0, rc = 0;
	char err[256];

	while ((len = getline(&buf, &cap, fp)) >= 0) {
		char *line = buf;
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (lineno == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0)
			line += 3;
		if ((size_t)len != strlen(buf)) {
			snprintf(errstr, errstr_size, "%s:%lu: NUL byte in the line", path, lineno);
			rc = -1;
			break;
		}
		if (!*record_trim(line))
			continue;

		char *f[REF_MAX_FIELDS];
		size_t n = ref_split(line, f, kind->nfields, kind->last_takes_rest);
		if (!header_seen) {
			int ok = n == kind->nfields;
			for (size_t i = 0; ok && i < n; i++)
				ok = strcasecmp(f[i], kind->header[i]) == 0;
			if (!ok) {
				char want[128];
				ref_header_text(kind, want, sizeof(want));
				snprintf(errstr, errstr_size, "%s:%lu: expected the header '%s'",
					 path, lineno, want);
				rc = -1;
				break;
			}
			header_seen = 1;
			continue;
		}
		if (n != kind->nfields) {
			snprintf(errstr, errstr_size, "%s:%lu: expected %zu fields, found %zu",
				 path, lineno, kind->nfields, n);
			rc = -1;
			break;
		}
		if (kind->row(ref, f, err, sizeof(err)) < 0) {
			snprintf(errstr, errstr_size, "%s:%lu: %s", path, lineno, err);
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(fp)) {
		snprintf(errstr, errstr_size, "cannot read '%s': %s", path, strerror(errno));
		rc = -1;
	}
	if (rc == 0 && !header_seen) {
		char want[128];
		ref_header_text(kind, want, sizeof(want));
		snprintf(errstr, errstr_size, "%s: empty file, expected the header '%s'",
			 path, want);
		rc = -1;
	}
	free(buf);
	fclose(fp);
	return rc;
}

static int ref_cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct referential *referential_load(const char *communes, const char *motifs,
				     const char *coverage,
				     char *errstr, size_t errstr_size)
{
	struct referential *ref = calloc(1, sizeof(*ref));
	if (!ref) {
		snprintf(errstr, errstr_size, "cannot load the reference data: out of memory");
		return NULL;
	}
	if ((communes && ref_read(ref, communes, &ref_communes_file, errstr, errstr_size) < 0) ||
	    (motifs && ref_read(ref, motifs, &ref_motifs_file, errstr, errstr_size) < 0) ||
	    (coverage && ref_read(ref, coverage, &ref_coverage_file, errstr, errstr_size) < 0)) {
		referential_free(ref);
		return NULL;
	}
	/* Sorted, so that routing is the same whatever the file's row order. */
	struct ref_postcode *pc, *tmp;
	HASH_ITER(hh, ref->postcodes, pc, tmp)
		qsort(pc->mls, pc->nmls, sizeof(*pc->mls), ref_cmp_str);
	return ref;
}

void referential_free(struct referential *ref)
{
	if (!ref)
		return;
	struct ref_commune *c, *ctmp;
	HASH_ITER(hh, ref->communes, c, ctmp) {
		HASH_DEL(ref->communes, c);
		for (size_t i = 0; i < c->npostcodes; i++)
			free(c->postcodes[i]);
		free(c->postcodes);
		free(c->code);
		free(c->name);
		free(c);
	}
	struct ref_motif *m, *mtmp;
	HASH_ITER(hh, ref->motifs, m, mtmp) {
		HASH_DEL(ref->motifs, m);
		free(m->code);
		free(m->label);
		free(m);
	}
	struct ref_postcode *pc, *pctmp;
	HASH_ITER(hh, ref->postcodes, pc, pctmp) {
		HASH_DEL(ref->postcodes, pc);
		free(pc->mls);
		free(pc->code);
		free(pc);
	}
	struct ref_ml *ml, *mltmp;
	HASH_ITER(hh, ref->mls, ml, mltmp) {
		HASH_DEL(ref->mls, ml);
		free(ml->code);
		free(ml->name);
		free(ml);
	}
	free(ref);
}

static struct ref_commune *ref_commune_find(const struct referential *ref, const char *insee)
{
	struct ref_commune *c = NULL;
	if (ref && insee)
		HASH_FIND_STR(ref->communes, insee, c);
	return c;
}

int ref_commune_known(const struct referential *ref, const char *insee)
{
	/* Every commune in the table has an INSEE-shaped code (checked when
	 * loaded): the bitmap answers alone. */
	long slot = ref && insee ? ref_insee_slot(insee) : -1;
	return slot >= 0 && (ref->commune_bits[slot / 8] >> (slot % 8) & 1);
}

size_t ref_commune_postcodes(const struct referential *ref, const char *insee,
			     const char *const **postcodes)
{
	struct ref_commune *c = ref_commune_find(ref, insee);
	*postcodes = c && c->npostcodes ? (const char *const *)c->postcodes : NULL;
	return c ? c->npostcodes : 0;
}

const char *ref_commune_name(const struct referential *ref, const char *insee)
{
	struct ref_commune *c = ref_commune_find(ref, insee);
	return c ? c->name : NULL;
}

static struct ref_motif *ref_motif_find(const struct referential *ref, const char *code)
{
	struct ref_motif *m = NULL;
	if (ref && code)
		HASH_FIND_STR(ref->motifs, code, m);
	return m;
}

int ref_motif_known(const struct referential *ref, const char *code)
{
	return ref_motif_find(ref, code) != NULL;
}

const char *ref_motif_label(const struct referential *ref, const char *code)
{
	struct ref_motif *m = ref_motif_find(ref, code);
	return m ? m->label : NULL;
}

size_t ref_coverage_mls(const struct referential *ref, const char *postcode,
			const char *const **ml_codes)
{
	struct ref_postcode *pc = NULL;
	if (ref && postcode)
		HASH_FIND_STR(ref->postcodes, postcode, pc);
	*ml_codes = pc ? pc->mls : NULL;
	return pc ? pc->nmls : 0;
}

const char *ref_ml_name(const struct referential *ref, const char *ml_code)
{
	struct ref_ml *ml = NULL;
	if (ref && ml_code)
		HASH_FIND_STR(ref->mls, ml_code, ml);
	return ml ? ml->name : NULL;
}
