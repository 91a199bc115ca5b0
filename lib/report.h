/* The CSV files a complete run writes: the reports of SPEC §6 and
 * integrated.csv of SPEC §7. */
#ifndef AIJ_REPORT_H
#define AIJ_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "collect.h"
#include "referential.h"
#include "report_format.h" /* REPORT_HEADER, REPORT_BOM, REPORT_EOL */

struct rejections_line;

/* One report written, for the summary. */
struct report_count {
	const char *ml_code; /* owned by the referential, or ROUTE_NATIONAL */
	size_t rows;
};

/* Routes the failed lines of c (finished: in line order) and writes
 * dir/<ml_code>.csv for every ML with at least one, dir/_national.csv when
 * the national report has lines. With evidence_dir, also the report's
 * evidence evidence_dir/<ml_code>.json (report_evidence_write()), weeks[i]
 * the weeks in a row of c->failed[i]. *counts gets one entry per file
 * written, sorted by ml_code (free() it). Returns 0 or -1 (errstr). */
int report_write_all(const char *dir, const char *evidence_dir, const struct collect *c,
		     const struct referential *ref, const struct rejections_line *weeks,
		     struct report_count **counts, size_t *n_counts,
		     char *errstr, size_t errstr_size);

/* Writes path, the evidence of the n report rows idx[] (indexes in
 * c->failed, in the report's order) of run c, weeks[] their weeks in a
 * row, as Python's json.dumps(indent=2, sort_keys=True, ensure_ascii=False)
 * plus a newline writes
 *   {"rows": [{"codes": "05/05/05", "evidence": [{"code": "05",
 *     "differs": ["date_naissance"], "dossier_id": "...", "ml_code": "...",
 *     "step": 3, "value": "12/03/2005"}, ...], "first_rejected":
 *     "2026-11-29", "line": 12, "weeks_rejected": 2}, ...],
 *    "run_id": "..."}
 * (docs/operations.md, "What a published run is"). Returns 0 or -1. */
int report_evidence_write(const char *path, const struct collect *c, const size_t *idx,
			  size_t n, const struct rejections_line *weeks,
			  char *errstr, size_t errstr_size);

#define REPORT_INTEGRATED_HEADER "line;dossier_id;step"

/* Appends the row of an integrated line to integrated.csv (SPEC §7, LF
 * line ends); a write error shows at report_close(). */
void report_integrated_row(FILE *f, const struct collect_integrated *in);


/* Flushes and closes f, written to path; returns 0 or -1 (errstr).
 * Closes f in every case. */
int report_close(FILE *f, const char *path, char *errstr, size_t errstr_size);

#endif
