/* aij-bench-inmem: the whole weekly job in one process, in memory — the
 * physical limit the distributed pipeline is compared with (issue 6).
 *
 * Loads the dossier export into three look-up tables (pe_cotraitance,
 * pe_complement, N(nom)|N(prenom)|date), reads the week with lib/reader,
 * validates each line (lib/record), runs the cascade of SPEC §4 and feeds the
 * outcomes to the reporter's own collector and writers (lib/collect.h,
 * lib/publish.h), so the outputs are byte for byte those of aij-reporter
 * when the cascade agrees. No Kafka, no Redis, no dispositif storage.
 *
 * As a limit it must be as fast as one careful thread can be, or the ratio
 * product / in-memory flatters the product. Its time is memory latency:
 * millions of random look-ups in tables far larger than the caches. So,
 * rather than uthash (a chain of scattered 56-byte handles per key):
 *   - each table is open addressing over 8-byte slots (hash tag + arena
 *     offset), sized before the first insert from samples of the export;
 *   - each key is stored once, in one arena, right before its dossier
 *     ("<id>\0<N(nom)>\0"), so a hit costs one miss in the table and one
 *     in the arena;
 *   - rows and lines go by batches of INMEM_BATCH: their slots (then their
 *     entries) are prefetched together, so the misses overlap instead of
 *     following each other;
 *   - the export is read in 4 MiB chunks and split in place, each name
 *     normalised once; tables and arena sit on huge pages when the kernel
 *     grants them (fewer TLB misses and page faults).
 * The rules themselves (validation, N(), P, the step-3 key, dates) stay
 * the lib/ functions the product uses. One thread, on purpose. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aij.pb-c.h"
#include "collect.h"
#include "conf.h"
#include "date.h"
#include "index_keys.h"
#include "log.h"
#include "normalize.h"
#include "publish.h"
#include "reader.h"
#include "record.h"
#include "referential.h"


#define INMEM_CHUNK    (4u << 20)  /* bytes read from the export at a time */
#define INMEM_ALIGN    4           /* arena offsets count 4-byte units */
#define INMEM_ARENA    (16u << 20) /* the arena's first size; it doubles */
#define INMEM_LOAD_NUM 3           /* a table grows past 3/4 full */
#define INMEM_LOAD_DEN 4
#define INMEM_BATCH    16 /* rows or lines whose look-ups wait for memory together */

/* One look-up key, in the arena: the first dossier that has it, and
 * whether others do. The dossier is "<id>\0<N(nom_naissance)>\0" in the
 * arena. */
struct inmem_key {
	uint32_t dossier; /* arena offset (units of INMEM_ALIGN) */
	uint16_t len;     /* keys are shorter than 1024 bytes */
	uint8_t several;  /* more than one dossier has the key */
	char key[];       /* len bytes, no NUL */
};

/* Everything the look-ups point to, in one mapping; referenced by 32-bit
 * offsets in units of INMEM_ALIGN (up to 16 GiB), so it can move as it
 * grows. */
struct inmem_arena {
	char *base;
	size_t used, size;
};

/* Open addressing, linear probing. A slot is the key's hash tag (the high
 * 32 bits of its hash, which also pick the slot) and its arena offset;
 * 0 is an empty slot (offset 0 is never a key). */
struct inmem_table {
	uint64_t *slots;
	size_t mask, used, limit;
};

struct inmem {
	struct inmem_table pe1, pe2, ident;
	struct inmem_arena arena;
};

/* Seconds on clock (CLOCK_MONOTONIC: wall time; CLOCK_PROCESS_CPUTIME_ID:
 * CPU time, which a busy machine disturbs less). */
static double inmem_now(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Maps size bytes of zeroed memory, huge pages wished; NULL when out of
 * memory. Unmap with munmap(p, size). */
static void *inmem_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, size, MADV_HUGEPAGE); /* a hint: fine if refused */
	return p;
}

static size_t inmem_round(size_t n, size_t unit)
{
	return (n + unit - 1) / unit * unit;
}

/* The 64-bit hash of a key: 8 bytes at a time, then a final mix (the
 * keys are short; the high half is the tag, whose low bits pick the slot). */
static uint64_t inmem_hash(const char *s, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len, w;
	for (; len >= 8; s += 8, len -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, s, len);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 32;
	return h;
}

/* Reserves size bytes at the end of the arena, growing it (mremap: no
 * copy, but it may move). Returns the offset in INMEM_ALIGN units, or 0
 * when out of memory. The arena is unmapped whole by inmem_free(). */
