/* The dossier index in Redis: loading the i-milo export (SPEC §2.3), the
 * matching cascade (SPEC §4) and the attachment of integrated dispositifs
 * when a run is published.
 *
 * Redis key layout
 * ----------------
 *   aij:index:seq            STRING  counter that hands out generation ids
 *   aij:index:current        STRING  the generation matchers use ("17")
 *   aij:index:generations    SET     every generation written, live or not,
 *                                    so that a crashed load is cleaned later
 *   aij:index:<gen>:meta     HASH    digits (k), buckets (B = 16^k), source,
 *                                    dossiers, malformed, loaded_at
 *   aij:index:<gen>:pe1:<b>  HASH    P (pe_cotraitance, trimmed, upper-cased)
 *                                      -> value
 *   aij:index:<gen>:pe2:<b>  HASH    P (pe_complement, same) -> value
 *   aij:index:<gen>:ident:<b> HASH   "N(nom)|N(prenom)|JJ/MM/AAAA" -> value
 *   aij:index:<gen>:ml:<b>   HASH    dossier_id -> ml_code
 *   aij:index:<gen>:np:<b>   HASH    "N(nom)|N(prenom)" -> near value  } blocking keys
 *   aij:index:<gen>:pd:<b>   HASH    "N(prenom)|JJ/MM/AAAA" -> near   } of the evidence
 *   aij:index:<gen>:nd:<b>   HASH    "N(nom)|JJ/MM/AAAA" -> near      } (meta near = 1)
 *   aij:dispositifs:<dossier_id>  HASH  "<sigma>;<type>;<date_debut>" -> the
 *                                    dispositif (its 12 fields, run_id, line)
 *                                    as lib/dispositif.h stores it
 *   aij:dispositif_owner     HASH    "<sigma>;<type>;<date_debut>" -> the
 *                                    dossier_id holding that dispositif
 *
 * A field lives in bucket <b>, the last k hex digits of index_hash(field)
 * ("%08x"). Buckets hold at most ~64 fields on average, so Redis keeps each
 * as a compact listpack and a load costs one variadic HSET per bucket
 * instead of one hash-table insert per field (several times faster, a
 * quarter of the memory). To read one: HGET of index_bucket_key(...) P.
 *
 * Look-up values: one dossier is "<dossier_id>\t<N(nom_naissance)>\t<ml_code>"
 * in pe1 and pe2 (steps 1 and 2 compare the birth name) and
 * "<dossier_id>\t<ml_code>" in ident; several dossiers are "\t<count>" (a
 * dossier id never starts with a tab), followed, in a generation with the
 * evidence (meta near = 1), by "\t<dossier_id>\t<ml_code>" for the first
 * INDEX_SHARED_IDS of them (by id, byte order): the candidates of a 02 or a
 * 04. Empty numéros PE are not indexed.
 *
 * The evidence of a failed line (lib/evidence.h, issue 18) also reads the
 * blocking keys np, pd and nd, only for a line that ends in 05 at step 3:
 * the dossiers that share two of the line's three identity fields. A near
 * value lists them, "<dossier_id>\t<ml_code>\t<the third field>" each (the
 * birth date in np, N(nom) in pd, N(prenom) in nd), tab-separated, by id
 * (byte order), each dossier once; a key of more than INDEX_NEAR_MAX rows of
 * the export is "\t<rows>" alone (too common to point at one dossier).
 * aij-indexer --evidence off leaves np, pd and nd out (meta near = 0) and
 * the ids out of the shared values.
 *
 * A load writes a new generation (meta first, then the buckets), switches
 * aij:index:current to it with one SET (only ever forward), then UNLINKs the
 * older generations. The look-up of a batch is one read-only Lua script
 * (lib/lua/index_resolve.lua, EVALSHA) that reads aij:index:current itself:
 * it runs whole between two commands of a loader, so it never sees half an
 * index. Per record it issues one HGET per step tried, and with the
 * evidence, for a line whose step 3 gives 05, three more (np, pd, nd); per
 * batch one GET and one HMGET. An integrated line never pays for the
 * evidence but 24 bytes of arguments.
 *
 * The matchers never write. The reporter attaches the integrated
 * dispositifs of a run when it publishes it (index_attach()): a
 * dispositif's identity is "<identifiant_sigma>;<type_dispositif>;
 * <date_debut>"; attaching it again overwrites it (HSET); attaching it to
 * another dossier moves it (HDEL from the old dossier), so there is never a
 * second copy. Single Redis instance (not Redis Cluster): the script reaches
 * keys it computes. Run one loader at a time. */
#ifndef AIJ_DOSSIER_INDEX_H
#define AIJ_DOSSIER_INDEX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <hiredis/hiredis.h>

#define INDEX_KEY_SEQ          "aij:index:seq"
#define INDEX_KEY_CURRENT      "aij:index:current"
#define INDEX_KEY_GENERATIONS  "aij:index:generations"
#define INDEX_KEY_PREFIX       "aij:index:"
#define INDEX_KEY_DISPOSITIFS  "aij:dispositifs:"
#define INDEX_KEY_OWNER        "aij:dispositif_owner"

#define INDEX_EXPORT_HEADER \
	"dossier_id;ml_code;nom_naissance;prenom;date_naissance;pe_cotraitance;pe_complement"

#define INDEX_ID_MAX 128   /* dossier ids are shorter; longer rows are malformed */
#define INDEX_SHARED_IDS 5 /* dossier ids listed in a shared look-up value */
#define INDEX_NEAR_MAX 16  /* dossiers a near value lists at most */
#define INDEX_ML_MAX 64    /* an ML code from the index, longer is cut off */

/* The look-up script's error when Redis holds no index (restarted empty, or
 * never loaded): not a failure of Redis, the records wait for a load. */
#define INDEX_ERR_NO_INDEX "no dossier index loaded"

/* The hash that places a field in its bucket (32-bit FNV-1a). */
uint32_t index_hash(const char *s, size_t len);

/* Writes the key of the bucket of field in table ("pe1", "pe2", "ident",
 * "ml", "np", "pd", "nd") of generation gen, whose meta says digits. */
void index_bucket_key(char *out, size_t size, const char *gen, const char *table,
		      unsigned digits, const char *field);

/* Writes P, the numéro PE as compared: trimmed of spaces and tabs, ASCII
 * upper-cased. Returns its length (cut at out_size - 1). */
size_t index_pe_key(const char *pe, char *out, size_t out_size);

/* Writes the step-3 key "N(nom)|N(prenom)|date_naissance" (date trimmed).
 * Returns its length, or 0 if out_size is too small (out is then ""). */
size_t index_ident_key(const char *nom, const char *prenom, const char *date,
		       char *out, size_t out_size);

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
	const char *pe;        /* P (index_pe_key); "" skips steps 1 and 2 */
	const char *nom;       /* N(nom_naissance) */
	const char *ident;     /* index_ident_key() of the record */
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
