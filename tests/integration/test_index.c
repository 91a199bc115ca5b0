/* The dossier index against a real redis-server, module by module of
 * lib/index_*: loading the export (SPEC §2.3) and writing it, the atomic
 * reload, the cascade of SPEC §4 on every case, the attachment of
 * integrated dispositifs (one copy each), the keys as compared. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evidence.h"
#include "index_attach.h"
#include "index_load.h"
#include "index_lookup.h"
#include "index_write.h"
#include "log.h"
#include "normalize.h"
#include "redis.h"
#include "support/redis_server.h"

static struct test_redis redis;

static void setup(void)
{
	log_set_level(LOG_LVL_ERROR);
	cr_assert_eq(test_redis_start(&redis), 0, "redis-server did not start");
	char errstr[256];
	cr_assert_eq(index_lookup_script_load(redis.rc, errstr, sizeof(errstr)), 0, "%s", errstr);
}

static void teardown(void)
{
	test_redis_stop(&redis);
}

TestSuite(index, .init = setup, .fini = teardown, .timeout = 30);

#define HEADER INDEX_LOAD_HEADER "\n"

/* Whether the exports are read with the evidence (the blocking keys). */
static int read_evidence = 1;

/* Reads an export given as text; counts into *c. NULL when index_load_read
 * refused it (errstr then says why). */
static struct index_load *read_text(const char *text, struct index_load_counts *c,
				    char *errstr, size_t errstr_size)
{
	FILE *in = fmemopen((void *)text, strlen(text), "r");
	cr_assert_not_null(in);
	struct index_load *d = index_load_read(in, "export.csv", read_evidence, c, errstr,
					       errstr_size);
	fclose(in);
	return d;
}

/* Loads an export given as text into the test Redis; returns the generation. */
static long long load(const char *text)
{
	char errstr[512], gen[32];
	struct index_load_counts c;
	struct index_load *d = read_text(text, &c, errstr, sizeof(errstr));
	cr_assert_not_null(d, "%s", errstr);
	cr_assert_eq(index_write(redis.rc, d, gen, sizeof(gen), errstr,
				 sizeof(errstr)), 0, "%s", errstr);
	index_load_free(d);
	return atoll(gen);
}

/* Whether the look-ups read the evidence. */
static int resolve_evidence = 1;

/* One batch, sent and its reply read: 0 or -1 (errstr). */
static int resolve(redisContext *rc, const struct index_lookup_query *q, size_t n,
		   struct index_lookup_result *res, char *errstr, size_t errstr_size)
{
	if (index_lookup_send(rc, q, n, resolve_evidence, errstr, errstr_size) != 0)
		return -1;
	return index_lookup_recv(rc, q, n, res, errstr, errstr_size);
}

static redisReply *cmd(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(redis.rc, fmt, ap);
	va_end(ap);
	cr_assert_not_null(r, "redis: %s", redis.rc->errstr);
	cr_assert_neq(r->type, REDIS_REPLY_ERROR, "redis: %s", r->str);
	return r;
}

/* HGET of field in table of the current generation, through its bucket;
 * returns a copy to free(), NULL when absent. */
static char *index_get(const char *table, const char *field)
{
	redisReply *r = cmd("GET %s", INDEX_KEY_CURRENT);
	cr_assert_eq(r->type, REDIS_REPLY_STRING);
	char gen[32];
	snprintf(gen, sizeof(gen), "%s", r->str);
	freeReplyObject(r);
	char key[128];
	index_key_meta(key, sizeof(key), gen);
	r = cmd("HGET %s digits", key);
	cr_assert_eq(r->type, REDIS_REPLY_STRING);
	unsigned digits = (unsigned)atoi(r->str);
	freeReplyObject(r);
	index_key_bucket_of(key, sizeof(key), gen, table, digits, field);
	r = cmd("HGET %s %s", key, field);
	char *v = r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;
	freeReplyObject(r);
	return v;
}

static void assert_get(const char *table, const char *field, const char *want)
{
	char *v = index_get(table, field);
	if (!want) {
		cr_assert_null(v, "%s[%s] = '%s', expected nothing", table, field, v);
		return;
	}
	cr_assert_not_null(v, "%s[%s] missing, expected '%s'", table, field, want);
	cr_assert_str_eq(v, want, "%s[%s]", table, field);
	free(v);
}

/* ---------------------------------------------------------------- loading */

