/* Where a failed line is reported (SPEC §5): the MLs whose zone holds one of
 * its commune's postal codes, else the national report. */
#ifndef AIJ_ROUTE_H
#define AIJ_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "referential.h"
#include "report_format.h"

#define ROUTE_NATIONAL REPORT_NATIONAL

struct route {
	const char **mls; /* owned by the referential; the array by the route */
	size_t n, cap;
};

/* Fills r with the reports of a failed line: every ML covering one of the
 * postal codes of insee, sorted, without duplicates; or ROUTE_NATIONAL alone
 * when the line has no usable commune (code 01 or 08 in code_mask, bit c for
 * code c) or no zone covers it. Returns 0, or -1 when out of memory. */
int route_line(struct route *r, const struct referential *ref,
	       const char *insee, uint32_t code_mask);

/* Frees the array of r; r may then be used again. */
void route_release(struct route *r);

#endif
