/* DIR/attached/<ml_code>.csv: the dispositifs a published run attached to
 * the dossiers of each Mission Locale, for the staff portal. UTF-8 without
 * BOM, LF, ';'-separated, the header ATTACHED_HEADER, one row per
 * integrated line in line order, its fields as the week's file gave them.
 * A line whose dossier's ML is unknown (an index loaded before the ML was
 * kept in it) or cannot be a file name goes into _national.csv. */
#ifndef AIJ_ATTACHED_H
#define AIJ_ATTACHED_H

#include <stddef.h>

#include "collect.h"
#include "report_format.h" /* ATTACHED_HEADER */

struct attached;

/* Writers of the files of the folder dir (which must exist). Free with
 * attached_close(). NULL when out of memory (errstr). */
struct attached *attached_open(const char *dir, char *errstr, size_t errstr_size);

/* Appends the row of in (lines come in line order). Returns 0 or -1
 * (errstr). */
int attached_add(struct attached *w, const struct collect_integrated *in,
		 char *errstr, size_t errstr_size);

/* Closes every file; returns 0, or -1 (errstr) when one could not be
 * written. Frees w in every case; NULL is fine. */
int attached_close(struct attached *w, char *errstr, size_t errstr_size);

#endif
