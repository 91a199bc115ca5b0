/* Name normalisation N(s) of SPEC §4. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"

struct norm_case {
	char in[48]; /* arrays, not pointers: Criterion copies the
			parameters into another process */
	char want[32];
};

ParameterizedTestParameters(normalize, table)
{
	static struct norm_case cases[] = {
		{ "Lé Goff", "LEGOFF" },
		{ "Le Goff", "LEGOFF" },
		{ "LE-GOFF", "LEGOFF" },
		{ "LÉ GOFF", "LEGOFF" },
		{ "legoff", "LEGOFF" },
		{ "D'Alembert", "DALEMBERT" },
		{ "D\xe2\x80\x99" "Alembert", "DALEMBERT" }, /* typographic apostrophe */
		{ "Œillet", "OEILLET" },
		{ "œillet", "OEILLET" },
		{ "Lætitia", "LAETITIA" },
		{ "ÆSOP", "AESOP" },
		{ "Strauß", "STRAUSS" },
		{ "Ÿvonne", "YVONNE" },
		{ "ÿ", "Y" },
		{ "François", "FRANCOIS" },
		{ "LEFÈVRE", "LEFEVRE" },
		{ "Hélène-Noël", "HELENENOEL" },
		{ "Ângela Ñuñez", "ANGELANUNEZ" },
		{ "Øystein", "OYSTEIN" },
		{ "Þór", "THOR" },
		{ "Łukasz", "LUKASZ" },
		{ "Łódź", "LODZ" },
		{ "Erdős", "ERDOS" },
		{ "Šťastný", "STASTNY" },
		{ "Dvořák", "DVORAK" },
		{ "Ĳssel", "IJSSEL" },
		{ "Ğıyas", "GIYAS" },
		{ "İstanbul", "ISTANBUL" },
		{ "Ţepeş", "TEPES" },
		{ "Žižek", "ZIZEK" },
		{ "Ćosić", "COSIC" },
		{ "Ūnas", "UNAS" },
		{ "E\xcc\x81" "lodie", "ELODIE" }, /* decomposed: E + U+0301 */
		{ "  Jean  Pierre\t", "JEANPIERRE" },
		{ "Marie-Claire d'Arc", "MARIECLAIREDARC" },
		{ "O'Neil2", "ONEIL2" },
		{ "a×b÷c", "ABC" },
		{ "Ωmega", "MEGA" },   /* outside the Latin tables: dropped */
		{ "名前", "" },
		{ "", "" },
		{ "---", "" },
		{ "AB\xff" "CD", "ABCD" },         /* invalid byte dropped */
		{ "AB\xc3" "CD", "ABCD" },         /* truncated sequence */
		{ "AB\xc0\xa0" "CD", "ABCD" },     /* overlong form */
		{ "AB\xed\xa0\x80" "CD", "ABCD" }, /* surrogate */
		{ "AB\xc3", "AB" },                /* truncated at the end */
	};
	return cr_make_param_array(struct norm_case, cases,
				   sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct norm_case *c, normalize, table)
{
	char out[256];
	size_t n = name_normalize(c->in, out, sizeof(out));
	cr_expect_str_eq(out, c->want, "N(\"%s\")", c->in);
	cr_expect_eq(n, strlen(c->want));
}

/* Every letter of Latin-1 Supplement and Latin Extended-A maps to A-Z only,
 * and never to something longer than its UTF-8 form. */
Test(normalize, latin_tables_complete)
{
	for (unsigned cp = 0xC0; cp <= 0x17F; cp++) {
		char in[3] = { (char)(0xC0 | (cp >> 6)), (char)(0x80 | (cp & 0x3F)), 0 };
		char out[8];
		size_t n = name_normalize(in, out, sizeof(out));
		if (cp == 0xD7 || cp == 0xF7) {
			cr_expect_eq(n, 0, "U+%04X is not a letter", cp);
			continue;
		}
		cr_expect(n >= 1 && n <= 2, "U+%04X gives %zu bytes", cp, n);
		for (size_t i = 0; i < n; i++)
			cr_expect(out[i] >= 'A' && out[i] <= 'Z', "U+%04X gives '%s'", cp, out);
	}
}

Test(normalize, same_name_written_differently)
{
	const char *names[] = { "Le Goff", "LE-GOFF", "LÉ GOFF", "legoff", "Lé Goff" };
	char ref[64], out[64];
	name_normalize(names[0], ref, sizeof(ref));
	for (size_t i = 1; i < sizeof(names) / sizeof(names[0]); i++) {
		name_normalize(names[i], out, sizeof(out));
		cr_expect_str_eq(out, ref, "'%s' vs '%s'", names[i], names[0]);
	}
}

Test(normalize, cut_at_out_size)
{
	char out[4];
	size_t n = name_normalize("Dupont", out, sizeof(out));
	cr_expect_eq(n, 3);
	cr_expect_str_eq(out, "DUP");

	/* An expansion cut in the middle. */
	n = name_normalize("AŒ", out, 3);
	cr_expect_eq(n, 2);
	cr_expect_str_eq(out, "AO");

	char one[1] = { 'x' };
	cr_expect_eq(name_normalize("abc", one, 1), 0);
	cr_expect_eq(one[0], '\0');
	cr_expect_eq(name_normalize("abc", one, 0), 0);
}

Test(normalize, every_ascii_character)
{
	for (int c = 1; c < 128; c++) {
		char in[2] = { (char)c, '\0' }, out[4];
		size_t n = name_normalize(in, out, sizeof(out));
		if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
			cr_expect_eq(n, 1, "%d", c);
			cr_expect_eq(out[0], c, "%d", c);
		} else if (c >= 'a' && c <= 'z') {
			cr_expect_eq(n, 1, "%d", c);
			cr_expect_eq(out[0], c - 'a' + 'A', "%d", c);
		} else {
			cr_expect_eq(n, 0, "%d dropped", c);
		}
		cr_expect_eq(out[n], '\0');
	}
}