Test(index, load_counts_malformed_rows_and_goes_on)
{
	const char *text =
		"\xEF\xBB\xBF" HEADER
		"D1;ML1;Le Goff;Anne;01/02/2000;1234567a;\r\n"
		"D2;ML1;Martin;Paul;31/04/2000;;\n"          /* 31/04: no such day */
		"\n"
		"D3;ML2;Dupont;Jean;02/03/1999;X1;Y1\n"
		";ML2;Durand;Jean;02/03/1999;X2;\n"           /* empty dossier_id */
		"D5;ML2;Durand\n"                             /* 3 fields */
		"D6;ML2;Durand;Jean;02/03/1999;X1;;extra\n"   /* 8 fields */
		"D7;ML3;Durand;Jean;29/02/2001;;\n"           /* not a leap year */
		"D8;ML3; Bernard ;Luc;29/02/2004; x1 ;\n";
	struct index_load_counts c;
	char errstr[256];
	struct index_load *d = read_text(text, &c, errstr, sizeof(errstr));
	cr_assert_not_null(d, "%s", errstr);
	cr_expect_eq(c.rows, 8);
	cr_expect_eq(c.loaded, 3);
	cr_expect_eq(c.malformed, 5);
	cr_expect_eq(c.pe1_keys, 2);      /* 1234567A, X1 */
	cr_expect_eq(c.pe1_shared, 1);    /* X1: D3 and D8 */
	cr_expect_eq(c.pe2_keys, 1);
	cr_expect_eq(c.ident_keys, 3);
	index_load_free(d);
}

Test(index, wrong_header_or_empty_file_is_refused)
{
	struct index_load_counts c;
	char errstr[256];
	cr_assert_null(read_text("id;ml\nD1;ML1\n", &c, errstr, sizeof(errstr)));
	cr_expect(strstr(errstr, "line 1: the header is not") != NULL, "%s", errstr);
	cr_assert_null(read_text("", &c, errstr, sizeof(errstr)));
	cr_expect(strstr(errstr, "empty file") != NULL, "%s", errstr);
	/* A header only is a valid, empty export. */
	struct index_load *d = read_text(HEADER, &c, errstr, sizeof(errstr));
	cr_assert_not_null(d, "%s", errstr);
	cr_expect_eq(c.loaded, 0);
	index_load_free(d);
}

Test(index, each_lookup_key_and_value)
{
	load(HEADER
	     "D1;ML1;Lé Goff;Anne;01/02/2000; 1234567a ;P2A\n"
	     "D2;ML2;Martin;Paul;03/04/2001;SHARED;\n"
	     "D3;ML2;Martin;Paul;03/04/2001;SHARED;\n"
	     "D3;ML2;Martin;Paul;03/04/2001;;\n");  /* D3 again: still 2 dossiers */
	assert_get(INDEX_TABLE_PE1, "1234567A", "D1\tLEGOFF\tML1");
	assert_get(INDEX_TABLE_PE1, "1234567a", NULL);
	assert_get(INDEX_TABLE_PE2, "P2A", "D1\tLEGOFF\tML1");
	assert_get(INDEX_TABLE_PE1, "SHARED", "\t2\tD2\tML2\tD3\tML2");
	assert_get(INDEX_TABLE_PE2, "", NULL);
	assert_get(INDEX_TABLE_IDENT, "LEGOFF|ANNE|01/02/2000", "D1\tML1");
	assert_get(INDEX_TABLE_IDENT, "MARTIN|PAUL|03/04/2001", "\t2\tD2\tML2\tD3\tML2");
	assert_get(INDEX_TABLE_ML, "D1", "ML1");

	char ml[32], errstr[256];
	cr_expect_eq(index_lookup_ml(redis.rc, "D2", ml, sizeof(ml), errstr, sizeof(errstr)), 1);
	cr_expect_str_eq(ml, "ML2");
	cr_expect_eq(index_lookup_ml(redis.rc, "D9", ml, sizeof(ml), errstr, sizeof(errstr)), 0);
}

Test(index, reload_switches_and_deletes_the_old_generation)
{
	long long g1 = load(HEADER "D1;ML1;Old;Anne;01/02/2000;PE1;\n");
	long long g2 = load(HEADER "D2;ML1;New;Anne;01/02/2000;PE1;\n");
	cr_assert_gt(g2, g1);

	redisReply *r = cmd("GET %s", INDEX_KEY_CURRENT);
	cr_expect_eq(atoll(r->str), g2);
	freeReplyObject(r);
	assert_get(INDEX_TABLE_PE1, "PE1", "D2\tNEW\tML1");

	r = cmd("KEYS " INDEX_KEY_PREFIX "%lld:*", g1);
	cr_expect_eq(r->elements, 0, "%zu keys of generation %lld left", r->elements, g1);
	freeReplyObject(r);
	r = cmd("SMEMBERS %s", INDEX_KEY_GENERATIONS);
	cr_expect_eq(r->elements, 1);
	freeReplyObject(r);
}

Test(index, a_dead_load_is_cleaned_by_the_next)
{
	load(HEADER "D1;ML1;A;B;01/02/2000;PE1;\n");
	/* A load that died after writing some of generation 99. */
	char key[96];
	freeReplyObject(cmd("SADD %s 99", INDEX_KEY_GENERATIONS));
	index_key_meta(key, sizeof(key), "99");
	freeReplyObject(cmd("HSET %s digits 1", key));
	index_key_bucket(key, sizeof(key), "99", INDEX_TABLE_PE1, 1, 0);
	freeReplyObject(cmd("HSET %s PE1 x", key));
	freeReplyObject(cmd("SET %s 99", INDEX_KEY_SEQ));
	long long g = load(HEADER "D2;ML1;A;B;01/02/2000;PE1;\n");
	cr_expect_eq(g, 100);
	redisReply *r = cmd("KEYS " INDEX_KEY_PREFIX "99:*");
	cr_expect_eq(r->elements, 0);
	freeReplyObject(r);
}

