/* Reading the i-milo dossier export (SPEC §2.3) into memory, grouped by
 * the buckets of the dossier index (the key layout: lib/index_keys.h),
 * ready for lib/index_write.h to write it as a new generation. The indexer
 * and the tests that load an index use it. */
#ifndef AIJ_INDEX_LOAD_H
#define AIJ_INDEX_LOAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "index_keys.h"

/* The export's header line (SPEC §2.3; any case, fields trimmed). */
#define INDEX_LOAD_HEADER \
	"dossier_id;ml_code;nom_naissance;prenom;date_naissance;pe_cotraitance;pe_complement"

/* Counts of a load. */
struct index_load_counts {
	uint64_t rows;          /* data rows read (header and blank lines excluded) */
	uint64_t loaded;        /* rows in the index */
	uint64_t malformed;     /* rows rejected, each logged with its line number */
	uint64_t pe1_keys, pe2_keys, ident_keys;       /* distinct look-up keys */
	uint64_t pe1_shared, pe2_shared, ident_shared; /* of which several dossiers */
	uint64_t np_keys, pd_keys, nd_keys;  /* blocking keys (index_write()) */
	uint64_t near_crowded;  /* of which more than INDEX_NEAR_MAX rows (index_write()) */
};

/* An export read and aggregated in memory, ready to be written. */
struct index_load;

/* Reads a dossier export from in (name is for messages): checks the header,
 * skips and logs malformed rows (wrong column count, empty or over-long
 * dossier_id, invalid date_naissance) with their line numbers, aggregates
 * the three look-ups, and with evidence the blocking keys np, pd and nd.
 * Returns NULL with errstr when the file cannot be read or its header is
 * wrong, or on signals_stop (SIGTERM). counts may be NULL. Free with
 * index_load_free(). */
struct index_load *index_load_read(FILE *in, const char *name, int evidence,
				   struct index_load_counts *counts,
				   char *errstr, size_t errstr_size);

/* Frees an index read by index_load_read(); NULL is fine. */
void index_load_free(struct index_load *d);

/* The counts of d: those of index_load_read(), and the blocking keys' once
 * index_write() wrote them. */
struct index_load_counts index_load_counts(const struct index_load *d);

#endif
