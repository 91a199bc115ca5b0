/* aij-broker: a local Kafka-protocol broker for tests and the local run.
 *
 * librdkafka's mock cluster, listening on 127.0.0.1 (an ephemeral port per
 * broker; --listen below for another address), with the pipeline's topics
 * created up front. Prints the bootstrap address on stdout (and to
 * --ready-file), then waits for SIGTERM/SIGINT.
 *
 * Fault injection for tests (--control FIFO): one command per line, written
 * to the FIFO by anyone (`echo "down 2" > FIFO`), each run through the mock
 * cluster's own fault API and logged ("control: 'down 2': done"):
 *   down BROKER | up BROKER            a broker refuses / accepts connections
 *                                      (its partitions keep their leader)
 *   errors API COUNT ERR [ERR...]      the next COUNT requests of API (Produce,
 *                                      Fetch, OffsetCommit, ... or a number)
 *                                      fail with ERR (NOT_LEADER_FOR_PARTITION,
 *                                      ... or a number), in turn
 *   clear API                          drops the errors still queued for API
 *   leader TOPIC PARTITION BROKER      moves a partition's leader (-1: none)
 *   rtt BROKER MS                      delays each response of a broker
 *   coordinator group ID BROKER        moves a group's coordinator
 *
 * --listen HOST[:PORT]: the mock binds every broker to 127.0.0.1 and
 * advertises that address in its metadata (librdkafka 2.0.2,
 * rd_kafka_mock_broker_new(): no setting changes it), which no other host
 * or container can reach. With --listen, aij-broker's own bind() below,
 * which librdkafka's call resolves to (an executable's symbols come first),
 * binds those sockets to HOST's IPv4 address instead, on PORT, PORT+1, ...
 * (0 or none: any free port), and the mock advertises that address
 * (tests/deploy: aij-broker stands in for Kafka in a container).
 *
 * Limits of the mock (librdkafka 2.0.2, src/rdkafka_mock.c): every partition
 * keeps at most 5 MiB or 100,000 message batches and silently drops its
 * oldest batches beyond that; everything lives in memory; the first join of
 * a consumer group waits about 3 s (initial rebalance delay). */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
	const char *brokers_text, *partitions_text, *log_level;
	long brokers;
	long partitions;
	const char *topics;
	const char *ready_file;
	const char *control;
	const char *listen;
};

/* --listen: where the mock's brokers bind instead of 127.0.0.1:0 (set before
 * the cluster is created, read by bind() below; the mock creates its brokers
 * in rd_kafka_mock_cluster_new(), in our thread). */
static struct {
	int on;
	struct sockaddr_in addr;
	int next_port; /* 0: any free port */
} broker_listen;

/* Our bind() replaces libc's in the whole process: librdkafka's mock binds
 * each broker's listening socket to 127.0.0.1 port 0; with --listen, that
 * bind goes to broker_listen's address instead. Every other bind is
 * libc's own. */
int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);
	static bind_fn libc_bind;
	if (!libc_bind) {
		*(void **)&libc_bind = dlsym(RTLD_NEXT, "bind");
		if (!libc_bind) {
			errno = ENOSYS;
			return -1;
		}
	}
	const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
	if (broker_listen.on && addr && addr->sa_family == AF_INET &&
	    len >= (socklen_t)sizeof(*in) &&
	    in->sin_addr.s_addr == htonl(INADDR_LOOPBACK) && in->sin_port == 0) {
		struct sockaddr_in sin = broker_listen.addr;
		if (broker_listen.next_port)
			sin.sin_port = htons((uint16_t)broker_listen.next_port++);
		return libc_bind(fd, (const struct sockaddr *)&sin, sizeof(sin));
	}
	return libc_bind(fd, addr, len);
}

/* Parses "HOST[:PORT]" into broker_listen: HOST's first IPv4 address. */
static int broker_listen_parse(const char *spec, long brokers, char *errstr,
			       size_t errstr_size)
{
	char host[256];
	long port = 0;
	const char *colon = strrchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
	if (n == 0 || n >= sizeof(host)) {
		snprintf(errstr, errstr_size, "option '--listen': '%s' is not "
			 "HOST[:PORT]", spec);
		return -1;
	}
	memcpy(host, spec, n);
	host[n] = '\0';
	if (colon && conf_long("listen", colon + 1, 0, 65536 - brokers, &port,
			       errstr, errstr_size) < 0)
		return -1;
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	int err = getaddrinfo(host, NULL, &hints, &res);
	if (err) {
		snprintf(errstr, errstr_size, "option '--listen': cannot resolve "
			 "'%s': %s", host, gai_strerror(err));
		return -1;
	}
	memcpy(&broker_listen.addr, res->ai_addr, sizeof(broker_listen.addr));
	freeaddrinfo(res);
	broker_listen.addr.sin_port = 0;
	broker_listen.next_port = (int)port;
	broker_listen.on = 1;
	return 0;
}