static uint32_t inmem_alloc(struct inmem_arena *a, size_t size)
{
	size = inmem_round(size, INMEM_ALIGN);
	if (!a->base)
		a->used = INMEM_ALIGN; /* offset 0 means "none" */
	if (a->used + size > a->size) {
		size_t grown = a->size ? a->size : INMEM_ARENA;
		while (a->used + size > grown)
			grown *= 2;
		if (grown / INMEM_ALIGN > UINT32_MAX)
			return 0;
		void *p = a->base ? mremap(a->base, a->size, grown, MREMAP_MAYMOVE)
				  : inmem_map(grown);
		if (p == MAP_FAILED || !p)
			return 0;
		if (a->base)
			madvise(p, grown, MADV_HUGEPAGE);
		a->base = p;
		a->size = grown;
	}
	uint32_t off = (uint32_t)(a->used / INMEM_ALIGN);
	a->used += size;
	return off;
}

static void *inmem_at(const struct inmem_arena *a, uint32_t off)
{
	return a->base + (size_t)off * INMEM_ALIGN;
}

/* Sets up t for about n keys. 0 or -1 (out of memory). Free with
 * inmem_table_release(). */
static int inmem_table_init(struct inmem_table *t, size_t n)
{
	size_t cap = 1024;
	while (cap * INMEM_LOAD_NUM / INMEM_LOAD_DEN < n)
		cap *= 2;
	t->slots = inmem_map(cap * sizeof(*t->slots));
	if (!t->slots)
		return -1;
	t->mask = cap - 1;
	t->used = 0;
	t->limit = cap * INMEM_LOAD_NUM / INMEM_LOAD_DEN;
	return 0;
}

static void inmem_table_release(struct inmem_table *t)
{
	if (t->slots)
		munmap(t->slots, (t->mask + 1) * sizeof(*t->slots));
	t->slots = NULL;
}

/* Doubles t (when the size estimate was short). 0 or -1. */
static int inmem_table_grow(struct inmem_table *t)
{
	struct inmem_table old = *t;
	if (inmem_table_init(t, (old.mask + 1) * 2 * INMEM_LOAD_NUM /
				    INMEM_LOAD_DEN)) {
		*t = old;
		return -1;
	}
	for (size_t i = 0; i <= old.mask; i++) {
		uint64_t s = old.slots[i];
		if (!s)
			continue;
		size_t j = (size_t)(s >> 32) & t->mask;
		while (t->slots[j])
			j = (j + 1) & t->mask;
		t->slots[j] = s;
	}
	t->used = old.used;
	inmem_table_release(&old);
	return 0;
}

/* The slot of key in t: its entry, or the empty slot where it would go. */
static uint64_t *inmem_slot(const struct inmem_table *t,
			    const struct inmem_arena *a, const char *key,
			    size_t len, uint32_t tag)
{
	size_t i = tag & t->mask;
	for (;; i = (i + 1) & t->mask) {
		uint64_t s = t->slots[i];
		if (!s)
			return &t->slots[i];
		if ((uint32_t)(s >> 32) != tag)
			continue;
		const struct inmem_key *k = inmem_at(a, (uint32_t)s);
		if (k->len == len && memcmp(k->key, key, len) == 0)
			return &t->slots[i];
	}
}

/* The tag of a key: the high half of its hash, which also picks its slot. */
static uint32_t inmem_tag(const char *key, size_t len)
{
	return (uint32_t)(inmem_hash(key, len) >> 32);
}

/* Asks the cache for the slot where tag's search starts (a hint: the
 * look-ups of a batch wait for memory together, not one after another). */
static void inmem_prefetch_slot(const struct inmem_table *t, uint32_t tag)
{
	__builtin_prefetch(&t->slots[tag & t->mask]);
}

/* Asks the cache for the entry of the first slot of tag's search whose tag
 * matches, and the line after it (the entry's dossier when the entry was
 * the dossier's first: inmem_add). Returns 0 when no slot has the tag: the
 * key is surely not in t. */
static int inmem_prefetch_key(const struct inmem *m, const struct inmem_table *t,
			      uint32_t tag)
{
	for (size_t i = tag & t->mask;; i = (i + 1) & t->mask) {
		uint64_t s = t->slots[i];
		if (!s)
			return 0;
		if ((uint32_t)(s >> 32) == tag) {
			const char *k = inmem_at(&m->arena, (uint32_t)s);
			__builtin_prefetch(k);
			__builtin_prefetch(k + 64);
			return 1;
		}
	}
}

