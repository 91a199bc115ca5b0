/* Name normalisation N(s) of SPEC §4: upper-case, diacritics removed
 * (É→E, Ç→C, Œ→OE, Æ→AE, ß→SS, Ÿ→Y, Latin-1 and Latin Extended-A), then
 * everything but A–Z and 0–9 dropped: "Lé Goff" and "LEGOFF" are equal. */
#ifndef AIJ_NORMALIZE_H
#define AIJ_NORMALIZE_H

#include <stddef.h>

/* Writes N(utf8) into out, NUL-terminated, and returns its length. The result
 * is never longer than the input, so out_size > strlen(utf8) always suffices;
 * a longer result is cut at out_size - 1. Invalid UTF-8 bytes are dropped. */
size_t name_normalize(const char *utf8, char *out, size_t out_size);

#endif
