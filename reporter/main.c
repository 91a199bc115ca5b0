/* aij-reporter: waits until every record of a run has its outcome, decides
 * the run with the guards (lib/guard.h), then publishes it in one step:
 * the dispositifs attached to their dossiers, the reports, integrated.csv,
 * attached/ and summary.json (SPEC §5-§7, lib/publish.h), and the run
 * history DIR/runs.json. A held run publishes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "collect.h"
#include "conf.h"
#include "consume.h"
#include "guard.h"
#include "history.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "publish.h"
#include "referential.h"
#include "signals.h"

#define MISSING_SHOWN   20

struct reporter_conf {
	const char *brokers, *topic_outcomes, *topic_runs, *run_id, *attempt, *out;
	const char *communes, *coverage, *stall, *group, *once, *log_level, *kafka_conf;
	const char *metrics, *redis, *follow, *attach_retry;
	const char *max_invalid, *max_columns, *max_technical;
	long stall_s, attach_retry_s;
	struct guard_limits limits;
};

/* What deciding and publishing a run needs. */
struct reporter {
	const struct reporter_conf *conf;
	const struct referential *ref;
	char history[4200];          /* DIR/runs.json */
	char stalled_attempt[320];   /* the stalled attempt recorded as failed, */
	int stalled_recorded;        /* once */
};