/* The fault-injection FIFO: read end polled by the main loop, plus a write
 * end we hold ourselves so that a writer closing it is no end of file. */
struct broker_control {
	int fd, wfd;
	char buf[1024];
	size_t len;
};

#define BROKER_MAX_ERRORS 64

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

/* A pause between two calls into the mock cluster. Its thread serves a call,
 * answers, then drains its wake-up pipe: a call queued in between loses its
 * wake-up, and waits for the thread's next timer, up to 1 s (librdkafka
 * 2.0.2; measured: 14 of 30 starts took 1.1 s instead of 0.03-0.06 s). */
static void broker_settle(void)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	nanosleep(&ts, NULL);
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
	int rc = 0, created = 0;
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
		if (created++ > 0)
			broker_settle();
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

/* The Kafka API keys the fault commands name (Kafka protocol numbers). */
static const struct {
	const char *name;
	int16_t key;
} broker_apis[] = {
	{ "Produce", 0 },        { "Fetch", 1 },          { "ListOffsets", 2 },
	{ "Metadata", 3 },       { "OffsetCommit", 8 },   { "OffsetFetch", 9 },
	{ "FindCoordinator", 10 }, { "JoinGroup", 11 },   { "Heartbeat", 12 },
	{ "LeaveGroup", 13 },    { "SyncGroup", 14 },     { "ApiVersions", 18 },
	{ "InitProducerId", 22 },
};

static int broker_api_parse(const char *s, int16_t *key)
{
	char *end;
	for (size_t i = 0; i < sizeof(broker_apis) / sizeof(broker_apis[0]); i++) {
		if (strcasecmp(s, broker_apis[i].name) == 0) {
			*key = broker_apis[i].key;
			return 0;
		}
	}
	long v = strtol(s, &end, 10);
	if (*s && !*end && v >= 0 && v < 1000) {
		*key = (int16_t)v;
		return 0;
	}
	return -1;
}

/* An error by librdkafka's name (with or without "RD_KAFKA_RESP_ERR_") or
 * by number. */
static int broker_err_parse(const char *s, rd_kafka_resp_err_t *err)
{
	const struct rd_kafka_err_desc *descs;
	size_t cnt;
	char *end;

	if (strncasecmp(s, "RD_KAFKA_RESP_ERR_", 18) == 0)
		s += 18;
	rd_kafka_get_err_descs(&descs, &cnt);
	for (size_t i = 0; i < cnt; i++) {
		if (descs[i].name && strcasecmp(s, descs[i].name) == 0) {
			*err = descs[i].code;
			return 0;
		}
	}
	long v = strtol(s, &end, 10);
	if (*s && !*end) {
		*err = (rd_kafka_resp_err_t)v;
		return 0;
	}
	return -1;
}

