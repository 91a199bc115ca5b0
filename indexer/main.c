/* aij-indexer: loads the i-milo dossier export (SPEC §2.3) into a new
 * generation of the Redis index, switches the matchers to it atomically and
 * deletes the previous one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "conf.h"
#include "dossier_index.h"
#include "log.h"
#include "signals.h"

int main(int argc, char **argv)
{
	const char *dossiers, *redis, *level_name;
	const struct conf_opt opts[] = {
		{ "dossiers", "AIJ_DOSSIERS", NULL, "FILE",
		  "the dossier export (dossier_id;ml_code;...)", &dossiers },
		{ "redis", "AIJ_REDIS", "127.0.0.1:6379", "HOST:PORT",
		  "the Redis holding the index", &redis },
		CONF_OPT_LOG_LEVEL(&level_name),
		{ NULL, NULL, NULL, NULL, NULL, NULL },
	};
	char errstr[512];
	log_init("indexer", NULL);
	int parsed = conf_parse(opts, argc, argv, errstr, sizeof(errstr));
	if (parsed == 1) {
		conf_usage(stdout, "aij-indexer",
			   "Loads the dossier export into a new generation of the Redis "
			   "index and switches to it.", opts);
		return 0;
	}
	if (parsed < 0) {
		log_error("%s", errstr);
		return 2;
	}
	if (log_level_set_name(level_name, errstr, sizeof(errstr))) {
		log_error("%s", errstr);
		return 2;
	}
	if (!dossiers) {
		log_error("missing --dossiers FILE (see --help)");
		return 2;
	}
	char host[256];
	int port;
	if (index_parse_addr(redis, host, sizeof(host), &port, errstr, sizeof(errstr))) {
		log_error("%s", errstr);
		return 2;
	}
	signals_install();

	double start = clock_now_s();
	FILE *in = fopen(dossiers, "r");
	if (!in) {
		log_error("cannot open '%s': %s", dossiers, strerror(errno));
		return 2;
	}
	/* Connect first: no point reading 2M rows for a Redis that is not there. */
	redisContext *rc = index_connect(redis, 10000, errstr, sizeof(errstr));
	if (!rc) {
		log_error("%s", errstr);
		fclose(in);
		return 1;
	}

	log_info("reading '%s'", dossiers);
	struct index_counts c;
	struct index_data *d = index_read(in, dossiers, &c, errstr, sizeof(errstr));
	fclose(in);
	if (!d) {
		log_error("%s", errstr);
		redisFree(rc);
		return signals_stop ? 1 : 2;
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
	if (signals_stop) {
		log_warn("stopped before loading: the current index is unchanged");
		index_data_free(d);
		redisFree(rc);
		return 1;
	}

	char gen[32];
	int status = index_publish(rc, d, gen, sizeof(gen), errstr, sizeof(errstr));
	index_data_free(d);
	redisFree(rc);
	if (status != 0) {
		log_error("index load failed, the current index is unchanged: %s", errstr);
		return 1;
	}
	double secs = clock_now_s() - start;
	log_info("index loaded: generation %s, %llu dossiers, %llu malformed rows, "
		 "%.2f s (%.0f dossiers/s)", gen, (unsigned long long)c.loaded,
		 (unsigned long long)c.malformed, secs,
		 secs > 0 ? (double)c.loaded / secs : 0.0);
	return 0;
}
