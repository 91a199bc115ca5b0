#include "index_load.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "array.h"
#include "clock.h"
#include "date.h"
#include "index_load_impl.h"
#include "log.h"
#include "normalize.h"
#include "record.h"
#include "signals.h"

/* Strings of a load live in big blocks freed at once: millions of small
 * mallocs would double the loader's memory. */
struct index_block {
	struct index_block *next;
	size_t used, size;
	char data[];
};

#define INDEX_BLOCK_SIZE ((16u << 20) - 64)
#define INDEX_BUCKET_FILL 64   /* at most this many fields a bucket, on average */

const char *const index_load_table_names[TABLES] = {
	INDEX_TABLE_PE1, INDEX_TABLE_PE2, INDEX_TABLE_IDENT, INDEX_TABLE_ML,
	INDEX_TABLE_NP, INDEX_TABLE_PD, INDEX_TABLE_ND,
};

/* A big allocation (blocks, item arrays) that asks the kernel for huge
 * pages: a 2M-dossier load touches ~350 MiB, and a page fault per 4 KiB
 * was a fifth of its time. Free with free(). NULL when out of memory. */
static void *index_big_alloc(size_t size)
{
	const size_t huge = 2u << 20;
	size = (size + huge - 1) / huge * huge;
	void *p = aligned_alloc(huge, size);
#ifdef MADV_HUGEPAGE
	if (p)
		madvise(p, size, MADV_HUGEPAGE); /* a hint: fine if refused */
#endif
	return p;
}

/* Copies s (len bytes) into d's blocks, NUL-terminated; NULL when out of
 * memory. Lives as long as d. */
static char *index_strdup(struct index_load *d, const char *s, size_t len)
{
	struct index_block *b = d->blocks;
	if (!b || b->size - b->used < len + 1) {
		size_t bsize = len + 1 > INDEX_BLOCK_SIZE ? len + 1 : INDEX_BLOCK_SIZE;
		b = index_big_alloc(sizeof(*b) + bsize);
		if (!b)
			return NULL;
		b->next = d->blocks;
		b->used = 0;
		b->size = bsize;
		d->blocks = b;
	}
	char *p = b->data + b->used;
	memcpy(p, s, len);
	p[len] = '\0';
	b->used += len + 1;
	return p;
}

static int index_table_add(struct index_table *t, const char *key, size_t key_len,
			   const char *value, size_t value_len, size_t id_len)
{
	struct index_item *items = array_grow(t->items, &t->cap, t->n + 1,
					      sizeof(*items), 4096);
	if (!items)
		return -1;
	t->items = items;
	struct index_item *it = &t->items[t->n++];
	it->hash = index_key_hash(key, key_len);
	it->id_len = (uint32_t)id_len;
	it->key_len = (uint32_t)key_len;
	it->value_len = (uint32_t)value_len;
	it->key = key;
	it->value = value;
	return 0;
}

enum { COL_ID, COL_ML, COL_NOM, COL_PRENOM, COL_DATE, COL_PE1, COL_PE2, COLS };

/* Splits line in place on ';', trims each field; keeps the first COLS.
 * Returns the number of fields. */
static size_t index_split(char *line, char *field[COLS])
{
	size_t n = 0;
	char *p = line;
	for (;;) {
		char *sep = strchr(p, ';');
		if (sep)
			*sep = '\0';
		char *f = record_trim(p);
		if (n < COLS)
			field[n] = f;
		n++;
		if (!sep)
			return n;
		p = sep + 1;
	}
}

/* Checks one data row; NULL if good, else why it is not. */
static const char *index_row_problem(char *field[COLS], size_t n, char *why,
				     size_t why_size)
{
	long days;
	if (n != COLS) {
		snprintf(why, why_size, "%zu fields instead of %d", n, COLS);
		return why;
	}
	if (!*field[COL_ID])
		return "empty dossier_id";
	if (strlen(field[COL_ID]) >= INDEX_ID_MAX)
		return "dossier_id longer than 127 bytes";
	if (strchr(field[COL_ID], '\t'))
		return "tab in dossier_id";
	if (date_parse(field[COL_DATE], &days) != 0) {
		snprintf(why, why_size, "invalid date_naissance '%.40s'", field[COL_DATE]);
		return why;
	}
	return NULL;
}

