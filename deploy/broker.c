/* aij-broker: a local Kafka-protocol broker for tests and the local run.
 *
 * librdkafka's mock cluster, listening on 127.0.0.1 (an ephemeral port per
 * broker), with the pipeline's topics created up front. Prints the bootstrap
 * address on stdout (and to --ready-file), then waits for SIGTERM/SIGINT.
 *
 * Limits of the mock (librdkafka 2.0.2, src/rdkafka_mock.c): every partition
 * keeps at most 5 MiB or 100,000 message batches and silently drops its
 * oldest batches beyond that; everything lives in memory; the first join of
 * a consumer group waits about 3 s (initial rebalance delay). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "conf.h"
#include "kafka.h"
#include "log.h"
#include "signals.h"

#define BROKER_DEFAULT_TOPICS \
	KAFKA_TOPIC_RECORDS "," KAFKA_TOPIC_OUTCOMES "," KAFKA_TOPIC_RUNS
#define BROKER_MAX_PARTITIONS 1000

struct broker_conf {
	long brokers;
	long partitions;
	const char *topics;
	const char *ready_file;
};

static void broker_on_log(const rd_kafka_t *rk, int level, const char *fac,
			  const char *buf)
{
	(void)rk;
	if (level <= 3)
		log_error("mock %s: %s", fac, buf);
	else if (level <= 4)
		log_warn("mock %s: %s", fac, buf);
	else
		log_debug("mock %s: %s", fac, buf);
}

/* A topic ending in "runs" holds one manifest stream in order: one partition,
 * unless the list says "name:N". */
static int broker_topic_partitions(const char *name, long def)
{
	size_t len = strlen(name);
	if (len >= 4 && strcmp(name + len - 4, "runs") == 0)
		return 1;
	return (int)def;
}

/* Creates each topic of the comma-separated list "name[:partitions],...". */
static int broker_topics_create(rd_kafka_mock_cluster_t *mcluster,
				const struct broker_conf *bc,
				char *errstr, size_t errstr_size)
{
	char *copy = strdup(bc->topics);
	if (!copy) {
		snprintf(errstr, errstr_size, "out of memory");
		return -1;
	}
	int replication = bc->brokers < 3 ? (int)bc->brokers : 3;
	int rc = 0;
	char *save = NULL;
	for (char *name = strtok_r(copy, ",", &save); name;
	     name = strtok_r(NULL, ",", &save)) {
		int partitions = broker_topic_partitions(name, bc->partitions);
		char *colon = strchr(name, ':');
		if (colon) {
			long n;
			*colon = '\0';
			if (conf_long("topics", colon + 1, 1, BROKER_MAX_PARTITIONS,
				      &n, errstr, errstr_size) < 0) {
				rc = -1;
				break;
			}
			partitions = (int)n;
		}
		if (!*name) {
			snprintf(errstr, errstr_size, "empty topic name in '%s'",
				 bc->topics);
			rc = -1;
			break;
		}
		rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(
			mcluster, name, partitions, replication);
		if (err) {
			snprintf(errstr, errstr_size, "cannot create topic '%s': %s",
				 name, rd_kafka_err2str(err));
			rc = -1;
			break;
		}
		log_info("topic '%s': %d partition(s), replication %d", name,
			 partitions, replication);
	}
	free(copy);
	return rc;
}

/* Writes "bootstrap\n" to path through a temporary file and rename(), so a
 * reader polling for the file never sees it half-written. */
static int broker_ready_write(const char *path, const char *bootstrap,
			      char *errstr, size_t errstr_size)
{
	char *tmp = NULL;
	if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0) {
		snprintf(errstr, errstr_size, "out of memory");
		return -1;
	}
	int rc = 0;
	FILE *f = fopen(tmp, "w");
	if (!f) {
		snprintf(errstr, errstr_size, "cannot create '%s': %s", tmp,
			 strerror(errno));
		rc = -1;
	} else {
		int bad = fprintf(f, "%s\n", bootstrap) < 0;
		bad |= fclose(f) != 0;
		if (bad || rename(tmp, path) != 0) {
			snprintf(errstr, errstr_size, "cannot write '%s': %s", path,
				 strerror(errno));
			unlink(tmp);
			rc = -1;
		}
	}
	free(tmp);
	return rc;
}

/* The handle the mock cluster lives in: a producer that connects nowhere
 * (no bootstrap.servers), used only for the cluster's threads and logs.
 * Free with rd_kafka_destroy(). */
