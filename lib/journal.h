/* The attachments of a run being published, written down before any is
 * made: the published generation holds them until they are all in Redis,
 * so that a reporter that dies midway makes them again at its next start
 * (publish.c). One entry per integrated line, in line order: the
 * dossier, the dispositif's identity, its stored form (lib/dispositif.h).
 * Binary, native byte order: each string as a u32 length then its bytes. */
#ifndef AIJ_JOURNAL_H
#define AIJ_JOURNAL_H

#include <stddef.h>
#include <stdio.h>

#include "index_attach.h"

/* Creates path for writing. NULL with errstr on failure; close with
 * journal_close(). */
FILE *journal_create(const char *path, char *errstr, size_t errstr_size);

/* Appends one attachment. Returns 0 or -1 (errstr). */
int journal_add(FILE *f, const char *path, const struct index_attachment *a,
		char *errstr, size_t errstr_size);

/* Flushes and closes f (fsync included). Returns 0 or -1 (errstr); f is
 * closed in every case. */
int journal_close(FILE *f, const char *path, char *errstr, size_t errstr_size);

/* Called with up to INDEX_ATTACH_CHUNK attachments at a time, in order;
 * returns 0 to go on, -1 to stop (errstr filled). */
typedef int (*journal_fn)(const struct index_attachment *a, size_t n, void *arg,
			  char *errstr, size_t errstr_size);

/* Reads path back and hands its entries to fn a chunk at a time. Returns
 * the number of entries, or -1 (errstr: unreadable, damaged, or fn
 * stopped). */
long long journal_replay(const char *path, journal_fn fn, void *arg,
			 char *errstr, size_t errstr_size);

#endif