/* With the evidence, a dossier's step-3 key is the end of one string that
 * holds every key of the blocking tables, each followed by '|' and the
 * field that the key leaves out (lib/index_keys.h):
 *
 *     NOM|DATE|PRENOM|DATE|NOM|PRENOM|DATE
 *     `nd key-'        `---- ident ----'
 *              `pd key-'    `np key-'
 *
 * so that the blocking tables' items (index_near_of()) need no string of
 * their own. Writes the part before ident's key for ident (len bytes) to
 * out (ident's len + 2 at least); returns its length. */
static size_t index_near_prefix(const char *ident, size_t len, char *out)
{
	const char *bar1 = memchr(ident, '|', len);
	const char *bar2 = bar1 ? memchr(bar1 + 1, '|', len - (size_t)(bar1 + 1 - ident)) : NULL;
	if (!bar2)
		return 0; /* cannot be: index_key_ident() wrote both */
	size_t nom = (size_t)(bar1 - ident), prenom = (size_t)(bar2 - bar1 - 1);
	size_t date = len - (size_t)(bar2 + 1 - ident);
	char *p = out;
	memcpy(p, ident, nom + 1);              /* "NOM|" */
	p += nom + 1;
	memcpy(p, bar2 + 1, date);              /* "DATE" */
	p += date;
	memcpy(p, bar1, prenom + 2);            /* "|PRENOM|" */
	p += prenom + 2;
	memcpy(p, bar2 + 1, date);              /* "DATE" */
	p += date;
	*p++ = '|';
	return (size_t)(p - out);
}

/* The item of the blocking table (TABLE_NP, _PD, _ND) for the dossier of
 * the ident item it, whose key ends the string of index_near_prefix(). */
static void index_near_of(int table, const struct index_item *it, struct index_item *out)
{
	const char *k = it->key;
	const char *bar1 = memchr(k, '|', it->key_len);
	const char *bar2 = memchr(bar1 + 1, '|', it->key_len - (size_t)(bar1 + 1 - k));
	size_t nom = (size_t)(bar1 - k), prenom = (size_t)(bar2 - bar1 - 1);
	size_t date = it->key_len - (size_t)(bar2 + 1 - k);
	const char *nd = k - (nom + 1 + date + 1 + prenom + 1 + date + 1);
	*out = *it;
	if (table == TABLE_NP) {
		out->key_len = (uint32_t)(nom + 1 + prenom);
	} else if (table == TABLE_PD) {
		out->key = nd + nom + 1 + date + 1;
		out->key_len = (uint32_t)(prenom + 1 + date);
	} else {
		out->key = nd;
		out->key_len = (uint32_t)(nom + 1 + date);
	}
	out->hash = index_key_hash(out->key, out->key_len);
}

