#include "rejections.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "report.h"

/* One identity that failed in one of the last REJECTIONS_KEEP runs. */
struct rejections_entry {
	uint64_t last;          /* the number of the last run it failed in */
	uint32_t weeks;         /* consecutive runs ending there */
	char first[16];         /* YYYY-MM-DD */
	UT_hash_handle hh;
	char identity[];        /* "<sigma>;<type>;<date_debut>" */
};

struct rejections {
	struct rejections_entry *map;
	uint64_t runs;          /* runs counted */
	char *run_id;           /* the last one's */
	char *base;             /* the file it was loaded from ("" none) */
	size_t base_len;
	char today[16];         /* the date of the run counted, for lines
				   without an identity */
};

void rejections_free(struct rejections *r)
{
	if (!r)
		return;
	struct rejections_entry *e, *tmp;
	HASH_ITER(hh, r->map, e, tmp) {
		HASH_DEL(r->map, e);
		free(e);
	}
	free(r->run_id);
	free(r->base);
	free(r);
}

/* Reads path whole into *text (NUL-terminated, to free()); a missing file
 * gives "" with *missing set. 0, or -1 (errstr). */
static int rejections_slurp(const char *path, char **text, size_t *len, int *missing,
			    char *errstr, size_t errstr_size)
{
	*text = NULL;
	*len = 0;
	*missing = 0;
	FILE *f = fopen(path, "rb");
	if (!f && errno == ENOENT) {
		*missing = 1;
		*text = calloc(1, 1);
		if (*text)
			return 0;
	}
	if (!f) {
		snprintf(errstr, errstr_size, "cannot read '%s': %s", path,
			 *missing ? "out of memory" : strerror(errno));
		return -1;
	}
	size_t cap = 65536;
	char *buf = malloc(cap);
	size_t n = 0, got;
	while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (cap - n - 1 == 0) {
			char *bigger = realloc(buf, cap * 2);
			if (!bigger) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
	}
	int err = ferror(f);
	fclose(f);
	if (!buf || err) {
		free(buf);
		snprintf(errstr, errstr_size, "cannot read '%s': %s", path,
			 buf ? "read error" : "out of memory");
		return -1;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

/* Adds an entry for identity (len bytes); NULL when out of memory. */
static struct rejections_entry *rejections_add(struct rejections *r, const char *identity,
					       size_t len)
{
	struct rejections_entry *e = calloc(1, sizeof(*e) + len + 1);
	if (!e)
		return NULL;
	memcpy(e->identity, identity, len);
	HASH_ADD(hh, r->map, identity[0], len, e);
	return e;
}

/* Parses a state's text into r. 0, or -1 (errstr naming path). */
static int rejections_parse(struct rejections *r, char *text, const char *path,
			    char *errstr, size_t errstr_size)
{
	unsigned long lineno = 0;
	for (char *line = text; *line;) {
		char *nl = strchr(line, '\n');
		char *next = nl ? nl + 1 : line + strlen(line);
		if (nl)
			*nl = '\0';
		lineno++;
		if (lineno == 1) {
			char *runs = strstr(line, "\truns "), *id = strstr(line, "\trun_id ");
			if (strncmp(line, REJECTIONS_HEADER, strlen(REJECTIONS_HEADER)) != 0 ||
			    !runs || !id)
				goto bad;
			r->runs = strtoull(runs + 6, NULL, 10);
			if (!(r->run_id = strdup(id + 8)))
				goto oom;
		} else {
			char *end;
			uint64_t last = strtoull(line, &end, 10);
			if (*end != '\t')
				goto bad;
			unsigned long weeks = strtoul(end + 1, &end, 10);
			char *first = end + 1, *tab = *end == '\t' ? strchr(first, '\t') : NULL;
			if (!tab || (size_t)(tab - first) >= sizeof(((struct rejections_entry *)0)->first))
				goto bad;
			struct rejections_entry *e = NULL;
			HASH_FIND_STR(r->map, tab + 1, e);
			if (!e && !(e = rejections_add(r, tab + 1, strlen(tab + 1))))
				goto oom;
			e->last = last;
			e->weeks = (uint32_t)weeks;
			memcpy(e->first, first, (size_t)(tab - first));
			e->first[tab - first] = '\0';
		}
		if (nl)
			*nl = '\n';
		line = next;
	}
	return 0;
bad:
	snprintf(errstr, errstr_size, "'%s': line %lu is damaged", path, lineno);
	return -1;
oom:
	snprintf(errstr, errstr_size, "out of memory reading '%s'", path);
	return -1;
}

struct rejections *rejections_load(const char *prev, const char *run_id,
				   char *errstr, size_t errstr_size)
{
	struct rejections *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(errstr, errstr_size, "out of memory");
		return NULL;
	}
	if (!prev) {
		r->base = calloc(1, 1);
		if (!r->base) {
			snprintf(errstr, errstr_size, "out of memory");
			rejections_free(r);
			return NULL;
		}
		return r;
	}
	char path[4200];
	int missing;
	snprintf(path, sizeof(path), "%s/" REJECTIONS_FILE, prev);
	if (rejections_slurp(path, &r->base, &r->base_len, &missing, errstr, errstr_size) ||
	    rejections_parse(r, r->base, path, errstr, errstr_size)) {
		rejections_free(r);
		return NULL;
	}
	if (!r->run_id || strcmp(r->run_id, run_id) != 0)
		return r;
	/* The run replaces prev's: counted from the state before prev's. */
	rejections_free(r);
	if (!(r = calloc(1, sizeof(*r)))) {
		snprintf(errstr, errstr_size, "out of memory");
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/" REJECTIONS_BEFORE, prev);
	if (rejections_slurp(path, &r->base, &r->base_len, &missing, errstr, errstr_size) ||
	    rejections_parse(r, r->base, path, errstr, errstr_size)) {
		rejections_free(r);
		return NULL;
	}
	return r;
}

int rejections_count(struct rejections *r, const struct collect *c, const char *today,
		     struct rejections_line *out, char *errstr, size_t errstr_size)
{
	uint64_t now = r->runs + 1;
	snprintf(r->today, sizeof(r->today), "%s", today);
	char stack[512], *identity = stack;
	size_t cap = sizeof(stack);
	int rc = -1;
	for (size_t i = 0; i < c->n_failed; i++) {
		const struct collect_failed *f = &c->failed[i];
		const char *sigma = collect_failed_col(c, f, COL_SIGMA);
		out[i].weeks = 1;
		out[i].first = r->today;
		if (!*sigma)
			continue; /* no identity */
		const char *type = collect_failed_col(c, f, COL_TYPE);
		const char *debut = collect_failed_col(c, f, COL_DATE_DEBUT);
		size_t need = strlen(sigma) + strlen(type) + strlen(debut) + 3;
		if (need > cap) {
			char *bigger = identity == stack ? malloc(need) : realloc(identity, need);
			if (!bigger)
				goto oom;
			identity = bigger;
			cap = need;
		}
		int len = snprintf(identity, cap, "%s;%s;%s", sigma, type, debut);
		struct rejections_entry *e = NULL;
		HASH_FIND(hh, r->map, identity, (size_t)len, e);
		if (!e) {
			if (!(e = rejections_add(r, identity, (size_t)len)))
				goto oom;
			e->weeks = 0;
			e->last = 0;
		}
		if (e->last != now) { /* not a second line of the same dispositif */
			if (e->last == r->runs && e->weeks > 0) {
				e->weeks++;
			} else {
				e->weeks = 1;
				snprintf(e->first, sizeof(e->first), "%s", today);
			}
			e->last = now;
		}
		out[i].weeks = e->weeks;
		out[i].first = e->first;
	}
	struct rejections_entry *e, *tmp;
	HASH_ITER(hh, r->map, e, tmp) {
		if (now - e->last >= REJECTIONS_KEEP) {
			HASH_DEL(r->map, e);
			free(e);
		}
	}
	char *run_id = strdup(c->run_id);
	if (!run_id)
		goto oom;
	free(r->run_id);
	r->run_id = run_id;
	r->runs = now;
	rc = 0;
	goto out;
oom:
	snprintf(errstr, errstr_size, "out of memory counting the weeks in a row");
out:
	if (identity != stack)
		free(identity);
	return rc;
}

static int rejections_cmp(struct rejections_entry *a, struct rejections_entry *b)
{
	return strcmp(a->identity, b->identity);
}

int rejections_write(struct rejections *r, const char *dir,
		     char *errstr, size_t errstr_size)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/" REJECTIONS_BEFORE, dir);
	FILE *f = fopen(path, "wb");
	if (!f)
		goto cannot;
	fwrite(r->base, 1, r->base_len, f);
	if (report_close(f, path, errstr, errstr_size))
		return -1;
	snprintf(path, sizeof(path), "%s/" REJECTIONS_FILE, dir);
	if (!(f = fopen(path, "wb")))
		goto cannot;
	fprintf(f, REJECTIONS_HEADER "\truns %" PRIu64 "\trun_id %s\n", r->runs,
		r->run_id ? r->run_id : "");
	/* Sorted, so that two states compare with diff. */
	HASH_SORT(r->map, rejections_cmp);
	for (const struct rejections_entry *e = r->map; e; e = e->hh.next)
		fprintf(f, "%" PRIu64 "\t%" PRIu32 "\t%s\t%s\n", e->last, e->weeks, e->first,
			e->identity);
	return report_close(f, path, errstr, errstr_size);
cannot:
	snprintf(errstr, errstr_size, "cannot create '%s': %s", path, strerror(errno));
	return -1;
}