/* Parses a percentage option into *pct. 0, or -1 with errstr. */
static int reporter_pct(const char *name, const char *text, double *pct,
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
static int reporter_conf_check(void *arg, char *errstr, size_t errstr_size)
{
	struct reporter_conf *conf = arg;
	int following = conf->follow && conf_true(conf->follow);
	if (following && conf->run_id && *conf->run_id) {
		snprintf(errstr, errstr_size,
			 "options '--follow' and '--run-id' exclude each other");
		return -1;
	}
	if (!following && (!conf->run_id || !*conf->run_id)) {
		snprintf(errstr, errstr_size, "option '--run-id' is required");
		return -1;
	}
	if (!conf->out || !*conf->out) {
		snprintf(errstr, errstr_size, "option '--out' is required");
		return -1;
	}
	if (!conf->coverage || !*conf->coverage) {
		snprintf(errstr, errstr_size, "option '--coverage' is required");
		return -1;
	}
	struct guard_limits defaults = GUARD_LIMITS_DEFAULT;
	conf->limits = defaults;
	if (conf_long("stall-timeout", conf->stall, 1, 86400 * 7, &conf->stall_s, errstr,
		      errstr_size) ||
	    conf_long("attach-retry", conf->attach_retry, 0, 86400, &conf->attach_retry_s,
		      errstr, errstr_size) ||
	    reporter_pct("max-invalid-pct", conf->max_invalid, &conf->limits.max_invalid_pct,
			 errstr, errstr_size) ||
	    reporter_pct("max-columns-pct", conf->max_columns, &conf->limits.max_columns_pct,
			 errstr, errstr_size) ||
	    reporter_pct("max-technical-pct", conf->max_technical,
			 &conf->limits.max_technical_pct, errstr, errstr_size))
		return -1;
	return 0;
}

/* Returns 0, or -1 with *exit_code (EXIT_DONE after --help, EXIT_USAGE on
 * bad usage). */
static int reporter_conf_parse(int argc, char **argv, struct reporter_conf *conf,
			       int *exit_code)
{
	memset(conf, 0, sizeof(*conf));
	const struct conf_opt opts[] = {
		{ "brokers", "AIJ_BROKERS", KAFKA_DEFAULT_BROKERS, "ADDR",
		  "Kafka bootstrap servers", &conf->brokers },
		{ "topic-outcomes", "AIJ_TOPIC_OUTCOMES", KAFKA_TOPIC_OUTCOMES, "TOPIC",
		  "topic of the outcomes", &conf->topic_outcomes },
		{ "topic-runs", "AIJ_TOPIC_RUNS", KAFKA_TOPIC_RUNS, "TOPIC",
		  "topic of the run manifests", &conf->topic_runs },
		{ "run-id", "AIJ_RUN_ID", NULL, "ID",
		  "the run to report (required unless --follow)", &conf->run_id },
		{ "attempt", "AIJ_ATTEMPT", NULL, "ID",
		  "with --run-id: that attempt of the run only (default: the first "
		  "seen)", &conf->attempt },
		{ "follow", "AIJ_FOLLOW", NULL, NULL,
		  "report every run, for ever: the attempt of the latest manifest, "
		  "each decided and published in turn (instead of --run-id)",
		  &conf->follow },
		{ "out", "AIJ_OUT", NULL, "DIR",
		  "output folder: reports/, integrated.csv, attached/, summary.json, "
		  "runs.json (required)", &conf->out },
		{ "communes", "AIJ_COMMUNES", REF_DEFAULT_COMMUNES, "FILE",
		  "communes referential (code_insee;code_postal;nom_commune)", &conf->communes },
		{ "coverage", "AIJ_COVERAGE", NULL, "FILE",
		  "ML coverage zones (ml_code;ml_nom;code_postal) (required)", &conf->coverage },
		{ "redis", "AIJ_REDIS", "127.0.0.1:6379", "HOST:PORT",
		  "Redis of the dossier index: the dispositifs are attached there when "
		  "a run is published", &conf->redis },
		{ "attach-retry", "AIJ_ATTACH_RETRY", "600", "SEC",
		  "how long a publication retries an unreachable Redis", &conf->attach_retry },
		{ "max-invalid-pct", "AIJ_MAX_INVALID_PCT", "30", "PCT",
		  "hold a week when more of its lines fail validation (01 06 07 08 09)",
		  &conf->max_invalid },
		{ "max-columns-pct", "AIJ_MAX_COLUMNS_PCT", "10", "PCT",
		  "hold a week when more of its lines have code 01 (a column added or "
		  "moved)", &conf->max_columns },
		{ "max-technical-pct", "AIJ_MAX_TECHNICAL_PCT", "1", "PCT",
		  "hold a week when more of its lines have code 10 (Redis unreachable)",
		  &conf->max_technical },
		{ "stall-timeout", "AIJ_STALL_TIMEOUT", "60", "SEC",
		  "fail when lines are missing and nothing new came for this long",
		  &conf->stall },
		{ "group", "AIJ_GROUP", "aij-reporter", "ID",
		  "consumer group id (nothing is committed)", &conf->group },
		{ "kafka-conf", "AIJ_KAFKA_CONF", NULL, "LIST",
		  "extra librdkafka consumer settings, key=value,key=value (after the "
		  "reporter's own: queued.max.messages.kbytes=8192 when following)",
		  &conf->kafka_conf },
		{ "once", "AIJ_ONCE", NULL, NULL,
		  "exit once the run is decided (else stay until SIGTERM)", &conf->once },
		{ "metrics", "AIJ_METRICS", NULL, "ADDR:PORT",
		  "serve GET /metrics and GET /healthz over HTTP there (the editions "
		  "are aij-editions')", &conf->metrics },
		CONF_OPT_LOG_LEVEL(&conf->log_level),
		{ NULL, NULL, NULL, NULL, NULL, NULL }
	};
	const struct conf_program prog = {
		.name = "aij-reporter",
		.summary = "Decides a run once every record has its outcome, and "
			   "publishes it (or holds it).\nExit: 0 published (or the "
			   "same file again), 3 incomplete, 4 held by a guard.",
		.opts = opts, .check = reporter_conf_check, .arg = conf,
	};
	return conf_program_parse(&prog, argc, argv, exit_code);
}

/* The loud failure of a run that cannot complete: which lines are missing. */
static void reporter_incomplete_reason(const struct collect *c, int stall_s,
				       char *reason, size_t reason_size)
{
	if (!c->have_manifest) {
		snprintf(reason, reason_size, "no manifest, %llu outcomes received "
			 "(nothing new for %d s): did ingest finish?",
			 (unsigned long long)c->received, stall_s);
		return;
	}
	uint64_t lines[MISSING_SHOWN];
	size_t n = collect_missing_lines(c, lines, MISSING_SHOWN);
	uint64_t missing = collect_missing_count(c);
	char list[MISSING_SHOWN * 22 + 64] = "";
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%llu",
					i ? ", " : "", (unsigned long long)lines[i]);
	if (missing > n)
		snprintf(list + len, sizeof(list) - len, ", ... (%llu more)",
			 (unsigned long long)(missing - n));
	snprintf(reason, reason_size, "%llu of %llu lines have no outcome: lines %s "
		 "(nothing new for %d s)", (unsigned long long)missing,
		 (unsigned long long)c->records, list, stall_s);
}

