/* aij-bench-redis: the week's Redis work alone, without Kafka (issue 6).
 *
 * The week is bounded by one redis-server thread (bench/RESULTS.md): this
 * program measures that floor. It reads the week's valid lines (lib/reader,
 * lib/record and the referential, as ingest and the matchers validate them),
 * sends them by batches against an index aij-indexer has loaded, and prints
 * how much of Redis's CPU (INFO cpu) and how many commands (INFO
 * commandstats) the look-ups and the attachments took:
 *   --mode script    the product's own path: index_resolve_send()/recv(),
 *                    one EVALSHA a batch, as a matcher sends it;
 *   --mode commands  the same cascade and attachments as plain pipelined
 *                    commands, no Lua: one HGET per step tried, one HMGET of
 *                    the owners and one HSET of the moved owners a batch,
 *                    HDEL + HSET per record. Five round trips a batch and no
 *                    atomicity, so not a design the product could use as
 *                    is (a reload or a second matcher could interleave):
 *                    it answers "what would Redis cost without Lua?".
 * Both count the records integrated at each step, so a run can check that
 * the two agree. Run each mode against a fresh Redis with the index just
 * loaded (bench/redis-floor does): both write the dispositifs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <uthash.h>

#include "clock.h"
#include "conf.h"
#include "dispositif.h"
#include "dossier_index.h"
#include "log.h"
#include "normalize.h"
#include "reader.h"
#include "record.h"
#include "referential.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

#define BENCH_OWNER_CHUNK 1000 /* moved owners a HSET, as the script does */

/* One valid line's look-up inputs (q points into buf and dispositif). */
struct bench_item {
	struct index_query q;
	char *buf;
	char *dispositif;
	int code1;              /* commands mode: step 1's or step 2's code */
	struct index_result res;
};

struct bench_counts {
	uint64_t records, rejected, step[4], failed;
};

/* An owner seen in the batch (commands mode), by dispositif identity. */
struct bench_owner {
	const char *identity;   /* the item's */
	char dossier[INDEX_ID_MAX];
	int known;
	UT_hash_handle hh;
};

/* Redis's CPU so far (user + system), in seconds, or -1 with errstr. */
static double bench_redis_cpu(redisContext *rc, char *errstr, size_t errstr_size)
{
	redisReply *r = index_command(rc, errstr, errstr_size, "INFO cpu");
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
	index_pe_key(v[FIELD_PE], pe, pe_size);
	name_normalize(v[FIELD_NOM], nom, nom_size);
	index_ident_key(v[FIELD_NOM], v[FIELD_PRENOM], v[FIELD_DATE_NAISSANCE], ident,
			ident_size);
	snprintf(identity, identity_size, "%s;%s;%s", v[FIELD_SIGMA], v[FIELD_TYPE],
		 v[FIELD_DATE_DEBUT]);
	it->q = (struct index_query){ pe, nom, ident, identity, it->dispositif };
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
	redisReply *r = index_command(rc, errstr, errstr_size, "GET %s", INDEX_KEY_CURRENT);
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
	r = index_command(rc, errstr, errstr_size, "HGET " INDEX_KEY_PREFIX "%s:meta digits",
			  ix->gen);
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
	index_bucket_key(key, sizeof(key), ix->gen, table, ix->digits, field);
	redisAppendCommand(rc, "HGET %s %s", key, field);
}

/* Steps 1 and 2 as the script reads a pe value: the code, 0 with dossier. */
static int bench_by_pe(const redisReply *v, const char *nom, char *dossier)
{
	if (v->type != REDIS_REPLY_STRING)
		return CODE_NOT_FOUND;
	const char *tab = memchr(v->str, '\t', v->len);
	if (!tab || tab == v->str)
		return CODE_PE_SEVERAL;
	if (strcmp(tab + 1, nom) != 0)
		return CODE_NAME_DIFFERS;
	size_t len = (size_t)(tab - v->str);
	if (len >= INDEX_ID_MAX)
		len = INDEX_ID_MAX - 1;
	memcpy(dossier, v->str, len);
	dossier[len] = '\0';
	return 0;
}

