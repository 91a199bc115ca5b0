/* aij-bench-redis: the week's Redis work alone, without Kafka (issues 6,
 * 14, 17).
 *
 * It reads the week's valid lines (lib/reader, lib/record and the
 * referential, as ingest and the matchers validate them), sends them by
 * batches against an index aij-indexer has loaded, then attaches the
 * integrated ones as the reporter does when it publishes the run, and
 * prints how much of Redis's CPU (INFO cpu) and how many commands (INFO
 * commandstats) each phase took:
 *   look-ups, --mode script    the product's own path: index_lookup_send()/
 *                              recv(), one read-only EVALSHA a batch, as a
 *                              matcher sends it;
 *   look-ups, --mode commands  the same cascade as plain pipelined HGETs, no
 *                              Lua: three round trips a batch and no
 *                              atomicity against a reload, so not a design
 *                              the product could use as is: it answers "what
 *                              would Redis cost without Lua?";
 *   attachments                index_attach(), the reporter's publication
 *                              path (pipelined HMGET, HDEL, HSET), the same
 *                              in both modes.
 * Both modes count the records integrated at each step, so a run can check
 * that the two agree. Run each mode against a fresh Redis with the index
 * just loaded (bench/redis-floor does). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "clock.h"
#include "conf.h"
#include "dispositif.h"
#include "index_attach.h"
#include "index_lookup.h"
#include "log.h"
#include "normalize.h"
#include "reader.h"
#include "record.h"
#include "redis.h"
#include "referential.h"

/* One valid line's look-up inputs (q points into buf), and what it
 * attaches when integrated. */
struct bench_item {
	struct index_lookup_query q;
	char *buf;
	const char *identity;   /* in buf */
	char *dispositif;       /* dispositif_encode(): free() */
	int code1;              /* commands mode: step 1's or step 2's code */
	struct index_lookup_result res;
};

/* The integrated lines' attachments, kept for the second phase. */
struct bench_attachments {
	struct index_attachment *a;
	size_t n, cap;
};

struct bench_counts {
	uint64_t records, rejected, step[4], failed;
};

/* Redis's CPU so far (user + system), in seconds, or -1 with errstr. */
static double bench_redis_cpu(redisContext *rc, char *errstr, size_t errstr_size)
{
	redisReply *r = redis_command(rc, errstr, errstr_size, "INFO cpu");
	if (!r)
		return -1;
	const char *u = strstr(r->str, "used_cpu_user:");
	const char *s = strstr(r->str, "used_cpu_sys:");
	double cpu = u && s ? atof(u + 14) + atof(s + 13) : -1;
	freeReplyObject(r);
	if (cpu < 0)
		snprintf(errstr, errstr_size, "redis: INFO cpu has no used_cpu_user");
	return cpu;
}

/* Fills item from a valid line. 0, or -1 when out of memory. */
static int bench_item_prepare(struct bench_item *it, const struct record_fields *f,
			      uint64_t line, const char *run_id)
{
	const char *const *v = f->field;
	size_t pe_size = strlen(v[FIELD_PE]) + 1, nom_size = strlen(v[FIELD_NOM]) + 1;
	size_t ident_size = strlen(v[FIELD_NOM]) + strlen(v[FIELD_PRENOM]) +
			    strlen(v[FIELD_DATE_NAISSANCE]) + 3;
	size_t identity_size = strlen(v[FIELD_SIGMA]) + strlen(v[FIELD_TYPE]) +
			       strlen(v[FIELD_DATE_DEBUT]) + 3;
	memset(it, 0, sizeof(*it));
	it->buf = malloc(pe_size + nom_size + ident_size + identity_size);
	it->dispositif = dispositif_encode(line, run_id, v);
	if (!it->buf || !it->dispositif)
		return -1;
	char *pe = it->buf, *nom = pe + pe_size, *ident = nom + nom_size;
	char *identity = ident + ident_size;
	index_key_pe(v[FIELD_PE], pe, pe_size);
	name_normalize(v[FIELD_NOM], nom, nom_size);
	index_key_ident(v[FIELD_NOM], v[FIELD_PRENOM], v[FIELD_DATE_NAISSANCE], ident,
			ident_size);
	snprintf(identity, identity_size, "%s;%s;%s", v[FIELD_SIGMA], v[FIELD_TYPE],
		 v[FIELD_DATE_DEBUT]);
	it->q = (struct index_lookup_query){ pe, nom, ident };
	it->identity = identity;
	return 0;
}