/* A matcher sees one generation or the other, never a mix: the script runs
 * between two commands of the loader. Here a loader's writes are split by a
 * look-up at each stage. */
Test(index, a_lookup_during_a_load_sees_the_old_generation)
{
	load(HEADER "D1;ML1;Old;Anne;01/02/2000;PE1;\n");
	/* Half of a new generation written by hand, not switched. */
	char key[96];
	index_key_meta(key, sizeof(key), "50");
	freeReplyObject(cmd("HSET %s digits 1", key));
	for (uint32_t b = 0; b < 16; b++) {
		index_key_bucket(key, sizeof(key), "50", INDEX_TABLE_PE1, 1, b);
		freeReplyObject(cmd("HSET %s PE1 D9\tOLD", key));
	}
	char errstr[256];
	struct index_lookup_query q = { "PE1", "OLD", "OLD|ANNE|01/02/2000" };
	struct index_lookup_result res;
	cr_assert_eq(resolve(redis.rc, &q, 1, &res, errstr, sizeof(errstr)), 0,
		     "%s", errstr);
	cr_expect_eq(res.step, 1);
	cr_expect_str_eq(res.dossier_id, "D1");
}

/* ---------------------------------------------------------------- cascade */

/* A week's record as the matcher prepares it. */
struct rec {
	const char *pe, *nom, *prenom, *date, *sigma;
};

struct prepared {
	char pe[64], nom[64], ident[192], identity[128], json[64];
	struct index_lookup_query q;
};

static void prepare(struct prepared *p, const struct rec *r)
{
	index_key_pe(r->pe, p->pe, sizeof(p->pe));
	name_normalize(r->nom, p->nom, sizeof(p->nom));
	index_key_ident(r->nom, r->prenom, r->date, p->ident, sizeof(p->ident));
	snprintf(p->identity, sizeof(p->identity), "%s;AIJ;01/01/2026", r->sigma);
	snprintf(p->json, sizeof(p->json), "{\"identifiant_sigma\":\"%s\"}", r->sigma);
	p->q.pe = p->pe;
	p->q.nom = p->nom;
	p->q.ident = p->ident;
}

static const char cascade_export[] = HEADER
	/* step 1 */
	"A1;ML1;Lé Goff;Anne;01/02/2000;PEA;\n"
	/* 02 at step 1 (two dossiers), 04 at step 3 (two same identities) */
	"B1;ML1;Martin;Paul;03/04/2001;PEB;\n"
	"B2;ML1;Martin;Paul;03/04/2001;PEB;\n"
	/* 03 at steps 1 and 2: one dossier each, another name */
	"C1;ML1;Dupont;Marc;05/06/1999;PEC;\n"
	"C2;ML1;Durand;Marc;05/06/1999;;PEC\n"
	/* step 2 */
	"E1;ML1;D'Alembert;Jean;07/08/2002;;PEE\n"
	/* step 3 */
	"F1;ML2;N'Diaye-Sow;Jean-Édouard;09/10/2003;OTHER;\n";

static const struct {
	struct rec r;
	unsigned step;
	const char *dossier;
	const char *codes;   /* when failed: "05/05/05" */
} cascade_cases[] = {
	{ { "PEA", "LE-GOFF", "Anne", "01/02/2000", "s1" }, 1, "A1", NULL },
	{ { "pea", "legoff", "x", "01/01/1990", "s2" }, 1, "A1", NULL },
	{ { " PEA ", "Lé  Goff", "x", "01/01/1990", "s3" }, 1, "A1", NULL },
	{ { "PEE", "DALEMBERT", "x", "01/01/1990", "s4" }, 2, "E1", NULL },
	{ { "PEE", "d'alembert", "x", "01/01/1990", "s5" }, 2, "E1", NULL },
	{ { "NOPE", "NDIAYE SOW", "JEAN EDOUARD", "09/10/2003", "s6" }, 3, "F1", NULL },
	{ { "", "n'diaye sow", "Jean-Edouard", "09/10/2003", "s7" }, 3, "F1", NULL },
	{ { "NOPE", "Nobody", "X", "01/01/1990", "s8" }, 0, NULL, "05/05/05" },
	{ { "PEB", "Martin", "Paul", "03/04/2001", "s9" }, 0, NULL, "02/05/04" },
	{ { "PEC", "Other", "Marc", "05/06/1999", "s10" }, 0, NULL, "03/03/05" },
	{ { "", "Nobody", "X", "01/01/1990", "s11" }, 0, NULL, "05" },
	{ { "", "Martin", "Paul", "03/04/2001", "s12" }, 0, NULL, "04" },
	/* the date is compared as written: another day is another person */
	{ { "", "Le Goff", "Anne", "02/02/2000", "s13" }, 0, NULL, "05" },
};

#define NCASES (sizeof(cascade_cases) / sizeof(cascade_cases[0]))

static void codes_text(const struct index_lookup_result *res, char *out, size_t size)
{
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < res->ncodes; i++)
		len += (size_t)snprintf(out + len, size - len, "%s%02u", i ? "/" : "",
					res->codes[i]);
}