/* The history entry of c's attempt (strings borrowed from c and v). */
static struct history_entry reporter_entry(const struct collect *c, const char *status,
					   const char *guard, const char *reason)
{
	struct history_entry e = {
		.kind = HISTORY_KIND_WEEK, .run_id = c->run_id,
		.attempt = c->attempt ? c->attempt : "", .source = c->source_name,
		.sha256 = c->sha256, .status = status, .guard = guard, .reason = reason,
		.lines = c->n_failed + c->n_integrated, .integrated = c->n_integrated,
		.failed = c->n_failed, .started_at = (time_t)c->created_at,
		.finished_at = time(NULL),
	};
	return e;
}

static void reporter_record(struct reporter *r, const struct history_entry *e)
{
	char errstr[512];
	if (history_append(r->history, e, errstr, sizeof(errstr)))
		log_error("run %s: cannot record it in the run history: %s", e->run_id,
			  errstr);
}

/* A run that stalled: said loudly, recorded once as failed. */
static void reporter_stalled(struct reporter *r, const struct collect *c)
{
	char reason[MISSING_SHOWN * 22 + 256];
	reporter_incomplete_reason(c, (int)r->conf->stall_s, reason, sizeof(reason));
	log_error("run %s incomplete: %s; nothing published", c->run_id, reason);
	const char *attempt = c->attempt ? c->attempt : "";
	if (r->stalled_recorded && strcmp(r->stalled_attempt, attempt) == 0)
		return;
	snprintf(r->stalled_attempt, sizeof(r->stalled_attempt), "%s", attempt);
	r->stalled_recorded = 1;
	struct history_entry e = reporter_entry(c, HISTORY_FAILED, GUARD_INCOMPLETE, reason);
	e.lines = c->records;
	e.integrated = e.failed = 0;
	reporter_record(r, &e);
	metrics_verdict(HISTORY_FAILED);
}

/* Counts c's failed lines for the guards (c finished). */
static void reporter_counts(const struct collect *c, struct guard_week *w)
{
	const uint32_t validation = (1u << 1) | (1u << 6) | (1u << 7) | (1u << 8) | (1u << 9);
	for (size_t i = 0; i < c->n_failed; i++) {
		uint32_t mask = c->failed[i].code_mask;
		w->invalid += (mask & validation) != 0;
		w->columns += (mask >> 1) & 1;
		w->technical += (mask >> 10) & 1;
	}
	w->lines = c->n_failed + c->n_integrated;
}

/* Decides the complete run c and publishes it or not. Returns the exit
 * code: 0 published or skipped, 4 held, 1 failed. */
