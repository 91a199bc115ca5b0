/* The stored form of a dispositif (lib/dispositif.h): what the matcher
 * writes in Redis and the editions service reads back. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "dispositif.h"

static const char *const week_fields[RECORD_FIELDS] = {
	"4100000097", "099", "6368886G", "Guérin", "Zoé", "16/08/2006", "22183", "AIJ",
	"27/01/2026", "27/01/2027", "", "",
};

/* The object the matcher stored before the compact form, built with jansson. */
static json_t *expected(unsigned long long line, const char *run_id,
			const char *const fields[RECORD_FIELDS])
{
	json_t *obj = json_object();
	for (size_t i = 0; i < RECORD_FIELDS; i++) {
		json_t *v = json_string(fields[i]);
		json_object_set_new(obj, dispositif_field_names[i], v ? v : json_string(""));
	}
	json_object_set_new(obj, "run_id", json_string(run_id));
	json_object_set_new(obj, "line", json_integer((json_int_t)line));
	return obj;
}

static void assert_round_trip(unsigned long long line, const char *run_id,
			      const char *const fields[RECORD_FIELDS], int compact)
{
	char *stored = dispositif_encode(line, run_id, fields);
	cr_assert_not_null(stored);
	cr_expect_eq(stored[0] == '{', !compact, "stored as '%s'", stored);
	json_t *got = dispositif_decode(stored), *want = expected(line, run_id, fields);
	cr_assert_not_null(got, "'%s' not decoded", stored);
	char *g = json_dumps(got, JSON_SORT_KEYS), *w = json_dumps(want, JSON_SORT_KEYS);
	cr_expect_str_eq(g, w, "stored as '%s'", stored);
	free(g);
	free(w);
	json_decref(got);
	json_decref(want);
	free(stored);
}

Test(dispositif, a_week_line_is_stored_compact_and_read_back_whole)
{
	char *stored = dispositif_encode(2, "2026-W48", week_fields);
	cr_assert_not_null(stored);
	cr_expect_str_eq(stored, "1;2;2026-W48;4100000097;099;6368886G;Guérin;Zoé;"
				 "16/08/2006;22183;AIJ;27/01/2026;27/01/2027;;");
	free(stored);
	assert_round_trip(2, "2026-W48", week_fields, 1);
	assert_round_trip(18446744073709551615ULL / 2, "r", week_fields, 1);
}

Test(dispositif, empty_fields_and_quotes_and_backslashes_survive)
{
	const char *f[RECORD_FIELDS] = { "", "\"", "\\", "a\tb", "{", "}", "\x01", "", "",
					 "", "", "" };
	assert_round_trip(1, "", f, 1);
	assert_round_trip(7, "run \"x\"", f, 1);
}

Test(dispositif, a_semicolon_in_a_value_stores_json)
{
	assert_round_trip(3, "run;2", week_fields, 0);
	const char *f[RECORD_FIELDS];
	memcpy(f, week_fields, sizeof(f));
	f[FIELD_MOTIF] = "a;b";
	assert_round_trip(4, "2026-W48", f, 0);
}

Test(dispositif, a_value_that_is_not_utf8_is_read_back_empty)
{
	const char *f[RECORD_FIELDS];
	memcpy(f, week_fields, sizeof(f));
	f[FIELD_NOM] = "Gu\xe9rin"; /* Windows-1252 */
	char *stored = dispositif_encode(5, "r", f);
	json_t *got = dispositif_decode(stored);
	cr_assert_not_null(got);
	cr_expect_str_eq(json_string_value(json_object_get(got, "nom_naissance")), "");
	cr_expect_str_eq(json_string_value(json_object_get(got, "prenom")), "Zoé");
	json_decref(got);
	free(stored);
	/* The JSON form too. */
	stored = dispositif_encode(5, "r;1", f);
	got = dispositif_decode(stored);
	cr_assert_not_null(got, "%s", stored);
	cr_expect_str_eq(json_string_value(json_object_get(got, "nom_naissance")), "");
	json_decref(got);
	free(stored);
}

/* Redis holds dispositifs stored as JSON by earlier versions. */
Test(dispositif, json_stored_by_earlier_versions_is_read)
{
	json_t *old = expected(9, "2026-W30", week_fields);
	char *text = json_dumps(old, JSON_COMPACT);
	json_t *got = dispositif_decode(text);
	cr_assert_not_null(got);
	cr_expect(json_equal(got, old));
	json_decref(got);
	json_decref(old);
	free(text);
}

Test(dispositif, anything_else_is_not_a_dispositif)
{
	const char *bad[] = {
		"", "1", "1;2;r", "{", "[1]", "{\"a\":1", "2;1;r;a;b;c;d;e;f;g;h;i;j;k;l",
		"1;x;r;a;b;c;d;e;f;g;h;i;j;k;l",   /* line not a number */
		"1;;r;a;b;c;d;e;f;g;h;i;j;k;l",    /* no line */
		"1;1;r;a;b;c;d;e;f;g;h;i;j;k",     /* 11 fields */
		"1;1;r;a;b;c;d;e;f;g;h;i;j;k;l;m", /* 13 fields */
		"1;123456789012345678901;r;a;b;c;d;e;f;g;h;i;j;k;l",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *got = dispositif_decode(bad[i]);
		cr_expect_null(got, "'%s' was read as a dispositif", bad[i]);
		json_decref(got);
	}
	json_t *ok = dispositif_decode("1;1;r;a;b;c;d;e;f;g;h;i;j;k;l");
	cr_expect_not_null(ok);
	json_decref(ok);
}