/* Loads cascade_export and prepares every case into p and q. */
static void prepare_cases(struct prepared p[NCASES], struct index_lookup_query q[NCASES])
{
	load(cascade_export);
	for (size_t i = 0; i < NCASES; i++) {
		prepare(&p[i], &cascade_cases[i].r);
		q[i] = p[i].q;
	}
}

/* res is what case i expects: its step and dossier, or its codes. */
static void expect_case(size_t i, const struct index_lookup_result *res)
{
	char codes[32];
	codes_text(res, codes, sizeof(codes));
	cr_expect_eq(res->step, cascade_cases[i].step, "case %zu (%s): step %u, codes '%s'",
		     i, cascade_cases[i].r.sigma, res->step, codes);
	if (cascade_cases[i].step)
		cr_expect_str_eq(res->dossier_id, cascade_cases[i].dossier, "case %zu", i);
	else
		cr_expect_str_eq(codes, cascade_cases[i].codes, "case %zu", i);
}

Test(index, cascade_every_case_of_the_spec)
{
	struct prepared p[NCASES];
	struct index_lookup_query q[NCASES];
	prepare_cases(p, q);
	struct index_lookup_result res[NCASES];
	char errstr[256];
	cr_assert_eq(resolve(redis.rc, q, NCASES, res, errstr, sizeof(errstr)),
		     0, "%s", errstr);
	for (size_t i = 0; i < NCASES; i++)
		expect_case(i, &res[i]);
	index_lookup_release(res, NCASES);
}

Test(index, one_record_at_a_time_gives_the_same)
{
	load(cascade_export);
	for (size_t i = 0; i < NCASES; i++) {
		struct prepared p;
		prepare(&p, &cascade_cases[i].r);
		struct index_lookup_result res;
		char errstr[256];
		cr_assert_eq(resolve(redis.rc, &p.q, 1, &res, errstr,
						 sizeof(errstr)), 0, "%s", errstr);
		cr_expect_eq(res.step, cascade_cases[i].step, "case %zu", i);
		index_lookup_release(&res, 1);
	}
}

/* ------------------------------------------------------------- attaching */

/* One record looked up (its evidence, if any, is the caller's to release). */
static struct index_lookup_result resolve_one(const struct rec *r)
{
	struct prepared p;
	prepare(&p, r);
	struct index_lookup_result res;
	char errstr[256];
	cr_assert_eq(resolve(redis.rc, &p.q, 1, &res, errstr, sizeof(errstr)),
		     0, "%s", errstr);
	return res;
}

static void attach(const struct index_attachment *a, size_t n,
		   struct index_attach_stats *stats)
{
	char errstr[256];
	struct index_attach_stats ignored = { 0, 0 };
	cr_assert_eq(index_attach(redis.rc, a, n, stats ? stats : &ignored, errstr,
				  sizeof(errstr)), 0, "%s", errstr);
}

static long long hlen(const char *key)
{
	redisReply *r = cmd("HLEN %s", key);
	long long n = r->integer;
	freeReplyObject(r);
	return n;
}

static long long dbsize(void)
{
	redisReply *r = cmd("DBSIZE");
	long long n = r->integer;
	freeReplyObject(r);
	return n;
}

static void assert_hget(const char *key, const char *field, const char *want)
{
	redisReply *r = cmd("HGET %s %s", key, field);
	if (!want)
		cr_expect_eq(r->type, REDIS_REPLY_NIL, "%s[%s] is set", key, field);
	else if (r->type != REDIS_REPLY_STRING)
		cr_expect_fail("%s[%s] missing", key, field);
	else
		cr_expect_str_eq(r->str, want, "%s[%s]", key, field);
	freeReplyObject(r);
}

/* The matchers only read: a look-up writes nothing, and says the ML of the
 * dossier it integrates a line into. */
Test(index, lookups_write_nothing_and_give_the_ml)
{
	load(cascade_export);
	long long keys = dbsize();
	freeReplyObject(cmd("CONFIG RESETSTAT"));
	const struct rec a = { "PEA", "Le Goff", "Anne", "01/02/2000", "S1" };
	const struct rec e = { "PEE", "D'Alembert", "Jean", "07/08/2002", "S2" };
	const struct rec f = { "", "N'Diaye-Sow", "Jean-Édouard", "09/10/2003", "S3" };
	struct index_lookup_result ra = resolve_one(&a), re = resolve_one(&e), rf = resolve_one(&f);
	cr_expect_eq(ra.step, 1);
	cr_expect_str_eq(ra.ml_code, "ML1");
	cr_expect_eq(re.step, 2);
	cr_expect_str_eq(re.ml_code, "ML1");
	cr_expect_eq(rf.step, 3);
	cr_expect_str_eq(rf.dossier_id, "F1");
	cr_expect_str_eq(rf.ml_code, "ML2");
	cr_expect_eq(dbsize(), keys, "a look-up created or deleted keys");
	redisReply *after = cmd("INFO commandstats");
	cr_expect_null(strstr(after->str, "cmdstat_hset"), "a look-up wrote: %s", after->str);
	freeReplyObject(after);
}