/* The entry of key (with its tag) in t, or NULL. */
static const struct inmem_key *inmem_find(const struct inmem *m,
					  const struct inmem_table *t,
					  const char *key, size_t len, uint32_t tag)
{
	uint64_t s = *inmem_slot(t, &m->arena, key, len, tag);
	return s ? inmem_at(&m->arena, (uint32_t)s) : NULL;
}

/* Adds a dossier under key (with its tag) to t. A new key's entry gets the
 * dossier *d; when *d is still 0 the dossier's record (rec_size bytes) is
 * reserved right after the entry, so that one look-up reads both in a
 * row. 0 or -1 (memory). */
static int inmem_add(struct inmem *m, struct inmem_table *t, const char *key,
		     size_t len, uint32_t tag, uint32_t *d, size_t rec_size)
{
	uint64_t *s = inmem_slot(t, &m->arena, key, len, tag);
	if (*s) {
		struct inmem_key *k = inmem_at(&m->arena, (uint32_t)*s);
		k->several = 1;
		return 0;
	}
	if (t->used >= t->limit) {
		if (inmem_table_grow(t))
			return -1;
		s = inmem_slot(t, &m->arena, key, len, tag);
	}
	uint32_t off = inmem_alloc(&m->arena, offsetof(struct inmem_key, key) + len);
	if (!off || (!*d && !(*d = inmem_alloc(&m->arena, rec_size))))
		return -1;
	struct inmem_key *k = inmem_at(&m->arena, off);
	k->dossier = *d;
	k->several = 0;
	k->len = (uint16_t)len;
	memcpy(k->key, key, len);
	*s = (uint64_t)tag << 32 | off;
	t->used++;
	return 0;
}

/* The export read a chunk at a time; a line is handed out in place. */
struct inmem_lines {
	int fd;
	char *buf;
	size_t size, start, end; /* unread bytes: buf[start..end) */
	int eof;
};

/* The next line (without its '\n', NUL-terminated in place) into *line and
 * *len, as getline() would cut it. Returns 1, 0 at the end, -1 on a read
 * error or out of memory (errno set). */
