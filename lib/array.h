/* Arrays that grow by doubling: the one rule the collectors, tables and
 * buffers of every module share. */
#ifndef AIJ_ARRAY_H
#define AIJ_ARRAY_H

#include <stddef.h>

/* Returns items (an array of *cap elements of size bytes, NULL when *cap is
 * 0) able to hold need elements: items itself when it can already, else
 * reallocated to the first doubling of *cap (or of min_cap) that does, with
 * *cap updated. NULL when out of memory: items and *cap are then unchanged
 * and items is still the caller's. Free the result with free(). */
void *array_grow(void *items, size_t *cap, size_t need, size_t size,
		 size_t min_cap);

#endif
