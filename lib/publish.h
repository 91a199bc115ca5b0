/* A complete run published in one step, or not at all (issue 14).
 *
 * The output folder DIR holds generations of published files and a symbolic
 * link to the current one; the names readers use point through it:
 *
 *   DIR/.published/<n>/     reports/, attached/, integrated.csv, summary.json,
 *                           evidence/, weeks.json (issue 18),
 *                           rejections.tsv and rejections-before.tsv (the
 *                           weeks in a row, rejections.h), entry.json (its
 *                           run history entry), and until the publication
 *                           is done, attachments (journal.h)
 *   DIR/current          -> .published/<n>
 *   DIR/reports          -> current/reports       (and attached, evidence,
 *   DIR/integrated.csv   -> current/integrated.csv  summary.json, weeks.json
 *                                                   alike)
 *   DIR/runs.json           the run history (lib/history.h)
 *
 * A publication: the generation is written as .published/<n>.tmp-<pid>,
 * synced, and renamed to .published/<n> (from then on the run *will* be
 * published); the dispositifs are attached in Redis from its journal; the
 * link current is replaced by one to <n> (one rename: a reader sees the
 * whole previous run or the whole new one); the history entry is appended;
 * the older generations go. A reporter that dies midway finishes the
 * publication at its next start (publish_recover): attaching again gives
 * the same Redis, and each later step checks whether it was done. Only one
 * reporter publishes into a DIR. */
#ifndef AIJ_PUBLISH_H
#define AIJ_PUBLISH_H

#include <stddef.h>

#include <jansson.h>

struct collect;
struct referential;

#define PUBLISH_PENDING (-2)

/* Creates dir and its parents (mkdir -p). Returns 0 or -1 (errstr). */
int publish_mkdirs(const char *dir, char *errstr, size_t errstr_size);

/* Writes the files of the complete run c (finished by collect_finish())
 * into the existing empty folder dir: reports/ (SPEC §5-6), attached/,
 * integrated.csv and summary.json (SPEC §7), evidence/<ml_code>.json and
 * weeks.json, the weeks in a row counted from the state of the folder of
 * the run published before, previous (NULL: none, every failed line's
 * first week), and when journal is not NULL the attachments to make there.
 * n_reports (may be NULL) receives the number of reports written. Returns
 * 0 or -1 (errstr). */
int publish_files(const char *dir, const struct collect *c,
		  const struct referential *ref, const char *previous, const char *journal,
		  size_t *n_reports, char *errstr, size_t errstr_size);

/* Finishes c (collect_finish()) and publishes it into out (created if
 * needed) as above, with redis ("HOST:PORT") for the attachments, retried
 * for up to retry_s seconds while Redis does not answer. entry is the
 * run's history entry (history_entry_json()); its "dossiers" is filled
 * with the size of the index in use. n_reports as publish_files(). Any
 * publication left unfinished in out is finished first. Returns 0; -1
 * (errstr) when nothing was published (out unchanged); PUBLISH_PENDING
 * (errstr) when the publication is committed but could not be finished
 * (Redis): the next publish_recover() finishes it. */
int publish_run(const char *out, struct collect *c, const struct referential *ref,
		const char *redis, int retry_s, json_t *entry, size_t *n_reports,
		char *errstr, size_t errstr_size);

/* Finishes a publication a reporter left midway in out (there may be
 * none), and removes what a dead reporter left half written. Returns 0
 * (logging what it did), or -1 (errstr) when one is left to finish. */
int publish_recover(const char *out, const char *redis, int retry_s,
		    char *errstr, size_t errstr_size);

#endif