static void bench_step3(const redisReply *v, struct index_result *res)
{
	if (v->type != REDIS_REPLY_STRING)
		res->codes[res->ncodes++] = CODE_NOT_FOUND;
	else if (v->str[0] == '\t')
		res->codes[res->ncodes++] = CODE_IDENTITY_SEVERAL;
	else {
		res->step = 3;
		snprintf(res->dossier_id, sizeof(res->dossier_id), "%s", v->str);
	}
}

/* The attachments of an answered batch, as the script makes them. */
static int bench_attach(redisContext *rc, struct bench_item *items, size_t n,
			char *errstr, size_t errstr_size)
{
	struct bench_owner *table = NULL, *slots = calloc(n, sizeof(*slots));
	size_t max_args = 2 + (n > 2 * BENCH_OWNER_CHUNK ? n : 2 * BENCH_OWNER_CHUNK);
	const char **argv = malloc(max_args * sizeof(*argv));
	size_t *lens = malloc(max_args * sizeof(*lens));
	redisReply *owners = NULL;
	size_t sent = 0, nargs = 2, k = 0;
	int rc_ = -1;
	if (!slots || !argv || !lens) {
		snprintf(errstr, errstr_size, "out of memory");
		goto out;
	}
	/* The owners of the integrated records, one HMGET (the script's). */
	argv[0] = "HMGET";
	argv[1] = INDEX_KEY_OWNER;
	for (size_t i = 0; i < n; i++)
		if (items[i].res.step)
			argv[nargs++] = items[i].q.identity;
	if (nargs == 2) {
		rc_ = 0;
		goto out;
	}
	for (size_t a = 0; a < nargs; a++)
		lens[a] = strlen(argv[a]);
	redisAppendCommandArgv(rc, (int)nargs, argv, lens);
	if (!(owners = index_reply(rc, errstr, errstr_size)))
		goto out;
	if (owners->type != REDIS_REPLY_ARRAY || owners->elements != nargs - 2) {
		snprintf(errstr, errstr_size, "redis: HMGET of %zu owners: unexpected reply",
			 nargs - 2);
		goto out;
	}
	nargs = 2;
	argv[0] = "HSET";
	argv[1] = INDEX_KEY_OWNER;
	for (size_t i = 0; i < n; i++) {
		struct bench_item *it = &items[i];
		if (!it->res.step)
			continue;
		struct bench_owner *o;
		HASH_FIND_STR(table, it->q.identity, o);
		if (!o) {
			o = &slots[i];
			o->identity = it->q.identity;
			const redisReply *e = owners->element[k];
			if ((o->known = e->type == REDIS_REPLY_STRING))
				snprintf(o->dossier, sizeof(o->dossier), "%s", e->str);
			HASH_ADD_KEYPTR(hh, table, o->identity, strlen(o->identity), o);
		}
		k++;
		const char *dossier = it->res.dossier_id;
		int moved = !o->known || strcmp(o->dossier, dossier) != 0;
		if (o->known && moved) {
			redisAppendCommand(rc, "HDEL %s%s %s", INDEX_KEY_DISPOSITIFS,
					   o->dossier, it->q.identity);
			sent++;
		}
		redisAppendCommand(rc, "HSET %s%s %s %s", INDEX_KEY_DISPOSITIFS, dossier,
				   it->q.identity, it->dispositif);
		sent++;
		if (moved) {
			o->known = 1;
			snprintf(o->dossier, sizeof(o->dossier), "%s", dossier);
			argv[nargs++] = it->q.identity;
			argv[nargs++] = it->res.dossier_id;
		}
		if (nargs == 2 + 2 * BENCH_OWNER_CHUNK) {
			for (size_t a = 0; a < nargs; a++)
				lens[a] = strlen(argv[a]);
			redisAppendCommandArgv(rc, (int)nargs, argv, lens);
			sent++;
			nargs = 2;
		}
	}
	if (nargs > 2) {
		for (size_t a = 0; a < nargs; a++)
			lens[a] = strlen(argv[a]);
		redisAppendCommandArgv(rc, (int)nargs, argv, lens);
		sent++;
	}
	rc_ = 0;
	for (size_t j = 0; j < sent; j++) {
		redisReply *r = index_reply(rc, errstr, errstr_size);
		if (!r) {
			rc_ = -1;
			break;
		}
		freeReplyObject(r);
	}
out:
	HASH_CLEAR(hh, table);
	if (owners)
		freeReplyObject(owners);
	free(slots);
	free(argv);
	free(lens);
	return rc_;
}