static rd_kafka_t *broker_handle_new(char *errstr, size_t errstr_size)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set_log_cb(conf, broker_on_log);
	if (rd_kafka_conf_set(conf, "client.id", "aij-broker", errstr,
			      errstr_size) != RD_KAFKA_CONF_OK) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
	if (!rk)
		rd_kafka_conf_destroy(conf);
	return rk;
}

static int broker_conf_parse(int argc, char **argv, struct broker_conf *bc)
{
	const char *brokers, *partitions, *level;
	const struct conf_opt opts[] = {
		/* Not AIJ_BROKERS: that is the bootstrap address of every other
		 * program, and a script may export it before starting us. */
		{ "brokers", "AIJ_BROKERS_COUNT", "1", "N",
		  "number of mock brokers", &brokers },
		{ "partitions", "AIJ_PARTITIONS", "12", "N",
		  "partitions of each topic (a topic ending in 'runs' gets 1)",
		  &partitions },
		{ "topics", "AIJ_TOPICS", BROKER_DEFAULT_TOPICS, "LIST",
		  "topics to create, comma-separated, each name[:partitions]",
		  &bc->topics },
		{ "ready-file", "AIJ_READY_FILE", NULL, "FILE",
		  "write the bootstrap address there once the topics exist",
		  &bc->ready_file },
		{ "log-level", "AIJ_LOG_LEVEL", "info", "LEVEL",
		  "error, warn, info or debug", &level },
		{ NULL, NULL, NULL, NULL, NULL, NULL },
	};
	char errstr[512];
	int rc = conf_parse(opts, argc, argv, errstr, sizeof(errstr));
	if (rc == 1) {
		conf_usage(stdout, "aij-broker",
			   "Runs a local mock Kafka cluster on 127.0.0.1 until "
			   "SIGTERM/SIGINT;\nprints its bootstrap address on stdout.",
			   opts);
		exit(0);
	}
	enum log_level lvl;
	if (rc == 0 && log_level_parse(level, &lvl) < 0) {
		snprintf(errstr, sizeof(errstr), "unknown log level '%s'", level);
		rc = -1;
	}
	if (rc == 0 &&
	    (conf_long("brokers", brokers, 1, 16, &bc->brokers, errstr,
		       sizeof(errstr)) < 0 ||
	     conf_long("partitions", partitions, 1, BROKER_MAX_PARTITIONS,
		       &bc->partitions, errstr, sizeof(errstr)) < 0))
		rc = -1;
	if (rc < 0) {
		log_error("%s", errstr);
		return -1;
	}
	log_set_level(lvl);
	return 0;
}

int main(int argc, char **argv)
{
	struct broker_conf bc;
	char errstr[512];

	log_init("broker", NULL);
	if (broker_conf_parse(argc, argv, &bc) < 0)
		return 2;
	signals_install();
	log_info("starting: brokers=%ld partitions=%ld topics=%s ready-file=%s",
		 bc.brokers, bc.partitions, bc.topics,
		 bc.ready_file ? bc.ready_file : "(none)");

	rd_kafka_t *rk = broker_handle_new(errstr, sizeof(errstr));
	if (!rk) {
		log_error("cannot create kafka handle: %s", errstr);
		return 1;
	}
	rd_kafka_mock_cluster_t *mcluster =
		rd_kafka_mock_cluster_new(rk, (int)bc.brokers);
	if (!mcluster) {
		log_error("cannot start the mock cluster");
		rd_kafka_destroy(rk);
		return 1;
	}
	const char *bootstrap = rd_kafka_mock_cluster_bootstraps(mcluster);
	int rc = 0;
	if (broker_topics_create(mcluster, &bc, errstr, sizeof(errstr)) < 0 ||
	    (bc.ready_file && broker_ready_write(bc.ready_file, bootstrap, errstr,
						 sizeof(errstr)) < 0)) {
		log_error("%s", errstr);
		rc = 1;
		goto out;
	}

	printf("%s\n", bootstrap);
	fflush(stdout);
	log_info("mock cluster ready on %s: %ld broker(s), librdkafka %s; "
		 "limits: each partition keeps at most 5 MiB or 100000 batches "
		 "and silently drops older ones, data in memory only, a group's "
		 "first join waits ~3 s",
		 bootstrap, bc.brokers, rd_kafka_version_str());

	while (!signals_stop) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	log_info("stop requested, shutting down the mock cluster");

out:
	rd_kafka_mock_cluster_destroy(mcluster);
	rd_kafka_destroy(rk);
	if (bc.ready_file && rc == 0)
		unlink(bc.ready_file);
	if (rc == 0)
		log_info("stopped");
	return rc;
}