static void bench_items_release(struct bench_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(items[i].buf);
		free(items[i].dispositif);
	}
}

/* The generation the commands mode reads, fixed for the run. */
struct bench_index {
	char gen[32];
	unsigned digits;
};

static int bench_index_current(redisContext *rc, struct bench_index *ix,
			       char *errstr, size_t errstr_size)
{
	redisReply *r = redis_command(rc, errstr, errstr_size, "GET %s", INDEX_KEY_CURRENT);
	if (!r)
		return -1;
	int ok = r->type == REDIS_REPLY_STRING;
	if (ok)
		snprintf(ix->gen, sizeof(ix->gen), "%s", r->str);
	freeReplyObject(r);
	if (!ok) {
		snprintf(errstr, errstr_size, "no dossier index loaded (%s is missing)",
			 INDEX_KEY_CURRENT);
		return -1;
	}
	char meta[96];
	index_key_meta(meta, sizeof(meta), ix->gen);
	r = redis_command(rc, errstr, errstr_size, "HGET %s " INDEX_META_DIGITS, meta);
	if (!r)
		return -1;
	ix->digits = r->type == REDIS_REPLY_STRING ? (unsigned)atoi(r->str) : 0;
	freeReplyObject(r);
	if (ix->digits < 1 || ix->digits > 8) {
		snprintf(errstr, errstr_size, "index generation %s has no meta", ix->gen);
		return -1;
	}
	return 0;
}

static void bench_append_hget(redisContext *rc, const struct bench_index *ix,
			      const char *table, const char *field)
{
	char key[128];
	index_key_bucket_of(key, sizeof(key), ix->gen, table, ix->digits, field);
	redisAppendCommand(rc, "HGET %s %s", key, field);
}

/* Steps 1 and 2 as the script reads a pe value ("<id>\t<N(nom)>\t<ml>"):
 * the code, 0 with dossier. */
static int bench_by_pe(const redisReply *v, const char *nom, char *dossier)
{
	if (v->type != REDIS_REPLY_STRING)
		return CODE_NOT_FOUND;
	const char *tab = memchr(v->str, '\t', v->len);
	if (!tab || tab == v->str)
		return CODE_PE_SEVERAL;
	const char *name = tab + 1, *end = memchr(name, '\t', v->len - (size_t)(name - v->str));
	size_t name_len = end ? (size_t)(end - name) : v->len - (size_t)(name - v->str);
	if (name_len != strlen(nom) || memcmp(name, nom, name_len) != 0)
		return CODE_NAME_DIFFERS;
	size_t len = (size_t)(tab - v->str);
	if (len >= INDEX_ID_MAX)
		len = INDEX_ID_MAX - 1;
	memcpy(dossier, v->str, len);
	dossier[len] = '\0';
	return 0;
}

/* Step 3 as the script reads an ident value ("<id>\t<ml>"). */
static void bench_step3(const redisReply *v, struct index_lookup_result *res)
{
	if (v->type != REDIS_REPLY_STRING) {
		res->codes[res->ncodes++] = CODE_NOT_FOUND;
	} else if (v->str[0] == '\t') {
		res->codes[res->ncodes++] = CODE_IDENTITY_SEVERAL;
	} else {
		res->step = 3;
		snprintf(res->dossier_id, sizeof(res->dossier_id), "%.*s",
			 (int)strcspn(v->str, "\t"), v->str);
	}
}

