/* array_grow(): the doubling rule the collectors and tables share. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"

Test(array, first_growth_starts_at_min_cap_and_doubles_to_need)
{
	size_t cap = 0;
	int *a = array_grow(NULL, &cap, 1, sizeof(int), 8);
	cr_assert_not_null(a);
	cr_expect_eq(cap, 8);
	int *b = array_grow(a, &cap, 9, sizeof(int), 8);
	cr_assert_not_null(b);
	cr_expect_eq(cap, 16);
	int *c = array_grow(b, &cap, 100, sizeof(int), 8);
	cr_assert_not_null(c);
	cr_expect_eq(cap, 128);
	free(c);
}

Test(array, enough_room_returns_the_same_array)
{
	size_t cap = 0;
	char *a = array_grow(NULL, &cap, 10, 1, 16);
	cr_assert_not_null(a);
	memcpy(a, "kept", 5);
	char *b = array_grow(a, &cap, 16, 1, 16);
	cr_expect_eq(b, a);
	cr_expect_eq(cap, 16);
	cr_expect_str_eq(b, "kept");
	free(b);
}

Test(array, contents_survive_a_growth)
{
	size_t cap = 0;
	uint64_t *a = NULL;
	for (uint64_t i = 0; i < 10000; i++) {
		uint64_t *p = array_grow(a, &cap, i + 1, sizeof(*p), 4);
		cr_assert_not_null(p);
		a = p;
		a[i] = i * 3;
	}
	for (uint64_t i = 0; i < 10000; i++)
		cr_assert_eq(a[i], i * 3);
	free(a);
}

Test(array, an_impossible_size_fails_and_leaves_the_array_alone)
{
	size_t cap = 0;
	char *a = array_grow(NULL, &cap, 4, 1, 4);
	cr_assert_not_null(a);
	memcpy(a, "abc", 4);
	cr_expect_null(array_grow(a, &cap, SIZE_MAX / 2 + 2, 1, 4));
	cr_expect_null(array_grow(a, &cap, SIZE_MAX / 8, 16, 4));
	cr_expect_eq(cap, 4);
	cr_expect_str_eq(a, "abc");
	free(a);
}