/* Random strings of ASCII, accented letters, expansions and invalid bytes:
 * N(s) is the concatenation of N() of its characters, and a short out_size
 * keeps a prefix of it, whatever the mix (the ASCII path and the UTF-8 path
 * must agree on where to stop). */
Test(normalize, concatenation_and_cut_prefix)
{
	static const char *const tokens[] = {
		"a", "Z", "7", " ", "-", "'", "\t", "\xc3\xa9" /* é */, "\xc5\x93" /* œ */,
		"\xc3\x9f" /* ß */, "\xe2\x80\x99" /* ’ */, "\xc3\x97" /* × */,
		"\xff", "\x80", "\xef\xbb\xbf" /* BOM */,
	};
	const size_t ntok = sizeof(tokens) / sizeof(tokens[0]);
	srand(6);
	for (int round = 0; round < 5000; round++) {
		char in[128] = "", want[128] = "", full[128], cut[128];
		size_t ntokens = (size_t)rand() % 24;
		for (size_t i = 0; i < ntokens; i++) {
			const char *t = tokens[(size_t)rand() % ntok];
			char one[8];
			strcat(in, t);
			name_normalize(t, one, sizeof(one));
			strcat(want, one);
		}
		size_t n = name_normalize(in, full, sizeof(full));
		cr_assert_str_eq(full, want, "round %d", round);
		cr_assert_eq(n, strlen(want));
		for (size_t size = 1; size <= n + 1; size++) {
			size_t k = name_normalize(in, cut, size);
			cr_assert_eq(k, size - 1 < n ? size - 1 : n, "round %d size %zu", round, size);
			cr_assert(memcmp(cut, full, k) == 0 && cut[k] == '\0',
				  "round %d size %zu", round, size);
		}
	}
}

Test(normalize, output_never_longer_than_input)
{
	const char *in = "ßßÆæŒœĲĳÞþ";
	char out[64];
	size_t n = name_normalize(in, out, strlen(in) + 1);
	cr_expect_str_eq(out, "SSSSAEAEOEOEIJIJTHTH");
	cr_expect_leq(n, strlen(in));
}
