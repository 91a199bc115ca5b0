/* The editions service's HTML pages, rendered on the server: a report with
 * each row's return codes explained and what the ML can do about them, the
 * counts per code, and for national users the run's summary with charts.
 * Self-contained: inline CSS, no script, no external resource. */
#ifndef AIJ_REPORTER_EDITIONS_PAGE_H
#define AIJ_REPORTER_EDITIONS_PAGE_H

#include <stddef.h>

#include <jansson.h>

#include "store.h"
#include "users.h"

struct referential;

struct editions_page {
	const struct editions_user *user;
	const char *token;         /* the ?token= the page was opened with, carried
				      on its links; NULL when it came in a header */
	const char *run_id;        /* the latest run's id, or NULL */
	const json_t *summary;     /* summary.json, or NULL */
	const struct referential *ref; /* ML and commune names, or NULL */
};

/* The label of return code 1..10 (SPEC §4), or NULL. */
const char *editions_code_label(int code);

/* What the ML can do about return code 1..10 (issue 5), or NULL. */
const char *editions_code_action(int code);

/* The page of one report (data: its bytes; info: from the store).
 * download_name is the file name of a download. Returns the HTML,
 * malloc'ed (free() it), with *len, or NULL when out of memory. */
char *editions_page_report(const struct editions_page *p,
			   const struct editions_entry *info, const char *data,
			   size_t len, const char *download_name, size_t *len_out);

/* The page listing the reports the user may see, and for a national user the
 * run's summary. Same ownership as editions_page_report(). */
char *editions_page_index(const struct editions_page *p,
			  const struct editions_entry *entries, size_t n,
			  size_t *len_out);

/* A small page for an error (status and message). Same ownership. */
char *editions_page_error(int status, const char *message, size_t *len_out);

#endif