/* Keeps the attachments of a batch's integrated items (their strings
 * copied) for the second phase. 0, or -1 when out of memory. */
static int bench_keep(struct bench_attachments *all, const struct bench_item *items,
		      size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!items[i].res.step)
			continue;
		if (all->n == all->cap) {
			size_t cap = all->cap ? 2 * all->cap : 65536;
			struct index_attachment *a = realloc(all->a, cap * sizeof(*a));
			if (!a)
				return -1;
			all->a = a;
			all->cap = cap;
		}
		struct index_attachment *a = &all->a[all->n];
		a->dossier_id = strdup(items[i].res.dossier_id);
		a->identity = strdup(items[i].identity);
		a->dispositif = strdup(items[i].dispositif);
		if (!a->dossier_id || !a->identity || !a->dispositif) {
			free((char *)a->dossier_id);
			free((char *)a->identity);
			free((char *)a->dispositif);
			return -1;
		}
		all->n++;
	}
	return 0;
}

static void bench_attachments_release(struct bench_attachments *all)
{
	for (size_t i = 0; i < all->n; i++) {
		free((char *)all->a[i].dossier_id);
		free((char *)all->a[i].identity);
		free((char *)all->a[i].dispositif);
	}
	free(all->a);
}

/* One batch as plain commands: step 1 (or 3 without P), then
 * step 2, then step 3. */
static int bench_commands_batch(redisContext *rc, const struct bench_index *ix,
				struct bench_item *items, size_t n,
				char *errstr, size_t errstr_size)
{
	for (size_t i = 0; i < n; i++)
		bench_append_hget(rc, ix, items[i].q.pe[0] ? INDEX_TABLE_PE1 : INDEX_TABLE_IDENT,
				  items[i].q.pe[0] ? items[i].q.pe : items[i].q.ident);

	for (size_t i = 0; i < n; i++) {
		redisReply *v = redis_reply(rc, errstr, errstr_size);
		if (!v)
			return -1;
		struct index_lookup_result *res = &items[i].res;
		if (!items[i].q.pe[0]) {
			bench_step3(v, res);
		} else if ((items[i].code1 = bench_by_pe(v, items[i].q.nom,
							  res->dossier_id)) == 0) {
			res->step = 1;
		} else {
			res->codes[res->ncodes++] = (unsigned)items[i].code1;
		}
		freeReplyObject(v);
	}

	size_t sent = 0;
	for (size_t i = 0; i < n; i++)
		if (items[i].code1) {
			bench_append_hget(rc, ix, INDEX_TABLE_PE2, items[i].q.pe);
			sent++;
		}
	for (size_t i = 0; i < n && sent; i++) {
		if (!items[i].code1)
			continue;
		redisReply *v = redis_reply(rc, errstr, errstr_size);
		if (!v)
			return -1;
		struct index_lookup_result *res = &items[i].res;
		int code = bench_by_pe(v, items[i].q.nom, res->dossier_id);
		if (code == 0)
			res->step = 2;
		else
			res->codes[res->ncodes++] = (unsigned)code;
		freeReplyObject(v);
	}

	sent = 0;
	for (size_t i = 0; i < n; i++)
		if (items[i].code1 && !items[i].res.step) {
			bench_append_hget(rc, ix, INDEX_TABLE_IDENT, items[i].q.ident);
			sent++;
		}
	for (size_t i = 0; i < n && sent; i++) {
		if (!items[i].code1 || items[i].res.step)
			continue;
		redisReply *v = redis_reply(rc, errstr, errstr_size);
		if (!v)
			return -1;
		bench_step3(v, &items[i].res);
		freeReplyObject(v);
	}
	return 0;
}