static int reporter_decide(struct reporter *r, struct collect *c)
{
	char errstr[1024];
	if (collect_finish(c, errstr, sizeof(errstr))) {
		log_error("run %s complete but not published: %s", c->run_id, errstr);
		struct history_entry e = reporter_entry(c, HISTORY_FAILED, GUARD_ERROR, errstr);
		reporter_record(r, &e);
		metrics_verdict(HISTORY_FAILED);
		return EXIT_RUNTIME;
	}
	json_t *h = history_load(r->history, errstr, sizeof(errstr));
	if (!h) {
		log_error("run %s complete but not published: %s", c->run_id, errstr);
		metrics_verdict(HISTORY_FAILED);
		return EXIT_RUNTIME;
	}
	struct guard_week w = {
		.run_id = c->run_id, .sha256 = c->sha256, .replay_of = c->replay_of,
		.accept = c->accept, .history = h,
	};
	reporter_counts(c, &w);
	struct guard_verdict v;
	guard_week_decide(&w, &r->conf->limits, &v);
	json_decref(h);

	if (v.status == GUARD_SKIP) {
		log_warn("run %s: %s: nothing done", c->run_id, v.reason);
		struct history_entry e = reporter_entry(c, HISTORY_ALREADY, v.guard, v.reason);
		e.reason_fr = v.reason_fr;
		reporter_record(r, &e);
		metrics_verdict(HISTORY_ALREADY);
		return EXIT_DONE;
	}
	if (v.status == GUARD_HOLD) {
		log_error("run %s held: %s; nothing published (--accept publishes it "
			  "anyway)", c->run_id, v.reason);
		struct history_entry e = reporter_entry(c, HISTORY_HELD, v.guard, v.reason);
		e.reason_fr = v.reason_fr;
		reporter_record(r, &e);
		metrics_verdict(HISTORY_HELD);
		return EXIT_HELD;
	}
	if (v.note[0])
		log_warn("run %s: %s", c->run_id, v.note);

	struct history_entry e = reporter_entry(c, HISTORY_PUBLISHED,
						v.accepted ? v.guard : "", v.note);
	e.accepted = v.accepted;
	e.reason_fr = v.accepted ? v.reason_fr : "";
	json_t *entry = history_entry_json(&e);
	size_t n_reports = 0;
	int published = entry ? publish_run(r->conf->out, c, r->ref, r->conf->redis,
				     (int)r->conf->attach_retry_s, entry, &n_reports,
				     errstr, sizeof(errstr))
		       : -1;
	json_decref(entry);
	if (published == 0) {
		log_info("run %s published in '%s': %zu lines, %zu integrated, %zu failed, "
			 "%zu reports", c->run_id, r->conf->out, c->n_failed + c->n_integrated,
			 c->n_integrated, c->n_failed, n_reports);
		metrics_written(c, n_reports);
		return 0;
	}
	if (!entry)
		snprintf(errstr, sizeof(errstr), "out of memory");
	log_error("run %s complete but not published: %s", c->run_id, errstr);
	if (published != PUBLISH_PENDING) {
		struct history_entry f = reporter_entry(c, HISTORY_FAILED, GUARD_ERROR, errstr);
		reporter_record(r, &f);
	}
	metrics_verdict(HISTORY_FAILED);
	return EXIT_RUNTIME;
}

/* An attempt id identifies one pass: "" (a producer without attempts)
 * does not, and is never taken for decided. */
static int follow_decided(const char *attempt, void *arg)
{
	const struct reporter *r = arg;
	char errstr[512];
	if (!*attempt)
		return 0;
	json_t *h = history_load(r->history, errstr, sizeof(errstr));
	int decided = h && history_find_attempt(h, attempt) != NULL;
	json_decref(h);
	return decided;
}

/* --run-id without --attempt: an attempt of the run decided before (in the
 * history loaded at start, arg) is not the one to collect: a replay or a
 * new ingest of the run comes after it. */
static int once_decided(const char *attempt, void *arg)
{
	return *attempt && history_find_attempt(arg, attempt) != NULL;
}

static void follow_on_complete(struct collect *c, void *arg)
{
	reporter_decide(arg, c);
}

static void follow_on_stalled(const struct collect *c, int stall_s, void *arg)
{
	(void)stall_s;
	reporter_stalled(arg, c);
	log_warn("still waiting for run %s (a newer run replaces it)", c->run_id);
}

/* --follow: every run, until SIGTERM. Returns the exit code. */
static int reporter_follow(struct reporter *r, const struct consume_opts *copts)
{
	char errstr[1024];
	struct consume_follow_hooks hooks = {
		.decided = follow_decided,
		.on_complete = follow_on_complete,
		.on_stalled = follow_on_stalled,
		.arg = r,
	};
	log_info("following every run on %s (publishing into '%s')", copts->brokers,
		 r->conf->out);
	enum consume_result res = consume_follow(copts, &hooks, errstr, sizeof(errstr));
	if (res == CONSUME_STOPPED) {
		log_info("stopped");
		return 0;
	}
	log_error("%s", errstr);
	return EXIT_RUNTIME;
}