static int broker_int_parse(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = s ? strtol(s, &end, 10) : 0;
	if (!s || !*s || *end || errno || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Runs one control command (a line, split in place). Returns 0, or -1 with
 * errstr set. */
static int broker_command_run(rd_kafka_mock_cluster_t *mcluster, char *line,
			      char *errstr, size_t errstr_size)
{
	char *argv[4 + BROKER_MAX_ERRORS], *save = NULL;
	int argc = 0;
	for (char *w = strtok_r(line, " \t\r", &save); w && argc < (int)(sizeof(argv) / sizeof(argv[0]));
	     w = strtok_r(NULL, " \t\r", &save))
		argv[argc++] = w;
	if (argc == 0) {
		snprintf(errstr, errstr_size, "empty command");
		return -1;
	}
	const char *cmd = argv[0];
	rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
	long a, b;
	int16_t api;

	if ((strcmp(cmd, "down") == 0 || strcmp(cmd, "up") == 0) && argc == 2 &&
	    broker_int_parse(argv[1], 1, 16, &a) == 0) {
		err = cmd[0] == 'd' ? rd_kafka_mock_broker_set_down(mcluster, (int32_t)a)
				    : rd_kafka_mock_broker_set_up(mcluster, (int32_t)a);
	} else if (strcmp(cmd, "errors") == 0 && argc >= 4 &&
		   broker_api_parse(argv[1], &api) == 0 &&
		   broker_int_parse(argv[2], 1, 1000000, &a) == 0) {
		rd_kafka_resp_err_t errs[BROKER_MAX_ERRORS];
		int nerr = argc - 3;
		for (int i = 0; i < nerr; i++) {
			if (broker_err_parse(argv[3 + i], &errs[i]) < 0) {
				snprintf(errstr, errstr_size, "unknown error '%s'", argv[3 + i]);
				return -1;
			}
		}
		/* COUNT requests fail, taking the errors in turn. */
		for (long i = 0; i < a; i++)
			rd_kafka_mock_push_request_errors_array(mcluster, api, 1,
								&errs[i % nerr]);
	} else if (strcmp(cmd, "clear") == 0 && argc == 2 &&
		   broker_api_parse(argv[1], &api) == 0) {
		rd_kafka_mock_clear_request_errors(mcluster, api);
	} else if (strcmp(cmd, "leader") == 0 && argc == 4 &&
		   broker_int_parse(argv[2], 0, BROKER_MAX_PARTITIONS, &a) == 0 &&
		   broker_int_parse(argv[3], -1, 16, &b) == 0) {
		err = rd_kafka_mock_partition_set_leader(mcluster, argv[1], (int32_t)a,
							 (int32_t)b);
	} else if (strcmp(cmd, "rtt") == 0 && argc == 3 &&
		   broker_int_parse(argv[1], 1, 16, &a) == 0 &&
		   broker_int_parse(argv[2], 0, 600000, &b) == 0) {
		err = rd_kafka_mock_broker_set_rtt(mcluster, (int32_t)a, (int)b);
	} else if (strcmp(cmd, "coordinator") == 0 && argc == 4 &&
		   broker_int_parse(argv[3], 1, 16, &a) == 0) {
		err = rd_kafka_mock_coordinator_set(mcluster, argv[1], argv[2], (int32_t)a);
	} else {
		snprintf(errstr, errstr_size, "unknown command or bad arguments");
		return -1;
	}
	if (err) {
		snprintf(errstr, errstr_size, "%s", rd_kafka_err2str(err));
		return -1;
	}
	return 0;
}

/* Opens (creating it if needed) the control FIFO at path. */
static int broker_control_open(struct broker_control *ctl, const char *path,
			       char *errstr, size_t errstr_size)
{
	struct stat st;
	ctl->fd = ctl->wfd = -1;
	ctl->len = 0;
	if (mkfifo(path, 0600) < 0 && errno != EEXIST) {
		snprintf(errstr, errstr_size, "cannot create '%s': %s", path, strerror(errno));
		return -1;
	}
	if (stat(path, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		snprintf(errstr, errstr_size, "cannot use '%s': not a FIFO", path);
		return -1;
	}
	ctl->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (ctl->fd >= 0)
		ctl->wfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (ctl->fd < 0 || ctl->wfd < 0) {
		snprintf(errstr, errstr_size, "cannot open '%s': %s", path, strerror(errno));
		if (ctl->fd >= 0)
			close(ctl->fd);
		ctl->fd = -1;
		return -1;
	}
	return 0;
}

static void broker_control_close(struct broker_control *ctl)
{
	if (ctl->fd >= 0)
		close(ctl->fd);
	if (ctl->wfd >= 0)
		close(ctl->wfd);
	ctl->fd = ctl->wfd = -1;
}

/* Reads what the FIFO has and runs each complete line. */
static void broker_control_read(struct broker_control *ctl,
				rd_kafka_mock_cluster_t *mcluster)
{
	for (;;) {
		ssize_t n = read(ctl->fd, ctl->buf + ctl->len, sizeof(ctl->buf) - 1 - ctl->len);
		if (n <= 0)
			return; /* EAGAIN: nothing more for now */
		ctl->len += (size_t)n;
		char *nl;
		while ((nl = memchr(ctl->buf, '\n', ctl->len))) {
			*nl = '\0';
			char line[sizeof(ctl->buf)], copy[sizeof(ctl->buf)], errstr[256];
			snprintf(line, sizeof(line), "%s", ctl->buf);
			snprintf(copy, sizeof(copy), "%s", ctl->buf);
			size_t used = (size_t)(nl - ctl->buf) + 1;
			memmove(ctl->buf, nl + 1, ctl->len - used);
			ctl->len -= used;
			if (broker_command_run(mcluster, copy, errstr, sizeof(errstr)) < 0)
				log_error("control: '%s': %s", line, errstr);
			else
				log_info("control: '%s': done", line);
		}
		if (ctl->len == sizeof(ctl->buf) - 1) {
			log_error("control: a command longer than %zu bytes, dropped",
				  sizeof(ctl->buf) - 1);
			ctl->len = 0;
		}
	}
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

/* The checks of conf_program_parse(): the values in force, converted. */
static int broker_conf_check(void *arg, char *errstr, size_t errstr_size)
{
	struct broker_conf *bc = arg;
	if (conf_long("brokers", bc->brokers_text, 1, 16, &bc->brokers, errstr,
		      errstr_size) < 0 ||
	    conf_long("partitions", bc->partitions_text, 1, BROKER_MAX_PARTITIONS,
		      &bc->partitions, errstr, errstr_size) < 0)
		return -1;
	if (bc->listen &&
	    broker_listen_parse(bc->listen, bc->brokers, errstr, errstr_size) < 0)
		return -1;
	return 0;
}

/* Returns 0, or -1 with *exit_code (EXIT_DONE after --help, EXIT_USAGE on
 * bad usage). */
static int broker_conf_parse(int argc, char **argv, struct broker_conf *bc,
			     int *exit_code)
{
	memset(bc, 0, sizeof(*bc));
	const struct conf_opt opts[] = {
		/* Not AIJ_BROKERS: that is the bootstrap address of every other
		 * program, and a script may export it before starting us. */
		{ "brokers", "AIJ_BROKERS_COUNT", "1", "N",
		  "number of mock brokers", &bc->brokers_text },
		{ "partitions", "AIJ_PARTITIONS", "12", "N",
		  "partitions of each topic (a topic ending in 'runs' gets 1)",
		  &bc->partitions_text },
		{ "topics", "AIJ_TOPICS", BROKER_DEFAULT_TOPICS, "LIST",
		  "topics to create, comma-separated, each name[:partitions]",
		  &bc->topics },
		{ "ready-file", "AIJ_READY_FILE", NULL, "FILE",
		  "write the bootstrap address there once the topics exist",
		  &bc->ready_file },
		{ "control", "AIJ_CONTROL", NULL, "FIFO",
		  "fault-injection commands, one a line (created if missing; "
		  "see deploy/broker.c)", &bc->control },
		{ "listen", "AIJ_LISTEN", NULL, "HOST[:PORT]",
		  "listen on HOST's IPv4 address (brokers on PORT, PORT+1, ...; "
		  "default any free port) instead of 127.0.0.1, and advertise it",
		  &bc->listen },
		CONF_OPT_LOG_LEVEL(&bc->log_level),
		{ NULL, NULL, NULL, NULL, NULL, NULL },
	};
	const struct conf_program prog = {
		.name = "aij-broker",
		.summary = "Runs a local mock Kafka cluster on 127.0.0.1 (or --listen) "
			   "until SIGTERM/SIGINT;\nprints its bootstrap address on stdout.",
		.opts = opts, .check = broker_conf_check, .arg = bc,
	};
	return conf_program_parse(&prog, argc, argv, exit_code);
}

int main(int argc, char **argv)
{
	struct broker_conf bc;
	struct broker_control ctl = { -1, -1, "", 0 };
	char errstr[512];
	int code = EXIT_DONE;

	log_init("broker", NULL);
	if (broker_conf_parse(argc, argv, &bc, &code) < 0)
		return code;
	signals_install();
	log_info("starting: brokers=%ld partitions=%ld topics=%s ready-file=%s "
		 "listen=%s", bc.brokers, bc.partitions, bc.topics,
		 bc.ready_file ? bc.ready_file : "(none)",
		 bc.listen ? bc.listen : "127.0.0.1");

	rd_kafka_t *rk = broker_handle_new(errstr, sizeof(errstr));
	if (!rk) {
		log_error("cannot create kafka handle: %s", errstr);
		return EXIT_RUNTIME;
	}
	rd_kafka_mock_cluster_t *mcluster =
		rd_kafka_mock_cluster_new(rk, (int)bc.brokers);
	if (!mcluster) {
		log_error("cannot start the mock cluster");
		rd_kafka_destroy(rk);
		return EXIT_RUNTIME;
	}
	const char *bootstrap = rd_kafka_mock_cluster_bootstraps(mcluster);
	if (broker_topics_create(mcluster, &bc, errstr, sizeof(errstr)) < 0 ||
	    (bc.control && broker_control_open(&ctl, bc.control, errstr,
					       sizeof(errstr)) < 0) ||
	    (bc.ready_file && broker_ready_write(bc.ready_file, bootstrap, errstr,
						 sizeof(errstr)) < 0)) {
		log_error("%s", errstr);
		code = EXIT_RUNTIME;
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
		struct pollfd pfd = { ctl.fd, POLLIN, 0 };
		/* A negative fd is ignored by poll(): then a plain 100 ms sleep. */
		if (poll(&pfd, 1, 100) > 0 && (pfd.revents & POLLIN))
			broker_control_read(&ctl, mcluster);
	}
	log_info("stop requested, shutting down the mock cluster");

out:
	broker_control_close(&ctl);
	rd_kafka_mock_cluster_destroy(mcluster);
	rd_kafka_destroy(rk);
	if (bc.ready_file && code == EXIT_DONE)
		unlink(bc.ready_file);
	if (code == EXIT_DONE)
		log_info("stopped");
	return code;
}