/* One batch through the product's script. */
static int bench_script_batch(redisContext *rc, struct bench_item *items, size_t n,
			      int evidence, char *errstr, size_t errstr_size)
{
	struct index_lookup_query *q = malloc(n * sizeof(*q));
	struct index_lookup_result *res = malloc(n * sizeof(*res));
	int rc_ = -1;
	if (!q || !res) {
		snprintf(errstr, errstr_size, "out of memory");
	} else {
		for (size_t i = 0; i < n; i++)
			q[i] = items[i].q;
		if (index_lookup_send(rc, q, n, evidence, errstr, errstr_size) == 0 &&
		    index_lookup_recv(rc, q, n, res, errstr, errstr_size) == 0) {
			for (size_t i = 0; i < n; i++) {
				items[i].res = res[i];
				items[i].res.ev = NULL; /* only the steps are counted */
				items[i].res.nev = 0;
			}
			index_lookup_release(res, n);
			rc_ = 0;
		}
	}
	free(q);
	free(res);
	return rc_;
}

static void bench_count(struct bench_counts *c, const struct bench_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (items[i].res.step)
			c->step[items[i].res.step]++;
		else
			c->failed++;
	}
}

/* Prints the commandstats lines of the week: calls and time per command,
 * and returns the calls in all (INFO and CONFIG left out), or -1. */
static long long bench_commandstats(redisContext *rc, char *errstr, size_t errstr_size)
{
	redisReply *r = redis_command(rc, errstr, errstr_size, "INFO commandstats");
	if (!r)
		return -1;
	long long total = 0;
	for (char *line = strtok(r->str, "\r\n"); line; line = strtok(NULL, "\r\n")) {
		char name[64];
		long long calls = 0;
		double usec = 0, per_call = 0;
		if (sscanf(line, "cmdstat_%63[^:]:calls=%lld,usec=%lf,usec_per_call=%lf",
			   name, &calls, &usec, &per_call) != 4)
			continue;
		if (strcmp(name, "info") == 0 || strncmp(name, "config", 6) == 0)
			continue;
		total += calls;
		printf("command=%s calls=%lld seconds=%.3f us_per_call=%.2f\n", name, calls,
		       usec / 1e6, per_call);
	}
	freeReplyObject(r);
	return total;
}

/* The options. */
struct bench_conf {
	const char *redis_addr, *dispositifs, *coverage, *communes, *motifs, *mode,
		*batch_text, *run_id, *evidence_text, *log_level;
	long batch;
	int evidence;
};

/* The checks of conf_program_parse(): the values in force, converted. */
static int bench_conf_check(void *arg, char *errstr, size_t errstr_size)
{
	struct bench_conf *bc = arg;
	if (!bc->redis_addr || !bc->dispositifs || !bc->coverage) {
		snprintf(errstr, errstr_size, "--redis, --dispositifs and --coverage "
			 "are required");
		return -1;
	}
	if (strcmp(bc->mode, "script") != 0 && strcmp(bc->mode, "commands") != 0) {
		snprintf(errstr, errstr_size, "--mode '%s' is neither script nor commands",
			 bc->mode);
		return -1;
	}
	return conf_long("batch", bc->batch_text, 1, 100000, &bc->batch, errstr,
			 errstr_size) ||
	       conf_on_off("evidence", bc->evidence_text, &bc->evidence, errstr,
			   errstr_size) ? -1 : 0;
}

/* Returns 0, or -1 with *exit_code (EXIT_DONE after --help, EXIT_USAGE on
 * bad usage). */
