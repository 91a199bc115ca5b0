#include "fmt.h"

size_t fmt_u64(char out[24], uint64_t v)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

void fmt_hex8(uint32_t v, char out[8])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 7; i >= 0; i--, v >>= 4)
		out[i] = digits[v & 15];
}