/* Adds a good row to the tables. 0 or -1 (out of memory). */
static int index_add_row(struct index_load *d, char *field[COLS])
{
	const char *id_text = field[COL_ID];
	size_t id_len = strlen(id_text), ml_len = strlen(field[COL_ML]);
	/* Room for the longest: the keys' string of index_near_prefix(). */
	size_t cap = id_len + ml_len + 2 * strlen(field[COL_NOM]) +
		     2 * strlen(field[COL_PRENOM]) + 3 * strlen(field[COL_DATE]) +
		     strlen(field[COL_PE1]) + strlen(field[COL_PE2]) + 16;
	char stack[1024];
	char *buf = cap <= sizeof(stack) ? stack : malloc(cap);
	if (!buf)
		return -1;
	int rc = -1;

	/* pe1/pe2 values: "<id>\t<N(nom)>\t<ml>"; ident: "<id>\t<ml>"; the ml
	 * table: dossier id -> "<ml>". The matchers learn the ML of the dossier
	 * they integrate a line into without one more command. */
	const char *id = index_strdup(d, id_text, id_len);
	memcpy(buf, id_text, id_len);
	buf[id_len] = '\t';
	size_t len = id_len + 1 + name_normalize(field[COL_NOM], buf + id_len + 1,
						 cap - id_len - 1);
	buf[len++] = '\t';
	memcpy(buf + len, field[COL_ML], ml_len);
	len += ml_len;
	size_t id_nom_len = len;
	const char *id_nom = id ? index_strdup(d, buf, len) : NULL;
	/* "<id>\t<ml>": the end of id_nom's copy would do, but not its start. */
	memcpy(buf + id_len + 1, field[COL_ML], ml_len);
	size_t id_ml_len = id_len + 1 + ml_len;
	const char *id_ml = id_nom ? index_strdup(d, buf, id_ml_len) : NULL;
	if (!id_ml)
		goto out;

	len = index_key_pe(field[COL_PE1], buf, cap);
	if (len) {
		const char *key = index_strdup(d, buf, len);
		if (!key || index_table_add(&d->table[TABLE_PE1], key, len, id_nom,
					       id_nom_len, id_len))
			goto out;
	}
	len = index_key_pe(field[COL_PE2], buf, cap);
	if (len) {
		const char *key = index_strdup(d, buf, len);
		if (!key || index_table_add(&d->table[TABLE_PE2], key, len, id_nom,
					       id_nom_len, id_len))
			goto out;
	}
	/* The step-3 key, after the blocking keys with the evidence. */
	size_t ident_cap = strlen(field[COL_NOM]) + strlen(field[COL_PRENOM]) +
			   strlen(field[COL_DATE]) + 3;
	char *ident = buf + cap - ident_cap; /* the prefix fits before it */
	len = index_key_ident(field[COL_NOM], field[COL_PRENOM], field[COL_DATE],
			      ident, ident_cap);
	size_t before = d->near ? index_near_prefix(ident, len, buf) : 0;
	memmove(buf + before, ident, len);
	const char *key = index_strdup(d, buf, before + len);
	key = key ? key + before : NULL;
	const char *ml = key ? id_ml + id_len + 1 : NULL;
	if (!ml || index_table_add(&d->table[TABLE_IDENT], key, len, id_ml, id_ml_len,
				   id_len) ||
	    index_table_add(&d->table[TABLE_ML], id, id_len, ml, ml_len, ml_len))
		goto out;
	rc = 0;
out:
	if (buf != stack)
		free(buf);
	return rc;
}

static int index_item_cmp(const void *a, const void *b)
{
	const struct index_item *x = a, *y = b;
	/* The hash first: most items differ there, without reading the keys. */
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	int c = memcmp(x->key, y->key, x->key_len < y->key_len ? x->key_len : y->key_len);
	if (c)
		return c;
	if (x->key_len != y->key_len)
		return x->key_len < y->key_len ? -1 : 1;
	c = strcmp(x->value, y->value);
	/* Then what follows a blocking key (nothing for the others): one
	 * order whatever the rows' order, even for a dossier id given twice. */
	return c ? c : strcmp(x->key + x->key_len, y->key + y->key_len);
}

static int index_hash_cmp(const void *a, const void *b)
{
	const struct index_item *x = a, *y = b;
	return (x->hash > y->hash) - (x->hash < y->hash);
}

/* Sorts a bucket's items by hash, then those of one hash by key, value and
 * what follows the key (index_item_cmp()): the dossiers of a key are
 * adjacent, in one order whatever the rows' order. In a blocking table, a
 * key of more than INDEX_NEAR_MAX items is left as it is (only their count
 * is written): common names made 300 items a key in the benchmark, and
 * sorting equal keys compares each whole. */
static void index_bucket_sort(struct index_item *it, size_t n, int near)
{
	qsort(it, n, sizeof(*it), index_hash_cmp);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && it[j].hash == it[i].hash)
			j++;
		if (j - i > 1) {
			int crowded = near && j - i > INDEX_NEAR_MAX;
			for (size_t m = i + 1; crowded && m < j; m++)
				crowded = index_same_key(&it[m], &it[i]);
			if (!crowded)
				qsort(it + i, j - i, sizeof(*it), index_item_cmp);
		}
		i = j;
	}
}

