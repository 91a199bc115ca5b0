/* aij-reporter: waits until every record of a run has its outcome, then
 * writes the run's reports, integrated.csv and summary.json (SPEC §5-§7). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "collect.h"
#include "conf.h"
#include "consume.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "publish.h"
#include "referential.h"
#include "signals.h"

#define EXIT_INCOMPLETE 3
#define MISSING_SHOWN 20

static const char *opt_brokers, *opt_topic_outcomes, *opt_topic_runs,
	*opt_run_id, *opt_out, *opt_communes, *opt_coverage, *opt_stall,
	*opt_group, *opt_once, *opt_log_level, *opt_metrics, *opt_follow;

static const struct conf_opt options[] = {
	{ "brokers", "AIJ_BROKERS", KAFKA_DEFAULT_BROKERS, "ADDR",
	  "Kafka bootstrap servers", &opt_brokers },
	{ "topic-outcomes", "AIJ_TOPIC_OUTCOMES", KAFKA_TOPIC_OUTCOMES, "TOPIC",
	  "topic of the outcomes", &opt_topic_outcomes },
	{ "topic-runs", "AIJ_TOPIC_RUNS", KAFKA_TOPIC_RUNS, "TOPIC",
	  "topic of the run manifests", &opt_topic_runs },
	{ "run-id", "AIJ_RUN_ID", NULL, "ID",
	  "the run to report (required unless --follow)", &opt_run_id },
	{ "follow", "AIJ_FOLLOW", NULL, NULL,
	  "report every run, for ever: the run of the latest manifest, each "
	  "complete one replacing the previous reports (instead of --run-id)",
	  &opt_follow },
	{ "out", "AIJ_OUT", NULL, "DIR",
	  "output folder: reports/, integrated.csv, summary.json (required)", &opt_out },
	{ "communes", "AIJ_COMMUNES", REF_DEFAULT_COMMUNES, "FILE",
	  "communes referential (code_insee;code_postal;nom_commune)", &opt_communes },
	{ "coverage", "AIJ_COVERAGE", NULL, "FILE",
	  "ML coverage zones (ml_code;ml_nom;code_postal) (required)", &opt_coverage },
	{ "stall-timeout", "AIJ_STALL_TIMEOUT", "60", "SEC",
	  "fail when lines are missing and nothing new came for this long", &opt_stall },
	{ "group", "AIJ_GROUP", "aij-reporter", "ID",
	  "consumer group id (nothing is committed)", &opt_group },
	{ "once", "AIJ_ONCE", NULL, NULL,
	  "exit once the run is written (else stay until SIGTERM)", &opt_once },
	{ "metrics", "AIJ_METRICS", NULL, "ADDR:PORT",
	  "serve GET /metrics and GET /healthz over HTTP there (the editions "
	  "are aij-editions')", &opt_metrics },
	CONF_OPT_LOG_LEVEL(&opt_log_level),
	{ NULL, NULL, NULL, NULL, NULL, NULL }
};

/* The loud failure of a run that cannot complete: which lines are missing. */
static void run_incomplete(const struct collect *c, int stall_s)
{
	if (!c->have_manifest) {
		log_error("run %s incomplete: no manifest, %llu outcomes received "
			  "(nothing new for %d s; nothing written): did ingest finish?",
			  c->run_id, (unsigned long long)c->received, stall_s);
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
	log_error("run %s incomplete: %llu of %llu lines have no outcome: lines %s "
		  "(nothing new for %d s; nothing written)", c->run_id,
		  (unsigned long long)missing, (unsigned long long)c->records,
		  list, stall_s);
}

/* Writes every output of the complete run c into dir, atomically, and
 * says so. */
static int write_outputs(const char *dir, struct collect *c,
			 const struct referential *ref,
			 char *errstr, size_t errstr_size)
{
	size_t n_reports = 0;
	if (publish_run(dir, c, ref, &n_reports, errstr, errstr_size))
		return -1;
	log_info("run %s written to '%s': %zu lines, %zu integrated, %zu failed, "
		 "%zu reports", c->run_id, dir, c->n_failed + c->n_integrated,
		 c->n_integrated, c->n_failed, n_reports);
	metrics_written(c, n_reports);
	return 0;
}

/* The run id of dir/summary.json (a copy, free() it), or NULL. */
static char *written_run_id(const char *dir)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/summary.json", dir);
	json_t *j = json_load_file(path, 0, NULL);
	const char *id = j ? json_string_value(json_object_get(j, "run_id")) : NULL;
	char *copy = id ? strdup(id) : NULL;
	json_decref(j);
	return copy;
}

struct follow_ctx {
	const char *out;
	const struct referential *ref;
};

static int follow_on_complete(struct collect *c, void *arg)
{
	const struct follow_ctx *fc = arg;
	char errstr[1024];
	if (write_outputs(fc->out, c, fc->ref, errstr, sizeof(errstr)) < 0) {
		log_error("run %s complete but not written: %s", c->run_id, errstr);
		return -1;
	}
	return 0;
}