static int bench_conf_parse(int argc, char **argv, struct bench_conf *bc,
			    int *exit_code)
{
	memset(bc, 0, sizeof(*bc));
	const struct conf_opt opts[] = {
		{ "redis", "AIJ_REDIS", NULL, "HOST:PORT",
		  "Redis holding a loaded dossier index (required)", &bc->redis_addr },
		{ "dispositifs", "AIJ_DISPOSITIFS", NULL, "FILE",
		  "the week's dispositifs file (required)", &bc->dispositifs },
		{ "coverage", "AIJ_COVERAGE", NULL, "FILE",
		  "ML coverage zones (required)", &bc->coverage },
		{ "communes", "AIJ_COMMUNES", REF_DEFAULT_COMMUNES, "FILE",
		  "communes referential", &bc->communes },
		{ "motifs", "AIJ_MOTIFS", REF_DEFAULT_MOTIFS, "FILE",
		  "exit reasons", &bc->motifs },
		{ "mode", "AIJ_BENCH_MODE", "script", "MODE",
		  "script (the product's EVALSHA) or commands (plain, no Lua)", &bc->mode },
		{ "evidence", "AIJ_EVIDENCE", "on", "on|off",
		  "script: read the evidence of the failed lines, as the matchers do",
		  &bc->evidence_text },
		{ "batch", "AIJ_BATCH", "500", "N", "records a batch", &bc->batch_text },
		{ "run-id", "AIJ_RUN_ID", "bench", "ID", "run id stored with the dispositifs",
		  &bc->run_id },
		CONF_OPT_LOG_LEVEL(&bc->log_level),
		{ NULL, NULL, NULL, NULL, NULL, NULL },
	};
	const struct conf_program prog = {
		.name = "aij-bench-redis",
		.summary = "Replays the week's look-ups, then its attachments, against a "
			   "loaded index, without\nKafka, and prints the Redis CPU and "
			   "commands each took (key=value lines).",
		.opts = opts, .check = bench_conf_check, .arg = bc,
	};
	return conf_program_parse(&prog, argc, argv, exit_code);
}