Test(index, attaching_again_updates_the_one_copy)
{
	struct index_attachment w1 = { "A1", "S1;AIJ;01/01/2026", "{\"week\":1}" };
	struct index_attachment w2 = { "A1", "S1;AIJ;01/01/2026", "{\"week\":2}" };
	struct index_attach_stats stats = { 0, 0 };
	attach(&w1, 1, &stats);
	attach(&w2, 1, &stats);
	cr_expect_eq(stats.attached, 2);
	cr_expect_eq(stats.moved, 0);
	cr_expect_eq(hlen(INDEX_KEY_DISPOSITIFS "A1"), 1);
	assert_hget(INDEX_KEY_DISPOSITIFS "A1", "S1;AIJ;01/01/2026", "{\"week\":2}");
	assert_hget(INDEX_KEY_OWNER, "S1;AIJ;01/01/2026", "A1");
	/* Done again, the same state. */
	attach(&w2, 1, NULL);
	cr_expect_eq(hlen(INDEX_KEY_DISPOSITIFS "A1"), 1);
	cr_expect_eq(hlen(INDEX_KEY_OWNER), 1);
}

Test(index, attaching_to_another_dossier_moves_it)
{
	struct index_attachment to_a1 = { "A1", "S1;AIJ;01/01/2026", "{\"to\":\"A1\"}" };
	struct index_attachment to_z9 = { "Z9", "S1;AIJ;01/01/2026", "{\"to\":\"Z9\"}" };
	struct index_attach_stats stats = { 0, 0 };
	attach(&to_a1, 1, NULL);
	attach(&to_z9, 1, &stats);
	cr_expect_eq(stats.moved, 1);
	cr_expect_eq(hlen(INDEX_KEY_DISPOSITIFS "A1"), 0);
	assert_hget(INDEX_KEY_DISPOSITIFS "Z9", "S1;AIJ;01/01/2026", "{\"to\":\"Z9\"}");
	assert_hget(INDEX_KEY_OWNER, "S1;AIJ;01/01/2026", "Z9");
}

Test(index, the_same_dispositif_twice_in_a_chunk_stays_one_copy)
{
	/* Same identity, two lines, two dossiers: the later line wins. */
	struct index_attachment a[3] = {
		{ "A1", "s1;AIJ;01/01/2026", "first" },
		{ "E1", "s1;AIJ;01/01/2026", "second" },
		{ "E1", "s2;AIJ;01/01/2026", "other" },
	};
	attach(a, 3, NULL);
	cr_expect_eq(hlen(INDEX_KEY_DISPOSITIFS "A1"), 0);
	cr_expect_eq(hlen(INDEX_KEY_DISPOSITIFS "E1"), 2);
	assert_hget(INDEX_KEY_DISPOSITIFS "E1", "s1;AIJ;01/01/2026", "second");
	assert_hget(INDEX_KEY_OWNER, "s1;AIJ;01/01/2026", "E1");
}

/* A batch far past Lua's unpack() limits, and attachments over several
 * chunks (a dispositif moved across a chunk's edge). */
Test(index, a_big_batch)
{
	enum { N = 2500 };
	size_t cap = 200 + (size_t)N * 64;
	char *text = malloc(cap);
	size_t len = (size_t)snprintf(text, cap, "%s", HEADER);
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"D%d;ML1;Nom%d;Prenom;01/02/2000;PE%d;\n", i, i, i);
	load(text);
	free(text);

	struct prepared *p = calloc(N + 1, sizeof(*p));
	struct index_lookup_query *q = calloc(N + 1, sizeof(*q));
	struct index_lookup_result *res = calloc(N + 1, sizeof(*res));
	struct index_attachment *a = calloc(N + 1, sizeof(*a));
	for (int i = 0; i <= N; i++) {
		char pe[16], nom[16], sigma[16];
		snprintf(pe, sizeof(pe), "PE%d", i);
		snprintf(nom, sizeof(nom), "Nom%d", i);
		snprintf(sigma, sizeof(sigma), "S%d", i);
		struct rec r = { pe, nom, "Prenom", "01/02/2000", sigma };
		prepare(&p[i], &r);
		q[i] = p[i].q;
	}
	char errstr[256];
	cr_assert_eq(resolve(redis.rc, q, N + 1, res, errstr, sizeof(errstr)),
		     0, "%s", errstr);
	for (int i = 0; i < N; i++) {
		char want[16];
		snprintf(want, sizeof(want), "D%d", i);
		cr_assert_eq(res[i].step, 1, "record %d", i);
		cr_assert_str_eq(res[i].dossier_id, want);
		cr_assert_str_eq(res[i].ml_code, "ML1");
		a[i] = (struct index_attachment){ res[i].dossier_id, p[i].identity, "x" };
	}
	cr_expect_eq(res[N].step, 0);
	cr_expect_eq(hlen(INDEX_KEY_OWNER), 0, "looking up attached nothing");
	/* The last one moves the first one's dispositif, a chunk later. */
	a[N] = (struct index_attachment){ "D1", p[0].identity, "moved" };
	attach(a, N + 1, NULL);
	cr_expect_eq(hlen(INDEX_KEY_OWNER), N);
	cr_expect_eq(hlen(INDEX_KEY_DISPOSITIFS "D0"), 0);
	assert_hget(INDEX_KEY_DISPOSITIFS "D1", p[0].identity, "moved");
	index_lookup_release(res, N + 1);
	free(p);
	free(q);
	free(res);
	free(a);
}

