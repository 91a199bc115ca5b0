#include "evidence.h"
#include "index_keys.h"

#include <stdlib.h>
#include <string.h>


int evidence_date_near(const char *a, size_t a_len, const char *b, size_t b_len)
{
	if (a_len != 10 || b_len != 10 || memcmp(a, b, 10) == 0)
		return 0;
	/* Day and month swapped, the year the same. */
	if (memcmp(a, b + 3, 2) == 0 && memcmp(a + 3, b, 2) == 0 &&
	    memcmp(a + 5, b + 5, 5) == 0)
		return 1;
	size_t diff = 0;
	for (size_t i = 0; i < 10; i++)
		if (a[i] != b[i]) {
			if (a[i] < '0' || a[i] > '9' || b[i] < '0' || b[i] > '9')
				return 0;
			diff++;
		}
	return diff == 1;
}

int evidence_name_near(const char *a, size_t a_len, const char *b, size_t b_len)
{
	if (a_len == 0 || b_len == 0 || a_len == b_len)
		return 0; /* the same length: equal, or neither holds the other */
	const char *s = a_len < b_len ? a : b, *l = a_len < b_len ? b : a;
	size_t sl = a_len < b_len ? a_len : b_len, ll = a_len < b_len ? b_len : a_len;
	return memcmp(l, s, sl) == 0 || memcmp(l + ll - sl, s, sl) == 0;
}

unsigned evidence_tier(unsigned field, const char *line, size_t line_len,
		       const char *value, size_t value_len)
{
	if (field == EVIDENCE_DATE)
		return evidence_date_near(line, line_len, value, value_len) ? 0 : 2;
	return evidence_name_near(line, line_len, value, value_len) ? 1 : 3;
}

/* The order of the fields among candidates of one tier. */
static unsigned evidence_field_rank(unsigned field)
{
	return field == EVIDENCE_DATE ? 0 : field == EVIDENCE_NOM ? 1 : 2;
}

