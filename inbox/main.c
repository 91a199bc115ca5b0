/* aij-inbox: the unattended service. Watches an inbox folder, loads each
 * dossier export dropped into INBOX/dossiers/ (aij-indexer) and publishes
 * each week file dropped into INBOX/dispositifs/ (aij-ingest; the reporter,
 * running with --follow, decides and publishes it), then files it into
 * INBOX/archive/ or INBOX/held/. Runs until SIGTERM (exit 0). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "conf.h"
#include "kafka.h"
#include "log.h"
#include "redis.h"
#include "referential.h"
#include "schedule.h"
#include "service.h"
#include "signals.h"

/* The POSIX rule of Europe/Paris (EU rules since 1996), for a system
 * without the tzdata files. */
#define PARIS_TZ_RULE "CET-1CEST,M3.5.0,M10.5.0/3"

/* Checks that local times are Paris's (log_init() set Europe/Paris): a
 * winter and a summer offset; without the tzdata files, uses its rule. */
static int inbox_tz(char *errstr, size_t errstr_size)
{
	for (int i = 0; i < 2; i++) {
		time_t winter = 1767225600; /* 2026-01-01T00:00:00Z */
		time_t summer = 1782864000; /* 2026-07-01T00:00:00Z */
		struct tm w, s;
		localtime_r(&winter, &w);
		localtime_r(&summer, &s);
		if (w.tm_gmtoff == 3600 && s.tm_gmtoff == 7200) {
			if (i > 0)
				log_info("no tzdata for Europe/Paris: using its rule '%s'",
					 PARIS_TZ_RULE);
			return 0;
		}
		setenv("TZ", PARIS_TZ_RULE, 1);
		tzset();
	}
	snprintf(errstr, errstr_size, "cannot set the time zone Europe/Paris");
	return -1;
}

static int readable(const char *what, const char *path, char *errstr, size_t errstr_size)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(errstr, errstr_size, "cannot read %s '%s': %s", what, path,
			 strerror(errno));
		return -1;
	}
	fclose(f);
	return 0;
}

/* An absolute version of path into out (the messages name the folders
 * whole). Returns 0, or -1 when it does not fit. */
