/* The editions service's HTML, rendered on the server, in French: the frame
 * every page shares (heading, the user and the log-out button, the menu,
 * the "latest run was held" banner, a message), escaping, times in
 * Europe/Paris, and what the return codes and look-up steps mean.
 * Self-contained pages: inline CSS, no script, no external resource. */
#ifndef AIJ_EDITIONS_PAGE_H
#define AIJ_EDITIONS_PAGE_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "users.h"

/* The menu entries; the current one is marked. */
enum page_nav { NAV_NONE, NAV_REPORTS, NAV_DISPOSITIFS, NAV_HISTORY };

/* What surrounds a page's content. Every pointer may be NULL. */
struct page_frame {
	const char *title;      /* <title> and the heading */
	const char *subtitle;   /* under the heading */
	const struct user *user; /* who is logged in: the menu, the log-out button */
	const char *csrf;       /* the session's CSRF token (the log-out form); NULL
				   for a client with a token: no log-out button */
	const char *held;       /* the "latest run was held" banner's text */
	const char *flash;      /* a message from the previous action */
	enum page_nav nav;
};

struct page {
	FILE *f;
	char *buf;
	size_t len;
};

/* Starts a page with its frame. Returns 0, or -1 when out of memory. */
int page_begin(struct page *p, const struct page_frame *fr);

/* Ends the page and hands its HTML over (malloc'ed, free() it) with *len;
 * NULL when out of memory. */
char *page_end(struct page *p, size_t *len);

/* Text, HTML-escaped: the whole of s (NULL is ""), or its first n bytes. */
void page_esc(struct page *p, const char *s);
void page_escn(struct page *p, const char *s, size_t n);

/* HTML as it is (markup written by the service). */
void page_raw(struct page *p, const char *s);
void page_printf(struct page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* s percent-encoded for a URL's query value or path segment. */
void page_url(struct page *p, const char *s);

/* A hidden form field name=value (value escaped). */
void page_hidden(struct page *p, const char *name, const char *value);

/* A time as a person reads it in Europe/Paris (the process's TZ):
 * "06/12/2026 à 02:01". */
void page_time(time_t t, char *buf, size_t size);

/* The label of return code 1..10 (SPEC §4), or NULL. */
const char *page_code_label(unsigned code);

/* What the ML can do about return code 1..10, or NULL. */
const char *page_code_action(unsigned code);

/* The look-up of step 1..3 (SPEC §4): "n° PE (dossier de cotraitance)",
 * "n° PE (complément du dossier)", "identité"; NULL for another step. */
const char *page_step_label(unsigned step);

/* The same, short, for a table's cell: "n° PE cotraitance", "n° PE
 * complément", "identité"; NULL for another step. */
const char *page_step_short(unsigned step);

/* The step the i-th of n return codes comes from (SPEC §4: three codes are
 * steps 1, 2, 3; a single 04 or 05 is step 3, tried alone without numéro
 * PE), or 0 for a code of the validation or a technical error. */
unsigned page_code_step(const unsigned *codes, size_t n, size_t i);

/* Badges for return codes ("05/05/04"), each with its label as a tooltip. */
void page_code_badges(struct page *p, const unsigned *codes, size_t n, const char *raw);

/* The paragraph that says how to read the codes' positions. */
void page_codes_legend(struct page *p);

#endif