static int inmem_line_next(struct inmem_lines *l, char **line, size_t *len)
{
	for (;;) {
		char *p = l->buf + l->start;
		char *nl = memchr(p, '\n', l->end - l->start);
		if (nl) {
			*nl = '\0';
			*line = p;
			*len = (size_t)(nl - p);
			l->start = (size_t)(nl + 1 - l->buf);
			return 1;
		}
		if (l->eof) {
			if (l->start == l->end)
				return 0;
			l->buf[l->end] = '\0'; /* the last line, without '\n' */
			*line = p;
			*len = l->end - l->start;
			l->start = l->end;
			return 1;
		}
		memmove(l->buf, p, l->end - l->start);
		l->end -= l->start;
		l->start = 0;
		if (l->end + 1 >= l->size) { /* a line longer than the buffer */
			char *buf = realloc(l->buf, l->size * 2);
			if (!buf)
				return -1;
			l->buf = buf;
			l->size *= 2;
		}
		ssize_t n = read(l->fd, l->buf + l->end, l->size - 1 - l->end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			l->eof = 1;
		l->end += (size_t)n;
	}
}

static int inmem_blank(char c)
{
	return c == ' ' || c == '\t';
}

enum { D_ID, D_ML, D_NOM, D_PRENOM, D_DATE, D_PE1, D_PE2, D_COLS };

/* Splits line in place on ';', trims each field of spaces and tabs; keeps
 * the first D_COLS fields and their lengths. Returns the number of fields
 * (as lib/index_load.c counts them). */
static size_t inmem_split(char *line, char *field[D_COLS], size_t flen[D_COLS])
{
	size_t n = 0;
	char *p = line;
	for (;;) {
		while (inmem_blank(*p))
			p++;
		char *e = p;
		while (*e && *e != ';')
			e++;
		char sep = *e;
		char *t = e;
		while (t > p && inmem_blank(t[-1]))
			t--;
		*t = '\0';
		if (n < D_COLS) {
			field[n] = p;
			flen[n] = (size_t)(t - p);
		}
		n++;
		if (!sep)
			return n;
		p = e + 1;
	}
}

enum { K_PE1, K_PE2, K_IDENT, K_COUNT };

/* Counts the whole lines of text[0..len) and how many have a pe1 and a
 * pe2 (pe[0], pe[1]); returns the bytes they span. */
static size_t inmem_keys_count(const char *text, size_t len, size_t *rows,
			       size_t pe[2])
{
	const char *p = text, *end = text + len, *nl;
	for (; (nl = memchr(p, '\n', (size_t)(end - p))); p = nl + 1) {
		size_t col = 0;
		int filled[2] = { 0, 0 };
		for (; p < nl; p++)
			if (*p == ';')
				col++;
			else if ((col == D_PE1 || col == D_PE2) && !inmem_blank(*p) &&
				 *p != '\r')
				filled[col - D_PE1] = 1;
		(*rows)++;
		pe[0] += (size_t)filled[0];
		pe[1] += (size_t)filled[1];
	}
	return (size_t)(p - text);
}

/* Guesses how many keys each table will get, from samples spread over the
 * export (fd, file_size bytes; its rows need not be shuffled), to size the
 * tables once. */
static void inmem_keys_guess(int fd, off_t file_size, size_t guess[K_COUNT])
{
	enum { SAMPLES = 16, SAMPLE = 64 * 1024 };
	char *buf = malloc(SAMPLE);
	size_t rows = 0, bytes = 0, pe[2] = { 0, 0 };
	for (int i = 0; buf && i < SAMPLES; i++) {
		off_t off = file_size / SAMPLES * i;
		ssize_t n = pread(fd, buf, SAMPLE, off);
		if (n <= 0)
			break;
		/* From the first whole line (past the header at 0). */
		const char *nl = memchr(buf, '\n', (size_t)n);
		if (!nl)
			continue;
		nl++;
		bytes += inmem_keys_count(nl, (size_t)(buf + n - nl), &rows, pe);
	}
	free(buf);
	if (!rows) {
		guess[K_PE1] = guess[K_PE2] = guess[K_IDENT] = 1024;
		return;
	}
	double est = (double)file_size * (double)rows / (double)bytes;
	guess[K_IDENT] = (size_t)est;
	guess[K_PE1] = (size_t)(est * (double)pe[0] / (double)rows);
	guess[K_PE2] = (size_t)(est * (double)pe[1] / (double)rows);
}

/* A valid row of the export, copied out of the read buffer, its keys
 * computed, waiting for its batch to be added. */
struct inmem_row {
	char id[INDEX_ID_MAX];
	char ml[INDEX_ML_MAX];
	size_t id_len, nom_len;       /* N(nom) is key[K_IDENT][0..nom_len) */
	size_t ml_len;
	size_t len[K_COUNT];          /* 0: no key (an empty numéro PE) */
	uint32_t tag[K_COUNT];
	char key[K_COUNT][1024];
};

/* Checks one data row of the export (split) and prepares it into r,
 * prefetching its slots. 1 when valid, 0 when malformed. */
static int inmem_row_prepare(const struct inmem *m, char *f[D_COLS],
			     const size_t fl[D_COLS], struct inmem_row *r)
{
	long days;
	if (!*f[D_ID] || fl[D_ID] >= INDEX_ID_MAX || memchr(f[D_ID], '\t', fl[D_ID]) ||
	    date_parse(f[D_DATE], &days) != 0 || fl[D_NOM] >= 512 ||
	    fl[D_ML] >= INDEX_ML_MAX ||
	    fl[D_NOM] + fl[D_PRENOM] + fl[D_DATE] + 3 > sizeof(r->key[K_IDENT]))
		return 0;
	memcpy(r->id, f[D_ID], fl[D_ID] + 1);
	r->id_len = fl[D_ID];
	memcpy(r->ml, f[D_ML], fl[D_ML] + 1);
	r->ml_len = fl[D_ML];
	/* The step-3 key starts with N(nom) (N() has no '|'), the name steps 1
	 * and 2 compare: the name is normalised once. */
	char *ident = r->key[K_IDENT];
	r->len[K_IDENT] = index_key_ident(f[D_NOM], f[D_PRENOM], f[D_DATE], ident,
					  sizeof(r->key[K_IDENT]));
	r->nom_len = (size_t)((char *)memchr(ident, '|', r->len[K_IDENT]) - ident);
	r->len[K_PE1] = index_key_pe(f[D_PE1], r->key[K_PE1], sizeof(r->key[K_PE1]));
	r->len[K_PE2] = index_key_pe(f[D_PE2], r->key[K_PE2], sizeof(r->key[K_PE2]));
	const struct inmem_table *t[K_COUNT] = { &m->pe1, &m->pe2, &m->ident };
	for (int k = 0; k < K_COUNT; k++)
		if (r->len[k]) {
			r->tag[k] = inmem_tag(r->key[k], r->len[k]);
			inmem_prefetch_slot(t[k], r->tag[k]);
		}
	return 1;
}

/* Adds a prepared row to m. 0 or -1 (out of memory). */
static int inmem_row_add(struct inmem *m, const struct inmem_row *r)
{
	struct inmem_table *t[K_COUNT] = { &m->pe1, &m->pe2, &m->ident };
	/* The dossier: "<id>\0<N(nom)>\0<ml>\0". */
	size_t rec_size = r->id_len + 1 + r->nom_len + 1 + r->ml_len + 1;
	uint32_t d = 0;
	/* pe1 first: the entry most look-ups find lands just before its
	 * dossier. */
	for (int k = 0; k < K_COUNT; k++)
		if (r->len[k] && inmem_add(m, t[k], r->key[k], r->len[k], r->tag[k],
					   &d, rec_size))
			return -1;
	if (!d && !(d = inmem_alloc(&m->arena, rec_size)))
		return -1;
	char *rec = inmem_at(&m->arena, d);
	memcpy(rec, r->id, r->id_len + 1);
	memcpy(rec + r->id_len + 1, r->key[K_IDENT], r->nom_len);
	rec[r->id_len + 1 + r->nom_len] = '\0';
	memcpy(rec + r->id_len + 1 + r->nom_len + 1, r->ml, r->ml_len + 1);
	return 0;
}

/* Loads the dossier export. Returns the number of dossiers, or -1 (errstr). */
static long inmem_load(struct inmem *m, const char *path, long *malformed,
		       char *errstr, size_t errstr_size)
{
	struct inmem_lines l = { .fd = open(path, O_RDONLY | O_CLOEXEC) };
	struct stat st;
	if (l.fd < 0 || fstat(l.fd, &st) != 0) {
		snprintf(errstr, errstr_size, "cannot open '%s': %s", path,
			 strerror(errno));
		if (l.fd >= 0)
			close(l.fd);
		return -1;
	}
	long n = 0, lineno = 0;
	size_t nrows = 0;
	l.size = INMEM_CHUNK;
	l.buf = malloc(l.size);
	struct inmem_row *rows = malloc(INMEM_BATCH * sizeof(*rows));
	if (!l.buf || !rows)
		goto oom;
	size_t guess[K_COUNT];
	inmem_keys_guess(l.fd, st.st_size, guess);
	if (inmem_table_init(&m->pe1, guess[K_PE1]) ||
	    inmem_table_init(&m->pe2, guess[K_PE2]) ||
	    inmem_table_init(&m->ident, guess[K_IDENT]))
		goto oom;
	*malformed = 0;
	char *line;
	size_t len;
	int got;
	while ((got = inmem_line_next(&l, &line, &len)) > 0) {
		if (++lineno == 1)
			continue; /* the header (checked by aij-indexer) */
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue; /* blank */
		char *f[D_COLS];
		size_t fl[D_COLS];
		if (inmem_split(line, f, fl) != D_COLS ||
		    !inmem_row_prepare(m, f, fl, &rows[nrows])) {
			(*malformed)++;
			continue;
		}
		if (++nrows < INMEM_BATCH)
			continue;
		for (size_t i = 0; i < nrows; i++)
			if (inmem_row_add(m, &rows[i]))
				goto oom;
		n += (long)nrows;
		nrows = 0;
	}
	if (got < 0) {
		if (errno == ENOMEM)
			goto oom;
		snprintf(errstr, errstr_size, "cannot read '%s': %s", path,
			 strerror(errno));
		n = -1;
		goto out;
	}
	for (size_t i = 0; i < nrows; i++)
		if (inmem_row_add(m, &rows[i]))
			goto oom;
	n += (long)nrows;
out:
	free(rows);
	free(l.buf);
	close(l.fd);
	return n;
oom:
	snprintf(errstr, errstr_size, "out of memory");
	n = -1;
	goto out;
}

/* A line of the week in its batch: its own copy of the text (the reader's
 * is only valid until the next line), split and checked; when valid, P and
 * N(nom) as the cascade compares them. */
struct inmem_wline {
	uint64_t line;
	char *text;
	size_t text_size;
	struct record_fields f;
	enum record_code code;
	size_t pe_len;       /* 0: steps 1 and 2 are skipped */
	uint32_t pe_tag;
	char pe[256], nom[1024];
};

/* Step 1 or 2 against t: 0 integrated (*id set), else the code. */
static unsigned inmem_pe_step(const struct inmem *m, const struct inmem_table *t,
			      const struct inmem_wline *w, const char **id)
{
	const struct inmem_key *k = inmem_find(m, t, w->pe, w->pe_len, w->pe_tag);
	if (!k)
		return CODE_NOT_FOUND;
	if (k->several)
		return CODE_PE_SEVERAL;
	const char *d = inmem_at(&m->arena, k->dossier);
	size_t id_len = strlen(d);
	if (strcmp(d + id_len + 1, w->nom) != 0)
		return CODE_NAME_DIFFERS;
	*id = d;
	return 0;
}

/* Reads line into w, splits and validates it, and for a valid line
 * computes its P and N(nom) and prefetches its step-1 slot. */
static int inmem_wline_prepare(const struct inmem *m, const struct reader_line *line,
			       const struct referential *ref, struct inmem_wline *w)
{
	if (line->len + 1 > w->text_size) {
		size_t size = (line->len + 1) * 2;
		char *text = realloc(w->text, size);
		if (!text)
			return -1;
		w->text = text;
		w->text_size = size;
	}
	memcpy(w->text, line->text, line->len + 1);
	w->line = line->line;
	record_split(w->text, &w->f);
	w->code = record_validate(&w->f, line->too_long, ref);
	w->pe_len = 0;
	if (w->code != CODE_OK)
		return 0;
	const struct record_fields *f = &w->f;
	if (strlen(f->field[FIELD_PE]) >= sizeof(w->pe) ||
	    strlen(f->field[FIELD_NOM]) >= sizeof(w->nom))
		return 0; /* steps 1 and 2 skipped, as for an empty P */
	w->pe_len = index_key_pe(f->field[FIELD_PE], w->pe, sizeof(w->pe));
	name_normalize(f->field[FIELD_NOM], w->nom, sizeof(w->nom));
	if (w->pe_len) {
		w->pe_tag = inmem_tag(w->pe, w->pe_len);
		inmem_prefetch_slot(&m->pe1, w->pe_tag);
	}
	return 0;
}

/* The cascade of SPEC §4 for a valid line: fills the outcome. */
static void inmem_cascade(const struct inmem *m, const struct inmem_wline *w,
			  Aij__Outcome *o, Aij__Integrated *integ,
			  Aij__Failed *failed, uint32_t codes[3])
{
	const struct record_fields *f = &w->f;
	char ident[3200];
	const char *id = NULL;
	size_t nc = 0;
	if (w->pe_len) {
		unsigned c = inmem_pe_step(m, &m->pe1, w, &id);
		if (!c) {
			integ->step = 1;
			goto integrated;
		}
		codes[nc++] = c;
		c = inmem_pe_step(m, &m->pe2, w, &id);
		if (!c) {
			integ->step = 2;
			goto integrated;
		}
		codes[nc++] = c;
	}
	const struct inmem_key *e = NULL;
	size_t il = index_key_ident(f->field[FIELD_NOM], f->field[FIELD_PRENOM],
				    f->field[FIELD_DATE_NAISSANCE], ident, sizeof(ident));
	if (il)
		e = inmem_find(m, &m->ident, ident, il, inmem_tag(ident, il));
	if (e && !e->several) {
		id = inmem_at(&m->arena, e->dossier);
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
	id += strlen(id) + 1; /* then N(nom), then the ML */
	integ->ml_code = (char *)id + strlen(id) + 1;
	o->result_case = AIJ__OUTCOME__RESULT_INTEGRATED;
	o->integrated = integ;
}

/* Matches a prepared line and hands its outcome (number seq) to c. 0 or -1
 * (errstr). */
static int inmem_wline_collect(const struct inmem *m, const struct inmem_wline *w,
			       const char *run_id, uint64_t seq, struct collect *c,
			       char *errstr, size_t errstr_size)
{
	Aij__Outcome o = AIJ__OUTCOME__INIT;
	Aij__Integrated integ = AIJ__INTEGRATED__INIT;
	Aij__Failed failed = AIJ__FAILED__INIT;
	uint32_t codes[3];
	char *fields[RECORD_FIELDS];
	size_t kept = w->f.count < RECORD_FIELDS ? w->f.count : RECORD_FIELDS;
	for (size_t i = 0; i < kept; i++)
		fields[i] = (char *)w->f.field[i];
	o.run_id = (char *)run_id;
	o.line = w->line;
	o.seq = seq;
	if (w->code != CODE_OK) {
		codes[0] = (uint32_t)w->code;
		failed.n_codes = 1;
		failed.codes = codes;
		o.result_case = AIJ__OUTCOME__RESULT_FAILED;
		o.failed = &failed;
	} else {
		inmem_cascade(m, w, &o, &integ, &failed, codes);
	}
	o.n_fields = kept;
	o.fields = fields;
	return collect_outcome(c, &o, errstr, errstr_size) < 0 ? -1 : 0;
}

/* Reads, validates and matches every line of the week into c, a batch of
 * lines at a time: read and check them all and prefetch their step-1
 * slots, then their entries, then match them in order. Returns the number
 * of records, or -1 (errstr). */
static long inmem_week(const struct inmem *m, const char *path,
		       const char *run_id, const struct referential *ref,
		       struct collect *c, char *errstr, size_t errstr_size)
{
	struct reader *r = reader_open(path, errstr, errstr_size);
	if (!r)
		return -1;
	struct inmem_wline *batch = calloc(INMEM_BATCH, sizeof(*batch));
	uint64_t seq = 0;
	long rc = -1;
	if (!batch) {
		snprintf(errstr, errstr_size, "out of memory");
		goto out;
	}
	for (int got = 1; got;) {
		size_t n = 0;
		while (n < INMEM_BATCH) {
			struct reader_line line;
			got = reader_next(r, &line, errstr, errstr_size);
			if (got < 0)
				goto out;
			if (got == 0)
				break;
			if (inmem_wline_prepare(m, &line, ref, &batch[n]) < 0) {
				snprintf(errstr, errstr_size, "out of memory");
				goto out;
			}
			n++;
		}
		/* Step 2 is for the lines step 1 cannot find. */
		for (size_t i = 0; i < n; i++)
			if (batch[i].pe_len &&
			    !inmem_prefetch_key(m, &m->pe1, batch[i].pe_tag))
				inmem_prefetch_slot(&m->pe2, batch[i].pe_tag);
		for (size_t i = 0; i < n; i++)
			if (inmem_wline_collect(m, &batch[i], run_id, seq++, c, errstr,
						errstr_size))
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
	for (size_t i = 0; batch && i < INMEM_BATCH; i++)
		free(batch[i].text);
	free(batch);
	reader_close(r);
	return rc;
}

/* Writes the run's files into out, a new folder, as the reporter writes a
 * published generation. */
static int inmem_publish(const char *out, struct collect *c,
			 const struct referential *ref, char *errstr, size_t errstr_size)
{
	if (collect_finish(c, errstr, errstr_size))
		return -1;
	if (mkdir(out, 0777) != 0) {
		snprintf(errstr, errstr_size, "cannot create '%s' (it must not exist): %s",
			 out, strerror(errno));
		return -1;
	}
	return publish_files(out, c, ref, NULL, NULL, NULL, errstr, errstr_size);
}

static void inmem_free(struct inmem *m)
{
	inmem_table_release(&m->pe1);
	inmem_table_release(&m->pe2);
	inmem_table_release(&m->ident);
	if (m->arena.base)
		munmap(m->arena.base, m->arena.size);
}

/* The options. */
struct inmem_conf {
	const char *dispositifs, *dossiers, *coverage, *communes, *motifs, *out,
		*run_id, *log_level;
};

/* The checks of conf_program_parse(). */
static int inmem_conf_check(void *arg, char *errstr, size_t errstr_size)
{
	const struct inmem_conf *ic = arg;
	if (!ic->dispositifs || !ic->dossiers || !ic->coverage || !ic->out) {
		snprintf(errstr, errstr_size, "--dispositifs, --dossiers, "
			 "--coverage and --out are required");
		return -1;
	}
	return 0;
}

/* Returns 0, or -1 with *exit_code (EXIT_DONE after --help, EXIT_USAGE on
 * bad usage). */
static int inmem_conf_parse(int argc, char **argv, struct inmem_conf *ic,
			    int *exit_code)
{
	memset(ic, 0, sizeof(*ic));
	const struct conf_opt opts[] = {
		{ "dispositifs", "AIJ_DISPOSITIFS", NULL, "FILE",
		  "the week's dispositifs file (required)", &ic->dispositifs },
		{ "dossiers", "AIJ_DOSSIERS", NULL, "FILE",
		  "the dossier export (required)", &ic->dossiers },
		{ "coverage", "AIJ_COVERAGE", NULL, "FILE",
		  "ML coverage zones (required)", &ic->coverage },
		{ "communes", "AIJ_COMMUNES", REF_DEFAULT_COMMUNES, "FILE",
		  "communes referential", &ic->communes },
		{ "motifs", "AIJ_MOTIFS", REF_DEFAULT_MOTIFS, "FILE",
		  "exit reasons", &ic->motifs },
		{ "out", "AIJ_OUT", NULL, "DIR", "output folder, created (required)", &ic->out },
		{ "run-id", "AIJ_RUN_ID", "bench", "ID", "run id", &ic->run_id },
		CONF_OPT_LOG_LEVEL(&ic->log_level),
		{ NULL, NULL, NULL, NULL, NULL, NULL },
	};
	const struct conf_program prog = {
		.name = "aij-bench-inmem",
		.summary = "The weekly job in one process, in memory (the benchmark's "
			   "reference):\nsame outputs as aij-local.",
		.opts = opts, .check = inmem_conf_check, .arg = ic,
	};
	return conf_program_parse(&prog, argc, argv, exit_code);
}

int main(int argc, char **argv)
{
	struct inmem_conf ic;
	char errstr[1024];
	int code = EXIT_DONE;
	log_init("bench-inmem", NULL);
	if (inmem_conf_parse(argc, argv, &ic, &code) < 0)
		return code;

	double t0 = inmem_now(CLOCK_MONOTONIC), c0 = inmem_now(CLOCK_PROCESS_CPUTIME_ID);
	struct referential *ref = referential_load(ic.communes, ic.motifs, ic.coverage,
						   errstr, sizeof(errstr));
	if (!ref) {
		log_error("%s", errstr);
		return EXIT_USAGE;
	}
	struct inmem m;
	memset(&m, 0, sizeof(m));
	long malformed = 0;
	long nd = inmem_load(&m, ic.dossiers, &malformed, errstr, sizeof(errstr));
	if (nd < 0) {
		log_error("%s", errstr);
		inmem_free(&m);
		referential_free(ref);
		return EXIT_USAGE;
	}
	double t1 = inmem_now(CLOCK_MONOTONIC), c1 = inmem_now(CLOCK_PROCESS_CPUTIME_ID);
	log_debug("tables: pe1 %zu keys in %zu slots, pe2 %zu in %zu, ident %zu "
		  "in %zu; arena %zu bytes", m.pe1.used, m.pe1.mask + 1, m.pe2.used,
		  m.pe2.mask + 1, m.ident.used, m.ident.mask + 1, m.arena.used);
	log_info("index: %ld dossiers (%ld malformed) in %.2f s (%.0f dossiers/s, "
		 "%.2f s CPU)", nd, malformed, t1 - t0, (double)nd / (t1 - t0), c1 - c0);
	struct collect c;
	if (collect_init(&c, ic.run_id, NULL, NULL, errstr, sizeof(errstr)) < 0) {
		log_error("%s", errstr);
		collect_release(&c);
		code = EXIT_RUNTIME;
	} else {
		long n = inmem_week(&m, ic.dispositifs, ic.run_id, ref, &c, errstr,
				    sizeof(errstr));
		double t2 = inmem_now(CLOCK_MONOTONIC);
		double c2 = inmem_now(CLOCK_PROCESS_CPUTIME_ID);
		if (n < 0) {
			log_error("%s", errstr);
			code = EXIT_USAGE;
		} else if (inmem_publish(ic.out, &c, ref, errstr, sizeof(errstr)) < 0) {
			log_error("%s", errstr);
			code = EXIT_RUNTIME;
		} else {
			double t3 = inmem_now(CLOCK_MONOTONIC);
			double c3 = inmem_now(CLOCK_PROCESS_CPUTIME_ID);
			log_info("week: %ld lines matched in %.2f s (%.0f lines/s, "
				 "%.2f s CPU), outputs written in %.2f s (%.2f s CPU): "
				 "%zu integrated, %zu failed; total %.2f s (%.2f s CPU)",
				 n, t2 - t1, (double)n / (t2 - t1), c2 - c1, t3 - t2,
				 c3 - c2, c.n_integrated, c.n_failed, t3 - t0, c3 - c0);
		}
		collect_release(&c);
	}
	inmem_free(&m);
	referential_free(ref);
	return code;
}