static int absolute(const char *path, char *out, size_t size)
{
	char cwd[PATH_MAX];
	int n;
	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		n = snprintf(out, size, "%s", path);
	else
		n = snprintf(out, size, "%s/%s", cwd, path);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* The options, as given. */
struct inbox_opts {
	const char *watch, *out, *redis, *brokers, *communes, *motifs, *settle,
		*schedule, *run_id, *bin, *new_broker, *log_level;
	long settle_s;
	struct inbox_conf *c; /* out: its schedule */
};

/* The checks of conf_program_parse(): the values in force, converted. */
static int inbox_opts_check(void *arg, char *errstr, size_t errstr_size)
{
	struct inbox_opts *o = arg;
	char host[256];
	int port;
	if (!o->watch || !*o->watch) {
		snprintf(errstr, errstr_size, "missing --watch INBOX (see --help)");
		return -1;
	}
	if (!o->out || !*o->out) {
		snprintf(errstr, errstr_size, "missing --out DIR (see --help)");
		return -1;
	}
	if (conf_long("settle", o->settle, 0, 86400, &o->settle_s, errstr, errstr_size))
		return -1;
	if (o->schedule && *o->schedule) {
		if (schedule_parse(o->schedule, &o->c->schedule, errstr, errstr_size))
			return -1;
		o->c->scheduled = 1;
	}
	if (o->run_id && *o->run_id &&
	    strspn(o->run_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			      "0123456789._-") != strlen(o->run_id)) {
		snprintf(errstr, errstr_size, "option '--run-id': '%s' is not a run id "
			 "(letters, digits, '.', '_', '-')", o->run_id);
		return -1;
	}
	if (redis_parse_addr(o->redis, host, sizeof(host), &port, errstr, errstr_size) ||
	    readable("--communes", o->communes, errstr, errstr_size) ||
	    readable("--motifs", o->motifs, errstr, errstr_size) ||
	    clock_fake_init(errstr, errstr_size))
		return -1;
	return 0;
}

/* Returns 0, or -1 with *exit_code (EXIT_DONE after --help, EXIT_USAGE on
 * bad usage); c gets the schedule. */
static int inbox_opts_parse(int argc, char **argv, struct inbox_opts *o,
			    struct inbox_conf *c, int *exit_code)
{
	memset(o, 0, sizeof(*o));
	o->c = c;
	const struct conf_opt opts[] = {
		{ "watch", "AIJ_WATCH", NULL, "INBOX",
		  "the inbox: dossier exports in INBOX/dossiers/, week files in "
		  "INBOX/dispositifs/ (required)", &o->watch },
		{ "out", "AIJ_OUT", NULL, "DIR",
		  "the reporter's output folder: its run history DIR/runs.json (required)",
		  &o->out },
		{ "redis", "AIJ_REDIS", "127.0.0.1:6379", "HOST:PORT",
		  "the Redis of the dossier index", &o->redis },
		{ "brokers", "AIJ_BROKERS", KAFKA_DEFAULT_BROKERS, "ADDR",
		  "Kafka bootstrap servers (for aij-ingest)", &o->brokers },
		{ "communes", "AIJ_COMMUNES", REF_DEFAULT_COMMUNES, "FILE",
		  "communes referential (for aij-ingest)", &o->communes },
		{ "motifs", "AIJ_MOTIFS", REF_DEFAULT_MOTIFS, "FILE",
		  "exit reasons (for aij-ingest)", &o->motifs },
		{ "settle", "AIJ_SETTLE", "30", "SEC",
		  "a file without a '<name>.done' marker is complete once its size and "
		  "time stayed the same this long", &o->settle },
		{ "schedule", "AIJ_SCHEDULE", NULL, "'DAY HH:MM'",
		  "take complete files only at this time, Europe/Paris (e.g. 'sun 02:00'; "
		  "DAY: mon..sun or daily); default: at once", &o->schedule },
		{ "run-id", "AIJ_RUN_ID", NULL, "ID",
		  "run id of every week (default: the ISO week when the file is taken, "
		  "e.g. 2026-W49)", &o->run_id },
		{ "bin", "AIJ_BIN", NULL, "DIR",
		  "the folder of aij-indexer and aij-ingest (default: this program's)",
		  &o->bin },
		{ "new-broker", "AIJ_NEW_BROKER", NULL, NULL,
		  "the broker keeps nothing across restarts (deploy/aij-local's): a week "
		  "interrupted after its ingest runs again at start", &o->new_broker },
		CONF_OPT_LOG_LEVEL(&o->log_level),
		{ NULL, NULL, NULL, NULL, NULL, NULL },
	};
	const struct conf_program prog = {
		.name = "aij-inbox",
		.summary = "Watches an inbox folder: loads each dossier export, publishes "
			   "each week file\n(the reporter decides), files it into archive/ "
			   "or held/; until SIGTERM.",
		.opts = opts, .check = inbox_opts_check, .arg = o,
	};
	return conf_program_parse(&prog, argc, argv, exit_code);
}

/* The absolute paths the service is given (the messages name the folders
 * whole). */
struct inbox_paths {
	char bin[PATH_MAX], watch[PATH_MAX], out[PATH_MAX];
	char communes[PATH_MAX], motifs[PATH_MAX];
};

/* Fills c from the options, its paths in p (which must outlive c); checks
 * that the programs it runs are there. Returns 0, or the exit code (logged). */
static int inbox_setup(const struct inbox_opts *o, struct inbox_paths *p,
		       struct inbox_conf *c)
{
	char errstr[1024];
	if (inbox_tz(errstr, sizeof(errstr)) < 0) {
		log_error("%s", errstr);
		return EXIT_RUNTIME;
	}
	if (absolute(o->watch, p->watch, sizeof(p->watch)) < 0 ||
	    absolute(o->out, p->out, sizeof(p->out)) < 0 ||
	    absolute(o->communes, p->communes, sizeof(p->communes)) < 0 ||
	    absolute(o->motifs, p->motifs, sizeof(p->motifs)) < 0 ||
	    (o->bin && *o->bin && absolute(o->bin, p->bin, sizeof(p->bin)) < 0)) {
		log_error("a path is too long");
		return EXIT_USAGE;
	}
	if (!o->bin || !*o->bin) {
		if (child_self_dir(p->bin, sizeof(p->bin), errstr, sizeof(errstr)) < 0) {
			log_error("%s", errstr);
			return EXIT_RUNTIME;
		}
	}
	const char *programs[] = { "aij-indexer", "aij-ingest" };
	for (size_t i = 0; i < 2; i++) {
		char path[PATH_MAX + 32];
		snprintf(path, sizeof(path), "%s/%s", p->bin, programs[i]);
		if (access(path, X_OK) < 0) {
			log_error("program '%s' not found (%s): build it with 'make', or set "
				  "--bin / AIJ_BIN", path, strerror(errno));
			return EXIT_RUNTIME;
		}
	}
	c->watch = p->watch;
	c->out = p->out;
	c->redis = o->redis;
	c->brokers = o->brokers;
	c->communes = p->communes;
	c->motifs = p->motifs;
	c->run_id = o->run_id && *o->run_id ? o->run_id : NULL;
	c->bin = p->bin;
	c->settle_s = o->settle_s;
	c->new_broker = o->new_broker && conf_true(o->new_broker);
	return 0;
}

int main(int argc, char **argv)
{
	struct inbox_opts o;
	struct inbox_conf c = { 0 };
	struct inbox_paths paths;
	int code = 0;
	char errstr[1024];
	log_init("inbox", NULL);
	if (inbox_opts_parse(argc, argv, &o, &c, &code) < 0)
		return code;
	if ((code = inbox_setup(&o, &paths, &c)) != 0)
		return code;

	signals_install();
	if (service_run(&c, errstr, sizeof(errstr)) < 0) {
		log_error("%s", errstr);
		return EXIT_RUNTIME;
	}
	return EXIT_DONE;
}
