/* aij-indexer: loads the i-milo dossier export (SPEC §2.3) into a new
 * generation of the Redis index, switches the matchers to it atomically and
 * deletes the previous one, unless a guard holds the export (lib/guard.h):
 * no data row, too many malformed rows, far fewer dossiers than the index
 * in use. A held export changes nothing; it is recorded in the run history
 * when one is given. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "clock.h"
#include "conf.h"
#include "guard.h"
#include "history.h"
#include "index_load.h"
#include "index_lookup.h"
#include "index_write.h"
#include "log.h"
#include "redis.h"
#include "signals.h"

struct indexer_conf {
	const char *dossiers, *redis, *history, *accept, *max_malformed, *min_dossiers;
	const char *evidence_text, *log_level;
	int evidence;
	struct guard_limits limits;
};

/* Parses a percentage option into *pct. 0, or -1 with errstr. */
static int indexer_pct(const char *name, const char *text, double *pct,
		       char *errstr, size_t errstr_size)
{
	char *end;
	double v = strtod(text, &end);
	if (end == text || *end || v < 0 || v > 100) {
		snprintf(errstr, errstr_size, "option '--%s' wants a percentage from 0 "
			 "to 100, not '%s'", name, text);
		return -1;
	}
	*pct = v;
	return 0;
}

/* The checks of conf_program_parse(): the values in force, converted. */
static int indexer_conf_check(void *arg, char *errstr, size_t errstr_size)
{
	struct indexer_conf *ic = arg;
	struct guard_limits defaults = GUARD_LIMITS_DEFAULT;
	ic->limits = defaults;
	char host[256];
	int port;
	if (!ic->dossiers) {
		snprintf(errstr, errstr_size, "missing --dossiers FILE (see --help)");
		return -1;
	}
	if (redis_parse_addr(ic->redis, host, sizeof(host), &port, errstr, errstr_size) ||
	    indexer_pct("max-malformed-pct", ic->max_malformed,
			&ic->limits.max_malformed_pct, errstr, errstr_size) ||
	    indexer_pct("min-dossiers-pct", ic->min_dossiers,
			&ic->limits.min_dossiers_pct, errstr, errstr_size) ||
	    conf_on_off("evidence", ic->evidence_text, &ic->evidence, errstr, errstr_size))
		return -1;
	return 0;
}

/* Returns 0, or -1 with *exit_code (EXIT_DONE after --help, EXIT_USAGE on
 * bad usage). */
static int indexer_conf_parse(int argc, char **argv, struct indexer_conf *ic,
			      int *exit_code)
{
	memset(ic, 0, sizeof(*ic));
	const struct conf_opt opts[] = {
		{ "dossiers", "AIJ_DOSSIERS", NULL, "FILE",
		  "the dossier export (dossier_id;ml_code;...)", &ic->dossiers },
		{ "redis", "AIJ_REDIS", "127.0.0.1:6379", "HOST:PORT",
		  "the Redis holding the index", &ic->redis },
		{ "history", "AIJ_HISTORY", NULL, "FILE",
		  "the run history (DIR/runs.json): the load is recorded there, and "
		  "with no index in Redis, its last published size is the baseline",
		  &ic->history },
		{ "accept", "AIJ_ACCEPT", NULL, NULL,
		  "load the export even if a guard holds it", &ic->accept },
		{ "max-malformed-pct", "AIJ_MAX_MALFORMED_PCT", "5", "PCT",
		  "hold an export with more malformed rows", &ic->max_malformed },
		{ "min-dossiers-pct", "AIJ_MIN_DOSSIERS_PCT", "50", "PCT",
		  "hold an export with fewer dossiers than this share of the index "
		  "in use", &ic->min_dossiers },
		{ "evidence", "AIJ_EVIDENCE", "on", "on|off",
		  "also load the blocking keys np, pd, nd and the ids of shared "
		  "keys, that the matchers read the evidence of failed lines from "
		  "(off: the index as before issue 18, to measure their cost)",
		  &ic->evidence_text },
		CONF_OPT_LOG_LEVEL(&ic->log_level),
		{ NULL, NULL, NULL, NULL, NULL, NULL },
	};
	const struct conf_program prog = {
		.name = "aij-indexer",
		.summary = "Loads the dossier export into a new generation of the Redis "
			   "index and switches to it.\nExit: 0 loaded, 4 held by a guard "
			   "(the index in use stays), 2 unreadable file.",
		.opts = opts, .check = indexer_conf_check, .arg = ic,
	};
	return conf_program_parse(&prog, argc, argv, exit_code);
}

/* The hex SHA-256 of the file at path (a copy of the export's identity for
 * the history), or "" when it cannot be read. */
static void indexer_sha256(const char *path, char hex[65])
{
	hex[0] = '\0';
	FILE *f = fopen(path, "rb");
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (f && ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		char buf[1 << 16];
		size_t n;
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			EVP_DigestUpdate(ctx, buf, n);
		unsigned char md[32];
		unsigned int len = 0;
		if (!ferror(f) && EVP_DigestFinal_ex(ctx, md, &len) && len == 32)
			for (int i = 0; i < 32; i++)
				snprintf(hex + 2 * i, 3, "%02x", md[i]);
	}
	EVP_MD_CTX_free(ctx);
	if (f)
		fclose(f);
}

/* The baseline of the "far fewer dossiers" guard: the index in use, else
 * the last published run or export of the history. */