/* Pipelined: several batches sent before their replies are read; each
 * reply is its own batch's, in order. */
Test(index, pipelined_batches_answer_in_order)
{
	struct prepared p[NCASES];
	struct index_lookup_query q[NCASES];
	prepare_cases(p, q);
	/* The cases in three batches of unequal sizes, all sent first. */
	size_t cut[] = { 0, 1, NCASES / 2, NCASES };
	char errstr[256];
	for (size_t b = 0; b < 3; b++)
		cr_assert_eq(index_lookup_send(redis.rc, q + cut[b], cut[b + 1] - cut[b], 1,
					       errstr, sizeof(errstr)), 0, "%s", errstr);
	struct index_lookup_result res[NCASES];
	for (size_t b = 0; b < 3; b++)
		cr_assert_eq(index_lookup_recv(redis.rc, q + cut[b], cut[b + 1] - cut[b],
					       res + cut[b], errstr, sizeof(errstr)), 0,
			     "%s", errstr);
	for (size_t i = 0; i < NCASES; i++)
		expect_case(i, &res[i]);
	index_lookup_release(res, NCASES);
}

/* ------------------------------------------------------------- evidence */

static const char evidence_export[] = HEADER
	/* MARTIN|LEA: a date one digit off, a far date (np) */
	"T1;ML1;Martin;Léa;12/03/2005;;\n"
	"T2;ML2;Martin;Lea;01/01/1999;;\n"
	/* LEA|13/03/2005 with a compound birth name (pd) */
	"T3;ML1;Dupont-Martin;Léa;13/03/2005;;\n"
	/* MARTIN|20/06/2004 with a second first name (nd) */
	"T4;ML3;Martin;Jean-Baptiste;20/06/2004;;\n"
	/* a numéro PE and an identity shared by two dossiers (02, 04) */
	"T5;ML1;Bernard;Paul;05/05/2005;PESHARED;\n"
	"T6;ML2;Bernard;Paul;05/05/2005;PESHARED;\n"
	/* one dossier for a numéro PE, another birth name (03) */
	"T7;ML1;Durand;Zoé;07/07/2007;PE03;\n";

/* The export above, and 17 dossiers COMMON|NAME: a crowded blocking key. */
static void load_evidence_export(void)
{
	char text[4096];
	size_t len = (size_t)snprintf(text, sizeof(text), "%s", evidence_export);
	for (int i = 1; i <= INDEX_NEAR_MAX + 1; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"C%02d;ML1;Common;Name;%02d/02/2000;;\n", i, i);
	load(text);
}

/* A line's evidence as "id:ml:step:code:differs:value" joined by ' '. */
static void evidence_text(const struct index_lookup_result *res, char *out, size_t size)
{
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < res->nev; i++) {
		const struct index_lookup_candidate *c = &res->ev[i];
		const char *d = c->differs == EVIDENCE_DATE ? "d" : c->differs == EVIDENCE_NOM ? "n" :
				c->differs == EVIDENCE_PRENOM ? "p" : "-";
		len += (size_t)snprintf(out + len, size - len, "%s%s:%s:%u:%u:%s:%s",
					i ? " " : "", c->dossier_id, c->ml_code, c->step,
					c->code, d, c->value);
	}
}

static const struct {
	struct rec r;
	const char *codes;      /* NULL: integrated */
	const char *evidence;   /* evidence_text() */
	int from_lookup;        /* given by the look-up value alone (03): also
				   from an index loaded without the evidence */
} evidence_cases[] = {
	{ { "", "Martin", "Léa", "13/03/2005", "e1" }, "05",
	  "T1:ML1:3:5:d:12/03/2005 T3:ML1:3:5:n:DUPONTMARTIN T2:ML2:3:5:d:01/01/1999" },
	{ { "", "Martin", "Jean", "20/06/2004", "e2" }, "05",
	  "T4:ML3:3:5:p:JEANBAPTISTE" },
	{ { "PESHARED", "Bernard", "Paul", "05/05/2005", "e3" }, "02/05/04",
	  "T5:ML1:1:2:-: T6:ML2:1:2:-:" },
	{ { "PE03", "Dupont", "Zoé", "07/07/2007", "e4" }, "03/05/05",
	  "T7:ML1:1:3:n:DURAND", 1 },
	{ { "", "Common", "Name", "30/01/2000", "e5" }, "05", "" },
	{ { "", "Absent", "Nobody", "01/01/1990", "e6" }, "05", "" },
	{ { "", "Martin", "Léa", "12/03/2005", "e7" }, NULL, "" },
};

#define NEV (sizeof(evidence_cases) / sizeof(evidence_cases[0]))

enum expect_ev { EV_NONE, EV_ALL, EV_LOOKUP_ONLY };

