/* The « Piste » of a report's line (issue 18): the dossiers that nearly
 * matched it and what differs, and the weeks it has been failing in a row,
 * as the reporter publishes them (DIR/evidence/<ml_code>.json, one row per
 * report row in the CSV's order; DIR/weeks.json, the national count; team
 * contract, docs/operations.md "What a published run is"), read, checked
 * against the report they describe, redacted for the person who reads them
 * and put into words (French) for the report's page, its XLSX and
 * GET /editions/<ml>.json.
 *
 * Privacy: a Mission Locale user sees the id of a candidate dossier only
 * when that dossier is of its ML; any other shows as « un dossier d'une
 * autre Mission Locale (<ml_code>) ». National users see every id. The
 * evidence file holds every id: never serve it as it is. */
#ifndef AIJ_EDITIONS_PISTE_H
#define AIJ_EDITIONS_PISTE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "report_format.h"

#define PISTE_DIR        "evidence"
#define PISTE_WEEKS_FILE "weeks.json"
#define PISTE_OLD_WEEKS  3  /* "failing for long": this many weeks or more */

/* One candidate dossier. Strings borrowed from the file's JSON. */
struct piste_candidate {
	const char *dossier_id;
	const char *ml_code;
	const char *value;   /* the dossier's value of the field that differs (N()
				for a name, JJ/MM/AAAA for a date); "" when none */
	unsigned code;       /* 2, 3, 4 or 5: the code of the step it comes from */
	unsigned step;       /* 1, 2 or 3 */
	unsigned differs;    /* enum evidence_field bits (lib/evidence.h); 0 for
				the dossiers of a 02 or a 04 */
};

/* One report row's evidence. */
struct piste_row {
	uint64_t line;       /* the week file's line */
	const char *codes;   /* "05/05/04" */
	struct piste_candidate *cand;
	size_t n_cand;
	unsigned weeks;      /* failed in that many published runs in a row, >= 1 */
	const char *first;   /* the date of the first of them, "YYYY-MM-DD" */
};

/* A report's evidence file read. */
struct piste {
	json_t *root;        /* what the strings point into */
	const char *run_id;  /* "" when the file has none */
	struct piste_row *row;
	size_t n;
	struct piste_candidate *cand; /* every row's, one array */
};

/* How a report's evidence stands, for its page, XLSX and JSON. */
enum piste_state {
	PISTE_OK,        /* read, and it describes the report row for row */
	PISTE_ABSENT,    /* no evidence file: a run published before they existed */
	PISTE_REPLACED,  /* the report no longer is the run's (replaced by an
			    upload): its rows do not match the evidence */
	PISTE_UNREADABLE /* the file is there but cannot be read (logged) */
};

/* Reads dir/evidence/<ml_code>.json (ml_code checked by the caller; the
 * file itself not followed if a link) into p. Returns 0 (piste_release()
 * it), 1 when there is no such file (p empty), -1 with errstr when it
 * cannot be read or is not the contract's form (p empty). */
int piste_load(const char *dir, const char *ml_code, struct piste *p,
	       char *errstr, size_t errstr_size);

/* Frees what piste_load() filled; p is then empty. NULL-safe. */
void piste_release(struct piste *p);

/* Whether p describes the report r row for row: as many rows, the same
 * return codes on each, the run id run_id (when not NULL), and no line
 * that holds the very value its candidate is said to differ by (a row
 * edited since). Returns 1, or 0 with why (English, for the log). */
int piste_matches(const struct piste *p, const struct report *r, const char *run_id,
		  char *why, size_t why_size);

/* Whether the person of viewer_ml (an ML code; NULL for a national user)
 * may see the candidate's dossier id. */
int piste_visible(const struct piste_candidate *c, const char *viewer_ml);

/* Where piste_describe() writes one row's leads. */
struct piste_sink {
	void (*text)(void *arg, const char *s);     /* words (UTF-8, to escape) */
	void (*dossier)(void *arg, const char *id); /* a dossier id the reader may see */
	void (*ml)(void *arg, const char *ml_code); /* the ML of a dossier */
	void (*value)(void *arg, const char *s);    /* the dossier's value that differs */
	void (*end)(void *arg);                     /* one lead is done */
	void *arg;
};

/* Puts the leads of the row rr of the report of report_ml (an ML code or
 * "_national"; pr its evidence) into words for viewer_ml (NULL: national),
 * one lead a candidate, or one for the dossiers of a 02 or a 04 of a step:
 *   « Dossier 10005206 : date de naissance 12/03/2005 au lieu de 13/03/2005 »
 *   « Dossier 1001, même n° PE en cotraitance : nom de naissance
 *     MARTINDUPONT au lieu de MARTIN » (a 03; names as the cascade compares
 *     them, N(), the line's too)
 *   « 2 dossiers ont ce n° PE en cotraitance : 10001, 10002 » (« Au moins
 *     5 » when the evidence may be cut, « Un autre dossier a aussi ... »
 *     when the others are listed at an earlier step)
 *   « Un dossier d'une autre Mission Locale (ML200054781) : prénom ... »
 * A national reader gets a dossier's ML beside its id when it is not the
 * report's. Returns the number of leads (0: none). */
size_t piste_describe(const struct piste_row *pr, const struct report_row *rr,
		      const char *viewer_ml, const char *report_ml,
		      const struct piste_sink *sink);

/* The leads of the row as one line of text, joined by sep (malloc'ed,
 * free() it; "" when none), or NULL when out of memory. */
char *piste_text(const struct piste_row *pr, const struct report_row *rr,
		 const char *viewer_ml, const char *report_ml, const char *sep);

/* « Semaines en échec »: "3 (depuis le 15/11/2026)", into buf. */
void piste_weeks_text(const struct piste_row *pr, char *buf, size_t size);

/* GET /editions/<ml>.json: {"run_id", "ml_code", "evidence_state", "rows":
 * [{"line", "codes", "evidence": [{"dossier_id", "ml_code", "code", "step",
 * "differs", "value"}], "weeks_rejected", "first_rejected"}]}, one row per
 * row of r in order; only the keys named here, dossier_id left out where
 * piste_visible() says no. Unless state is PISTE_OK (p is then unused and
 * may be NULL), each row is {"line": null, "codes" of the report,
 * "evidence": [], "weeks_rejected": null, "first_rejected": null}.
 * evidence_state is "ok", "absent", "replaced" or "unreadable". run_id:
 * the evidence's, else the one given (may be NULL). New reference, or NULL
 * when out of memory. */
json_t *piste_json(const struct piste *p, enum piste_state state, const struct report *r,
		   const char *ml_code, const char *viewer_ml, const char *run_id);

/* DIR/weeks.json: the failed lines of the run, nationally, by weeks in a
 * row. */
struct piste_weeks {
	char run_id[64];
	long long failed;
	size_t n;               /* entries of by, fewest weeks first */
	struct {
		unsigned weeks;
		long long lines;
	} *by;
};

/* Reads dir/weeks.json (a link to the current generation's is followed)
 * into w. Returns 0 (piste_weeks_release() it), 1 when
 * there is none, -1 with errstr when it cannot be read or is malformed. */
int piste_weeks_load(const char *dir, struct piste_weeks *w, char *errstr,
		     size_t errstr_size);

/* Lines failing for at least weeks weeks in a row. */
long long piste_weeks_at_least(const struct piste_weeks *w, unsigned weeks);

void piste_weeks_release(struct piste_weeks *w);

#endif
