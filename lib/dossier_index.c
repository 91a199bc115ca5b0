#include "dossier_index.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include <openssl/evp.h>
#include <uthash.h>

#include "array.h"
#include "date.h"
#include "log.h"
#include "normalize.h"
#include "signals.h"

/* ------------------------------------------------------------------ */
/* Connection and keys                                                 */

int index_parse_addr(const char *addr, char *host, size_t host_size, int *port,
		     char *errstr, size_t errstr_size)
{
	const char *colon = addr ? strrchr(addr, ':') : NULL;
	char *end = NULL;
	long p = colon ? strtol(colon + 1, &end, 10) : 0;
	if (!colon || colon == addr || (size_t)(colon - addr) >= host_size ||
	    !*(colon + 1) || *end || p <= 0 || p > 65535) {
		snprintf(errstr, errstr_size, "redis address '%s' is not HOST:PORT",
			 addr ? addr : "");
		return -1;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	*port = (int)p;
	return 0;
}

redisContext *index_connect(const char *addr, int timeout_ms,
			    char *errstr, size_t errstr_size)
{
	char host[256];
	int port;
	if (index_parse_addr(addr, host, sizeof(host), &port, errstr, errstr_size))
		return NULL;

	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	redisContext *rc = redisConnectWithTimeout(host, port, tv);
	if (!rc) {
		snprintf(errstr, errstr_size, "cannot connect to redis '%s': out of memory",
			 addr);
		return NULL;
	}
	if (rc->err) {
		snprintf(errstr, errstr_size, "cannot connect to redis '%s': %s", addr,
			 rc->errstr);
		redisFree(rc);
		return NULL;
	}
	if (redisSetTimeout(rc, tv) != REDIS_OK) {
		snprintf(errstr, errstr_size, "cannot set the timeout of redis '%s': %s",
			 addr, rc->errstr);
		redisFree(rc);
		return NULL;
	}
	return rc;
}

static int index_blank(char c)
{
	return c == ' ' || c == '\t';
}

size_t index_pe_key(const char *pe, char *out, size_t out_size)
{
	if (out_size == 0)
		return 0;
	while (index_blank(*pe))
		pe++;
	size_t len = strlen(pe);
	while (len > 0 && index_blank(pe[len - 1]))
		len--;
	if (len > out_size - 1)
		len = out_size - 1;
	for (size_t i = 0; i < len; i++)
		out[i] = (char)toupper((unsigned char)pe[i]);
	out[len] = '\0';
	return len;
}

size_t index_ident_key(const char *nom, const char *prenom, const char *date,
		       char *out, size_t out_size)
{
	/* N(s) is never longer than s: size the parts from the inputs. */
	size_t need = strlen(nom) + strlen(prenom) + strlen(date) + 3;
	if (out_size < need) {
		if (out_size)
			out[0] = '\0';
		return 0;
	}
	size_t n = name_normalize(nom, out, out_size);
	out[n++] = '|';
	n += name_normalize(prenom, out + n, out_size - n);
	out[n++] = '|';
	while (index_blank(*date))
		date++;
	size_t dl = strlen(date);
	while (dl > 0 && index_blank(date[dl - 1]))
		dl--;
	memcpy(out + n, date, dl);
	n += dl;
	out[n] = '\0';
	return n;
}

uint32_t index_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

void index_bucket_key(char *out, size_t size, const char *gen, const char *table,
		      unsigned digits, const char *field)
{
	uint32_t mask = digits >= 8 ? 0xffffffffu : (1u << (4 * digits)) - 1;
	snprintf(out, size, INDEX_KEY_PREFIX "%s:%s:%0*x", gen, table, (int)digits,
		 index_hash(field, strlen(field)) & mask);
}

/* ------------------------------------------------------------------ */
/* Reading the export                                                  */

/* Strings of a load live in big blocks freed at once: millions of small
 * mallocs would double the loader's memory. */
struct index_block {
	struct index_block *next;
	size_t used, size;
	char data[];
};

#define INDEX_BLOCK_SIZE ((16u << 20) - 64)
#define INDEX_BUCKET_FILL 64   /* at most this many fields a bucket, on average */

/* One field to write: key -> value, in bucket hash mod B. */
struct index_item {
	uint32_t hash;
	uint32_t id_len;      /* the dossier id is value's first id_len bytes */
	uint32_t key_len, value_len;
	const char *key;
	const char *value;
};

/* One hash of the layout: its items, then grouped by bucket. */
struct index_table {
	const char *name;           /* "pe1", "pe2", "ident", "ml" */
	struct index_item *items;   /* sorted by bucket, key, value once read */
	size_t n, cap;
	uint32_t *start;            /* bucket b is items[start[b] .. start[b+1]) */
};

enum { TABLE_PE1, TABLE_PE2, TABLE_IDENT, TABLE_ML, TABLES };

struct index_data {
	struct index_block *blocks;
	struct index_table table[TABLES];
	uint32_t buckets;           /* B = 16^digits */
	unsigned digits;            /* bucket names: that many hex digits */
	char source[256];
	struct index_counts counts;
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
static char *index_strdup(struct index_data *d, const char *s, size_t len)
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
	it->hash = index_hash(key, key_len);
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
		while (index_blank(*p))
			p++;
		size_t len = strlen(p);
		while (len > 0 && index_blank(p[len - 1]))
			p[--len] = '\0';
		if (n < COLS)
			field[n] = p;
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

/* Adds a good row to the four tables. 0 or -1 (out of memory). */
static int index_add_row(struct index_data *d, char *field[COLS])
{
	const char *id_text = field[COL_ID];
	size_t id_len = strlen(id_text), ml_len = strlen(field[COL_ML]);
	size_t cap = id_len + ml_len + strlen(field[COL_NOM]) + strlen(field[COL_PRENOM]) +
		     strlen(field[COL_DATE]) + strlen(field[COL_PE1]) +
		     strlen(field[COL_PE2]) + 8;
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

	len = index_pe_key(field[COL_PE1], buf, cap);
	if (len) {
		const char *key = index_strdup(d, buf, len);
		if (!key || index_table_add(&d->table[TABLE_PE1], key, len, id_nom,
					       id_nom_len, id_len))
			goto out;
	}
	len = index_pe_key(field[COL_PE2], buf, cap);
	if (len) {
		const char *key = index_strdup(d, buf, len);
		if (!key || index_table_add(&d->table[TABLE_PE2], key, len, id_nom,
					       id_nom_len, id_len))
			goto out;
	}
	len = index_ident_key(field[COL_NOM], field[COL_PRENOM], field[COL_DATE],
			      buf, cap);
	const char *key = index_strdup(d, buf, len);
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
	int c = strcmp(x->key, y->key);
	return c ? c : strcmp(x->value, y->value);
}

/* Asks the CPU for the strings of bucket b: they are scattered in row order
 * over the blocks, and waiting for each while working on the bucket before
 * was most of the loader's time. */
static void index_prefetch(const struct index_table *t, uint32_t b)
{
	for (uint32_t i = t->start[b]; i < t->start[b + 1]; i++) {
		__builtin_prefetch(t->items[i].key);
		__builtin_prefetch(t->items[i].value);
	}
}

/* Two items of the same key (same hash first: cheaper). */
static int index_same_key(const struct index_item *x, const struct index_item *y)
{
	return x->hash == y->hash && x->key_len == y->key_len &&
	       memcmp(x->key, y->key, x->key_len) == 0;
}

/* Groups t's items by bucket (a counting sort), then sorts each bucket by
 * hash, key and value so that the dossiers of one key are adjacent. Fills the
 * key counts. Returns 0 or -1 (out of memory). */
static int index_table_group(struct index_table *t, uint32_t buckets,
			     uint64_t *keys, uint64_t *shared)
{
	uint32_t mask = buckets - 1;
	t->start = calloc((size_t)buckets + 1, sizeof(*t->start));
	struct index_item *sorted = index_big_alloc((t->n ? t->n : 1) * sizeof(*sorted));
	if (!t->start || !sorted) {
		free(sorted);
		return -1;
	}
	for (size_t i = 0; i < t->n; i++)
		t->start[(t->items[i].hash & mask) + 1]++;
	for (uint32_t b = 0; b < buckets; b++)
		t->start[b + 1] += t->start[b];
	uint32_t *fill = malloc((size_t)buckets * sizeof(*fill));
	if (!fill) {
		free(sorted);
		return -1;
	}
	memcpy(fill, t->start, (size_t)buckets * sizeof(*fill));
	for (size_t i = 0; i < t->n; i++)
		sorted[fill[t->items[i].hash & mask]++] = t->items[i];
	free(fill);
	free(t->items);
	t->items = sorted;
	t->cap = t->n;

	*keys = *shared = 0;
	for (uint32_t b = 0; b < buckets; b++) {
		struct index_item *first = t->items + t->start[b];
		size_t n = t->start[b + 1] - t->start[b];
		if (b + 1 < buckets)
			index_prefetch(t, b + 1);
		qsort(first, n, sizeof(*first), index_item_cmp);
		for (size_t i = 0; i < n; i++) {
			if (i == 0 || !index_same_key(&first[i], &first[i - 1]))
				(*keys)++;
			else if (i == 1 || !index_same_key(&first[i - 1], &first[i - 2]))
				(*shared)++; /* counted once, at its second item */
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
static int index_read_rows(struct index_data *d, FILE *in, const char *name,
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
					 (unsigned long long)lineno, INDEX_EXPORT_HEADER);
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
			 INDEX_EXPORT_HEADER);
		failed = 1;
	}
	free(line);
	return failed ? -1 : 0;
}

struct index_data *index_read(FILE *in, const char *name,
			      struct index_counts *counts,
			      char *errstr, size_t errstr_size)
{
	static const char *const names[TABLES] = { "pe1", "pe2", "ident", "ml" };
	struct index_data *d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(errstr, errstr_size, "out of memory");
		return NULL;
	}
	snprintf(d->source, sizeof(d->source), "%s", name);
	/* A regular file's size bounds its rows: size the tables once (one row
	 * is more than 32 bytes) rather than grow them by copies. */
	struct stat st;
	size_t expect = 0;
	if (fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		expect = (size_t)st.st_size / 32 + 1;
	for (int t = 0; t < TABLES; t++) {
		d->table[t].name = names[t];
		if (expect && (d->table[t].items = index_big_alloc(
				       expect * sizeof(*d->table[t].items))))
			d->table[t].cap = expect;
	}
	if (index_read_rows(d, in, name, errstr, errstr_size) != 0) {
		index_data_free(d);
		return NULL;
	}

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

	uint64_t ml_keys, ml_shared;
	struct index_counts *c = &d->counts;
	if (index_table_group(&d->table[TABLE_PE1], d->buckets, &c->pe1_keys, &c->pe1_shared) ||
	    index_table_group(&d->table[TABLE_PE2], d->buckets, &c->pe2_keys, &c->pe2_shared) ||
	    index_table_group(&d->table[TABLE_IDENT], d->buckets, &c->ident_keys, &c->ident_shared) ||
	    index_table_group(&d->table[TABLE_ML], d->buckets, &ml_keys, &ml_shared)) {
		snprintf(errstr, errstr_size, "'%s': out of memory", name);
		index_data_free(d);
		return NULL;
	}
	if (counts)
		*counts = d->counts;
	return d;
}

void index_data_free(struct index_data *d)
{
	if (!d)
		return;
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

/* ------------------------------------------------------------------ */
/* Writing a generation                                                */

#define INDEX_CHUNK_ARGS 2000   /* arguments per pipelined command */
#define INDEX_WINDOW 64         /* commands in flight before reading a reply */

/* Sends commands pipelined and reads their replies a window behind. */
struct index_writer {
	redisContext *rc;
	const char *argv[2 + INDEX_CHUNK_ARGS];
	size_t argvlen[2 + INDEX_CHUNK_ARGS];
	char marker[INDEX_CHUNK_ARGS / 2][16]; /* "\t<count>" values */
	char key[96];
	int head;       /* arguments before the pairs: "HSET key" */
	int argc;
	int pending;
	char *errstr;
	size_t errstr_size;
	int failed;
};

static int index_writer_fail(struct index_writer *w, const char *what)
{
	snprintf(w->errstr, w->errstr_size, "redis: %s", what);
	w->failed = 1;
	return -1;
}

static int index_reply_check(struct index_writer *w)
{
	redisReply *reply = NULL;
	if (redisGetReply(w->rc, (void **)&reply) != REDIS_OK)
		return index_writer_fail(w, w->rc->errstr);
	w->pending--;
	if (reply->type == REDIS_REPLY_ERROR)
		index_writer_fail(w, reply->str);
	freeReplyObject(reply);
	return w->failed ? -1 : 0;
}

/* Appends the command being built (if it has arguments past its head). */
static int index_writer_flush(struct index_writer *w)
{
	if (w->failed)
		return -1;
	if (w->argc <= w->head)
		return 0;
	/* A stop request ends a load between two commands: the current index
	 * stays, the half generation is deleted by the next load. */
	if (signals_stop) {
		snprintf(w->errstr, w->errstr_size, "stopped by a signal");
		w->failed = 1;
		return -1;
	}
	/* hiredis copies the arguments here: buffers may be reused after. */
	if (redisAppendCommandArgv(w->rc, w->argc, w->argv, w->argvlen) != REDIS_OK)
		return index_writer_fail(w, w->rc->errstr);
	w->argc = w->head;
	w->pending++;
	if (w->pending >= INDEX_WINDOW)
		return index_reply_check(w);
	return 0;
}

/* Starts a command "<cmd> [key]"; key is copied. */
static int index_writer_begin(struct index_writer *w, const char *cmd,
			      const char *key)
{
	if (index_writer_flush(w))
		return -1;
	w->argv[0] = cmd;
	w->argvlen[0] = strlen(cmd);
	w->head = 1;
	if (key) {
		snprintf(w->key, sizeof(w->key), "%s", key);
		w->argv[1] = w->key;
		w->argvlen[1] = strlen(w->key);
		w->head = 2;
	}
	w->argc = w->head;
	return 0;
}

static int index_writer_arg(struct index_writer *w, const char *arg, size_t len)
{
	w->argv[w->argc] = arg;
	w->argvlen[w->argc++] = len;
	/* Keep pairs whole: a command ends on an even count of arguments. */
	if (w->argc - w->head >= INDEX_CHUNK_ARGS && (w->argc - w->head) % 2 == 0)
		return index_writer_flush(w);
	return 0;
}

static int index_writer_finish(struct index_writer *w)
{
	if (index_writer_flush(w))
		return -1;
	while (w->pending > 0)
		if (index_reply_check(w))
			return -1;
	return 0;
}

/* Writes one table, one HSET per bucket; a key of several dossiers gets
 * "\t<count>" (distinct dossier ids among its adjacent items). */
static int index_write_table(struct index_writer *w, long long gen,
			     const struct index_data *d, const struct index_table *t)
{
	for (uint32_t b = 0; b < d->buckets; b++) {
		const struct index_item *it = t->items + t->start[b];
		size_t n = t->start[b + 1] - t->start[b];
		if (b + 1 < d->buckets)
			index_prefetch(t, b + 1);
		if (n == 0)
			continue;
		char key[96];
		snprintf(key, sizeof(key), INDEX_KEY_PREFIX "%lld:%s:%0*x", gen, t->name,
			 (int)d->digits, b);
		if (index_writer_begin(w, "HSET", key))
			return -1;
		for (size_t i = 0; i < n;) {
			size_t j = i + 1;
			unsigned distinct = 1;
			for (; j < n && index_same_key(&it[j], &it[i]); j++)
				if (it[j].id_len != it[j - 1].id_len ||
				    memcmp(it[j].value, it[j - 1].value, it[j].id_len) != 0)
					distinct++;
			const char *value = it[i].value;
			size_t value_len;
			if (distinct > 1) {
				char *m = w->marker[(w->argc - w->head) / 2];
				value_len = (size_t)snprintf(m, sizeof(w->marker[0]), "\t%u",
							     distinct);
				value = m;
			} else {
				value_len = it[i].value_len;
			}
			if (index_writer_arg(w, it[i].key, it[i].key_len) ||
			    index_writer_arg(w, value, value_len))
				return -1;
			i = j;
		}
	}
	return index_writer_flush(w);
}

redisReply *index_command(redisContext *rc, char *errstr, size_t errstr_size,
			  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *reply = redisvCommand(rc, fmt, ap);
	va_end(ap);
	if (!reply) {
		snprintf(errstr, errstr_size, "redis: %s", rc->errstr);
		return NULL;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		snprintf(errstr, errstr_size, "redis: %s", reply->str);
		freeReplyObject(reply);
		return NULL;
	}
	return reply;
}

redisReply *index_reply(redisContext *rc, char *errstr, size_t errstr_size)
{
	void *r = NULL;
	if (redisGetReply(rc, &r) != REDIS_OK || !r) {
		snprintf(errstr, errstr_size, "redis: %s", rc->errstr);
		return NULL;
	}
	redisReply *reply = r;
	if (reply->type == REDIS_REPLY_ERROR) {
		snprintf(errstr, errstr_size, "redis: %s", reply->str);
		freeReplyObject(reply);
		return NULL;
	}
	return reply;
}

/* Makes generation ARGV[1] current unless a newer one already is (two loaders
 * racing never step back). */
static const char index_switch_lua[] =
	"local cur = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
	"if tonumber(ARGV[1]) > cur then\n"
	"  redis.call('SET', KEYS[1], ARGV[1])\n"
	"  return 1\n"
	"end\n"
	"return 0\n";

static const char *const index_table_names[TABLES] = { "pe1", "pe2", "ident", "ml" };

/* UNLINKs every key of generation g: its buckets, named from its meta's
 * bucket count, then the meta. */
static int index_drop_gen(redisContext *rc, const char *g, char *errstr,
			  size_t errstr_size)
{
	redisReply *r = index_command(rc, errstr, errstr_size,
				      "HGET " INDEX_KEY_PREFIX "%s:meta digits", g);
	if (!r)
		return -1;
	int digits = r->type == REDIS_REPLY_STRING ? atoi(r->str) : 0;
	freeReplyObject(r);
	long long buckets = digits > 0 && digits <= 6 ? 1LL << (4 * digits) : 0;

	struct index_writer *w = calloc(1, sizeof(*w));
	char (*names)[96] = malloc(INDEX_CHUNK_ARGS * sizeof(*names));
	if (!w || !names) {
		free(w);
		free(names);
		snprintf(errstr, errstr_size, "out of memory");
		return -1;
	}
	w->rc = rc;
	w->errstr = errstr;
	w->errstr_size = errstr_size;
	int failed = index_writer_begin(w, "UNLINK", NULL);
	size_t k = 0;
	for (int t = 0; t < TABLES && !failed; t++) {
		for (long long b = 0; b < buckets && !failed; b++) {
			/* names[] is reused once the command holding it is sent. */
			int len = snprintf(names[k % INDEX_CHUNK_ARGS], sizeof(names[0]),
					   INDEX_KEY_PREFIX "%s:%s:%0*llx", g,
					   index_table_names[t], digits, b);
			failed = index_writer_arg(w, names[k % INDEX_CHUNK_ARGS], (size_t)len);
			k++;
		}
	}
	char meta[96];
	int len = snprintf(meta, sizeof(meta), INDEX_KEY_PREFIX "%s:meta", g);
	failed = failed || index_writer_arg(w, meta, (size_t)len) ||
		 index_writer_finish(w);
	free(names);
	free(w);
	return failed ? -1 : 0;
}

/* Deletes every generation recorded but keep and the newer ones (a load
 * still running elsewhere). */
static int index_drop_old(redisContext *rc, long long keep, char *errstr,
			  size_t errstr_size)
{
	redisReply *members = index_command(rc, errstr, errstr_size, "SMEMBERS %s",
					    INDEX_KEY_GENERATIONS);
	if (!members)
		return -1;
	int failed = 0;
	for (size_t i = 0; i < members->elements && !failed; i++) {
		const char *g = members->element[i]->str;
		if (!g || strtoll(g, NULL, 10) >= keep)
			continue;
		failed = index_drop_gen(rc, g, errstr, errstr_size) != 0;
		redisReply *r = failed ? NULL :
			index_command(rc, errstr, errstr_size, "SREM %s %s",
				      INDEX_KEY_GENERATIONS, g);
		failed = failed || !r;
		freeReplyObject(r);
		if (!failed)
			log_info("index generation %s deleted", g);
	}
	freeReplyObject(members);
	return failed ? -1 : 0;
}

int index_publish(redisContext *rc, const struct index_data *d,
		  char *gen, size_t gen_size, char *errstr, size_t errstr_size)
{
	redisReply *r = index_command(rc, errstr, errstr_size, "INCR %s", INDEX_KEY_SEQ);
	if (!r)
		return -1;
	long long g = r->integer;
	freeReplyObject(r);
	snprintf(gen, gen_size, "%lld", g);

	/* Recorded first, with its bucket count: a load that dies half way is
	 * found and deleted by the next one. */
	r = index_command(rc, errstr, errstr_size, "SADD %s %lld",
			  INDEX_KEY_GENERATIONS, g);
	freeReplyObject(r);
	if (r)
		r = index_command(rc, errstr, errstr_size,
				  "HSET " INDEX_KEY_PREFIX "%lld:meta digits %u buckets %u "
				  "source %s dossiers %llu malformed %llu loaded_at %lld", g,
				  d->digits, d->buckets, d->source, (unsigned long long)d->counts.loaded,
				  (unsigned long long)d->counts.malformed, (long long)time(NULL));
	freeReplyObject(r);
	if (!r)
		return -1;

	struct index_writer *w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(errstr, errstr_size, "out of memory");
		return -1;
	}
	w->rc = rc;
	w->errstr = errstr;
	w->errstr_size = errstr_size;
	int failed = 0;
	for (int t = 0; t < TABLES && !failed; t++)
		failed = index_write_table(w, g, d, &d->table[t]) != 0;
	failed = failed || index_writer_finish(w);
	free(w);
	if (failed)
		return -1;

	r = index_command(rc, errstr, errstr_size, "EVAL %s 1 %s %lld",
			  index_switch_lua, INDEX_KEY_CURRENT, g);
	if (!r)
		return -1;
	int switched = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
	freeReplyObject(r);
	if (!switched) {
		snprintf(errstr, errstr_size,
			 "a newer index generation than %lld is current: another load "
			 "finished first", g);
		return -1;
	}
	log_info("index generation %lld is current (%u buckets a table)", g, d->buckets);
	/* The new index is live: a failed clean-up is redone by the next load. */
	char why[256];
	if (index_drop_old(rc, g, why, sizeof(why)) != 0)
		log_warn("older index generations not deleted: %s", why);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The cascade                                                         */

/* lib/lua/index_resolve.lua, embedded at build time (Makefile). */
static const char index_resolve_lua[] =
#include "index_resolve.lua.h"
	;

#define INDEX_ARGS_HEAD       3  /* prefix, stride, n */
#define INDEX_ARGS_PER_RECORD 5  /* P, hash(P), N(nom), ident, hash(ident) */

/* Hex SHA-1 of the script, as EVALSHA names it. */
static void index_script_sha(char hex[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	EVP_Digest(index_resolve_lua, sizeof(index_resolve_lua) - 1, md, &md_len,
		   EVP_sha1(), NULL);
	for (unsigned int i = 0; i < md_len && i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[40] = '\0';
}

/* Splits an index value of step (1-2: "<id>\t<N(nom)>\t<ml>", 3:
 * "<id>\t<ml>"; an index loaded before the ML was there has none) into
 * o->dossier_id and o->ml_code. -1 when a part does not fit. */
static int index_parse_value(unsigned step, const char *v, size_t len,
			     struct index_result *o)
{
	const char *tab = memchr(v, '\t', len);
	size_t id_len = tab ? (size_t)(tab - v) : len;
	const char *ml = NULL;
	if (tab) {
		ml = tab + 1;
		if (step < 3) {
			ml = memchr(ml, '\t', len - (size_t)(ml - v));
			ml = ml ? ml + 1 : NULL;
		}
	}
	size_t ml_len = ml ? len - (size_t)(ml - v) : 0;
	if (id_len == 0 || id_len >= INDEX_ID_MAX || ml_len >= INDEX_ML_MAX)
		return -1;
	memcpy(o->dossier_id, v, id_len);
	o->dossier_id[id_len] = '\0';
	if (ml_len)
		memcpy(o->ml_code, ml, ml_len);
	o->ml_code[ml_len] = '\0';
	return 0;
}

static int index_parse_results(const redisReply *reply, size_t n,
			       struct index_result *out, char *errstr,
			       size_t errstr_size)
{
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != n) {
		snprintf(errstr, errstr_size,
			 "redis: the look-up script answered %zu results for %zu records",
			 reply->type == REDIS_REPLY_ARRAY ? reply->elements : 0, n);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const redisReply *r = reply->element[i];
		struct index_result *o = &out[i];
		memset(o, 0, sizeof(*o));
		if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
		    r->element[0]->type != REDIS_REPLY_INTEGER)
			goto bad;
		long long step = r->element[0]->integer;
		if (step >= 1 && step <= 3) {
			const redisReply *v = r->element[1];
			if (v->type != REDIS_REPLY_STRING ||
			    index_parse_value((unsigned)step, v->str, v->len, o) != 0)
				goto bad;
			o->step = (unsigned)step;
			continue;
		}
		if (step != 0 || r->elements > 4)
			goto bad;
		for (size_t c = 1; c < r->elements; c++) {
			if (r->element[c]->type != REDIS_REPLY_INTEGER)
				goto bad;
			o->codes[o->ncodes++] = (unsigned)r->element[c]->integer;
		}
		continue;
bad:
		snprintf(errstr, errstr_size,
			 "redis: the look-up script answered an unexpected result for record %zu",
			 i);
		return -1;
	}
	return 0;
}

int index_script_load(redisContext *rc, char *errstr, size_t errstr_size)
{
	redisReply *reply = index_command(rc, errstr, errstr_size, "SCRIPT LOAD %b",
					  index_resolve_lua, sizeof(index_resolve_lua) - 1);
	if (!reply)
		return -1;
	int status = 0;
	if (reply->type != REDIS_REPLY_STRING) {
		snprintf(errstr, errstr_size, "redis: SCRIPT LOAD of the look-up script: "
			 "unexpected reply");
		status = -1;
	}
	freeReplyObject(reply);
	return status;
}

int index_resolve_send(redisContext *rc, const struct index_query *q, size_t n,
		       char *errstr, size_t errstr_size)
{
	if (n == 0)
		return 0;
	size_t head = 3 + INDEX_ARGS_HEAD;
	size_t argc = head + INDEX_ARGS_PER_RECORD * n;
	const char **argv = malloc(argc * sizeof(*argv));
	size_t *argvlen = malloc(argc * sizeof(*argvlen));
	char (*hashes)[2][12] = malloc(n * sizeof(*hashes));
	int status = -1;
	if (!argv || !argvlen || !hashes) {
		snprintf(errstr, errstr_size, "out of memory");
		goto out;
	}
	char sha[41], stride[8], count[24];
	index_script_sha(sha);
	snprintf(stride, sizeof(stride), "%d", INDEX_ARGS_PER_RECORD);
	snprintf(count, sizeof(count), "%zu", n);
	/* Read-only: a replica runs it too (Redis 7). */
	argv[0] = "EVALSHA_RO";
	argv[1] = sha;
	argv[2] = "0";
	argv[3] = INDEX_KEY_PREFIX;
	argv[4] = stride;
	argv[5] = count;
	for (size_t i = 0; i < n; i++) {
		const char **a = argv + head + INDEX_ARGS_PER_RECORD * i;
		snprintf(hashes[i][0], sizeof(hashes[i][0]), "%08x",
			 index_hash(q[i].pe, strlen(q[i].pe)));
		snprintf(hashes[i][1], sizeof(hashes[i][1]), "%08x",
			 index_hash(q[i].ident, strlen(q[i].ident)));
		a[0] = q[i].pe;
		a[1] = hashes[i][0];
		a[2] = q[i].nom;
		a[3] = q[i].ident;
		a[4] = hashes[i][1];
	}
	for (size_t i = 0; i < argc; i++)
		argvlen[i] = strlen(argv[i]);
	/* Copies the arguments (q may go once this returns), then writes them. */
	if (redisAppendCommandArgv(rc, (int)argc, argv, argvlen) != REDIS_OK) {
		snprintf(errstr, errstr_size, "redis: %s",
			 rc->errstr[0] ? rc->errstr : "out of memory");
		goto out;
	}
	int done = 0;
	while (!done)
		if (redisBufferWrite(rc, &done) != REDIS_OK) {
			snprintf(errstr, errstr_size, "redis: %s", rc->errstr);
			goto out;
		}
	status = 0;
out:
	free(argv);
	free(argvlen);
	free(hashes);
	return status;
}

int index_resolve_recv(redisContext *rc, size_t n, struct index_result *out,
		       char *errstr, size_t errstr_size)
{
	if (n == 0)
		return 0;
	redisReply *reply = index_reply(rc, errstr, errstr_size);
	if (!reply)
		return -1;
	int status = index_parse_results(reply, n, out, errstr, errstr_size);
	freeReplyObject(reply);
	return status;
}

int index_current(redisContext *rc, char *gen, size_t gen_size,
		  uint64_t *dossiers, char *errstr, size_t errstr_size)
{
	redisReply *r = index_command(rc, errstr, errstr_size, "GET %s",
				      INDEX_KEY_CURRENT);
	if (!r)
		return -1;
	int found = r->type == REDIS_REPLY_STRING;
	if (found && gen)
		snprintf(gen, gen_size, "%s", r->str);
	if (found && dossiers) {
		redisReply *m = index_command(rc, errstr, errstr_size,
					      "HGET " INDEX_KEY_PREFIX "%s:meta dossiers",
					      r->str);
		if (!m) {
			freeReplyObject(r);
			return -1;
		}
		*dossiers = m->type == REDIS_REPLY_STRING ? strtoull(m->str, NULL, 10) : 0;
		freeReplyObject(m);
	}
	freeReplyObject(r);
	return found;
}

/* lib/lua/index_ml.lua, embedded at build time (Makefile). */
static const char index_ml_lua[] =
#include "index_ml.lua.h"
	;

int index_ml_get(redisContext *rc, const char *dossier_id, char *ml,
		 size_t ml_size, char *errstr, size_t errstr_size)
{
	char hash[12];
	snprintf(hash, sizeof(hash), "%08x", index_hash(dossier_id, strlen(dossier_id)));
	redisReply *r = index_command(rc, errstr, errstr_size, "EVAL %s 0 %s %s %s",
				      index_ml_lua, INDEX_KEY_PREFIX, dossier_id, hash);
	if (!r)
		return -1;
	int found = r->type == REDIS_REPLY_STRING;
	if (found)
		snprintf(ml, ml_size, "%s", r->str);
	freeReplyObject(r);
	return found;
}

/* ------------------------------------------------------------------ */
/* Attaching dispositifs at publication                                */

/* The dossier each identity of a chunk belongs to, as the chunk is
 * applied in order. */
struct index_owner {
	const char *identity;       /* borrowed from the chunk */
	const char *dossier;        /* borrowed: from the chunk or the reply */
	int changed;                /* the owner hash must be written */
	UT_hash_handle hh;
};

/* A chunk's commands in Redis's protocol (RESP), built here and handed to
 * hiredis at once (redisAppendFormattedCommand): a week has a million of
 * them, and hiredis's own formatting (redisAppendCommandArgv) was a sixth
 * of the reporter's instructions (callgrind, 50,000-line week). */
struct index_resp {
	char *buf;
	size_t len, cap;
	int failed;
};

/* Appends "$<len>\r\n<bytes>\r\n" (or "*<n>\r\n" with bulk NULL). */
static void index_resp_put(struct index_resp *r, const char *bulk, size_t len)
{
	char head[32], digits[24];
	size_t n = 0, d = 0;
	head[n++] = bulk ? '$' : '*';
	size_t v = len;
	do {
		digits[d++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (d)
		head[n++] = digits[--d];
	head[n++] = '\r';
	head[n++] = '\n';
	size_t need = r->len + n + (bulk ? len + 2 : 0);
	char *buf = r->failed ? NULL : array_grow(r->buf, &r->cap, need, 1, 65536);
	if (!buf) {
		r->failed = 1;
		return;
	}
	r->buf = buf;
	memcpy(r->buf + r->len, head, n);
	r->len += n;
	if (bulk) {
		memcpy(r->buf + r->len, bulk, len);
		memcpy(r->buf + r->len + len, "\r\n", 2);
		r->len += len + 2;
	}
}

/* One command "<cmd> <key> <field> [<value>]". */
static void index_resp_cmd(struct index_resp *r, const char *cmd, const char *key,
			   size_t key_len, const char *field, const char *value)
{
	index_resp_put(r, NULL, value ? 4 : 3);
	index_resp_put(r, cmd, strlen(cmd));
	index_resp_put(r, key, key_len);
	index_resp_put(r, field, strlen(field));
	if (value)
		index_resp_put(r, value, strlen(value));
}

/* Sends and reads the pipelined commands of one chunk. */
static int index_attach_chunk(redisContext *rc, const struct index_attachment *a,
			      size_t n, struct index_attach_stats *stats,
			      char *errstr, size_t errstr_size)
{
	const char **argv = malloc((2 + 2 * n) * sizeof(*argv));
	size_t *argvlen = malloc((2 + 2 * n) * sizeof(*argvlen));
	struct index_owner *owners = calloc(n, sizeof(*owners)), *map = NULL;
	char key[INDEX_ID_MAX + sizeof(INDEX_KEY_DISPOSITIFS) + 8];
	const size_t prefix = sizeof(INDEX_KEY_DISPOSITIFS) - 1;
	struct index_resp resp = { NULL, 0, 0, 0 };
	redisReply *got = NULL;
	size_t pending = 0;
	int status = -1;
	if (!argv || !argvlen || !owners) {
		snprintf(errstr, errstr_size, "out of memory");
		goto out;
	}
	memcpy(key, INDEX_KEY_DISPOSITIFS, prefix);
	/* 1. Who holds each identity now. */
	argv[0] = "HMGET";
	argv[1] = INDEX_KEY_OWNER;
	for (size_t i = 0; i < n; i++)
		argv[2 + i] = a[i].identity;
	for (size_t i = 0; i < 2 + n; i++)
		argvlen[i] = strlen(argv[i]);
	if (redisAppendCommandArgv(rc, (int)(2 + n), argv, argvlen) != REDIS_OK ||
	    !(got = index_reply(rc, errstr, errstr_size)))
		goto fail;
	if (got->type != REDIS_REPLY_ARRAY || got->elements != n) {
		snprintf(errstr, errstr_size, "redis: HMGET of the owners: unexpected reply");
		goto out;
	}
	/* 2. In order: leave the old dossier, join the new one. */
	size_t n_owners = 0;
	for (size_t i = 0; i < n; i++) {
		struct index_owner *o = NULL;
		HASH_FIND_STR(map, a[i].identity, o);
		if (!o) {
			o = &owners[n_owners++];
			o->identity = a[i].identity;
			o->dossier = got->element[i]->type == REDIS_REPLY_STRING ?
				     got->element[i]->str : NULL;
			HASH_ADD_KEYPTR(hh, map, o->identity, strlen(o->identity), o);
		}
		int moved = o->dossier && strcmp(o->dossier, a[i].dossier_id) != 0;
		if (moved) {
			size_t len = strlen(o->dossier);
			if (len >= INDEX_ID_MAX)
				len = INDEX_ID_MAX - 1;
			memcpy(key + prefix, o->dossier, len);
			index_resp_cmd(&resp, "HDEL", key, prefix + len, a[i].identity, NULL);
			pending++;
			stats->moved++;
		}
		if (!o->dossier || moved) {
			o->dossier = a[i].dossier_id;
			o->changed = 1;
		}
		size_t len = strlen(a[i].dossier_id);
		if (len >= INDEX_ID_MAX)
			len = INDEX_ID_MAX - 1;
		memcpy(key + prefix, a[i].dossier_id, len);
		index_resp_cmd(&resp, "HSET", key, prefix + len, a[i].identity, a[i].dispositif);
		pending++;
		stats->attached++;
	}
	/* 3. The owners that changed, in one command. */
	size_t argc = 2;
	argv[0] = "HSET";
	for (size_t k = 0; k < n_owners; k++)
		if (owners[k].changed) {
			argv[argc++] = owners[k].identity;
			argv[argc++] = owners[k].dossier;
		}
	if (argc > 2) {
		index_resp_put(&resp, NULL, argc);
		for (size_t i = 0; i < argc; i++)
			index_resp_put(&resp, argv[i], strlen(argv[i]));
		pending++;
	}
	if (resp.failed || (resp.len &&
			    redisAppendFormattedCommand(rc, resp.buf, resp.len) != REDIS_OK)) {
		snprintf(errstr, errstr_size, "out of memory");
		pending = 0;
		goto out;
	}
	while (pending > 0) {
		redisReply *r = index_reply(rc, errstr, errstr_size);
		if (!r)
			goto fail;
		freeReplyObject(r);
		pending--;
	}
	status = 0;
	goto out;
fail:
	/* The replies still due are lost with the connection: the caller
	 * reconnects and applies the chunk again, which gives the same state. */
	if (!rc->err)
		while (pending-- > 0) {
			void *r = NULL;
			if (redisGetReply(rc, &r) != REDIS_OK)
				break;
			freeReplyObject(r);
		}
out:
	HASH_CLEAR(hh, map);
	freeReplyObject(got);
	free(resp.buf);
	free(owners);
	free(argv);
	free(argvlen);
	return status;
}

int index_attach(redisContext *rc, const struct index_attachment *a, size_t n,
		 struct index_attach_stats *stats, char *errstr, size_t errstr_size)
{
	for (size_t done = 0; done < n; done += INDEX_ATTACH_CHUNK) {
		size_t k = n - done < INDEX_ATTACH_CHUNK ? n - done : INDEX_ATTACH_CHUNK;
		if (index_attach_chunk(rc, a + done, k, stats, errstr, errstr_size))
			return -1;
	}
	return 0;
}