/* Groups the items of d's table by bucket (a counting sort), then sorts
 * each bucket by hash, key and value so that the dossiers of one key are
 * adjacent. Fills *k. A blocking table's items are made here from rows,
 * the ident items (index_near_of()); ident's own former array stays (it is
 * rows, read by the others). The grouped items go to *spare when it holds
 * them all (*spare_cap), and the table's former array becomes the spare for
 * the next table: a fresh array costs a page fault and a zeroed page every
 * 4 KiB (a quarter of a 2M load's CPU). Returns 0 or -1 (out of memory). */
int index_load_group(struct index_load *d, int table,
		     const struct index_item *rows, size_t nrows,
		     struct index_item **spare, size_t *spare_cap,
		     struct index_load_group_counts *k)
{
	struct index_table *t = &d->table[table];
	uint32_t buckets = d->buckets, mask = buckets - 1;
	int near = index_table_near(table);
	if (near)
		t->n = nrows;
	t->start = calloc((size_t)buckets + 1, sizeof(*t->start));
	struct index_item *sorted = *spare;
	size_t sorted_cap = *spare_cap;
	if (sorted_cap < t->n || !sorted) {
		sorted_cap = t->n ? t->n : 1;
		sorted = index_big_alloc(sorted_cap * sizeof(*sorted));
	} else {
		*spare = NULL;
		*spare_cap = 0;
	}
	uint32_t *fill = malloc((size_t)buckets * sizeof(*fill));
	if (!t->start || !sorted || !fill) {
		free(sorted);
		free(fill);
		return -1;
	}
	struct index_item it;
	for (size_t i = 0; i < t->n; i++) {
		if (near)
			index_near_of(table, &rows[i], &it);
		t->start[((near ? it.hash : t->items[i].hash) & mask) + 1]++;
	}
	for (uint32_t b = 0; b < buckets; b++)
		t->start[b + 1] += t->start[b];
	memcpy(fill, t->start, (size_t)buckets * sizeof(*fill));
	for (size_t i = 0; i < t->n; i++) {
		if (near)
			index_near_of(table, &rows[i], &it);
		else
			it = t->items[i];
		sorted[fill[it.hash & mask]++] = it;
	}
	free(fill);
	if (t->items && t->items != rows && t->cap > *spare_cap) {
		free(*spare);
		*spare = t->items;
		*spare_cap = t->cap;
	} else if (t->items != rows) {
		free(t->items);
	}
	t->items = sorted;
	t->cap = sorted_cap;

	memset(k, 0, sizeof(*k));
	for (uint32_t b = 0; b < buckets; b++) {
		struct index_item *first = t->items + t->start[b];
		size_t n = t->start[b + 1] - t->start[b];
		if (b + 1 < buckets)
			index_prefetch(t, b + 1);
		index_bucket_sort(first, n, near);
		for (size_t i = 0; i < n;) {
			size_t j = i + 1;
			while (j < n && index_same_key(&first[j], &first[i]))
				j++;
			k->keys++;
			k->shared += j - i > 1;
			k->crowded += j - i > INDEX_NEAR_MAX;
			i = j;
		}
	}
	return 0;
}

/* Checks the header: the seven names, trimmed, any case. */
static int index_header_ok(char *line)
{
	static const char *const names[COLS] = {
		"dossier_id", "ml_code", "nom_naissance", "prenom",
		"date_naissance", "pe_cotraitance", "pe_complement",
	};
	char *field[COLS];
	if (index_split(line, field) != COLS)
		return 0;
	for (size_t i = 0; i < COLS; i++)
		if (strcasecmp(field[i], names[i]) != 0)
			return 0;
	return 1;
}