static int evidence_slice_cmp(const struct evidence_slice *x,
			      const struct evidence_slice *y)
{
	int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
	if (c)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

int evidence_near_cmp(const void *a, const void *b)
{
	const struct evidence_candidate *x = a, *y = b;
	if (x->tier != y->tier)
		return x->tier < y->tier ? -1 : 1;
	unsigned fx = evidence_field_rank(x->differs), fy = evidence_field_rank(y->differs);
	if (fx != fy)
		return fx < fy ? -1 : 1;
	return evidence_slice_cmp(&x->id, &y->id);
}

const char *evidence_field_name(unsigned field)
{
	switch (field) {
	case EVIDENCE_DATE: return "date_naissance";
	case EVIDENCE_NOM: return "nom_naissance";
	case EVIDENCE_PRENOM: return "prenom";
	default: return NULL;
	}
}

/* A value read part by part: its tab-separated parts. */
struct evidence_cursor {
	const char *p, *end;
	int done;               /* the last part was read */
};

/* Reads the next part into *out. 0, or -1 when none is left. */
static int evidence_next(struct evidence_cursor *cur, struct evidence_slice *out)
{
	if (cur->done)
		return -1;
	const char *tab = memchr(cur->p, '\t', (size_t)(cur->end - cur->p));
	out->s = cur->p;
	out->len = (size_t)((tab ? tab : cur->end) - cur->p);
	if (tab)
		cur->p = tab + 1;
	else
		cur->done = 1;
	return 0;
}

/* A dossier already among out[0..n). */
static int evidence_listed(const struct evidence_candidate *out, size_t n,
			   const struct evidence_slice *id)
{
	for (size_t i = 0; i < n; i++)
		if (evidence_slice_cmp(&out[i].id, id) == 0)
			return 1;
	return 0;
}

/* Appends c to out unless its dossier is listed or out is full. */
static void evidence_add(struct evidence_candidate *out, size_t *n,
			 const struct evidence_candidate *c)
{
	if (*n < EVIDENCE_MAX && c->id.len > 0 && !evidence_listed(out, *n, &c->id))
		out[(*n)++] = *c;
}

/* A key shared by several dossiers, "\t<count>" then "\t<id>\t<ml>" for
 * the first of them (02 or 04). */
static void evidence_several(const char *v, size_t len, unsigned step,
			     unsigned code, struct evidence_candidate *out, size_t *n)
{
	struct evidence_cursor cur = { v + 1, v + len, 0 };
	struct evidence_slice count;
	if (evidence_next(&cur, &count) != 0)
		return;
	for (size_t k = 0; k < EVIDENCE_SEVERAL; k++) {
		struct evidence_candidate c = { .step = step, .code = code };
		if (evidence_next(&cur, &c.id) != 0 || evidence_next(&cur, &c.ml) != 0)
			return;
		evidence_add(out, n, &c);
	}
}

/* Steps 1 and 2: "\t<count>..." (02) or "<id>\t<N(nom)>\t<ml>" (03). */
static void evidence_pe(const char *v, size_t len, unsigned step,
			struct evidence_candidate *out, size_t *n)
{
	if (len > 0 && v[0] == '\t') {
		evidence_several(v, len, step, 2, out, n);
		return;
	}
	struct evidence_cursor cur = { v, v + len, 0 };
	struct evidence_candidate c = { .step = step, .code = 3, .differs = EVIDENCE_NOM };
	if (evidence_next(&cur, &c.id) == 0 && evidence_next(&cur, &c.value) == 0 &&
	    evidence_next(&cur, &c.ml) == 0)
		evidence_add(out, n, &c);
}

/* The near candidates of one blocking key: "<id>\t<ml>\t<value>" for each
 * dossier, tab-separated; "\t<count>" (too many) gives none. */
static void evidence_near_key(const char *v, size_t len, unsigned field,
			      const struct evidence_slice *line,
			      const struct evidence_candidate *listed, size_t n_listed,
			      struct evidence_candidate *near, size_t *n_near)
{
	if (len == 0 || v[0] == '\t')
		return;
	struct evidence_cursor cur = { v, v + len, 0 };
	while (*n_near < INDEX_NEAR_MAX * 3) {
		struct evidence_candidate c = { .step = 3, .code = 5, .differs = field };
		if (evidence_next(&cur, &c.id) != 0 || evidence_next(&cur, &c.ml) != 0 ||
		    evidence_next(&cur, &c.value) != 0)
			return;
		if (c.id.len == 0 || evidence_listed(listed, n_listed, &c.id))
			continue;
		c.tier = evidence_tier(field, line->s, line->len, c.value.s, c.value.len);
		near[(*n_near)++] = c;
	}
}

size_t evidence_build(const struct evidence_raw *raw, const char *ident,
		      struct evidence_candidate out[EVIDENCE_MAX])
{
	size_t n = 0;
	if (raw->v[EVIDENCE_PE1])
		evidence_pe(raw->v[EVIDENCE_PE1], raw->len[EVIDENCE_PE1], 1, out, &n);
	if (raw->v[EVIDENCE_PE2])
		evidence_pe(raw->v[EVIDENCE_PE2], raw->len[EVIDENCE_PE2], 2, out, &n);
	if (raw->v[EVIDENCE_IDENT] && raw->len[EVIDENCE_IDENT] > 0 &&
	    raw->v[EVIDENCE_IDENT][0] == '\t')
		evidence_several(raw->v[EVIDENCE_IDENT], raw->len[EVIDENCE_IDENT], 3, 4,
				 out, &n);

	/* The line's parts: "N(nom)|N(prenom)|date". */
	const char *bar1 = strchr(ident, '|');
	const char *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
	if (!bar2)
		return n;
	struct evidence_slice nom = { ident, (size_t)(bar1 - ident) };
	struct evidence_slice prenom = { bar1 + 1, (size_t)(bar2 - bar1 - 1) };
	struct evidence_slice date = { bar2 + 1, strlen(bar2 + 1) };
	static const struct {
		enum evidence_source source;
		unsigned field;
	} keys[] = {
		{ EVIDENCE_NP, EVIDENCE_DATE },
		{ EVIDENCE_PD, EVIDENCE_NOM },
		{ EVIDENCE_ND, EVIDENCE_PRENOM },
	};
	struct evidence_candidate near[INDEX_NEAR_MAX * 3];
	size_t n_near = 0;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const char *v = raw->v[keys[k].source];
		const struct evidence_slice *line = keys[k].field == EVIDENCE_DATE ? &date :
						    keys[k].field == EVIDENCE_NOM ? &nom : &prenom;
		if (v)
			evidence_near_key(v, raw->len[keys[k].source], keys[k].field, line,
					  out, n, near, &n_near);
	}
	qsort(near, n_near, sizeof(near[0]), evidence_near_cmp);
	size_t before = n;
	for (size_t i = 0; i < n_near && n - before < EVIDENCE_NEAR; i++)
		evidence_add(out, &n, &near[i]);
	return n;
}
