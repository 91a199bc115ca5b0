#include "collect.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "array.h"
#include "evidence.h"
#include "log.h"
#include "spill.h"

/* A seq past this, before any manifest says more, is taken for garbage: it
 * would make the bitmap huge. 2^28 records is far beyond a national week. */
#define COLLECT_SEQ_LIMIT (UINT64_C(1) << 28)


int collect_init(struct collect *c, const char *run_id, const char *attempt,
		 const struct collect_spill_conf *conf,
		 char *errstr, size_t errstr_size)
{
	memset(c, 0, sizeof(*c));
	c->run_id = strdup(run_id);
	if (attempt && *attempt)
		c->attempt = strdup(attempt);
	if (!c->run_id || (attempt && *attempt && !c->attempt)) {
		snprintf(errstr, errstr_size, "out of memory");
		return -1;
	}
	c->spill = spill_open(conf ? conf->dir : NULL, conf ? conf->chunk_rows : 0,
			      errstr, errstr_size);
	return c->spill ? 0 : -1;
}

int collect_takes(struct collect *c, const char *run_id, const char *attempt)
{
	if (strcmp(run_id, c->run_id) != 0)
		return 0;
	if (!attempt)
		attempt = "";
	if (!c->attempt) {
		if (c->skip && c->skip(attempt, c->skip_arg))
			return 0;
		c->attempt = strdup(attempt);
		return c->attempt ? 1 : -1;
	}
	return strcmp(attempt, c->attempt) == 0;
}

void collect_release(struct collect *c)
{
	free(c->run_id);
	free(c->attempt);
	free(c->skipped);
	free(c->seen);
	free(c->failed);
	spill_free(c->spill);
	free(c->arena);
	for (size_t i = 0; i < c->n_poison; i++)
		free(c->poison[i]);
	free(c->poison);
	memset(c, 0, sizeof(*c));
}

static int collect_seen(const struct collect *c, uint64_t seq)
{
	return seq < c->seen_bits && (c->seen[seq / 8] >> (seq % 8)) & 1;
}

/* Makes room for bit seq in the bitmap, doubling. */
static int collect_seen_grow(struct collect *c, uint64_t seq)
{
	if (seq < c->seen_bits)
		return 0;
	uint64_t bits = c->seen_bits ? c->seen_bits : 4096;
	while (bits <= seq)
		bits *= 2;
	uint8_t *seen = realloc(c->seen, bits / 8);
	if (!seen)
		return -1;
	memset(seen + c->seen_bits / 8, 0, (bits - c->seen_bits) / 8);
	c->seen = seen;
	c->seen_bits = bits;
	return 0;
}

/* Counts the seqs received below records. */
static uint64_t collect_count_below(const struct collect *c, uint64_t records)
{
	uint64_t n = 0, end = records < c->seen_bits ? records : c->seen_bits;
	uint64_t seq = 0;
	for (; seq + 8 <= end; seq += 8)
		n += (uint64_t)__builtin_popcount(c->seen[seq / 8]);
	for (; seq < end; seq++)
		n += collect_seen(c, seq);
	return n;
}

int collect_manifest(struct collect *c, const Aij__Manifest *m,
		     char *errstr, size_t errstr_size)
{
	if (c->have_manifest && c->records == m->records &&
	    strcmp(c->sha256, m->sha256) == 0)
		return 0;
	if (c->have_manifest)
		log_warn("manifest received again with other contents "
			 "(%llu records, sha256 %.12s): the latest wins",
			 (unsigned long long)m->records, m->sha256);
	Aij__LineRange *skipped = NULL;
	if (m->n_skipped) {
		skipped = calloc(m->n_skipped, sizeof(*skipped));
		if (!skipped) {
			snprintf(errstr, errstr_size, "out of memory");
			return -1;
		}
		for (size_t i = 0; i < m->n_skipped; i++)
			skipped[i] = *m->skipped[i];
	}
	free(c->skipped);
	c->skipped = skipped;
	c->n_skipped = m->n_skipped;
	c->have_manifest = 1;
	c->accept = m->accept;
	snprintf(c->replay_of, sizeof(c->replay_of), "%s", m->replay_of ? m->replay_of : "");
	c->created_at = m->created_at;
	c->records = m->records;
	c->last_line = m->last_line;
	snprintf(c->sha256, sizeof(c->sha256), "%s", m->sha256);
	snprintf(c->source_name, sizeof(c->source_name), "%s", m->source_name);
	c->in_range = collect_count_below(c, c->records);
	return 1;
}

