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

#define EXIT_FAILURE_RT 1
#define EXIT_USAGE 2

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

int main(int argc, char **argv)
{
	const char *watch, *out, *redis, *brokers, *communes, *motifs, *settle,
		*schedule, *run_id, *bin, *new_broker, *level_name;
	const struct conf_opt opts[] = {
		{ "watch", "AIJ_WATCH", NULL, "INBOX",
		  "the inbox: dossier exports in INBOX/dossiers/, week files in "
		  "INBOX/dispositifs/ (required)", &watch },
		{ "out", "AIJ_OUT", NULL, "DIR",
		  "the reporter's output folder: its run history DIR/runs.json (required)",
		  &out },
		{ "redis", "AIJ_REDIS", "127.0.0.1:6379", "HOST:PORT",
		  "the Redis of the dossier index", &redis },
		{ "brokers", "AIJ_BROKERS", KAFKA_DEFAULT_BROKERS, "ADDR",
		  "Kafka bootstrap servers (for aij-ingest)", &brokers },
		{ "communes", "AIJ_COMMUNES", REF_DEFAULT_COMMUNES, "FILE",
		  "communes referential (for aij-ingest)", &communes },
		{ "motifs", "AIJ_MOTIFS", REF_DEFAULT_MOTIFS, "FILE",
		  "exit reasons (for aij-ingest)", &motifs },
		{ "settle", "AIJ_SETTLE", "30", "SEC",
		  "a file without a '<name>.done' marker is complete once its size and "
		  "time stayed the same this long", &settle },
		{ "schedule", "AIJ_SCHEDULE", NULL, "'DAY HH:MM'",
		  "take complete files only at this time, Europe/Paris (e.g. 'sun 02:00'; "
		  "DAY: mon..sun or daily); default: at once", &schedule },
		{ "run-id", "AIJ_RUN_ID", NULL, "ID",
		  "run id of every week (default: the ISO week when the file is taken, "
		  "e.g. 2026-W49)", &run_id },
		{ "bin", "AIJ_BIN", NULL, "DIR",
		  "the folder of aij-indexer and aij-ingest (default: this program's)", &bin },
		{ "new-broker", "AIJ_NEW_BROKER", NULL, NULL,
		  "the broker keeps nothing across restarts (deploy/aij-local's): a week "
		  "interrupted after its ingest runs again at start", &new_broker },
		CONF_OPT_LOG_LEVEL(&level_name),
		{ NULL, NULL, NULL, NULL, NULL, NULL },
	};
	char errstr[1024];
	log_init("inbox", NULL);
	int parsed = conf_parse(opts, argc, argv, errstr, sizeof(errstr));
	if (parsed == 1) {
		conf_usage(stdout, "aij-inbox",
			   "Watches an inbox folder: loads each dossier export, publishes "
			   "each week file\n(the reporter decides), files it into archive/ "
			   "or held/; until SIGTERM.", opts);
		return 0;
	}
	struct inbox_conf c = { 0 };
	long settle_s = 0;
	char host[256];
	int port;
	if (parsed == 0 && log_level_set_name(level_name, errstr, sizeof(errstr)))
		parsed = -1;
	if (parsed == 0 && (!watch || !*watch)) {
		snprintf(errstr, sizeof(errstr), "missing --watch INBOX (see --help)");
		parsed = -1;
	}
	if (parsed == 0 && (!out || !*out)) {
		snprintf(errstr, sizeof(errstr), "missing --out DIR (see --help)");
		parsed = -1;
	}
	if (parsed == 0)
		parsed = conf_long("settle", settle, 0, 86400, &settle_s, errstr, sizeof(errstr));
	if (parsed == 0 && schedule && *schedule) {
		parsed = schedule_parse(schedule, &c.schedule, errstr, sizeof(errstr));
		c.scheduled = parsed == 0;
	}
	if (parsed == 0 && run_id && *run_id &&
	    strspn(run_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			   "0123456789._-") != strlen(run_id)) {
		snprintf(errstr, sizeof(errstr), "option '--run-id': '%s' is not a run id "
			 "(letters, digits, '.', '_', '-')", run_id);
		parsed = -1;
	}
	if (parsed == 0)
		parsed = redis_parse_addr(redis, host, sizeof(host), &port, errstr,
					  sizeof(errstr));
	if (parsed == 0)
		parsed = readable("--communes", communes, errstr, sizeof(errstr));
	if (parsed == 0)
		parsed = readable("--motifs", motifs, errstr, sizeof(errstr));
	if (parsed == 0)
		parsed = clock_fake_init(errstr, sizeof(errstr));
	if (parsed < 0) {
		log_error("%s", errstr);
		return EXIT_USAGE;
	}
	if (inbox_tz(errstr, sizeof(errstr)) < 0) {
		log_error("%s", errstr);
		return EXIT_FAILURE_RT;
	}

	char bin_dir[PATH_MAX], watch_abs[PATH_MAX], out_abs[PATH_MAX];
	char communes_abs[PATH_MAX], motifs_abs[PATH_MAX];
	if (absolute(watch, watch_abs, sizeof(watch_abs)) < 0 ||
	    absolute(out, out_abs, sizeof(out_abs)) < 0 ||
	    absolute(communes, communes_abs, sizeof(communes_abs)) < 0 ||
	    absolute(motifs, motifs_abs, sizeof(motifs_abs)) < 0 ||
	    (bin && *bin && absolute(bin, bin_dir, sizeof(bin_dir)) < 0)) {
		log_error("a path is too long");
		return EXIT_USAGE;
	}
	if (!bin || !*bin) {
		if (child_self_dir(bin_dir, sizeof(bin_dir), errstr, sizeof(errstr)) < 0) {
			log_error("%s", errstr);
			return EXIT_FAILURE_RT;
		}
	}
	const char *programs[] = { "aij-indexer", "aij-ingest" };
	for (size_t i = 0; i < 2; i++) {
		char path[PATH_MAX + 32];
		snprintf(path, sizeof(path), "%s/%s", bin_dir, programs[i]);
		if (access(path, X_OK) < 0) {
			log_error("program '%s' not found (%s): build it with 'make', or set "
				  "--bin / AIJ_BIN", path, strerror(errno));
			return EXIT_FAILURE_RT;
		}
	}
	c.watch = watch_abs;
	c.out = out_abs;
	c.redis = redis;
	c.brokers = brokers;
	c.communes = communes_abs;
	c.motifs = motifs_abs;
	c.run_id = run_id && *run_id ? run_id : NULL;
	c.bin = bin_dir;
	c.settle_s = settle_s;
	c.new_broker = new_broker && conf_true(new_broker);

	signals_install();
	if (service_run(&c, errstr, sizeof(errstr)) < 0) {
		log_error("%s", errstr);
		return EXIT_FAILURE_RT;
	}
	return 0;
}
