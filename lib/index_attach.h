/* Attaching the integrated dispositifs of a published run to their
 * dossiers in Redis (aij:dispositifs:<dossier_id> and the owner hash; the
 * key layout: lib/index_keys.h). The reporter's publication (lib/publish.h)
 * and bench/redis use it. */
#ifndef AIJ_INDEX_ATTACH_H
#define AIJ_INDEX_ATTACH_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "index_keys.h"

/* One integrated dispositif to attach to its dossier. */
struct index_attachment {
	const char *dossier_id;
	const char *identity;   /* "<sigma>;<type>;<date_debut>" */
	const char *dispositif; /* the stored form (lib/dispositif.h) */
};

struct index_attach_stats {
	uint64_t attached;      /* HSETs into a dossier */
	uint64_t moved;         /* of which left another dossier (HDEL) */
};

#define INDEX_ATTACH_CHUNK 1000 /* dispositifs a round trip */

/* Attaches a[0..n) in their order (the last of one identity wins), a
 * chunk a round trip: one HMGET of the owners, then pipelined HDEL from a
 * previous dossier, HSET into the dossier, and one HSET of the owners that
 * changed. Adds to *stats. Doing it again gives the same state: a
 * publication interrupted midway is simply done again. Returns 0, or -1
 * with errstr (rc->err set: the connection is lost; reconnect and call
 * again). */
int index_attach(redisContext *rc, const struct index_attachment *a, size_t n,
		 struct index_attach_stats *stats, char *errstr, size_t errstr_size);

#endif
