/* The guards: rules that hold a broken week or a broken dossier export
 * before anyone sees it (issue 14). A held run changes nothing that anyone
 * sees; --accept publishes it anyway. Pure decisions: the reporter (weeks)
 * and the indexer (exports) gather the counts and act on the verdict.
 *
 * Each guard has a name (runs.json's "guard"), a default limit and a flag
 * (with its environment variable) to change it. */
#ifndef AIJ_GUARD_H
#define AIJ_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* The guards' names. */
#define GUARD_DOSSIERS_EMPTY     "dossiers_empty"     /* no data row */
#define GUARD_DOSSIERS_MALFORMED "dossiers_malformed" /* too many malformed rows */
#define GUARD_DOSSIERS_SHRUNK    "dossiers_shrunk"    /* far fewer dossiers */
#define GUARD_FORMAT             "format"             /* too many code 01 */
#define GUARD_VALIDATION         "validation"         /* too many 01/06/07/08/09 */
#define GUARD_TECHNICAL          "technical"          /* too many code 10 */
#define GUARD_OLDER              "older"              /* older than the newest published */
#define GUARD_ALREADY            "already"            /* the same file, published */
#define GUARD_INCOMPLETE         "incomplete"         /* lines without an outcome */
#define GUARD_ERROR              "error"              /* any other failure */

/* The limits, in percent. */
struct guard_limits {
	double max_invalid_pct;   /* a week: lines failing validation (30) */
	double max_columns_pct;   /* a week: lines with code 01 (10) */
	double max_technical_pct; /* a week: lines with code 10 (1) */
	double max_malformed_pct; /* an export: malformed rows (5) */
	double min_dossiers_pct;  /* an export: of the dossiers in use (50) */
};

#define GUARD_LIMITS_DEFAULT { 30.0, 10.0, 1.0, 5.0, 50.0 }

/* What became of a run or an export. */
enum guard_status { GUARD_PUBLISH, GUARD_HOLD, GUARD_SKIP /* already done */ };

struct guard_verdict {
	enum guard_status status;
	const char *guard;      /* the guard that decided ("" to publish) */
	char reason[400];       /* why, in English (logs, runs.json "reason") */
	char reason_fr[400];    /* the same in French (staff pages) */
	int accepted;           /* publish over a guard (--accept) */
	char note[512];         /* to say at WARN when publishing ("" none): a
				   corrected week, a guard accepted */
};

/* A complete week. */
struct guard_week {
	const char *run_id;
	const char *sha256;      /* of the file */
	const char *replay_of;   /* "" unless a replay */
	int accept;
	uint64_t lines;
	uint64_t invalid;        /* lines failing validation: 01 06 07 08 09 */
	uint64_t columns;        /* of which code 01 */
	uint64_t technical;      /* lines with code 10 */
	const json_t *history;   /* DIR/runs.json (lib/history.h) */
};

/* Decides a complete week, in this order: the same file as a published
 * run (skip; not for a replay or with accept), a week older than the
 * newest published one (ISO week run ids "2026-W48" only), then the
 * format, validation and technical limits. A guard that --accept
 * overrides publishes, with accepted and a note. */
void guard_week_decide(const struct guard_week *w, const struct guard_limits *l,
		       struct guard_verdict *v);

/* A dossier export read in full. */
struct guard_export {
	uint64_t rows;           /* data rows */
	uint64_t malformed;      /* of which malformed */
	uint64_t loaded;         /* dossiers in the new index */
	uint64_t baseline;       /* dossiers of the index in use, else of the
				    last published run; 0: none known */
	const char *baseline_what; /* where it comes from, for the reason */
	int accept;
};

/* Decides an export: no data row, too many malformed rows, far fewer
 * dossiers than the baseline. */
void guard_export_decide(const struct guard_export *e, const struct guard_limits *l,
			 struct guard_verdict *v);

/* Parses "2026-W48" (a suffix may follow the week: "2026-W48-corrige")
 * into year * 100 + week. Returns 0, or -1 when run_id is not one. */
int guard_iso_week(const char *run_id, long *week);

#endif
