/* aij-editions: the editions service (docs/editions.md). Serves what the
 * reporter publishes in its output folder (the reports, the run's summary)
 * and the dispositifs attached to dossiers in Redis, over HTTP, to Mission
 * Locale staff and the national team; never reads Kafka. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "editions.h"
#include "log.h"
#include "referential.h"
#include "signals.h"

static const char *opt_listen, *opt_users, *opt_out, *opt_communes, *opt_coverage,
	*opt_redis, *opt_log_level;

static const struct conf_opt options[] = {
	{ "listen", "AIJ_LISTEN", "127.0.0.1:8080", "ADDR:PORT",
	  "where to listen (0.0.0.0:8080, [::1]:8080; port 0 picks one)", &opt_listen },
	{ "users", "AIJ_USERS", NULL, "FILE",
	  "the users file (login;token_sha256;structure;droits) (required)", &opt_users },
	{ "out", "AIJ_OUT", NULL, "DIR",
	  "the reporter's output folder: reports/, summary.json (required)", &opt_out },
	{ "communes", "AIJ_COMMUNES", REF_DEFAULT_COMMUNES, "FILE",
	  "communes referential (code_insee;code_postal;nom_commune)", &opt_communes },
	{ "coverage", "AIJ_COVERAGE", NULL, "FILE",
	  "ML coverage zones (ml_code;ml_nom;code_postal): the ML names", &opt_coverage },
	{ "redis", "AIJ_REDIS", "127.0.0.1:6379", "HOST:PORT",
	  "Redis of the dossier index: the dispositifs attached to dossiers", &opt_redis },
	CONF_OPT_LOG_LEVEL(&opt_log_level),
	{ NULL, NULL, NULL, NULL, NULL, NULL }
};

int main(int argc, char **argv)
{
	char errstr[1024];
	log_init("editions", NULL);
	int rc = conf_parse(options, argc, argv, errstr, sizeof(errstr));
	if (rc == 1) {
		conf_usage(stdout, "aij-editions",
			   "Serves the reports, the run history and the dispositifs "
			   "attached to dossiers to Mission Locale staff, over HTTP.",
			   options);
		return 0;
	}
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
	if (rc) {
		log_error("%s", errstr);
		return 2;
	}
	signals_install();

	struct referential *ref = referential_load(
		access(opt_communes, R_OK) == 0 ? opt_communes : NULL, NULL,
		opt_coverage && *opt_coverage ? opt_coverage : NULL, errstr, sizeof(errstr));
	if (!ref) {
		log_error("%s", errstr);
		return 2;
	}
	struct editions_conf econf = {
		.listen = opt_listen, .dir = opt_out, .users = opt_users,
		.redis = opt_redis, .ref = ref,
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