/* Looks every evidence case up in one batch and checks codes and evidence:
 * all of it, none, or only what the look-up values give (an index loaded
 * without the evidence). */
static void expect_evidence(enum expect_ev with_ev)
{
	struct prepared p[NEV];
	struct index_lookup_query q[NEV];
	struct index_lookup_result res[NEV];
	for (size_t i = 0; i < NEV; i++) {
		prepare(&p[i], &evidence_cases[i].r);
		q[i] = p[i].q;
	}
	char errstr[256];
	cr_assert_eq(resolve(redis.rc, q, NEV, res, errstr, sizeof(errstr)), 0, "%s", errstr);
	for (size_t i = 0; i < NEV; i++) {
		char codes[32], ev[512];
		codes_text(&res[i], codes, sizeof(codes));
		evidence_text(&res[i], ev, sizeof(ev));
		if (evidence_cases[i].codes)
			cr_expect_str_eq(codes, evidence_cases[i].codes, "case %s",
					 evidence_cases[i].r.sigma);
		else
			cr_expect_neq(res[i].step, 0, "case %s", evidence_cases[i].r.sigma);
		int shown = with_ev == EV_ALL ||
			    (with_ev == EV_LOOKUP_ONLY && evidence_cases[i].from_lookup);
		cr_expect_str_eq(ev, shown ? evidence_cases[i].evidence : "", "case %s",
				 evidence_cases[i].r.sigma);
		cr_expect_eq(res[i].ev == NULL, res[i].nev == 0);
	}
	index_lookup_release(res, NEV);
}

Test(index, blocking_tables_and_shared_ids)
{
	load_evidence_export();
	assert_get(INDEX_TABLE_NP, "MARTIN|LEA", "T1\tML1\t12/03/2005\tT2\tML2\t01/01/1999");
	assert_get(INDEX_TABLE_PD, "LEA|13/03/2005", "T3\tML1\tDUPONTMARTIN");
	assert_get(INDEX_TABLE_PD, "LEA|12/03/2005", "T1\tML1\tMARTIN");
	assert_get(INDEX_TABLE_ND, "MARTIN|20/06/2004", "T4\tML3\tJEANBAPTISTE");
	assert_get(INDEX_TABLE_ND, "BERNARD|05/05/2005", "T5\tML1\tPAUL\tT6\tML2\tPAUL");
	assert_get(INDEX_TABLE_NP, "COMMON|NAME", "\t17"); /* crowded: the count alone */
	assert_get(INDEX_TABLE_ND, "COMMON|01/02/2000", "C01\tML1\tNAME");
	assert_get(INDEX_TABLE_PE1, "PESHARED", "\t2\tT5\tML1\tT6\tML2");
	assert_get(INDEX_TABLE_IDENT, "BERNARD|PAUL|05/05/2005", "\t2\tT5\tML1\tT6\tML2");
	redisReply *r = cmd("GET %s", INDEX_KEY_CURRENT);
	char meta[96];
	index_key_meta(meta, sizeof(meta), r->str);
	redisReply *m = cmd("HGET %s near", meta);
	cr_expect_str_eq(m->str, "1");
	freeReplyObject(m);
	freeReplyObject(r);
}

/* Only the first INDEX_SHARED_IDS ids of a shared key, by id. */
Test(index, shared_ids_are_capped)
{
	char text[2048];
	size_t len = (size_t)snprintf(text, sizeof(text), "%s", HEADER);
	for (int i = 9; i >= 1; i--)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"S%d;ML%d;Same;One;01/01/2000;PEX;\n", i, i);
	load(text);
	assert_get(INDEX_TABLE_PE1, "PEX",
		   "\t9\tS1\tML1\tS2\tML2\tS3\tML3\tS4\tML4\tS5\tML5");
}

Test(index, evidence_of_each_kind)
{
	load_evidence_export();
	expect_evidence(EV_ALL);
}

Test(index, evidence_off_gives_the_same_codes_and_none)
{
	load_evidence_export();
	resolve_evidence = 0;
	expect_evidence(EV_NONE);
}

/* An index loaded without the evidence: no blocking keys, shared keys
 * with their count alone; the look-ups still give the same codes, and
 * the evidence the look-up values hold (03's dossier). */
Test(index, an_index_without_the_evidence)
{
	read_evidence = 0;
	load_evidence_export();
	assert_get(INDEX_TABLE_NP, "MARTIN|LEA", NULL);
	assert_get(INDEX_TABLE_PE1, "PESHARED", "\t2");
	assert_get(INDEX_TABLE_IDENT, "BERNARD|PAUL|05/05/2005", "\t2");
	expect_evidence(EV_LOOKUP_ONLY);
}

/* HGET calls of the script since the last CONFIG RESETSTAT. */
static long long hget_calls(void)
{
	redisReply *r = cmd("INFO commandstats");
	const char *p = strstr(r->str, "cmdstat_hget:calls=");
	long long n = p ? atoll(p + strlen("cmdstat_hget:calls=")) : 0;
	freeReplyObject(r);
	return n;
}

/* Integrated lines do not pay for the evidence; a 05 at step 3 pays the
 * three blocking keys. */
