#include "normalize.h"

#include <stdint.h>

/* Upper-case ASCII letters without diacritics for U+00C0..U+00FF (Latin-1
 * Supplement letters) and U+0100..U+017F (Latin Extended-A). NULL: not a
 * letter (× ÷), dropped. Each replacement is at most as long as the 2-byte
 * UTF-8 sequence it replaces, so N(s) is never longer than s. */
static const char *const norm_latin1[64] = {
	/* C0 */ "A", "A", "A", "A", "A", "A", "AE", "C",
	/* C8 */ "E", "E", "E", "E", "I", "I", "I", "I",
	/* D0 */ "D", "N", "O", "O", "O", "O", "O", NULL,
	/* D8 */ "O", "U", "U", "U", "U", "Y", "TH", "SS",
	/* E0 */ "A", "A", "A", "A", "A", "A", "AE", "C",
	/* E8 */ "E", "E", "E", "E", "I", "I", "I", "I",
	/* F0 */ "D", "N", "O", "O", "O", "O", "O", NULL,
	/* F8 */ "O", "U", "U", "U", "U", "Y", "TH", "Y",
};

static const char *const norm_latin_ext_a[128] = {
	/* 100 Ā ā Ă ă Ą ą Ć ć */ "A", "A", "A", "A", "A", "A", "C", "C",
	/* 108 Ĉ ĉ Ċ ċ Č č Ď ď */ "C", "C", "C", "C", "C", "C", "D", "D",
	/* 110 Đ đ Ē ē Ĕ ĕ Ė ė */ "D", "D", "E", "E", "E", "E", "E", "E",
	/* 118 Ę ę Ě ě Ĝ ĝ Ğ ğ */ "E", "E", "E", "E", "G", "G", "G", "G",
	/* 120 Ġ ġ Ģ ģ Ĥ ĥ Ħ ħ */ "G", "G", "G", "G", "H", "H", "H", "H",
	/* 128 Ĩ ĩ Ī ī Ĭ ĭ Į į */ "I", "I", "I", "I", "I", "I", "I", "I",
	/* 130 İ ı Ĳ ĳ Ĵ ĵ Ķ ķ */ "I", "I", "IJ", "IJ", "J", "J", "K", "K",
	/* 138 ĸ Ĺ ĺ Ļ ļ Ľ ľ Ŀ */ "K", "L", "L", "L", "L", "L", "L", "L",
	/* 140 ŀ Ł ł Ń ń Ņ ņ Ň */ "L", "L", "L", "N", "N", "N", "N", "N",
	/* 148 ň ŉ Ŋ ŋ Ō ō Ŏ ŏ */ "N", "N", "N", "N", "O", "O", "O", "O",
	/* 150 Ő ő Œ œ Ŕ ŕ Ŗ ŗ */ "O", "O", "OE", "OE", "R", "R", "R", "R",
	/* 158 Ř ř Ś ś Ŝ ŝ Ş ş */ "R", "R", "S", "S", "S", "S", "S", "S",
	/* 160 Š š Ţ ţ Ť ť Ŧ ŧ */ "S", "S", "T", "T", "T", "T", "T", "T",
	/* 168 Ũ ũ Ū ū Ŭ ŭ Ů ů */ "U", "U", "U", "U", "U", "U", "U", "U",
	/* 170 Ű ű Ų ų Ŵ ŵ Ŷ ŷ */ "U", "U", "U", "U", "W", "W", "Y", "Y",
	/* 178 Ÿ Ź ź Ż ż Ž ž ſ */ "Y", "Z", "Z", "Z", "Z", "Z", "Z", "S",
};

/* N() of each ASCII character: itself upper-cased for letters and digits,
 * 0 (dropped) for the rest. */
static const char norm_ascii[128] = {
	['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4',
	['5'] = '5', ['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9',
	['A'] = 'A', ['B'] = 'B', ['C'] = 'C', ['D'] = 'D', ['E'] = 'E', ['F'] = 'F',
	['G'] = 'G', ['H'] = 'H', ['I'] = 'I', ['J'] = 'J', ['K'] = 'K', ['L'] = 'L',
	['M'] = 'M', ['N'] = 'N', ['O'] = 'O', ['P'] = 'P', ['Q'] = 'Q', ['R'] = 'R',
	['S'] = 'S', ['T'] = 'T', ['U'] = 'U', ['V'] = 'V', ['W'] = 'W', ['X'] = 'X',
	['Y'] = 'Y', ['Z'] = 'Z',
	['a'] = 'A', ['b'] = 'B', ['c'] = 'C', ['d'] = 'D', ['e'] = 'E', ['f'] = 'F',
	['g'] = 'G', ['h'] = 'H', ['i'] = 'I', ['j'] = 'J', ['k'] = 'K', ['l'] = 'L',
	['m'] = 'M', ['n'] = 'N', ['o'] = 'O', ['p'] = 'P', ['q'] = 'Q', ['r'] = 'R',
	['s'] = 'S', ['t'] = 'T', ['u'] = 'U', ['v'] = 'V', ['w'] = 'W', ['x'] = 'X',
	['y'] = 'Y', ['z'] = 'Z',
};

/* Decodes one UTF-8 sequence at s (strict: no overlong forms, no
 * surrogates, at most U+10FFFF). Returns its length, or 0 when s does not
 * start a valid sequence; *cp gets the code point. */
static size_t norm_decode(const unsigned char *s, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t v, min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xC2 && c <= 0xDF) {
		len = 2, v = c & 0x1F, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3, v = c & 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		/* A NUL terminator is not a continuation byte: no overrun. */
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return len;
}

static const char *norm_map(uint32_t cp, char ascii[2])
{
	if ((cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9')) {
		ascii[0] = (char)cp;
		return ascii;
	}
	if (cp >= 'a' && cp <= 'z') {
		ascii[0] = (char)(cp - 'a' + 'A');
		return ascii;
	}
	if (cp >= 0xC0 && cp <= 0xFF)
		return norm_latin1[cp - 0xC0];
	if (cp >= 0x100 && cp <= 0x17F)
		return norm_latin_ext_a[cp - 0x100];
	/* Everything else, combining accents of decomposed text included. */
	return NULL;
}

size_t name_normalize(const char *utf8, char *out, size_t out_size)
{
	const unsigned char *s = (const unsigned char *)utf8;
	size_t n = 0;

	if (out_size == 0)
		return 0;
	while (*s) {
		if (*s < 0x80) {
			/* ASCII, most of every name: one table look-up. */
			char c = norm_ascii[*s++];
			if (c && n < out_size - 1)
				out[n++] = c;
			if (n == out_size - 1)
				break;
			continue;
		}
		uint32_t cp;
		size_t len = norm_decode(s, &cp);
		if (len == 0) {
			s++; /* an invalid byte is dropped */
			continue;
		}
		s += len;
		char ascii[2] = { 0, 0 };
		const char *rep = norm_map(cp, ascii);
		for (; rep && *rep && n < out_size - 1; rep++)
			out[n++] = *rep;
		if (n == out_size - 1)
			break;
	}
	out[n] = '\0';
	return n;
}
