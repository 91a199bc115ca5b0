/* libFuzzer target: the name normaliser N(s) of SPEC §4. The result holds
 * only A-Z and 0-9, is never longer than the input, and is cut at the
 * buffer's size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(const char *out, size_t n, size_t in_len, size_t out_size)
{
	if (strlen(out) != n || n > in_len || n >= out_size)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!((out[i] >= 'A' && out[i] <= 'Z') || (out[i] >= '0' && out[i] <= '9')))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1);
	if (!in)
		abort();
	memcpy(in, data, size);
	in[size] = '\0';
	size_t len = strlen(in);

	/* Exactly the size the header promises is enough. */
	char *out = malloc(len + 1);
	if (!out)
		abort();
	size_t n = name_normalize(in, out, len + 1);
	fuzz_check(out, n, len, len + 1);

	/* A small buffer: a prefix of the full result. */
	char small[5];
	size_t m = name_normalize(in, small, sizeof(small));
	fuzz_check(small, m, len, sizeof(small));
	if (m != (n < sizeof(small) - 1 ? n : sizeof(small) - 1) || memcmp(small, out, m) != 0)
		abort();

	/* Idempotent: N(N(s)) = N(s). */
	char *again = malloc(n + 1);
	if (!again)
		abort();
	if (name_normalize(out, again, n + 1) != n || memcmp(again, out, n) != 0)
		abort();
	if (name_normalize(in, small, 0) != 0)
		abort();
	free(again);
	free(out);
	free(in);
	return 0;
}