/* --run-id: that run only. Returns the exit code. */
static int reporter_once(struct reporter *r, const struct consume_opts *copts)
{
	char errstr[1024];
	const struct reporter_conf *conf = r->conf;
	struct collect c;
	if (collect_init(&c, conf->run_id, conf->attempt, NULL, errstr, sizeof(errstr))) {
		log_error("%s", errstr);
		collect_release(&c);
		return EXIT_RUNTIME;
	}
	json_t *decided = conf->attempt ? NULL
					: history_load(r->history, errstr, sizeof(errstr));
	if (decided) {
		c.skip = once_decided;
		c.skip_arg = decided;
	}
	log_info("waiting for the outcomes of run %s%s%s on %s", conf->run_id,
		 conf->attempt ? ", attempt " : "", conf->attempt ? conf->attempt : "",
		 conf->brokers);
	int status = 0;
	switch (consume_run(copts, &c, errstr, sizeof(errstr))) {
	case CONSUME_COMPLETE:
		status = reporter_decide(r, &c);
		break;
	case CONSUME_STALLED:
		reporter_stalled(r, &c);
		status = EXIT_INCOMPLETE;
		break;
	case CONSUME_STOPPED:
		log_warn("stopped before the run was complete: nothing published");
		status = EXIT_RUNTIME;
		break;
	case CONSUME_ERROR:
		log_error("%s", errstr);
		status = EXIT_RUNTIME;
		break;
	}
	collect_release(&c);
	json_decref(decided);
	return status;
}

/* What main sets up before it waits for runs, and takes down after. */
struct reporter_setup {
	struct referential *ref;
	struct metrics_server *metrics;
};

/* Reference data first (a bad file is a usage error, before any wait),
 * then /metrics and the output folder; finishes a publication left midway.
 * Returns 0, or the exit code (logged; s released). */
static int reporter_setup(const struct reporter_conf *conf, struct reporter_setup *s)
{
	char errstr[1024];
	memset(s, 0, sizeof(*s));
	s->ref = referential_load(conf->communes, NULL, conf->coverage, errstr,
				  sizeof(errstr));
	if (!s->ref) {
		log_error("%s", errstr);
		return EXIT_USAGE;
	}
	if (conf->metrics && *conf->metrics) {
		s->metrics = metrics_serve(conf->metrics, conf->out, errstr, sizeof(errstr));
		if (!s->metrics) {
			log_error("%s", errstr);
			referential_free(s->ref);
			return EXIT_USAGE;
		}
	}
	if (publish_mkdirs(conf->out, errstr, sizeof(errstr)) != 0) {
		log_error("%s", errstr);
		metrics_serve_stop(s->metrics);
		referential_free(s->ref);
		return EXIT_USAGE;
	}
	if (publish_recover(conf->out, conf->redis, (int)conf->attach_retry_s, errstr,
			    sizeof(errstr)) != 0)
		log_error("a publication left midway could not be finished: %s", errstr);
	return 0;
}

static void reporter_shutdown(struct reporter_setup *s)
{
	metrics_serve_stop(s->metrics);
	referential_free(s->ref);
}

int main(int argc, char **argv)
{
	struct reporter_conf conf;
	int code = 0;
	log_init("reporter", NULL);
	if (reporter_conf_parse(argc, argv, &conf, &code) < 0)
		return code;
	log_set_run(conf.run_id);
	signals_install();
	int following = conf.follow && conf_true(conf.follow);

	struct reporter_setup setup;
	if ((code = reporter_setup(&conf, &setup)) != 0)
		return code;
	struct reporter r = { .conf = &conf, .ref = setup.ref };
	snprintf(r.history, sizeof(r.history), "%s/" HISTORY_FILE, conf.out);
	struct consume_opts copts = {
		.brokers = conf.brokers,
		.group = conf.group,
		.kafka_conf = conf.kafka_conf,
		.topic_outcomes = conf.topic_outcomes,
		.topic_runs = conf.topic_runs,
		.stall_timeout_s = (int)conf.stall_s,
		.progress_s = 5,
	};

	if (following)
		code = reporter_follow(&r, &copts);
	else
		code = reporter_once(&r, &copts);
	if (!following && code == EXIT_DONE && !conf_true(conf.once)) {
		/* A service: stay up for the supervisor until told to stop. */
		log_info("run decided; staying up until SIGTERM (--once to exit)");
		while (!signals_stop)
			pause();
	}

	reporter_shutdown(&setup);
	return code;
}
