/* lib/fmt: the same text as printf's "%llu" and "%08x", edges included. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fmt.h"

Test(fmt, u64_as_printf)
{
	static const uint64_t cases[] = {
		0, 1, 9, 10, 99, 100, 1234567890, UINT32_MAX, (uint64_t)UINT32_MAX + 1,
		UINT64_MAX / 10, UINT64_MAX - 1, UINT64_MAX,
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char got[24], want[24];
		size_t n = fmt_u64(got, cases[i]);
		snprintf(want, sizeof(want), "%" PRIu64, cases[i]);
		cr_expect_str_eq(got, want);
		cr_expect_eq(n, strlen(want));
	}
}

Test(fmt, hex8_as_printf)
{
	static const uint32_t cases[] = { 0, 1, 0xf, 0x10, 0xabcdef, 0x80000000u, UINT32_MAX };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char got[9], want[9];
		fmt_hex8(cases[i], got);
		got[8] = '\0';
		snprintf(want, sizeof(want), "%08x", cases[i]);
		cr_expect_str_eq(got, want);
	}
}
