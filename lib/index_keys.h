/* The dossier index's Redis keys, in one place: their names, the buckets
 * that spread a table's fields, the look-up fields as compared (P, the
 * identity key) and the forms of the values. lib/index_load.h reads the
 * export and lib/index_write.h writes it as a generation, lib/index_lookup.h
 * and the scripts of lib/lua/ read it (the scripts are given the names
 * below, the prefix, the tables, the meta's, as arguments), lib/index_attach.h
 * writes the dispositifs attached to the dossiers.
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
 * A field lives in bucket <b>, the last k hex digits of index_key_hash(field)
 * ("%08x"). Buckets hold at most ~64 fields on average, so Redis keeps each
 * as a compact listpack and a load costs one variadic HSET per bucket
 * instead of one hash-table insert per field (several times faster, a
 * quarter of the memory). To read one: HGET of index_key_bucket_of(...) P.
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
#ifndef AIJ_INDEX_KEYS_H
#define AIJ_INDEX_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define INDEX_KEY_PREFIX       "aij:index:"
#define INDEX_KEY_SEQ          INDEX_KEY_PREFIX "seq"
#define INDEX_KEY_CURRENT      INDEX_KEY_PREFIX "current"
#define INDEX_KEY_GENERATIONS  INDEX_KEY_PREFIX "generations"
#define INDEX_KEY_DISPOSITIFS  "aij:dispositifs:"
#define INDEX_KEY_OWNER        "aij:dispositif_owner"

/* The meta of a generation, aij:index:<gen>:meta, and the fields of it that
 * the scripts read. */
#define INDEX_META             "meta"
#define INDEX_META_DIGITS      "digits"
#define INDEX_META_NEAR        "near"

/* The tables of a generation, aij:index:<gen>:<table>:<b>. */
#define INDEX_TABLE_PE1        "pe1"
#define INDEX_TABLE_PE2        "pe2"
#define INDEX_TABLE_IDENT      "ident"
#define INDEX_TABLE_ML         "ml"
#define INDEX_TABLE_NP         "np"
#define INDEX_TABLE_PD         "pd"
#define INDEX_TABLE_ND         "nd"

#define INDEX_ID_MAX 128   /* dossier ids are shorter; longer rows are malformed */
#define INDEX_SHARED_IDS 5 /* dossier ids listed in a shared look-up value */
#define INDEX_NEAR_MAX 16  /* dossiers a near value lists at most */
#define INDEX_ML_MAX 64    /* an ML code from the index, longer is cut off */

/* The hash that places a field in its bucket (32-bit FNV-1a). */
uint32_t index_key_hash(const char *s, size_t len);

/* The hash of a string of several parts: h is INDEX_KEY_HASH_START, or
 * what this returned for the parts before s. */
#define INDEX_KEY_HASH_START 2166136261u
uint32_t index_key_hash_more(uint32_t h, const char *s, size_t len);

/* Writes the key of bucket b of table (INDEX_TABLE_...) of generation gen,
 * whose meta says digits. Returns its length (snprintf's). */
int index_key_bucket(char *out, size_t size, const char *gen, const char *table,
		     unsigned digits, uint32_t b);

/* Writes the key of the bucket of field in table of generation gen, whose
 * meta says digits. */
void index_key_bucket_of(char *out, size_t size, const char *gen, const char *table,
			 unsigned digits, const char *field);

/* The size of a key of index_key_dispositifs(), its NUL included. */
#define INDEX_KEY_DISPOSITIFS_SIZE (sizeof(INDEX_KEY_DISPOSITIFS) + INDEX_ID_MAX)

/* Writes the key of the dispositifs attached to dossier_id, the id cut at
 * INDEX_ID_MAX - 1 bytes, into out (INDEX_KEY_DISPOSITIFS_SIZE bytes).
 * Returns its length. */
size_t index_key_dispositifs(char *out, const char *dossier_id);

/* Writes the key of the meta of generation gen. Returns its length
 * (snprintf's). */
int index_key_meta(char *out, size_t size, const char *gen);

/* Writes P, the numéro PE as compared: trimmed of spaces and tabs, ASCII
 * upper-cased. Returns its length (cut at out_size - 1). */
size_t index_key_pe(const char *pe, char *out, size_t out_size);

/* Writes the step-3 key "N(nom)|N(prenom)|date_naissance" (date trimmed).
 * Returns its length, or 0 if out_size is too small (out is then ""). */
size_t index_key_ident(const char *nom, const char *prenom, const char *date,
		       char *out, size_t out_size);

#endif
