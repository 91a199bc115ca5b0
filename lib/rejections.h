/* Weeks in a row (issue 18): for each failed line of a run, in how many
 * consecutive published runs, this one included, its dispositif (the
 * identity "<identifiant_sigma>;<type_dispositif>;<date_debut>") failed,
 * and the date of the first of them.
 *
 * The state lives in the published generation itself, so that it advances
 * only with published runs (a held run changes nothing) and is switched
 * with the run: DIR/.published/<n>/rejections.tsv, LF, a header then one
 * identity a line, sorted:
 *
 *     # aij rejections 1	runs <N>	run_id <the run id of run N>
 *     <last>\t<weeks>\t<first>\t<identity>
 *
 * N counts the runs published into DIR (since the state began); <last> is
 * the number of the last run the identity failed in, <weeks> the
 * consecutive runs ending there, <first> (YYYY-MM-DD, Europe/Paris) the
 * date of the first of them. An identity that did not fail in the last
 * REJECTIONS_KEEP runs is forgotten. A run published again under the same
 * run id (a corrected week) replaces that run: it is counted from the state
 * before it, rejections-before.tsv, which each generation keeps beside
 * (same format), so that a corrected week is not one week more. A line
 * whose identifiant_sigma is empty has no identity: 1 week, not kept. */
#ifndef AIJ_REJECTIONS_H
#define AIJ_REJECTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "collect.h"

#define REJECTIONS_FILE   "rejections.tsv"
#define REJECTIONS_HEADER "# aij rejections 1" /* the start of the header line */
#define REJECTIONS_BEFORE "rejections-before.tsv"
#define REJECTIONS_KEEP   8   /* runs without a failure before an identity goes */

struct rejections;

/* The weeks in a row of one failed line. */
struct rejections_line {
	uint32_t weeks;         /* 1 the first time */
	const char *first;      /* YYYY-MM-DD, owned by the state */
};

/* Reads the state a run is counted from, in the published folder prev
 * (NULL or without a state: none yet): prev's rejections.tsv, or its
 * rejections-before.tsv when prev's run has run_id (the run replaces it).
 * Returns the state, to free with rejections_free(), or NULL (errstr) when
 * a file is unreadable or damaged. */
struct rejections *rejections_load(const char *prev, const char *run_id,
				   char *errstr, size_t errstr_size);

/* Counts the run of c (finished: failed lines in line order) into r, run
 * on date today (YYYY-MM-DD): fills out[i] for each failed line c->failed[i]
 * (valid while r lives) and forgets what failed REJECTIONS_KEEP runs ago.
 * Returns 0, or -1 when out of memory (errstr). */
int rejections_count(struct rejections *r, const struct collect *c, const char *today,
		     struct rejections_line *out, char *errstr, size_t errstr_size);

/* Writes the state r was loaded as to dir/rejections-before.tsv, and r as
 * it is to dir/rejections.tsv (sorting r). Returns 0 or -1 (errstr). */
int rejections_write(struct rejections *r, const char *dir,
		     char *errstr, size_t errstr_size);

/* Frees r; NULL is fine. */
void rejections_free(struct rejections *r);

#endif