/* Appends s and its NUL to the arena; returns its offset via *off. */
static int collect_arena_add(struct collect *c, const char *s, size_t *off)
{
	size_t len = strlen(s) + 1;
	char *arena = array_grow(c->arena, &c->arena_cap, c->arena_len + len, 1, 65536);
	if (!arena)
		return -1;
	c->arena = arena;
	*off = c->arena_len;
	memcpy(c->arena + c->arena_len, s, len);
	c->arena_len += len;
	return 0;
}

/* The bit of a field name of Candidate.differs, 0 for an unknown one. */
static unsigned collect_field_bit(const char *name)
{
	static const unsigned bits[] = { EVIDENCE_DATE, EVIDENCE_NOM, EVIDENCE_PRENOM };
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if (strcmp(name, evidence_field_name(bits[i])) == 0)
			return bits[i];
	return 0;
}

/* Keeps the evidence of a failed line: per candidate "<step><code><differs>"
 * (three characters: digits, then the bits as '0' + bits; code 10 and over
 * not expected), its dossier, ML and value. */
static int collect_add_evidence(struct collect *c, const Aij__Failed *f,
				struct collect_failed *row)
{
	size_t n = f->n_evidence < EVIDENCE_MAX ? f->n_evidence : EVIDENCE_MAX;
	for (size_t i = 0; i < n; i++) {
		const Aij__Candidate *e = f->evidence[i];
		unsigned differs = 0;
		for (size_t k = 0; k < e->n_differs; k++)
			differs |= collect_field_bit(e->differs[k] ? e->differs[k] : "");
		if (e->step < 1 || e->step > 9 || e->code > 9 || !e->dossier_id ||
		    !*e->dossier_id)
			continue; /* not from a matcher of this version: dropped */
		char head[4] = { (char)('0' + e->step), (char)('0' + e->code),
				 (char)('0' + differs), '\0' };
		size_t off;
		if (collect_arena_add(c, head, &off) ||
		    collect_arena_add(c, e->dossier_id, &off) ||
		    collect_arena_add(c, e->ml_code ? e->ml_code : "", &off) ||
		    collect_arena_add(c, e->value ? e->value : "", &off))
			return -1;
		row->n_evidence++;
	}
	return 0;
}

/* Keeps a failed line: the report's columns, its codes, its identity's
 * other two fields, its evidence. */
static int collect_add_failed(struct collect *c, const Aij__Outcome *o)
{
	static const int field_of_col[] = { 0, 2, 3, 4, 5, 6 };
	const Aij__Failed *f = o->failed;
	char codes[64] = "";
	size_t len = 0;
	uint32_t mask = 0;
	for (size_t i = 0; i < f->n_codes; i++) {
		/* Codes are 1..10; keep whatever came, but 2 digits at least. */
		int w = snprintf(codes + len, sizeof(codes) - len, "%s%02u",
				 i ? "/" : "", f->codes[i]);
		if (w < 0 || (size_t)w >= sizeof(codes) - len)
			break;
		len += (size_t)w;
		if (f->codes[i] >= 1 && f->codes[i] < 32)
			mask |= UINT32_C(1) << f->codes[i];
	}
	struct collect_failed *failed = array_grow(c->failed, &c->cap_failed,
						   c->n_failed + 1, sizeof(*failed), 1024);
	if (!failed)
		return -1;
	c->failed = failed;
	struct collect_failed *row = &c->failed[c->n_failed];
	row->line = o->line;
	row->seq = o->seq;
	row->code_mask = mask;
	row->n_evidence = 0;
	for (size_t col = 0; col < COL_CODES; col++) {
		size_t k = (size_t)field_of_col[col], off;
		const char *v = k < o->n_fields && o->fields[k] ? o->fields[k] : "";
		if (collect_arena_add(c, v, &off))
			return -1;
		if (col == 0)
			row->off = off;
	}
	size_t off;
	if (collect_arena_add(c, codes, &off))
		return -1;
	for (size_t k = FIELD_TYPE; k <= FIELD_DATE_DEBUT; k++)
		if (collect_arena_add(c, k < o->n_fields && o->fields[k] ? o->fields[k] : "",
				      &off))
			return -1;
	if (collect_add_evidence(c, f, row))
		return -1;
	c->n_failed++;
	return 0;
}

/* Spills an integrated line: the dossier, its ML, then the 12 fields of the
 * dispositif, each with its NUL (2 + RECORD_FIELDS strings). */
