/* aij-editions: the editions service, the staff portal (docs/editions.md).
 * Serves what the reporter publishes in its output folder (the reports, the
 * run's summary, the dispositifs it attached, the run history) and the
 * dispositifs attached to dossiers in Redis, over HTTP, to Mission Locale
 * staff and the national team; never reads Kafka.
 *
 * aij-editions --hash-password reads a password on stdin and prints its
 * crypt(3) hash for the users file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "conf.h"
#include "editions.h"
#include "log.h"
#include "referential.h"
#include "signals.h"
#include "users.h"

#define EDITIONS_PASSWORD_MAX 1024

static const char *opt_listen, *opt_users, *opt_out, *opt_communes, *opt_coverage,
	*opt_motifs, *opt_redis, *opt_https, *opt_session_hours, *opt_threads,
	*opt_hash, *opt_log_level;

static const struct conf_opt options[] = {
	{ "listen", "AIJ_LISTEN", "127.0.0.1:8080", "ADDR:PORT",
	  "where to listen (0.0.0.0:8080, [::1]:8080; port 0 picks one)", &opt_listen },
	{ "users", "AIJ_USERS", NULL, "FILE",
	  "the users file (login;token_sha256;structure;droits;password_hash) (required)",
	  &opt_users },
	{ "out", "AIJ_OUT", NULL, "DIR",
	  "the reporter's output folder: reports/, attached/, summary.json, runs.json "
	  "(required)", &opt_out },
	{ "communes", "AIJ_COMMUNES", REF_DEFAULT_COMMUNES, "FILE",
	  "communes referential (code_insee;code_postal;nom_commune)", &opt_communes },
	{ "coverage", "AIJ_COVERAGE", NULL, "FILE",
	  "ML coverage zones (ml_code;ml_nom;code_postal): ML names, and why a line is "
	  "in the national report", &opt_coverage },
	{ "motifs", "AIJ_MOTIFS", REF_DEFAULT_MOTIFS, "FILE",
	  "exit reasons (code;libelle), their labels", &opt_motifs },
	{ "redis", "AIJ_REDIS", "127.0.0.1:6379", "HOST:PORT",
	  "Redis of the dossier index: the dispositifs attached to dossiers", &opt_redis },
	{ "behind-https", "AIJ_BEHIND_HTTPS", NULL, NULL,
	  "the service is reached through HTTPS (a reverse proxy): the session cookie "
	  "gets Secure", &opt_https },
	{ "session-hours", "AIJ_SESSION_HOURS", "8", "H",
	  "a session lasts that long after logging in", &opt_session_hours },
	{ "threads", "AIJ_THREADS", "4", "N", "threads answering requests", &opt_threads },
	{ "hash-password", NULL, NULL, NULL,
	  "read a password on stdin, print its hash (yescrypt) for the users file, exit",
	  &opt_hash },
	CONF_OPT_LOG_LEVEL(&opt_log_level),
	{ NULL, NULL, NULL, NULL, NULL, NULL }
};

/* --hash-password: one line of stdin (its line end aside) hashed; typed on
 * a terminal, it is not echoed. */
static int main_hash_password(void)
{
	char *line = NULL;
	size_t cap = 0;
	struct termios saved, quiet;
	int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (tty) {
		fprintf(stderr, "password (not shown): ");
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	ssize_t len = getline(&line, &cap, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
		fputc('\n', stderr);
	}
	if (len < 0) {
		fprintf(stderr, "aij-editions: no password on stdin\n");
		free(line);
		return 2;
	}
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	int rc = 0;
	if (len == 0 || len > EDITIONS_PASSWORD_MAX) {
		fprintf(stderr, "aij-editions: the password is empty or longer than %d bytes\n",
			EDITIONS_PASSWORD_MAX);
		rc = 2;
	} else {
		char errstr[256];
		char *hash = users_password_hash(line, errstr, sizeof(errstr));
		if (hash) {
			printf("%s\n", hash);
			free(hash);
		} else {
			fprintf(stderr, "aij-editions: %s\n", errstr);
			rc = 1;
		}
	}
	OPENSSL_cleanse(line, cap);
	free(line);
	return rc;
}

/* Times for people are in Europe/Paris, whatever the machine's zone
 * (log_init() set it: clock_use_paris()); say so when tzdata is missing. */
static void main_timezone(void)
{
	/* 1 July 2026 at noon UTC is 14:00 in Paris: else tzdata is missing. */
	time_t t = 1782907200;
	struct tm tm;
	localtime_r(&t, &tm);
	if (tm.tm_hour != 14)
		log_warn("time zone 'Europe/Paris' unknown (is tzdata installed?): times "
			 "are shown in UTC");
}

int main(int argc, char **argv)
{
	char errstr[1024];
	log_init("editions", NULL);
	int rc = conf_parse(options, argc, argv, errstr, sizeof(errstr));
	if (rc == 1) {
		conf_usage(stdout, "aij-editions",
			   "Serves the reports, the dispositifs attached to dossiers and the "
			   "run history to Mission Locale staff, over HTTP.",
			   options);
		return 0;
	}
	if (rc == 0 && opt_hash && conf_true(opt_hash))
		return main_hash_password();
	long hours = 0, threads = 0;
	if (rc == 0 && log_level_set_name(opt_log_level, errstr, sizeof(errstr)))
		rc = -1;
	if (rc == 0 && (!opt_users || !*opt_users)) {
		snprintf(errstr, sizeof(errstr), "option '--users' is required");
		rc = -1;
	}
	if (rc == 0 && (!opt_out || !*opt_out)) {
		snprintf(errstr, sizeof(errstr), "option '--out' is required");
		rc = -1;
	}
	if (rc == 0)
		rc = conf_long("session-hours", opt_session_hours, 1, 24 * 7, &hours, errstr,
			       sizeof(errstr));
	if (rc == 0)
		rc = conf_long("threads", opt_threads, 1, 64, &threads, errstr, sizeof(errstr));
	if (rc) {
		log_error("%s", errstr);
		return 2;
	}
	signals_install();
	main_timezone();

	int has_coverage = opt_coverage && *opt_coverage;
	struct referential *ref = referential_load(opt_communes, opt_motifs,
						   has_coverage ? opt_coverage : NULL,
						   errstr, sizeof(errstr));
	if (!ref) {
		log_error("%s", errstr);
		return 2;
	}
	struct editions_conf econf = {
		.listen = opt_listen, .dir = opt_out, .users = opt_users,
		.redis = opt_redis, .ref = ref, .has_communes = 1,
		.has_coverage = has_coverage, .secure_cookies = opt_https && conf_true(opt_https),
		.session_ttl_s = hours * 3600, .threads = (unsigned)threads,
	};
	struct editions *e = editions_start(&econf, errstr, sizeof(errstr));
	if (!e) {
		log_error("%s", errstr);
		referential_free(ref);
		return 2;
	}
	while (!signals_stop)
		pause();
	editions_stop(e);
	referential_free(ref);
	log_info("stopped");
	return 0;
}
