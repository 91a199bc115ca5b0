#include "route.h"

#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "record.h"

static int route_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int route_add(struct route *r, const char *ml)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->mls[i], ml) == 0)
			return 0;
	const char **mls = array_grow(r->mls, &r->cap, r->n + 1, sizeof(*mls), 8);
	if (!mls)
		return -1;
	r->mls = mls;
	r->mls[r->n++] = ml;
	return 0;
}

enum route_reason route_reason(const struct referential *ref, const char *insee,
			       uint32_t code_mask, const char **covered_pc,
			       const char **covered_ml)
{
	/* Code 01: the fields are not where they should be; 08: the commune
	 * is unknown. Either way no ML can be told apart. */
	if (code_mask & (UINT32_C(1) << CODE_COLUMNS))
		return ROUTE_MALFORMED;
	if (code_mask & (UINT32_C(1) << CODE_INSEE))
		return ROUTE_UNKNOWN_INSEE;
	if (!insee || !*insee)
		return ROUTE_NO_COMMUNE;
	const char *const *postcodes = NULL;
	size_t np = ref_commune_postcodes(ref, insee, &postcodes);
	if (np == 0)
		return ref_commune_known(ref, insee) ? ROUTE_NO_POSTCODE : ROUTE_NO_COMMUNE;
	for (size_t i = 0; i < np; i++) {
		const char *const *mls = NULL;
		if (ref_coverage_mls(ref, postcodes[i], &mls) > 0) {
			if (covered_pc)
				*covered_pc = postcodes[i];
			if (covered_ml)
				*covered_ml = mls[0];
			return ROUTE_COVERED;
		}
	}
	return ROUTE_UNCOVERED;
}

int route_line(struct route *r, const struct referential *ref,
	       const char *insee, uint32_t code_mask)
{
	r->n = 0;
	if (route_reason(ref, insee, code_mask, NULL, NULL) != ROUTE_COVERED)
		return route_add(r, ROUTE_NATIONAL);
	/* Every ML of every postal code: a commune may straddle zones. */
	const char *const *postcodes = NULL;
	size_t np = ref_commune_postcodes(ref, insee, &postcodes);
	for (size_t i = 0; i < np; i++) {
		const char *const *mls = NULL;
		size_t nm = ref_coverage_mls(ref, postcodes[i], &mls);
		for (size_t j = 0; j < nm; j++)
			if (route_add(r, mls[j]))
				return -1;
	}
	qsort(r->mls, r->n, sizeof(*r->mls), route_cmp);
	return 0;
}

void route_release(struct route *r)
{
	free(r->mls);
	memset(r, 0, sizeof(*r));
}
