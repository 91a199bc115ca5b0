/* Puts a run's outputs in place atomically: everything is written into a
 * staging folder inside the output folder, then renamed into place, so a
 * reader sees the previous run's reports or the new ones, never half. */
#ifndef AIJ_REPORTER_PUBLISH_H
#define AIJ_REPORTER_PUBLISH_H

#include <stddef.h>

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

#endif
