/* Reference data, loaded once into hash tables (SPEC §2.2):
 * communes (INSEE code → postal codes), exit reasons, ML coverage zones. */
#ifndef AIJ_REFERENTIAL_H
#define AIJ_REFERENTIAL_H

#include <stddef.h>

#define REF_DEFAULT_COMMUNES "data/communes.csv"
#define REF_DEFAULT_MOTIFS   "data/motifs.csv"

struct referential;

/* Loads the files that are not NULL:
 *   communes: "code_insee;code_postal;nom_commune", a header, one row per pair;
 *             a row with an empty code_postal makes the code known with
 *             no postal code ("98412;;Archipel des Kerguelen", SPEC §2.2)
 *   motifs:   "code;libelle", a header
 *   coverage: "ml_code;ml_nom;code_postal", a header, one row per pair
 * A missing file or a malformed row is an error naming file and line.
 * Returns NULL with errstr set on failure. Free with referential_free(). */
struct referential *referential_load(const char *communes, const char *motifs,
				     const char *coverage,
				     char *errstr, size_t errstr_size);

void referential_free(struct referential *ref);

/* 1 when insee is a known commune code (current commune, arrondissement
 * municipal, commune déléguée or associée, with or without postal code),
 * else 0. */
int ref_commune_known(const struct referential *ref, const char *insee);

/* The commune's postal codes (owned by ref), or 0 and NULL if unknown or
 * known without postal code (then no ML zone can hold it: SPEC §5). */
size_t ref_commune_postcodes(const struct referential *ref, const char *insee,
			     const char *const **postcodes);

/* The commune's name (owned by ref), or NULL if unknown. */
const char *ref_commune_name(const struct referential *ref, const char *insee);

/* 1 when code is in the exit-reason list, else 0. */
int ref_motif_known(const struct referential *ref, const char *code);

/* The exit reason's label (owned by ref), or NULL if unknown. */
const char *ref_motif_label(const struct referential *ref, const char *code);

/* The ML codes whose zone holds postcode (owned by ref, sorted, no
 * duplicates), or 0 and NULL when no zone covers it. */
size_t ref_coverage_mls(const struct referential *ref, const char *postcode,
			const char *const **ml_codes);

/* The ML's name (owned by ref), or NULL if the ML is unknown. */
const char *ref_ml_name(const struct referential *ref, const char *ml_code);

#endif