/* Reads every row into d; 0, or -1 with errstr. */
static int index_read_rows(struct index_load *d, FILE *in, const char *name,
			   char *errstr, size_t errstr_size)
{
	char *line = NULL;
	size_t line_cap = 0;
	ssize_t len;
	uint64_t lineno = 0;
	int header_seen = 0, failed = 0;
	errno = 0;
	while ((len = getline(&line, &line_cap, in)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		char *text = line;
		if (lineno == 1 && (unsigned char)text[0] == 0xEF &&
		    (unsigned char)text[1] == 0xBB && (unsigned char)text[2] == 0xBF)
			text += 3;
		if (text[strspn(text, " \t")] == '\0')
			continue; /* blank line */
		if (!header_seen) {
			if (!index_header_ok(text)) {
				snprintf(errstr, errstr_size,
					 "'%s': line %llu: the header is not '%s'", name,
					 (unsigned long long)lineno, INDEX_LOAD_HEADER);
				failed = 1;
				break;
			}
			header_seen = 1;
			continue;
		}
		d->counts.rows++;
		if ((d->counts.rows & 0xffff) == 0 && signals_stop) {
			snprintf(errstr, errstr_size, "'%s': stopped by a signal at line %llu",
				 name, (unsigned long long)lineno);
			failed = 1;
			break;
		}
		char *field[COLS], why[96];
		size_t n = index_split(text, field);
		const char *problem = index_row_problem(field, n, why, sizeof(why));
		if (problem) {
			d->counts.malformed++;
			log_warn("'%s': line %llu: %s, row skipped", name,
				 (unsigned long long)lineno, problem);
			continue;
		}
		if (index_add_row(d, field) != 0) {
			snprintf(errstr, errstr_size, "'%s': out of memory at line %llu",
				 name, (unsigned long long)lineno);
			failed = 1;
			break;
		}
		d->counts.loaded++;
	}
	if (!failed && ferror(in)) {
		snprintf(errstr, errstr_size, "cannot read '%s': %s", name,
			 strerror(errno ? errno : EIO));
		failed = 1;
	}
	if (!failed && !header_seen) {
		snprintf(errstr, errstr_size, "'%s': empty file, no header '%s'", name,
			 INDEX_LOAD_HEADER);
		failed = 1;
	}
	free(line);
	return failed ? -1 : 0;
}

/* The grouping of a load's tables, shared by the threads that do it. */
struct index_grouping {
	struct index_load *d;
	struct index_load_group_counts *k;   /* one per table */
	pthread_mutex_t lock;
	int next;                       /* the next table to take, in order[] */
	int order[TABLES];              /* the tables to group, biggest first */
	int n;
	int failed;
};

/* One thread of a grouping: its spare array is kept in d->spare[slot]. */
struct index_group_thread_arg {
	struct index_grouping *g;
	int slot;
};

/* A thread's work: takes the next table until none is left. */
static void *index_group_thread(void *arg)
{
	const struct index_group_thread_arg *a = arg;
	struct index_grouping *g = a->g;
	struct index_item *spare = NULL;
	size_t spare_cap = 0;
	for (;;) {
		pthread_mutex_lock(&g->lock);
		int i = g->failed ? g->n : g->next++;
		pthread_mutex_unlock(&g->lock);
		if (i >= g->n)
			break;
		int t = g->order[i];
		/* ident's own array stays, as rows, with the evidence */
		const struct index_item *keep = g->d->near && t == TABLE_IDENT ?
						g->d->table[t].items : NULL;
		if (index_load_group(g->d, t, keep, 0, &spare, &spare_cap, &g->k[t]) != 0) {
			pthread_mutex_lock(&g->lock);
			g->failed = 1;
			pthread_mutex_unlock(&g->lock);
		}
	}
	g->d->spare[a->slot] = spare;
	g->d->spare_cap[a->slot] = spare_cap;
	return NULL;
}

/* Groups the look-up tables of d (index_load_group()) on two threads:
 * Redis has nothing to do yet, the second core is free. The blocking
 * tables wait for index_write(). 0, or -1 (out of memory). */
static int index_group_all(struct index_load *d, struct index_load_group_counts k[TABLES])
{
	struct index_grouping g = { .d = d, .k = k };
	memset(k, 0, TABLES * sizeof(*k));
	if (d->near) {
		d->rows = d->table[TABLE_IDENT].items;
		d->nrows = d->table[TABLE_IDENT].n;
	}
	pthread_mutex_init(&g.lock, NULL);
	/* The biggest first: the two threads end together. */
	static const int order[] = { TABLE_IDENT, TABLE_ML, TABLE_PE1, TABLE_PE2 };
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		g.order[g.n++] = order[i];
	struct index_group_thread_arg mine = { &g, 0 }, its = { &g, 1 };
	pthread_t other;
	int threaded = pthread_create(&other, NULL, index_group_thread, &its) == 0;
	index_group_thread(&mine);
	if (threaded)
		pthread_join(other, NULL);
	pthread_mutex_destroy(&g.lock);
	if (d->rows == d->table[TABLE_IDENT].items)
		d->rows = NULL; /* not grouped: freed with the table */
	return g.failed ? -1 : 0;
}

struct index_load *index_load_read(FILE *in, const char *name, int evidence,
				   struct index_load_counts *counts,
				   char *errstr, size_t errstr_size)
{
	struct index_load *d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(errstr, errstr_size, "out of memory");
		return NULL;
	}
	d->near = evidence != 0;
	snprintf(d->source, sizeof(d->source), "%s", name);
	/* A regular file's size bounds its rows: size the tables once (one row
	 * is more than 32 bytes) rather than grow them by copies. */
	struct stat st;
	size_t expect = 0;
	if (fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		expect = (size_t)st.st_size / 32 + 1;
	for (int t = 0; t < TABLES; t++) {
		d->table[t].name = index_load_table_names[t];
		if (index_table_near(t))
			continue; /* made from ident's items by index_load_group() */
		if (expect && (d->table[t].items = index_big_alloc(
				       expect * sizeof(*d->table[t].items))))
			d->table[t].cap = expect;
	}
	double t0 = clock_now_s();
	if (index_read_rows(d, in, name, errstr, errstr_size) != 0) {
		index_load_free(d);
		return NULL;
	}
	log_debug("'%s': rows read in %.2f s", name, clock_now_s() - t0);

	/* B: the smallest power of 16 giving at most INDEX_BUCKET_FILL fields
	 * a bucket in the largest table. A power of 16, so that a bucket's name
	 * is the last hex digits of the field's hash: cheap to cut in Lua. */
	size_t most = 0;
	for (int t = 0; t < TABLES; t++)
		if (d->table[t].n > most)
			most = d->table[t].n;
	d->digits = 1;
	d->buckets = 16;
	while ((size_t)d->buckets * INDEX_BUCKET_FILL < most && d->digits < 6) {
		d->digits++;
		d->buckets *= 16;
	}

	struct index_load_group_counts k[TABLES];
	if (index_group_all(d, k) != 0) {
		snprintf(errstr, errstr_size, "'%s': out of memory", name);
		index_load_free(d);
		return NULL;
	}
	struct index_load_counts *c = &d->counts;
	c->pe1_keys = k[TABLE_PE1].keys;
	c->pe1_shared = k[TABLE_PE1].shared;
	c->pe2_keys = k[TABLE_PE2].keys;
	c->pe2_shared = k[TABLE_PE2].shared;
	c->ident_keys = k[TABLE_IDENT].keys;
	c->ident_shared = k[TABLE_IDENT].shared;

	log_debug("'%s': read and grouped in %.2f s", name, clock_now_s() - t0);
	if (counts)
		*counts = d->counts;
	return d;
}

void index_load_free(struct index_load *d)
{
	if (!d)
		return;
	free(d->spare[0]);
	free(d->spare[1]);
	free(d->rows);
	for (int t = 0; t < TABLES; t++) {
		free(d->table[t].items);
		free(d->table[t].start);
	}
	while (d->blocks) {
		struct index_block *next = d->blocks->next;
		free(d->blocks);
		d->blocks = next;
	}
	free(d);
}

struct index_load_counts index_load_counts(const struct index_load *d)
{
	return d->counts;
}