/* One batch as plain commands: step 1 (or 3 without P), then
 * step 2, then step 3, then the owners and the attachments. */
static int bench_commands_batch(redisContext *rc, const struct bench_index *ix,
				struct bench_item *items, size_t n,
				char *errstr, size_t errstr_size)
{
	for (size_t i = 0; i < n; i++)
		bench_append_hget(rc, ix, items[i].q.pe[0] ? "pe1" : "ident",
				  items[i].q.pe[0] ? items[i].q.pe : items[i].q.ident);

	for (size_t i = 0; i < n; i++) {
		redisReply *v = index_reply(rc, errstr, errstr_size);
		if (!v)
			return -1;
		struct index_result *res = &items[i].res;
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
			bench_append_hget(rc, ix, "pe2", items[i].q.pe);
			sent++;
		}
	for (size_t i = 0; i < n && sent; i++) {
		if (!items[i].code1)
			continue;
		redisReply *v = index_reply(rc, errstr, errstr_size);
		if (!v)
			return -1;
		struct index_result *res = &items[i].res;
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
			bench_append_hget(rc, ix, "ident", items[i].q.ident);
			sent++;
		}
	for (size_t i = 0; i < n && sent; i++) {
		if (!items[i].code1 || items[i].res.step)
			continue;
		redisReply *v = index_reply(rc, errstr, errstr_size);
		if (!v)
			return -1;
		bench_step3(v, &items[i].res);
		freeReplyObject(v);
	}
	return bench_attach(rc, items, n, errstr, errstr_size);
}

