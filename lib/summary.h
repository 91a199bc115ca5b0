/* summary.json of a complete run (SPEC §7). */
#ifndef AIJ_SUMMARY_H
#define AIJ_SUMMARY_H

#include <stddef.h>

#include "collect.h"
#include "report.h"

/* Writes path with run_id, lines, integrated, failed, by_code (codes with a
 * count only, "01".."10"), by_step ("1", "2", "3" always) and reports
 * (ml_code -> rows), as Python's json.dumps(indent=2, sort_keys=True,
 * ensure_ascii=False) plus a newline writes it. c must be finished.
 * Returns 0 or -1 (errstr). */
int summary_write(const char *path, const struct collect *c,
		  const struct report_count *counts, size_t n_counts,
		  char *errstr, size_t errstr_size);

struct rejections_line;

/* Writes path, the national count of the failed lines of c by weeks in a
 * row (weeks[i] for c->failed[i]): {"by_weeks_rejected": {"1": n, "2": n,
 * ...}, "failed": n, "run_id": "..."}, only the weeks with lines, in the
 * same canonical form as summary.json. Returns 0 or -1 (errstr). */
int summary_weeks_write(const char *path, const struct collect *c,
			const struct rejections_line *weeks,
			char *errstr, size_t errstr_size);

#endif
