/* Where a failed line is reported (SPEC §5): the MLs whose zone holds one of
 * its commune's postal codes, else the national report. The rule is stated
 * once, by route_reason(): the reporter routes by it (route_line()), the
 * editions service tells by it why a line is in the national report. */
#ifndef AIJ_ROUTE_H
#define AIJ_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "referential.h"
#include "report_format.h"

#define ROUTE_NATIONAL REPORT_NATIONAL

/* Why a failed line goes where it goes. ROUTE_COVERED: to the reports of
 * the MLs covering its commune; any other: to the national report alone. */
enum route_reason {
	ROUTE_COVERED,       /* an ML's zone holds one of its commune's postal codes */
	ROUTE_MALFORMED,     /* code 01: its fields are not where they should be */
	ROUTE_UNKNOWN_INSEE, /* code 08: its commune is not a known INSEE code */
	ROUTE_NO_COMMUNE,    /* no INSEE code, or one the communes referential lacks */
	ROUTE_NO_POSTCODE,   /* its commune has no postal code (no zone can hold it) */
	ROUTE_UNCOVERED,     /* no ML's zone holds any of its commune's postal codes */
};

/* Why the failed line of commune insee with the codes code_mask (bit c for
 * code c) goes where it goes, by ref's communes and coverage. With
 * ROUTE_COVERED, *covered_pc and *covered_ml (when not NULL) are set to the
 * first of its postal codes that a zone holds and that zone's first ML
 * (owned by ref). */
enum route_reason route_reason(const struct referential *ref, const char *insee,
			       uint32_t code_mask, const char **covered_pc,
			       const char **covered_ml);

struct route {
	const char **mls; /* owned by the referential; the array by the route */
	size_t n, cap;
};

/* Fills r with the reports of a failed line: every ML covering one of the
 * postal codes of insee, sorted, without duplicates; or ROUTE_NATIONAL alone
 * when route_reason() is not ROUTE_COVERED (no usable commune: code 01 or 08
 * in code_mask; or no zone covers it). Returns 0, or -1 when out of memory. */
int route_line(struct route *r, const struct referential *ref,
	       const char *insee, uint32_t code_mask);

/* Frees the array of r; r may then be used again. */
void route_release(struct route *r);

#endif