static void indexer_baseline(const struct indexer_conf *ic, redisContext *rc,
			     struct guard_export *g)
{
	char errstr[512];
	uint64_t dossiers = 0;
	if (index_lookup_current(rc, NULL, 0, &dossiers, errstr, sizeof(errstr)) > 0 && dossiers) {
		g->baseline = dossiers;
		g->baseline_what = "the index in use";
		return;
	}
	json_t *h = ic->history ? history_load(ic->history, errstr, sizeof(errstr)) : NULL;
	for (size_t i = json_array_size(h); i-- > 0;) {
		const json_t *e = json_array_get(h, i);
		if (strcmp(history_str(e, "status"), HISTORY_PUBLISHED) == 0 &&
		    history_num(e, "dossiers") > 0) {
			g->baseline = history_num(e, "dossiers");
			g->baseline_what = "the last published run";
			break;
		}
	}
	json_decref(h);
}

/* Records the load in the history, when one is given. */
static void indexer_record(const struct indexer_conf *ic, const char *gen,
			   const char *status, const struct guard_verdict *v,
			   const struct index_load_counts *c, const char *reason,
			   time_t started)
{
	if (!ic->history)
		return;
	char path[4096], sha[65], errstr[512];
	snprintf(path, sizeof(path), "%s", ic->dossiers);
	indexer_sha256(ic->dossiers, sha);
	struct history_entry e = {
		.kind = HISTORY_KIND_EXPORT, .run_id = gen, .source = basename(path),
		.sha256 = sha, .status = status, .guard = v ? v->guard : GUARD_ERROR,
		.reason = reason, .reason_fr = v && v->reason_fr[0] ? v->reason_fr : reason,
		.dossiers = c->loaded, .malformed = c->malformed,
		.accepted = v ? v->accepted : 0, .started_at = started,
		.finished_at = time(NULL),
	};
	char attempt[64];
	snprintf(attempt, sizeof(attempt), "dossiers#%lld-%d", (long long)started,
		 (int)getpid());
	e.attempt = attempt;
	if (history_append(ic->history, &e, errstr, sizeof(errstr)))
		log_error("cannot record the load in the run history: %s", errstr);
}

int main(int argc, char **argv)
{
	struct indexer_conf ic;
	int code = 0;
	char errstr[512];
	log_init("indexer", NULL);
	if (indexer_conf_parse(argc, argv, &ic, &code) < 0)
		return code;
	signals_install();

	double start = clock_now_s();
	time_t started = time(NULL);
	FILE *in = fopen(ic.dossiers, "r");
	if (!in) {
		log_error("cannot open '%s': %s", ic.dossiers, strerror(errno));
		return EXIT_USAGE;
	}
	/* Connect first: no point reading 2M rows for a Redis that is not there. */
	redisContext *rc = redis_connect(ic.redis, 10000, errstr, sizeof(errstr));
	if (!rc) {
		log_error("%s", errstr);
		fclose(in);
		return EXIT_RUNTIME;
	}

	log_info("reading '%s'", ic.dossiers);
	struct index_load_counts c;
	memset(&c, 0, sizeof(c));
	struct index_load *d = index_load_read(in, ic.dossiers, ic.evidence, &c, errstr,
					       sizeof(errstr));
	fclose(in);
	if (!d) {
		log_error("%s", errstr);
		redisFree(rc);
		if (!signals_stop)
			indexer_record(&ic, "", HISTORY_FAILED, NULL, &c, errstr, started);
		return signals_stop ? EXIT_RUNTIME : EXIT_USAGE;
	}
	double read_done = clock_now_s();
	log_info("read %llu rows in %.2f s: %llu dossiers, %llu malformed; keys: "
		 "%llu pe_cotraitance (%llu shared), %llu pe_complement (%llu shared), "
		 "%llu identities (%llu shared)",
		 (unsigned long long)c.rows, read_done - start,
		 (unsigned long long)c.loaded, (unsigned long long)c.malformed,
		 (unsigned long long)c.pe1_keys, (unsigned long long)c.pe1_shared,
		 (unsigned long long)c.pe2_keys, (unsigned long long)c.pe2_shared,
		 (unsigned long long)c.ident_keys, (unsigned long long)c.ident_shared);
	if (!ic.evidence)
		log_info("evidence off: no blocking keys, shared keys without their ids");

	struct guard_export g = {
		.rows = c.rows, .malformed = c.malformed, .loaded = c.loaded,
		.accept = ic.accept && conf_true(ic.accept),
	};
	indexer_baseline(&ic, rc, &g);
	struct guard_verdict v;
	guard_export_decide(&g, &ic.limits, &v);
	if (v.status == GUARD_HOLD) {
		log_error("held: %s; the index in use is unchanged (--accept loads it "
			  "anyway)", v.reason);
		indexer_record(&ic, "", HISTORY_HELD, &v, &c, v.reason, started);
		index_load_free(d);
		redisFree(rc);
		return EXIT_HELD;
	}
	if (v.note[0])
		log_warn("%s", v.note);
	if (signals_stop) {
		log_warn("stopped before loading: the current index is unchanged");
		index_load_free(d);
		redisFree(rc);
		return EXIT_RUNTIME;
	}

	char gen[32];
	int status = index_write(rc, d, gen, sizeof(gen), errstr, sizeof(errstr));
	index_load_free(d);
	redisFree(rc);
	if (status != 0) {
		log_error("index load failed, the current index is unchanged: %s", errstr);
		if (!signals_stop)
			indexer_record(&ic, "", HISTORY_FAILED, NULL, &c, errstr, started);
		return EXIT_RUNTIME;
	}
	double secs = clock_now_s() - start;
	log_info("index loaded: generation %s, %llu dossiers, %llu malformed rows, "
		 "%.2f s (%.0f dossiers/s)", gen, (unsigned long long)c.loaded,
		 (unsigned long long)c.malformed, secs,
		 secs > 0 ? (double)c.loaded / secs : 0.0);
	indexer_record(&ic, gen, HISTORY_PUBLISHED, &v, &c, v.note, started);
	return 0;
}
