/* Numbers as text on the hot paths (a million lines a week): what printf's
 * format parsing costs there shows in the profiles. */
#ifndef AIJ_FMT_H
#define AIJ_FMT_H

#include <stddef.h>
#include <stdint.h>

/* Writes v in decimal into out, NUL-terminated; returns its length. */
size_t fmt_u64(char out[24], uint64_t v);

/* Writes v as 8 lower-case hex digits, as "%08x" does (no NUL). */
void fmt_hex8(uint32_t v, char out[8]);

#endif