int main(int argc, char **argv)
{
	struct bench_conf bc;
	char errstr[1024];
	int code = EXIT_DONE;
	log_init("bench-redis", NULL);
	if (bench_conf_parse(argc, argv, &bc, &code) < 0)
		return code;
	int scripted = strcmp(bc.mode, "script") == 0;

	struct referential *ref = referential_load(bc.communes, bc.motifs, bc.coverage,
						   errstr, sizeof(errstr));
	struct reader *rd = ref ? reader_open(bc.dispositifs, errstr, sizeof(errstr)) : NULL;
	if (!rd) {
		log_error("%s", errstr);
		referential_free(ref);
		return EXIT_USAGE;
	}
	redisContext *rcx = redis_connect(bc.redis_addr, 60000, errstr, sizeof(errstr));
	if (!rcx) {
		log_error("%s", errstr);
		reader_close(rd);
		referential_free(ref);
		return EXIT_RUNTIME;
	}
	struct bench_index ix = { "", 0 };
	struct bench_item *items = calloc((size_t)bc.batch, sizeof(*items));
	struct bench_counts c;
	memset(&c, 0, sizeof(c));
	struct bench_attachments kept = { NULL, 0, 0 };
	redisReply *reset = NULL;
	double cpu0 = -1, t0 = clock_now_s();
	code = EXIT_RUNTIME;
	if (!items) {
		snprintf(errstr, sizeof(errstr), "out of memory");
		goto out;
	}
	if ((scripted ? index_lookup_script_load(rcx, errstr, sizeof(errstr))
		      : bench_index_current(rcx, &ix, errstr, sizeof(errstr))) != 0)
		goto out;
	if (!(reset = redis_command(rcx, errstr, sizeof(errstr), "CONFIG RESETSTAT")) ||
	    (cpu0 = bench_redis_cpu(rcx, errstr, sizeof(errstr))) < 0)
		goto out;
	freeReplyObject(reset);

	size_t n = 0;
	for (;;) {
		struct reader_line line;
		int got = reader_next(rd, &line, errstr, sizeof(errstr));
		if (got < 0) {
			code = EXIT_USAGE;
			goto out;
		}
		if (got > 0) {
			char *text = strdup(line.text);
			struct record_fields f;
			if (!text) {
				snprintf(errstr, sizeof(errstr), "out of memory");
				goto out;
			}
			record_split(text, &f);
			c.records++;
			int ok = record_validate(&f, line.too_long, ref) == CODE_OK;
			if (!ok)
				c.rejected++;
			else if (bench_item_prepare(&items[n++], &f, line.line,
						    bc.run_id) != 0) {
				free(text);
				bench_items_release(items, n);
				snprintf(errstr, sizeof(errstr), "out of memory");
				goto out;
			}
			free(text);
		}
		if (n == (size_t)bc.batch || (got == 0 && n > 0)) {
			int brc = scripted ? bench_script_batch(rcx, items, n, bc.evidence,
								errstr, sizeof(errstr))
					   : bench_commands_batch(rcx, &ix, items, n, errstr,
								  sizeof(errstr));
			if (brc == 0) {
				bench_count(&c, items, n);
				if (bench_keep(&kept, items, n) != 0) {
					snprintf(errstr, sizeof(errstr), "out of memory");
					brc = -1;
				}
			}
			bench_items_release(items, n);
			n = 0;
			if (brc != 0)
				goto out;
		}
		if (got == 0)
			break;
	}
	double wall = clock_now_s() - t0;
	double cpu1 = bench_redis_cpu(rcx, errstr, sizeof(errstr));
	if (cpu1 < 0)
		goto out;
	long long calls = bench_commandstats(rcx, errstr, sizeof(errstr));
	if (calls < 0)
		goto out;

	/* Phase 2: the attachments, as the reporter publishes them. */
	struct index_attach_stats astats = { 0, 0 };
	if (!(reset = redis_command(rcx, errstr, sizeof(errstr), "CONFIG RESETSTAT")))
		goto out;
	freeReplyObject(reset);
	reset = NULL;
	double t1 = clock_now_s();
	if (index_attach(rcx, kept.a, kept.n, &astats, errstr, sizeof(errstr)) != 0)
		goto out;
	double attach_wall = clock_now_s() - t1;
	double cpu2 = bench_redis_cpu(rcx, errstr, sizeof(errstr));
	if (cpu2 < 0)
		goto out;
	printf("phase=attach\n");
	long long attach_calls = bench_commandstats(rcx, errstr, sizeof(errstr));
	if (attach_calls < 0)
		goto out;

	uint64_t looked = c.records - c.rejected;
	printf("mode=%s records=%llu looked_up=%llu integrated=%llu step1=%llu step2=%llu "
	       "step3=%llu failed=%llu redis_cpu_s=%.3f us_per_record=%.2f "
	       "commands_per_record=%.2f wall_s=%.3f attached=%llu moved=%llu "
	       "attach_cpu_s=%.3f attach_us_per_record=%.2f "
	       "attach_commands_per_record=%.2f attach_wall_s=%.3f\n", bc.mode,
	       (unsigned long long)c.records, (unsigned long long)looked,
	       (unsigned long long)(c.step[1] + c.step[2] + c.step[3]),
	       (unsigned long long)c.step[1], (unsigned long long)c.step[2],
	       (unsigned long long)c.step[3], (unsigned long long)c.failed, cpu1 - cpu0,
	       looked ? (cpu1 - cpu0) * 1e6 / (double)looked : 0.0,
	       looked ? (double)calls / (double)looked : 0.0, wall,
	       (unsigned long long)astats.attached, (unsigned long long)astats.moved,
	       cpu2 - cpu1, kept.n ? (cpu2 - cpu1) * 1e6 / (double)kept.n : 0.0,
	       kept.n ? (double)attach_calls / (double)kept.n : 0.0, attach_wall);
	code = EXIT_DONE;
out:
	if (code != 0)
		log_error("%s", errstr);
	free(items);
	bench_attachments_release(&kept);
	reader_close(rd);
	redisFree(rcx);
	referential_free(ref);
	return code;
}