static void follow_on_stalled(const struct collect *c, int stall_s, void *arg)
{
	(void)arg;
	run_incomplete(c, stall_s);
	log_warn("still waiting for run %s (a newer run replaces it)", c->run_id);
}

/* --follow: every run, until SIGTERM. Returns the exit code. */
static int main_follow(const struct consume_opts *copts,
		       const struct referential *ref)
{
	char errstr[1024];
	char *written = written_run_id(opt_out);
	struct follow_ctx fc = { .out = opt_out, .ref = ref };
	struct consume_follow_hooks hooks = {
		.on_complete = follow_on_complete,
		.on_stalled = follow_on_stalled,
		.arg = &fc,
	};
	log_info("following every run on %s (reports into '%s'%s%s)", copts->brokers,
		 opt_out, written ? "; written already: run " : "", written ? written : "");
	enum consume_result res = consume_follow(copts, written, &hooks,
						 errstr, sizeof(errstr));
	free(written);
	if (res == CONSUME_STOPPED) {
		log_info("stopped");
		return 0;
	}
	log_error("%s", errstr);
	return 1;
}

int main(int argc, char **argv)
{
	char errstr[1024];
	log_init("reporter", NULL);
	int rc = conf_parse(options, argc, argv, errstr, sizeof(errstr));
	if (rc == 1) {
		conf_usage(stdout, "aij-reporter",
			   "Writes a run's reports once every record has its outcome.",
			   options);
		return 0;
	}
	long stall = 0;
	if (rc == 0 && log_level_set_name(opt_log_level, errstr, sizeof(errstr)))
		rc = -1;
	/* --follow reports every run. */
	int following = opt_follow && conf_true(opt_follow);
	if (rc == 0 && following && opt_run_id && *opt_run_id) {
		snprintf(errstr, sizeof(errstr),
			 "options '--follow' and '--run-id' exclude each other");
		rc = -1;
	}
	if (rc == 0 && !following && (!opt_run_id || !*opt_run_id)) {
		snprintf(errstr, sizeof(errstr), "option '--run-id' is required");
		rc = -1;
	}
	if (rc == 0 && (!opt_out || !*opt_out)) {
		snprintf(errstr, sizeof(errstr), "option '--out' is required");
		rc = -1;
	}
	if (rc == 0 && (!opt_coverage || !*opt_coverage)) {
		snprintf(errstr, sizeof(errstr), "option '--coverage' is required");
		rc = -1;
	}
	if (rc == 0)
		rc = conf_long("stall-timeout", opt_stall, 1, 86400 * 7, &stall,
			       errstr, sizeof(errstr));
	if (rc) {
		log_error("%s", errstr);
		return 2;
	}
	log_set_run(opt_run_id);
	signals_install();

	/* Reference data first: a bad file is a usage error, before any wait. */
	struct referential *ref = referential_load(opt_communes, NULL, opt_coverage,
						   errstr, sizeof(errstr));
	if (!ref) {
		log_error("%s", errstr);
		return 2;
	}

	struct metrics_server *metrics = NULL;
	if (opt_metrics && *opt_metrics) {
		metrics = metrics_serve(opt_metrics, errstr, sizeof(errstr));
		if (!metrics) {
			log_error("%s", errstr);
			referential_free(ref);
			return 2;
		}
	}

	struct consume_opts copts = {
		.brokers = opt_brokers,
		.group = opt_group,
		.topic_outcomes = opt_topic_outcomes,
		.topic_runs = opt_topic_runs,
		.stall_timeout_s = (int)stall,
		.progress_s = 5,
	};
	if (following) {
		int code = main_follow(&copts, ref);
		metrics_serve_stop(metrics);
		referential_free(ref);
		return code;
	}

	struct collect c;
	if (collect_init(&c, opt_run_id, NULL, errstr, sizeof(errstr))) {
		log_error("%s", errstr);
		collect_release(&c);
		metrics_serve_stop(metrics);
		referential_free(ref);
		return 1;
	}
	log_info("waiting for the outcomes of run %s on %s", opt_run_id, opt_brokers);
	int status = 0;
	switch (consume_run(&copts, &c, errstr, sizeof(errstr))) {
	case CONSUME_COMPLETE:
		if (write_outputs(opt_out, &c, ref, errstr, sizeof(errstr))) {
			log_error("%s", errstr);
			status = 1;
		}
		break;
	case CONSUME_STALLED:
		run_incomplete(&c, (int)stall);
		status = EXIT_INCOMPLETE;
		break;
	case CONSUME_STOPPED:
		log_warn("stopped before the run was complete: nothing written");
		status = 1;
		break;
	case CONSUME_ERROR:
		log_error("%s", errstr);
		status = 1;
		break;
	}
	collect_release(&c);

	if (status == 0 && !conf_true(opt_once)) {
		/* A service: stay up for the supervisor until told to stop. */
		log_info("run written; staying up until SIGTERM (--once to exit)");
		while (!signals_stop)
			pause();
	}
	metrics_serve_stop(metrics);
	referential_free(ref);
	return status;
}