Test(index, only_failed_lines_pay)
{
	load_evidence_export();
	const struct rec integrated = { "", "Martin", "Léa", "12/03/2005", "i" };
	const struct rec failed = { "", "Martin", "Léa", "13/03/2005", "f" };
	const struct rec failed_pe = { "NOPE", "Martin", "Léa", "13/03/2005", "g" };
	struct { const struct rec *r; int evidence; long long hgets; } runs[] = {
		{ &integrated, 1, 1 }, { &integrated, 0, 1 },
		{ &failed, 1, 4 }, { &failed, 0, 1 },
		{ &failed_pe, 1, 6 }, { &failed_pe, 0, 3 },
	};
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		freeReplyObject(cmd("CONFIG RESETSTAT"));
		resolve_evidence = runs[i].evidence;
		struct index_lookup_result res = resolve_one(runs[i].r);
		cr_expect_eq(hget_calls(), runs[i].hgets, "run %zu: %lld HGETs", i, hget_calls());
		index_lookup_release(&res, 1);
	}
}

/* ------------------------------------------------------------- failures */

Test(index, no_index_loaded_is_an_error)
{
	struct index_lookup_query q = { "PE1", "X", "X|Y|01/01/2000" };
	struct index_lookup_result res;
	char errstr[256];
	cr_assert_eq(resolve(redis.rc, &q, 1, &res, errstr, sizeof(errstr)), -1);
	cr_expect(strstr(errstr, "no dossier index loaded") != NULL, "%s", errstr);
	cr_expect_eq(redis.rc->err, 0, "the connection itself is fine");
}

/* A flushed script is an error reply (the matcher then reconnects, which
 * loads it again); the connection stays usable. */
Test(index, a_flushed_script_is_an_error_until_loaded_again)
{
	load(cascade_export);
	const struct rec r = { "PEA", "Le Goff", "Anne", "01/02/2000", "S1" };
	cr_assert_eq(resolve_one(&r).step, 1);
	freeReplyObject(cmd("SCRIPT FLUSH"));
	struct prepared p;
	prepare(&p, &r);
	struct index_lookup_result res;
	char errstr[256];
	cr_expect_eq(resolve(redis.rc, &p.q, 1, &res, errstr, sizeof(errstr)), -1);
	cr_expect(strstr(errstr, "NOSCRIPT") != NULL, "%s", errstr);
	cr_expect_eq(redis.rc->err, 0);
	cr_assert_eq(index_lookup_script_load(redis.rc, errstr, sizeof(errstr)), 0, "%s", errstr);
	cr_assert_eq(resolve_one(&r).step, 1);
}

Test(index, redis_gone_is_an_error_on_the_context)
{
	load(cascade_export);
	redisContext *rc = test_redis_connect(&redis);
	cr_assert(rc && !rc->err);
	test_redis_kill(&redis);
	struct index_lookup_query q = { "PEA", "LEGOFF", "LEGOFF|ANNE|01/02/2000" };
	struct index_lookup_result res;
	char errstr[256];
	cr_expect_eq(resolve(rc, &q, 1, &res, errstr, sizeof(errstr)), -1);
	cr_expect_neq(rc->err, 0);
	redisFree(rc);

	char errstr2[256];
	cr_expect_null(redis_connect(redis.addr, 1000, errstr2, sizeof(errstr2)));
	cr_expect(strstr(errstr2, "cannot connect to redis") != NULL, "%s", errstr2);
	cr_expect_null(redis_connect("no-port", 1000, errstr2, sizeof(errstr2)));
	cr_expect(strstr(errstr2, "is not HOST:PORT") != NULL, "%s", errstr2);
}

Test(index, keys_as_compared)
{
	char out[64];
	cr_expect_eq(index_key_pe("  1234567a\t", out, sizeof(out)), 8);
	cr_expect_str_eq(out, "1234567A");
	cr_expect_eq(index_key_pe("", out, sizeof(out)), 0);
	cr_expect_gt(index_key_ident("Lé Goff", "Anne-Marie", " 01/02/2000 ", out,
				     sizeof(out)), 0);
	cr_expect_str_eq(out, "LEGOFF|ANNEMARIE|01/02/2000");
	cr_expect_eq(index_key_ident("a-very-long-name", "b", "01/02/2000", out, 8), 0);
	cr_expect_str_eq(out, "");

	/* A dossier's dispositifs: the id cut as index_attach() always did. */
	char key[INDEX_KEY_DISPOSITIFS_SIZE], id[INDEX_ID_MAX + 10];
	cr_expect_eq(index_key_dispositifs(key, "D1"), strlen(INDEX_KEY_DISPOSITIFS "D1"));
	cr_expect_str_eq(key, INDEX_KEY_DISPOSITIFS "D1");
	memset(id, 'x', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	cr_expect_eq(index_key_dispositifs(key, id),
		     strlen(INDEX_KEY_DISPOSITIFS) + INDEX_ID_MAX - 1);
	cr_expect_eq(strncmp(key + strlen(INDEX_KEY_DISPOSITIFS), id, INDEX_ID_MAX - 1), 0);
}
