/* The CSV files a complete run writes: the reports of SPEC §6 and
 * integrated.csv of SPEC §7. */
#ifndef AIJ_REPORTER_REPORT_H
#define AIJ_REPORTER_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "collect.h"
#include "referential.h"
#include "report_format.h" /* REPORT_HEADER, REPORT_BOM, REPORT_EOL */

/* One report written, for the summary. */
struct report_count {
	const char *ml_code; /* owned by the referential, or ROUTE_NATIONAL */
	size_t rows;
};

/* Routes the failed lines of c (finished: in line order) and writes
 * dir/<ml_code>.csv for every ML with at least one, dir/_national.csv when
 * the national report has lines. *counts gets one entry per file written,
 * sorted by ml_code (free() it). Returns 0 or -1 (errstr). */
int report_write_all(const char *dir, const struct collect *c,
		     const struct referential *ref, struct report_count **counts,
		     size_t *n_counts, char *errstr, size_t errstr_size);

/* Writes path: "line;dossier_id;step", then one row per integrated line of c
 * (finished) in line order, LF line ends, streamed from c's temporary file.
 * Returns 0 or -1 (errstr; path is then incomplete: not to publish). */
int report_write_integrated(const char *path, const struct collect *c,
			    char *errstr, size_t errstr_size);

/* Flushes and closes f, written to path; returns 0 or -1 (errstr).
 * Closes f in every case. */
int report_close(FILE *f, const char *path, char *errstr, size_t errstr_size);

#endif