static int collect_add_integrated(struct collect *c, const Aij__Outcome *o,
				  char *errstr, size_t errstr_size)
{
	const Aij__Integrated *in = o->integrated;
	const char *strs[2 + RECORD_FIELDS];
	size_t len = 0;
	strs[0] = in->dossier_id ? in->dossier_id : "";
	strs[1] = in->ml_code ? in->ml_code : "";
	for (size_t i = 0; i < RECORD_FIELDS; i++)
		strs[2 + i] = i < o->n_fields && o->fields[i] ? o->fields[i] : "";
	for (size_t i = 0; i < 2 + RECORD_FIELDS; i++)
		len += strlen(strs[i]) + 1;
	char stack[2048];
	char *blob = len <= sizeof(stack) ? stack : malloc(len);
	if (!blob) {
		snprintf(errstr, errstr_size, "out of memory keeping the outcome of line %llu",
			 (unsigned long long)o->line);
		return -1;
	}
	size_t off = 0;
	for (size_t i = 0; i < 2 + RECORD_FIELDS; i++) {
		size_t n = strlen(strs[i]) + 1;
		memcpy(blob + off, strs[i], n);
		off += n;
	}
	int rc = spill_add(c->spill, o->line, o->seq, in->step, blob, len,
			   errstr, errstr_size);
	if (blob != stack)
		free(blob);
	return rc;
}

/* A poison message a matcher reported: kept once per source, loudly. */
static int collect_poison(struct collect *c, const char *source,
			  char *errstr, size_t errstr_size)
{
	for (size_t i = 0; i < c->n_poison; i++)
		if (strcmp(c->poison[i], source) == 0)
			return 0;
	if (c->n_poison == c->cap_poison) {
		size_t cap = c->cap_poison ? 2 * c->cap_poison : 8;
		char **p = realloc(c->poison, cap * sizeof(*p));
		if (!p)
			goto oom;
		c->poison = p;
		c->cap_poison = cap;
	}
	if (!(c->poison[c->n_poison] = strdup(source)))
		goto oom;
	c->n_poison++;
	log_error("message %s of the records topic is not a record (code 10): "
		  "listed under \"poison\" in the summary", source);
	return 0;
oom:
	snprintf(errstr, errstr_size, "out of memory");
	return -1;
}

int collect_outcome(struct collect *c, const Aij__Outcome *o,
		    char *errstr, size_t errstr_size)
{
	if (o->source && *o->source)
		return collect_poison(c, o->source, errstr, errstr_size);
	uint64_t limit = c->records > COLLECT_SEQ_LIMIT ? c->records : COLLECT_SEQ_LIMIT;
	if (o->seq >= limit) {
		log_warn("outcome of line %llu ignored: seq %llu is out of range",
			 (unsigned long long)o->line, (unsigned long long)o->seq);
		c->ignored++;
		return 0;
	}
	if (o->result_case != AIJ__OUTCOME__RESULT_INTEGRATED &&
	    o->result_case != AIJ__OUTCOME__RESULT_FAILED) {
		log_warn("outcome of line %llu ignored: neither integrated nor failed",
			 (unsigned long long)o->line);
		c->ignored++;
		return 0;
	}
	if (collect_seen(c, o->seq))
		return 0;
	if (collect_seen_grow(c, o->seq))
		goto oom;
	if (o->result_case == AIJ__OUTCOME__RESULT_FAILED) {
		if (collect_add_failed(c, o))
			goto oom;
	} else if (collect_add_integrated(c, o, errstr, errstr_size)) {
		return -1;
	}
	c->seen[o->seq / 8] |= (uint8_t)(1u << (o->seq % 8));
	c->received++;
	if (c->have_manifest && o->seq < c->records)
		c->in_range++;
	return 1;
oom:
	snprintf(errstr, errstr_size, "out of memory keeping the outcome of line %llu",
		 (unsigned long long)o->line);
	return -1;
}

int collect_complete(const struct collect *c)
{
	return c->have_manifest && c->in_range == c->records;
}

uint64_t collect_missing_count(const struct collect *c)
{
	return c->have_manifest ? c->records - c->in_range : 0;
}

size_t collect_missing_lines(const struct collect *c, uint64_t *lines,
			     size_t max)
{
	size_t n = 0;
	if (!c->have_manifest)
		return 0;
	/* Records are the file's lines that are not skipped, seq in line
	 * order: walk the lines to turn a missing seq into its line. */
	uint64_t seq = 0;
	size_t r = 0;
	for (uint64_t line = 1; line <= c->last_line && seq < c->records && n < max;
	     line++) {
		while (r < c->n_skipped && c->skipped[r].last < line)
			r++;
		if (r < c->n_skipped && c->skipped[r].first <= line)
			continue;
		if (!collect_seen(c, seq))
			lines[n++] = line;
		seq++;
	}
	return n;
}

