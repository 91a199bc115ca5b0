/* Writing a dossier export read by lib/index_load.h into a new generation
 * of the dossier index in Redis (pipelined), switching the index in use to
 * it, and deleting the older generations (the key layout:
 * lib/index_keys.h). */
#ifndef AIJ_INDEX_WRITE_H
#define AIJ_INDEX_WRITE_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "index_load.h"

/* Writes d into a new generation (pipelined variadic HSETs, one per
 * bucket); stops early on signals_stop (SIGTERM). With the evidence, a
 * thread groups the blocking tables meanwhile (their counts are in d's
 * index_load_counts() after). Then switches aij:index:current to it and
 * deletes the older generations. gen receives the new generation id.
 * Returns 0, or -1 with errstr (the current index is then untouched). */
int index_write(redisContext *rc, struct index_load *d,
		char *gen, size_t gen_size, char *errstr, size_t errstr_size);

#endif
