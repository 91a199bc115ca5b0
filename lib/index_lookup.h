/* Reading the dossier index (its key layout: lib/index_keys.h): the
 * look-up cascade of SPEC §4 for a batch of records, with the evidence of
 * the records that fail (lib/evidence.h), in one read-only call of
 * lib/lua/index_resolve.lua; the generation in use; the ML of a dossier
 * (lib/lua/index_ml.lua). The matchers, the reporter (its guards and
 * /healthz), the indexer (its guard), the editions service and bench/redis
 * use it. */
#ifndef AIJ_INDEX_LOOKUP_H
#define AIJ_INDEX_LOOKUP_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "index_keys.h"

/* The look-up script's error when Redis holds no index (restarted empty, or
 * never loaded): not a failure of Redis, the records wait for a load. */
#define INDEX_LOOKUP_ERR_NO_INDEX "no dossier index loaded"

/* One valid record to resolve, prepared by the caller. */
struct index_lookup_query {
	const char *pe;        /* P (index_key_pe); "" skips steps 1 and 2 */
	const char *nom;       /* N(nom_naissance) */
	const char *ident;     /* index_key_ident() of the record */
};

/* A dossier that nearly matched a failed line (lib/evidence.h). */
struct index_lookup_candidate {
	const char *dossier_id;
	const char *ml_code;            /* the dossier's ML */
	const char *value;              /* the dossier's value of the field that
					   differs, as compared; "" for none */
	unsigned step, code;            /* the step that found it, its code */
	unsigned differs;               /* enum evidence_field bits */
};

struct index_lookup_result {
	unsigned step;                  /* 1, 2 or 3 when integrated, else 0 */
	char dossier_id[INDEX_ID_MAX];  /* when integrated */
	char ml_code[INDEX_ML_MAX];     /* when integrated: the dossier's ML */
	unsigned codes[3];              /* when failed: one per step tried */
	size_t ncodes;
	struct index_lookup_candidate *ev;     /* when failed, with the evidence: its
					   candidates (NULL for none), one
					   allocation with their strings */
	size_t nev;
};

/* Frees the evidence of res[0..n) (index_lookup_recv() allocates it). */
void index_lookup_release(struct index_lookup_result *res, size_t n);

/* Runs the cascade of SPEC §4 for the n records of q against the current
 * generation, with evidence reads the evidence of the records that fail
 * (lib/evidence.h), in one read-only script call (one round trip, atomic), in
 * two halves so that a caller keeps several batches in
 * flight on one connection (pipelining: Redis works on one while the caller
 * prepares the next). index_lookup_send() sends the call for q (copied: q
 * may go then); index_lookup_recv() reads the reply of the oldest batch sent
 * and not yet received, q[0..n-1] again (the evidence ranks candidates
 * against the records), into out[0..n-1] (release their
 * evidence with index_lookup_release()). The script must
 * be cached on the server (index_lookup_script_load() on each new connection).
 * Both return 0, or -1 with errstr:
 *   - rc->err set (connection lost): the replies still due are lost too;
 *     replace rc and send those batches again;
 *   - rc->err 0: an error reply for that batch only (no index loaded,
 *     NOSCRIPT after a SCRIPT FLUSH...); the later replies still come.
 * Nothing is partly done by a failed batch but what sending it again redoes
 * identically. */
int index_lookup_send(redisContext *rc, const struct index_lookup_query *q, size_t n,
		      int evidence, char *errstr, size_t errstr_size);
int index_lookup_recv(redisContext *rc, const struct index_lookup_query *q, size_t n,
		      struct index_lookup_result *out, char *errstr, size_t errstr_size);

/* Caches the look-up script on the server (SCRIPT LOAD). 0, or -1 with
 * errstr. */
int index_lookup_script_load(redisContext *rc, char *errstr, size_t errstr_size);

/* Whether an index is loaded: 1 with its generation in gen (gen_size
 * bytes, gen may be NULL) and its dossier count in *dossiers (may be NULL),
 * 0 when none is, -1 with errstr on a Redis failure. */
int index_lookup_current(redisContext *rc, char *gen, size_t gen_size,
			 uint64_t *dossiers, char *errstr, size_t errstr_size);

/* Reads the ML of a dossier in the current generation into ml (ml_size
 * bytes). Returns 1 when found, 0 when the dossier is not in the index, -1
 * with errstr on a Redis failure or when no index is loaded. */
int index_lookup_ml(redisContext *rc, const char *dossier_id, char *ml,
		    size_t ml_size, char *errstr, size_t errstr_size);

#endif