static int collect_cmp_failed(const void *a, const void *b)
{
	const struct collect_failed *x = a, *y = b;
	return (x->line > y->line) - (x->line < y->line);
}

/* Counts the integrated lines below records (the walk leaves the others
 * out). */
static int collect_count_integrated(const struct collect_integrated *in,
				    void *arg, char *errstr, size_t errstr_size)
{
	(void)errstr;
	(void)errstr_size;
	struct collect *c = arg;
	c->n_integrated++;
	c->integrated_by_step[in->step >= 1 && in->step <= 3 ? in->step : 0]++;
	return 0;
}

int collect_finish(struct collect *c, char *errstr, size_t errstr_size)
{
	size_t k = 0;
	for (size_t i = 0; i < c->n_failed; i++)
		if (c->failed[i].seq < c->records)
			c->failed[k++] = c->failed[i];
	c->n_failed = k;
	if (c->n_failed)
		qsort(c->failed, c->n_failed, sizeof(*c->failed), collect_cmp_failed);
	if (!c->spill) {
		snprintf(errstr, errstr_size, "run %s: no temporary file", c->run_id);
		return -1;
	}
	if (spill_finish(c->spill, errstr, errstr_size))
		return -1;
	if (c->received == c->in_range) {
		/* Every seq is below records: the counts taken on the way hold. */
		c->n_integrated = (size_t)spill_count(c->spill, c->integrated_by_step);
		return 0;
	}
	/* A few came beyond the manifest's count (rare): count again. */
	c->n_integrated = 0;
	memset(c->integrated_by_step, 0, sizeof(c->integrated_by_step));
	return collect_integrated_walk(c, collect_count_integrated, c,
				       errstr, errstr_size);
}

const char *collect_failed_col(const struct collect *c,
			       const struct collect_failed *f,
			       enum collect_col col)
{
	const char *p = c->arena + f->off;
	for (int i = 0; i < (int)col; i++)
		p += strlen(p) + 1;
	return p;
}

void collect_failed_evidence(const struct collect *c, const struct collect_failed *f,
			     uint32_t k, struct collect_candidate *out)
{
	const char *p = collect_failed_col(c, f, COL_KEPT);
	for (uint32_t i = 0; i < 4 * k; i++)
		p += strlen(p) + 1;
	out->step = (unsigned)(p[0] - '0');
	out->code = (unsigned)(p[1] - '0');
	out->differs = (unsigned)(p[2] - '0');
	p += strlen(p) + 1;
	out->dossier_id = p;
	p += strlen(p) + 1;
	out->ml_code = p;
	p += strlen(p) + 1;
	out->value = p;
}

/* collect_integrated_walk()'s fn and its arg, for the spill's walk. */
struct collect_walk {
	const struct collect *c;
	collect_integrated_fn fn;
	void *arg;
};

/* Hands a spilled line below the manifest's count over to the caller's fn. */
static int collect_walk_line(const struct spill_line *l, void *arg,
			     char *errstr, size_t errstr_size)
{
	const struct collect_walk *w = arg;
	if (l->seq >= w->c->records)
		return 0;
	struct collect_integrated in = { .line = l->line, .seq = l->seq, .step = l->step };
	/* The blob of collect_add_integrated(): 2 + RECORD_FIELDS strings. */
	const char *p = l->blob, *end = l->blob + l->blob_len;
	const char **dst[2 + RECORD_FIELDS];
	dst[0] = &in.dossier;
	dst[1] = &in.ml_code;
	for (size_t i = 0; i < RECORD_FIELDS; i++)
		dst[2 + i] = &in.fields[i];
	for (size_t i = 0; i < 2 + RECORD_FIELDS; i++) {
		const char *nul = p < end ? memchr(p, '\0', (size_t)(end - p)) : NULL;
		if (!nul) {
			snprintf(errstr, errstr_size, "run %s: the integrated line %llu "
				 "read back is damaged", w->c->run_id,
				 (unsigned long long)l->line);
			return -1;
		}
		*dst[i] = p;
		p = nul + 1;
	}
	return w->fn(&in, w->arg, errstr, errstr_size);
}

int collect_integrated_walk(const struct collect *c, collect_integrated_fn fn,
			    void *arg, char *errstr, size_t errstr_size)
{
	if (!c->spill) {
		snprintf(errstr, errstr_size, "run %s: integrated lines not finished",
			 c->run_id);
		return -1;
	}
	struct collect_walk w = { .c = c, .fn = fn, .arg = arg };
	return spill_walk(c->spill, collect_walk_line, &w, errstr, errstr_size);
}
