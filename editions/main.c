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

/* The options, as given. */
struct editions_opts {
	const char *listen, *users, *out, *communes, *coverage, *motifs, *redis,
		*behind_https, *session_hours, *threads, *hash_password, *log_level;
	long hours, nthreads;
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
		return EXIT_USAGE;
	}
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	int code = EXIT_DONE;
	if (len == 0 || len > EDITIONS_PASSWORD_MAX) {
		fprintf(stderr, "aij-editions: the password is empty or longer than %d bytes\n",
			EDITIONS_PASSWORD_MAX);
		code = EXIT_USAGE;
	} else {
		char errstr[256];
		char *hash = users_password_hash(line, errstr, sizeof(errstr));
		if (hash) {
			printf("%s\n", hash);
			free(hash);
		} else {
			fprintf(stderr, "aij-editions: %s\n", errstr);
			code = EXIT_RUNTIME;
		}
	}
	OPENSSL_cleanse(line, cap);
	free(line);
	return code;
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

/* The checks of conf_program_parse(): none but the hashing of a password
 * with --hash-password; else the values in force, converted. */
static int editions_opts_check(void *arg, char *errstr, size_t errstr_size)
{
	struct editions_opts *ec = arg;
	if (ec->hash_password && conf_true(ec->hash_password))
		return 0;
	if (!ec->users || !*ec->users) {
		snprintf(errstr, errstr_size, "option '--users' is required");
		return -1;
	}
	if (!ec->out || !*ec->out) {
		snprintf(errstr, errstr_size, "option '--out' is required");
		return -1;
	}
	if (conf_long("session-hours", ec->session_hours, 1, 24 * 7, &ec->hours, errstr,
		      errstr_size) ||
	    conf_long("threads", ec->threads, 1, 64, &ec->nthreads, errstr, errstr_size))
		return -1;
	return 0;
}

/* Returns 0, or -1 with *exit_code (EXIT_DONE after --help, EXIT_USAGE on
 * bad usage). */
static int editions_opts_parse(int argc, char **argv, struct editions_opts *ec,
			       int *exit_code)
{
	memset(ec, 0, sizeof(*ec));
	const struct conf_opt opts[] = {
		{ "listen", "AIJ_LISTEN", "127.0.0.1:8080", "ADDR:PORT",
		  "where to listen (0.0.0.0:8080, [::1]:8080; port 0 picks one)", &ec->listen },
		{ "users", "AIJ_USERS", NULL, "FILE",
		  "the users file (login;token_sha256;structure;droits;password_hash) (required)",
		  &ec->users },
		{ "out", "AIJ_OUT", NULL, "DIR",
		  "the reporter's output folder: reports/, attached/, summary.json, runs.json "
		  "(required)", &ec->out },
		{ "communes", "AIJ_COMMUNES", REF_DEFAULT_COMMUNES, "FILE",
		  "communes referential (code_insee;code_postal;nom_commune)", &ec->communes },
		{ "coverage", "AIJ_COVERAGE", NULL, "FILE",
		  "ML coverage zones (ml_code;ml_nom;code_postal): ML names, and why a line is "
		  "in the national report", &ec->coverage },
		{ "motifs", "AIJ_MOTIFS", REF_DEFAULT_MOTIFS, "FILE",
		  "exit reasons (code;libelle), their labels", &ec->motifs },
		{ "redis", "AIJ_REDIS", "127.0.0.1:6379", "HOST:PORT",
		  "Redis of the dossier index: the dispositifs attached to dossiers", &ec->redis },
		{ "behind-https", "AIJ_BEHIND_HTTPS", NULL, NULL,
		  "the service is reached through HTTPS (a reverse proxy): the session cookie "
		  "gets Secure", &ec->behind_https },
		{ "session-hours", "AIJ_SESSION_HOURS", "8", "H",
		  "a session lasts that long after logging in", &ec->session_hours },
		{ "threads", "AIJ_THREADS", "4", "N", "threads answering requests", &ec->threads },
		{ "hash-password", NULL, NULL, NULL,
		  "read a password on stdin, print its hash (yescrypt) for the users file, exit",
		  &ec->hash_password },
		CONF_OPT_LOG_LEVEL(&ec->log_level),
		{ NULL, NULL, NULL, NULL, NULL, NULL }
	};
	const struct conf_program prog = {
		.name = "aij-editions",
		.summary = "Serves the reports, the dispositifs attached to dossiers and "
			   "the run history to Mission Locale staff, over HTTP.",
		.opts = opts, .check = editions_opts_check, .arg = ec,
	};
	return conf_program_parse(&prog, argc, argv, exit_code);
}

int main(int argc, char **argv)
{
	struct editions_opts o;
	char errstr[1024];
	int code = EXIT_DONE;
	log_init("editions", NULL);
	if (editions_opts_parse(argc, argv, &o, &code) < 0)
		return code;
	if (o.hash_password && conf_true(o.hash_password))
		return main_hash_password();
	signals_install();
	main_timezone();

	int has_coverage = o.coverage && *o.coverage;
	struct referential *ref = referential_load(o.communes, o.motifs,
						   has_coverage ? o.coverage : NULL,
						   errstr, sizeof(errstr));
	if (!ref) {
		log_error("%s", errstr);
		return EXIT_USAGE;
	}
	struct editions_conf econf = {
		.listen = o.listen, .dir = o.out, .users = o.users,
		.redis = o.redis, .ref = ref, .has_communes = 1,
		.has_coverage = has_coverage,
		.secure_cookies = o.behind_https && conf_true(o.behind_https),
		.session_ttl_s = o.hours * 3600, .threads = (unsigned)o.nthreads,
	};
	/* EXIT_USAGE as before: an address that cannot be listened on, or a
	 * users file that cannot be read. */
	struct editions *e = editions_start(&econf, errstr, sizeof(errstr));
	if (!e) {
		log_error("%s", errstr);
		referential_free(ref);
		return EXIT_USAGE;
	}
	while (!signals_stop)
		pause();
	editions_stop(e);
	referential_free(ref);
	log_info("stopped");
	return EXIT_DONE;
}
