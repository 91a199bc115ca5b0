/* Puts a run's outputs in place atomically: everything is written into a
 * staging folder inside the output folder, then renamed into place, so a
 * reader sees the previous run's reports or the new ones, never half. */
#ifndef AIJ_REPORTER_PUBLISH_H
#define AIJ_REPORTER_PUBLISH_H

#include <stddef.h>

struct collect;
struct referential;

/* Creates dir (with its parents) and an empty staging folder inside it,
 * dir/.tmp-<pid>, holding an empty reports/ folder; its path goes to stage.
 * Returns 0 or -1 (errstr). */
int publish_begin(const char *dir, char *stage, size_t stage_size,
		  char *errstr, size_t errstr_size);

/* Moves stage/reports, stage/integrated.csv and stage/summary.json into
 * dir, replacing the previous ones (the reports folder is swapped whole,
 * summary.json last), then removes stage with the previous reports.
 * Returns 0 or -1 (errstr). */
int publish_commit(const char *dir, const char *stage,
		   char *errstr, size_t errstr_size);

/* Removes stage and everything in it; NULL or "" is fine. */
void publish_abort(const char *stage);

/* Writes every output of the complete run c into dir, atomically: finishes
 * c (collect_finish), writes the reports (SPEC §5-6), integrated.csv and
 * summary.json into a staging folder, then publish_commit(). n_reports (may
 * be NULL) receives the number of reports written. Returns 0, or -1
 * (errstr) with dir left as it was. */
int publish_run(const char *dir, struct collect *c, const struct referential *ref,
		size_t *n_reports, char *errstr, size_t errstr_size);

#endif
