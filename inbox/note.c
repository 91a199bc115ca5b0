#include "note.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "log.h"

#define RETRY_FIRST_MS  30000L
#define RETRY_MAX_MS    600000L

struct note *notes_get(struct notes *ns, enum inbox_kind kind, const struct scan_file *f)
{
	for (size_t i = 0; i < ns->n; i++) {
		struct note *n = &ns->v[i];
		if (n->kind == kind && n->ino == f->ino && strcmp(n->name, f->name) == 0)
			return n;
	}
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 16;
		struct note *v = realloc(ns->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		ns->v = v;
		ns->cap = cap;
	}
	struct note *n = &ns->v[ns->n++];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->ino = f->ino;
	snprintf(n->name, sizeof(n->name), "%s", f->name);
	return n;
}

void notes_sweep(struct notes *ns, struct scan_dir scan[2])
{
	size_t kept = 0;
	for (size_t i = 0; i < ns->n; i++) {
		struct note *n = &ns->v[i];
		struct scan_file *f = scan_dir_find(&scan[n->kind], n->name);
		if (f && f->ino == n->ino)
			ns->v[kept++] = *n;
	}
	ns->n = kept;
}

void notes_release(struct notes *ns)
{
	free(ns->v);
	memset(ns, 0, sizeof(*ns));
}

void notes_retry_later(struct note *n, const char *what, const char *name,
		       const char *program, int rc)
{
	n->failures++;
	long ms = clock_backoff_ms(RETRY_FIRST_MS, RETRY_MAX_MS, n->failures);
	n->retry_at_ms = clock_now_ms() + ms;
	if (rc >= 0)
		log_error("%s '%s': %s failed (exit %d, see above): it stays in the inbox, "
			  "tried again in %ld s", what, name, program, rc, ms / 1000);
	else
		log_error("%s '%s': %s could not run: it stays in the inbox, tried again "
			  "in %ld s", what, name, program, ms / 1000);
}
