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

int route_line(struct route *r, const struct referential *ref,
	       const char *insee, uint32_t code_mask)
{
	r->n = 0;
	/* Code 01: the fields are not where they should be; 08: the commune
	 * is unknown. Either way no ML can be told apart. */
	int usable = !(code_mask & ((UINT32_C(1) << CODE_COLUMNS) |
				    (UINT32_C(1) << CODE_INSEE)));
	if (usable && insee && *insee) {
		const char *const *postcodes = NULL;
		size_t np = ref_commune_postcodes(ref, insee, &postcodes);
		for (size_t i = 0; i < np; i++) {
			const char *const *mls = NULL;
			size_t nm = ref_coverage_mls(ref, postcodes[i], &mls);
			for (size_t j = 0; j < nm; j++)
				if (route_add(r, mls[j]))
					return -1;
		}
	}
	if (r->n == 0)
		return route_add(r, ROUTE_NATIONAL);
	qsort(r->mls, r->n, sizeof(*r->mls), route_cmp);
	return 0;
}

void route_release(struct route *r)
{
	free(r->mls);
	memset(r, 0, sizeof(*r));
}
