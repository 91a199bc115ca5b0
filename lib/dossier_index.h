/* The dossier index in Redis (its key layout: lib/index_keys.h): loading
 * the i-milo export (SPEC §2.3), the matching cascade (SPEC §4) and the
 * attachment of integrated dispositifs when a run is published. */
#ifndef AIJ_DOSSIER_INDEX_H
#define AIJ_DOSSIER_INDEX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <hiredis/hiredis.h>

#include "index_keys.h"

#define INDEX_EXPORT_HEADER \
	"dossier_id;ml_code;nom_naissance;prenom;date_naissance;pe_cotraitance;pe_complement"

/* The look-up script's error when Redis holds no index (restarted empty, or
 * never loaded): not a failure of Redis, the records wait for a load. */
#define INDEX_ERR_NO_INDEX "no dossier index loaded"

/* Counts of a load. */
struct index_counts {
	uint64_t rows;          /* data rows read (header and blank lines excluded) */
	uint64_t loaded;        /* rows in the index */
	uint64_t malformed;     /* rows rejected, each logged with its line number */
	uint64_t pe1_keys, pe2_keys, ident_keys;       /* distinct look-up keys */
	uint64_t pe1_shared, pe2_shared, ident_shared; /* of which several dossiers */
	uint64_t np_keys, pd_keys, nd_keys;  /* blocking keys (index_publish()) */
	uint64_t near_crowded;  /* of which more than INDEX_NEAR_MAX rows (index_publish()) */
};

/* An export read and aggregated in memory, ready to be written. */
struct index_data;

/* Reads a dossier export from in (name is for messages): checks the header,
 * skips and logs malformed rows (wrong column count, empty or over-long
 * dossier_id, invalid date_naissance) with their line numbers, aggregates
 * the three look-ups, and with evidence the blocking keys np, pd and nd.
 * Returns NULL with errstr when the file cannot be read or its header is
 * wrong, or on signals_stop (SIGTERM). counts may be NULL. Free with
 * index_data_free(). */
struct index_data *index_read(FILE *in, const char *name, int evidence,
			      struct index_counts *counts,
			      char *errstr, size_t errstr_size);

/* Frees an index read by index_read(); NULL is fine. */
void index_data_free(struct index_data *d);

/* Writes d into a new generation (pipelined variadic HSETs, one per
 * bucket); stops early on signals_stop (SIGTERM). With the evidence, a
 * thread groups the blocking tables meanwhile (their counts are in d's
 * index_data_counts() after). Then switches aij:index:current to it and
 * deletes the older generations. gen receives the new generation id.
 * Returns 0, or -1 with errstr (the current index is then untouched). */
int index_publish(redisContext *rc, struct index_data *d,
		  char *gen, size_t gen_size, char *errstr, size_t errstr_size);

/* The counts of d: those of index_read(), and the blocking keys' once
 * index_publish() wrote them. */
struct index_counts index_data_counts(const struct index_data *d);

/* One valid record to resolve, prepared by the caller. */
struct index_query {
	const char *pe;        /* P (index_key_pe); "" skips steps 1 and 2 */
	const char *nom;       /* N(nom_naissance) */
	const char *ident;     /* index_key_ident() of the record */
};

/* A dossier that nearly matched a failed line (lib/evidence.h). */
struct index_candidate {
	const char *dossier_id;
	const char *ml_code;            /* the dossier's ML */
	const char *value;              /* the dossier's value of the field that
					   differs, as compared; "" for none */
	unsigned step, code;            /* the step that found it, its code */
	unsigned differs;               /* enum evidence_field bits */
};

struct index_result {
	unsigned step;                  /* 1, 2 or 3 when integrated, else 0 */
	char dossier_id[INDEX_ID_MAX];  /* when integrated */
	char ml_code[INDEX_ML_MAX];     /* when integrated: the dossier's ML */
	unsigned codes[3];              /* when failed: one per step tried */
	size_t ncodes;
	struct index_candidate *ev;     /* when failed, with the evidence: its
					   candidates (NULL for none), one
					   allocation with their strings */
	size_t nev;
};

/* Frees the evidence of res[0..n) (index_resolve_recv() allocates it). */
void index_result_release(struct index_result *res, size_t n);

/* Runs the cascade of SPEC §4 for the n records of q against the current
 * generation, with evidence reads the evidence of the records that fail
 * (lib/evidence.h), in one read-only script call (one round trip, atomic), in
 * two halves so that a caller keeps several batches in
 * flight on one connection (pipelining: Redis works on one while the caller
 * prepares the next). index_resolve_send() sends the call for q (copied: q
 * may go then); index_resolve_recv() reads the reply of the oldest batch sent
 * and not yet received, q[0..n-1] again (the evidence ranks candidates
 * against the records), into out[0..n-1] (release their
 * evidence with index_result_release()). The script must
 * be cached on the server (index_script_load() on each new connection).
 * Both return 0, or -1 with errstr:
 *   - rc->err set (connection lost): the replies still due are lost too;
 *     replace rc and send those batches again;
 *   - rc->err 0: an error reply for that batch only (no index loaded,
 *     NOSCRIPT after a SCRIPT FLUSH...); the later replies still come.
 * Nothing is partly done by a failed batch but what sending it again redoes
 * identically. */
int index_resolve_send(redisContext *rc, const struct index_query *q, size_t n,
		       int evidence, char *errstr, size_t errstr_size);
int index_resolve_recv(redisContext *rc, const struct index_query *q, size_t n,
		       struct index_result *out, char *errstr, size_t errstr_size);

/* Caches the look-up script on the server (SCRIPT LOAD). 0, or -1 with
 * errstr. */
int index_script_load(redisContext *rc, char *errstr, size_t errstr_size);

/* Whether an index is loaded: 1 with its generation in gen (gen_size
 * bytes, gen may be NULL) and its dossier count in *dossiers (may be NULL),
 * 0 when none is, -1 with errstr on a Redis failure. */
int index_current(redisContext *rc, char *gen, size_t gen_size,
		  uint64_t *dossiers, char *errstr, size_t errstr_size);

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

/* Reads the ML of a dossier in the current generation into ml (ml_size
 * bytes). Returns 1 when found, 0 when the dossier is not in the index, -1
 * with errstr on a Redis failure or when no index is loaded. */
int index_ml_get(redisContext *rc, const char *dossier_id, char *ml,
		 size_t ml_size, char *errstr, size_t errstr_size);

#endif