/* One batch through the product's script. */
static int bench_script_batch(redisContext *rc, struct bench_item *items, size_t n,
			      char *errstr, size_t errstr_size)
{
	struct index_query *q = malloc(n * sizeof(*q));
	struct index_result *res = malloc(n * sizeof(*res));
	int rc_ = -1;
	if (!q || !res) {
		snprintf(errstr, errstr_size, "out of memory");
	} else {
		for (size_t i = 0; i < n; i++)
			q[i] = items[i].q;
		if (index_resolve_send(rc, q, n, errstr, errstr_size) == 0 &&
		    index_resolve_recv(rc, n, res, errstr, errstr_size) == 0) {
			for (size_t i = 0; i < n; i++)
				items[i].res = res[i];
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
	redisReply *r = index_command(rc, errstr, errstr_size, "INFO commandstats");
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

int main(int argc, char **argv)
{
	const char *redis_addr, *dispositifs, *coverage, *communes, *motifs, *mode,
		*batch_text, *run_id, *log_level;
	const struct conf_opt opts[] = {
		{ "redis", "AIJ_REDIS", NULL, "HOST:PORT",
		  "Redis holding a loaded dossier index (required)", &redis_addr },
		{ "dispositifs", "AIJ_DISPOSITIFS", NULL, "FILE",
		  "the week's dispositifs file (required)", &dispositifs },
		{ "coverage", "AIJ_COVERAGE", NULL, "FILE",
		  "ML coverage zones (required)", &coverage },
		{ "communes", "AIJ_COMMUNES", REF_DEFAULT_COMMUNES, "FILE",
		  "communes referential", &communes },
		{ "motifs", "AIJ_MOTIFS", REF_DEFAULT_MOTIFS, "FILE",
		  "exit reasons", &motifs },
		{ "mode", "AIJ_BENCH_MODE", "script", "MODE",
		  "script (the product's EVALSHA) or commands (plain, no Lua)", &mode },
		{ "batch", "AIJ_BATCH", "500", "N", "records a batch", &batch_text },
		{ "run-id", "AIJ_RUN_ID", "bench", "ID", "run id stored with the dispositifs",
		  &run_id },
		CONF_OPT_LOG_LEVEL(&log_level),
		{ NULL, NULL, NULL, NULL, NULL, NULL },
	};
	char errstr[1024];
	long batch = 0;
	log_init("bench-redis", NULL);
	int rc = conf_parse(opts, argc, argv, errstr, sizeof(errstr));
	if (rc == 1) {
		conf_usage(stdout, "aij-bench-redis",
			   "Replays the week's look-ups and attachments against a loaded "
			   "index, without Kafka,\nand prints the Redis CPU and commands "
			   "they took (key=value lines).", opts);
		return 0;
	}
	if (rc == 0 && log_level_set_name(log_level, errstr, sizeof(errstr)))
		rc = -1;
	if (rc == 0 && (!redis_addr || !dispositifs || !coverage)) {
		snprintf(errstr, sizeof(errstr), "--redis, --dispositifs and --coverage "
			 "are required");
		rc = -1;
	}
	if (rc == 0 && strcmp(mode, "script") != 0 && strcmp(mode, "commands") != 0) {
		snprintf(errstr, sizeof(errstr), "--mode '%s' is neither script nor commands",
			 mode);
		rc = -1;
	}
	if (rc == 0)
		rc = conf_long("batch", batch_text, 1, 100000, &batch, errstr, sizeof(errstr));
	if (rc) {
		log_error("%s", errstr);
		return EXIT_USAGE;
	}
	int scripted = strcmp(mode, "script") == 0;

	struct referential *ref = referential_load(communes, motifs, coverage, errstr,
						   sizeof(errstr));
	struct reader *rd = ref ? reader_open(dispositifs, errstr, sizeof(errstr)) : NULL;
	if (!rd) {
		log_error("%s", errstr);
		referential_free(ref);
		return EXIT_USAGE;
	}
	redisContext *rcx = index_connect(redis_addr, 60000, errstr, sizeof(errstr));
	if (!rcx) {
		log_error("%s", errstr);
		reader_close(rd);
		referential_free(ref);
		return EXIT_RUNTIME;
	}
	struct bench_index ix = { "", 0 };
	struct bench_item *items = calloc((size_t)batch, sizeof(*items));
	struct bench_counts c;
	memset(&c, 0, sizeof(c));
	redisReply *reset = NULL;
	double cpu0 = -1, t0 = clock_now_s();
	int code = EXIT_RUNTIME;
	if (!items) {
		snprintf(errstr, sizeof(errstr), "out of memory");
		goto out;
	}
	if ((scripted ? index_script_load(rcx, errstr, sizeof(errstr))
		      : bench_index_current(rcx, &ix, errstr, sizeof(errstr))) != 0)
		goto out;
	if (!(reset = index_command(rcx, errstr, sizeof(errstr), "CONFIG RESETSTAT")) ||
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
			else if (bench_item_prepare(&items[n++], &f, line.line, run_id) != 0) {
				free(text);
				bench_items_release(items, n);
				snprintf(errstr, sizeof(errstr), "out of memory");
				goto out;
			}
			free(text);
		}
		if (n == (size_t)batch || (got == 0 && n > 0)) {
			int brc = scripted ? bench_script_batch(rcx, items, n, errstr, sizeof(errstr))
					   : bench_commands_batch(rcx, &ix, items, n, errstr,
								  sizeof(errstr));
			if (brc == 0)
				bench_count(&c, items, n);
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
	uint64_t looked = c.records - c.rejected;
	printf("mode=%s records=%llu looked_up=%llu integrated=%llu step1=%llu step2=%llu "
	       "step3=%llu failed=%llu redis_cpu_s=%.3f us_per_record=%.2f "
	       "commands_per_record=%.2f wall_s=%.3f\n", mode,
	       (unsigned long long)c.records, (unsigned long long)looked,
	       (unsigned long long)(c.step[1] + c.step[2] + c.step[3]),
	       (unsigned long long)c.step[1], (unsigned long long)c.step[2],
	       (unsigned long long)c.step[3], (unsigned long long)c.failed, cpu1 - cpu0,
	       looked ? (cpu1 - cpu0) * 1e6 / (double)looked : 0.0,
	       looked ? (double)calls / (double)looked : 0.0, wall);
	code = 0;
out:
	if (code != 0)
		log_error("%s", errstr);
	free(items);
	reader_close(rd);
	redisFree(rcx);
	referential_free(ref);
	return code;
}
