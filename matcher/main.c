/* aij-matcher: a consumer-group worker (run as many as wanted).
 *
 * For each batch of records: one look-up script in Redis (SPEC §4), one
 * Outcome per record on the outcomes topic, and only once the broker
 * acknowledged every outcome of the batch, a commit of the batch's offsets
 * (at-least-once; the reporter counts a line twice once).
 *
 * Batches overlap (matcher_step, a ring of MATCHER_SLOTS): while Redis
 * answers one batch the matcher polls and sends the next, and the broker
 * acknowledges the outcomes of the ones before; a batch is committed
 * (asynchronously, in order) once every outcome of it is acknowledged, and
 * the matcher waits for acknowledgements only when the ring is full or
 * nothing else is left to do. Redis is the matchers' shared bottleneck:
 * it idled while a matcher prepared a batch or waited for the broker
 * otherwise (bench/RESULTS.md). A rebalance during a poll may revoke the
 * partitions of the batches not committed yet: their commit then fails
 * (logged) and the next owner processes those records again, which the
 * reporter counts once (lib/kafka.c logs each assignment and revocation).
 * On SIGTERM the batches in flight are finished and their commits' results
 * awaited, within bounds (MATCHER_STOP_MS in all). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "conf.h"
#include "kafka.h"
#include "log.h"
#include "redis.h"
#include "signals.h"
#include "work.h"


#define MATCHER_FIRST_POLL_MS  500   /* waiting for a batch's first record */
#define MATCHER_FILL_MS        50    /* then filling it for at most this */
#define MATCHER_IDLE_POLL_MS   10    /* waiting for records while the broker
					* acknowledges outcomes */
#define MATCHER_STOP_DRAIN_MS  5000  /* stop requested: the batches in flight
					* get this in all to be acknowledged
					* and committed */
#define MATCHER_PROGRESS_MS    10000 /* a progress line at most this often */
#define MATCHER_COMMIT_STOP_MS 2000  /* the commits' results, at the end */
#define MATCHER_STOP_MS        8000  /* a stop request: gone within about this
					* (aij-local and docker stop kill at 10 s) */
#define MATCHER_LEAVE_MS       4000  /* leaving the group at exit, at most, */
#define MATCHER_LEAVE_MIN_MS   1000  /* and at least this once MATCHER_STOP_MS
					* is (nearly) spent */
#define MATCHER_HEALTH_MS      1000  /* --health-file touched at most this often */

/* The consumer's settings, before AIJ_KAFKA_CONF (which may change them).
 * The prefetch: librdkafka's default, 64 MiB, made the matcher's memory
 * grow with the week (53 MiB at 100k lines, 73 MiB at 1M). Below 8 MiB the
 * matchers starve: librdkafka 2.0.2 stops fetching once the queue holds
 * this much and looks again only later, while the local broker answers a
 * fetch with one batch per partition (400k records, 2 matchers: 4 MiB
 * 5.3-6.3 s, 8 MiB 3.4 s, 16 MiB 3.4-3.8 s; bench/RESULTS.md). 8 MiB is
 * ~50,000 records. The poll interval: a batch may wait
 * for Redis for the whole retry budget (10 min) or for an index to be
 * loaded (for as long as it takes), without polling; the group must not
 * hand its partitions to another matcher meanwhile, which would only wait
 * the same. A matcher that died is still noticed within the session
 * timeout (librdkafka's own thread sends the heartbeats). */
#define MATCHER_CONSUMER_CONF  "queued.max.messages.kbytes=8192,max.poll.interval.ms=86400000"
/* glibc's malloc arenas: librdkafka's threads allocate the messages the
 * main thread frees, and each thread's arena kept growing with the week's
 * length (peak RSS +13% from 100k to 1M lines); 2 arenas: +5%. */
#define MATCHER_MALLOC_ARENAS  2

struct matcher_conf {
	const char *brokers, *redis, *group, *topic_records, *topic_outcomes;
	const char *batch, *retry_ms, *session_timeout, *kafka_conf, *log_level;
	const char *index_alert, *health_file, *redis_read, *evidence_text;
	long batch_max, redis_retry_ms, session_timeout_ms, index_alert_s;
	int evidence;
	char read_addr[256];    /* the replica taken from redis_read, or "" */
};

struct matcher {
	const struct matcher_conf *mc;
	rd_kafka_t *consumer, *producer;
	struct work work;
	struct work_stats stats, logged;
	long last_progress_ms;
	long health_ms;             /* --health-file last touched, 0 before */
	int health_failed;          /* its last touch failed (logged once) */
	long stop_ms;               /* when the stop request was seen, 0 before */
	int gave_up;                /* batches in flight abandoned at the stop */
	rd_kafka_queue_t *commits;  /* the results of the commits sent */
	int commits_pending;        /* commits sent, result not read yet */
};

/* The replica of the comma-separated list this matcher reads from: one by
 * its pid, so that the matchers of a machine spread over the replicas.
 * Returns 0 with it in out, or -1 with errstr (an address not HOST:PORT). */
static int matcher_pick_replica(const char *list, char *out, size_t out_size,
				char *errstr, size_t errstr_size)
{
	size_t n = 1;
	for (const char *p = list; *p; p++)
		n += *p == ',';
	size_t k = (size_t)getpid() % n;
	const char *start = list;
	for (size_t i = 0; i < k; i++)
		start = strchr(start, ',') + 1;
	size_t len = strcspn(start, ",");
	if (len >= out_size)
		len = out_size - 1;
	memcpy(out, start, len);
	out[len] = '\0';
	char host[256];
	int port;
	return redis_parse_addr(out, host, sizeof(host), &port, errstr, errstr_size);
}

/* The checks of conf_program_parse(): the values in force, converted; the
 * replica this matcher reads from. */
static int matcher_conf_check(void *arg, char *errstr, size_t errstr_size)
{
	struct matcher_conf *mc = arg;
	if (conf_long("batch", mc->batch, 1, 100000, &mc->batch_max, errstr,
		      errstr_size) ||
	    conf_long("redis-retry-ms", mc->retry_ms, 0, 86400000L,
		      &mc->redis_retry_ms, errstr, errstr_size) ||
	    conf_long("session-timeout-ms", mc->session_timeout, 1000, 3600000L,
		      &mc->session_timeout_ms, errstr, errstr_size) ||
	    conf_long("index-alert", mc->index_alert, 0, 86400L, &mc->index_alert_s,
		      errstr, errstr_size) ||
	    conf_on_off("evidence", mc->evidence_text, &mc->evidence, errstr,
			errstr_size))
		return -1;
	char host[256];
	int port;
	if (redis_parse_addr(mc->redis, host, sizeof(host), &port, errstr, errstr_size))
		return -1;
	if (mc->redis_read && *mc->redis_read &&
	    matcher_pick_replica(mc->redis_read, mc->read_addr, sizeof(mc->read_addr),
				 errstr, errstr_size))
		return -1;
	return 0;
}

/* Returns 0, or -1 with *exit_code (EXIT_DONE after --help, EXIT_USAGE on
 * bad usage). */
static int matcher_conf_parse(int argc, char **argv, struct matcher_conf *mc,
			      int *exit_code)
{
	memset(mc, 0, sizeof(*mc));
	const struct conf_opt opts[] = {
		{ "brokers", "AIJ_BROKERS", KAFKA_DEFAULT_BROKERS, "ADDR",
		  "Kafka bootstrap servers", &mc->brokers },
		{ "redis", "AIJ_REDIS", "127.0.0.1:6379", "HOST:PORT",
		  "the Redis holding the dossier index (its primary)", &mc->redis },
		{ "redis-read", "AIJ_REDIS_READ", NULL, "HOST:PORT,...",
		  "replicas of it to read from: this matcher takes one (by its pid); "
		  "a replica that lags behind the primary's index gives way to it",
		  &mc->redis_read },
		{ "group", "AIJ_GROUP", KAFKA_GROUP_MATCHERS, "ID",
		  "consumer group of the matchers", &mc->group },
		{ "topic-records", "AIJ_TOPIC_RECORDS", KAFKA_TOPIC_RECORDS, "TOPIC",
		  "topic of the records", &mc->topic_records },
		{ "topic-outcomes", "AIJ_TOPIC_OUTCOMES", KAFKA_TOPIC_OUTCOMES, "TOPIC",
		  "topic of the outcomes", &mc->topic_outcomes },
		{ "batch", "AIJ_BATCH", "500", "N",
		  "records resolved together in one Redis call", &mc->batch },
		{ "redis-retry-ms", "AIJ_REDIS_RETRY_MS", "600000", "N",
		  "how long a batch retries an unreachable Redis before its records "
		  "get code 10 (the reporter then holds the run if they are more "
		  "than 1 %)", &mc->retry_ms },
		{ "index-alert", "AIJ_INDEX_ALERT", "60", "SEC",
		  "Redis without a dossier index this long: an ERROR alert (the "
		  "records wait for a load meanwhile, and after)", &mc->index_alert },
		{ "session-timeout-ms", "AIJ_SESSION_TIMEOUT_MS", "6000", "N",
		  "how long the group waits for a silent matcher before giving "
		  "its partitions to the others", &mc->session_timeout },
		{ "kafka-conf", "AIJ_KAFKA_CONF", NULL, "LIST",
		  "extra librdkafka settings for both clients, key=value,key=value",
		  &mc->kafka_conf },
		{ "health-file", "AIJ_HEALTH_FILE", NULL, "FILE",
		  "touched every second or so while the matcher's loop turns "
		  "(a container health check reads its age)", &mc->health_file },
		{ "evidence", "AIJ_EVIDENCE", "on", "on|off",
		  "read, for each line that fails at the cascade, the dossiers that "
		  "nearly matched it and send them in its outcome (in the same "
		  "script call; off: to measure their cost)", &mc->evidence_text },
		CONF_OPT_LOG_LEVEL(&mc->log_level),
		{ NULL, NULL, NULL, NULL, NULL, NULL },
	};
	const struct conf_program prog = {
		.name = "aij-matcher",
		.summary = "Consumer-group worker: matches each record against the "
			   "dossier index in Redis\nand publishes its outcome; commits "
			   "offsets once the outcomes are acknowledged.",
		.opts = opts, .check = matcher_conf_check, .arg = mc,
	};
	return conf_program_parse(&prog, argc, argv, exit_code);
}

/* Delivery report of one outcome: marks it in its batch slot. */
static void matcher_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg,
				void *opaque)
{
	(void)rk;
	(void)opaque;
	struct work_outcome *o = msg->_private;
	if (!o)
		return;
	if (msg->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
	    msg->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
		o->delivery = WORK_FAILED; /* at exit: counted in one line */
	} else if (msg->err) {
		log_warn("outcome of line %.*s not acknowledged: %s", (int)o->key_len,
			 o->key, rd_kafka_err2str(msg->err));
		o->delivery = WORK_FAILED;
	} else {
		o->delivery = WORK_DELIVERED;
	}
}

/* How long ago the stop request was first seen, -1 without one. */
static long matcher_stopped_for(struct matcher *m)
{
	if (!signals_stop)
		return -1;
	long now = clock_now_ms();
	if (!m->stop_ms)
		m->stop_ms = now;
	return now - m->stop_ms;
}

/* Polls up to max messages: waits first_wait_ms for the first, then takes
 * what arrives within fill_ms. Returns how many are in msgs. */
static size_t matcher_collect(struct matcher *m, rd_kafka_message_t **msgs,
			      size_t max, int first_wait_ms, int fill_ms)
{
	size_t n = 0;
	long first_ms = 0;
	while (n < max && !signals_stop) {
		int timeout = first_wait_ms;
		if (n > 0) {
			/* fill_ms 0: only what is here already. */
			long left = fill_ms > 0 ? first_ms + fill_ms - clock_now_ms() : 0;
			if (fill_ms > 0 && left <= 0)
				break;
			timeout = (int)left;
		}
		rd_kafka_message_t *msg = rd_kafka_consumer_poll(m->consumer, timeout);
		if (!msg) {
			if (n > 0)
				break;
			return 0;
		}
		if (msg->err) {
			if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				log_warn("consumer: %s", rd_kafka_message_errstr(msg));
			rd_kafka_message_destroy(msg);
			continue;
		}
		if (n == 0)
			first_ms = clock_now_ms();
		msgs[n++] = msg;
	}
	return n;
}

static size_t matcher_unacked(const struct work_outcome *out, size_t n,
			      enum work_delivery state)
{
	size_t count = 0;
	for (size_t i = 0; i < n; i++)
		count += out[i].payload && out[i].delivery == (int)state;
	return count;
}

/* Hands each outcome not acknowledged yet to the producer; delivery
 * reports mark them (matcher_on_delivery). */
static void matcher_produce(struct matcher *m, struct work_outcome *out, size_t n)
{
	char errstr[512];
	for (size_t i = 0; i < n; i++) {
		if (!out[i].payload || out[i].delivery == WORK_DELIVERED)
			continue;
		out[i].delivery = WORK_PENDING;
		if (kafka_produce(m->producer, m->mc->topic_outcomes, out[i].key,
				  out[i].key_len, out[i].payload, out[i].len,
				  &out[i], errstr, sizeof(errstr)) != 0) {
			log_warn("line %s: %s", out[i].key, errstr);
			out[i].delivery = WORK_FAILED;
		}
	}
}

/* Waits until the broker acknowledged each outcome produced by
 * matcher_produce(); the ones it refused are produced again (backoff 100
 * ms doubling to 2 s). Returns 0 when all are acknowledged; -1 when the
 * stop's MATCHER_STOP_DRAIN_MS ran out before (counted from the stop, for
 * all the batches in flight together), or the producer failed for good. */
static int matcher_await(struct matcher *m, struct work_outcome *out, size_t n)
{
	long delay = 100;
	for (int round = 1;; round++) {
		if (round > 1)
			matcher_produce(m, out, n);
		while (matcher_unacked(out, n, WORK_PENDING) > 0) {
			rd_kafka_flush(m->producer, 200);
			char fatal[256];
			if (rd_kafka_fatal_error(m->producer, fatal, sizeof(fatal))) {
				log_error("kafka producer failed for good: %s", fatal);
				return -1;
			}
			if (matcher_stopped_for(m) > MATCHER_STOP_DRAIN_MS)
				return -1;
		}
		size_t failed = matcher_unacked(out, n, WORK_FAILED);
		if (failed == 0)
			return 0;
		if (signals_stop)
			return -1;
		log_warn("%zu outcomes not acknowledged (round %d): producing them "
			 "again in %ld ms, offsets not committed meanwhile", failed,
			 round, delay);
		for (long slept = 0; slept < delay && !signals_stop; slept += 50)
			rd_kafka_poll(m->producer, 50);
		delay = delay * 2 > 2000 ? 2000 : delay * 2;
	}
}

/* Commits, for each partition of the batch, its highest offset + 1,
 * without waiting: the result comes on m->commits (matcher_commits_read).
 * Commits are sent in the order of the batches; a failed one (the
 * partition moved to another matcher meanwhile) only means that its
 * records are processed again, which the reporter counts once. */
static void matcher_commit(struct matcher *m, rd_kafka_message_t *const *msgs, size_t n)
{
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(16);
	for (size_t i = 0; i < n; i++) {
		const char *topic = rd_kafka_topic_name(msgs[i]->rkt);
		rd_kafka_topic_partition_t *p =
			rd_kafka_topic_partition_list_find(list, topic, msgs[i]->partition);
		if (!p)
			p = rd_kafka_topic_partition_list_add(list, topic,
							      msgs[i]->partition);
		if (msgs[i]->offset + 1 > p->offset)
			p->offset = msgs[i]->offset + 1;
	}
	rd_kafka_resp_err_t err = rd_kafka_commit_queue(m->consumer, list, m->commits,
							NULL, NULL);
	if (err)
		log_warn("commit of a batch of %zu records failed: %s (they may be "
			 "processed again)", n, rd_kafka_err2str(err));
	else
		m->commits_pending++;
	rd_kafka_topic_partition_list_destroy(list);
}

/* Reads the results of the commits sent, waiting up to wait_ms for the
 * first; logs the failures. */
static void matcher_commits_read(struct matcher *m, int wait_ms)
{
	while (m->commits_pending > 0) {
		rd_kafka_event_t *ev = rd_kafka_queue_poll(m->commits, wait_ms);
		if (!ev)
			return;
		wait_ms = 0;
		if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT) {
			m->commits_pending--;
			rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
			if (err)
				log_warn("commit of a batch failed: %s (its records may "
					 "be processed again)", rd_kafka_err2str(err));
		}
		rd_kafka_event_destroy(ev);
	}
}

/* At the end: waits for the results of the commits sent, not for ever
 * (MATCHER_COMMIT_STOP_MS): a coordinator that does not answer would hold
 * the stop as long as it likes. */
static void matcher_commits_settle(struct matcher *m)
{
	long start = clock_now_ms();
	while (m->commits_pending > 0 && clock_now_ms() - start < MATCHER_COMMIT_STOP_MS)
		matcher_commits_read(m, 100);
	if (m->commits_pending > 0)
		log_warn("stop: %d commit(s) not answered within %d ms: their records "
			 "may be processed again by another matcher", m->commits_pending,
			 MATCHER_COMMIT_STOP_MS);
}

static void matcher_progress(struct matcher *m, int final)
{
	long now = clock_now_ms();
	if (!final && now - m->last_progress_ms < MATCHER_PROGRESS_MS)
		return;
	struct work_stats *s = &m->stats, *l = &m->logged;
	if (!final && s->records == l->records)
		return;
	double secs = (double)(now - m->last_progress_ms) / 1000.0;
	log_info("%s%llu records (%.0f/s): %llu integrated, %llu failed, of which "
		 "%llu code 10; %llu messages that were not records",
		 final ? "done: " : "", (unsigned long long)s->records,
		 final || secs <= 0 ? 0.0 : (double)(s->records - l->records) / secs,
		 (unsigned long long)s->integrated, (unsigned long long)s->failed,
		 (unsigned long long)s->technical, (unsigned long long)s->poison);
	m->logged = *s;
	m->last_progress_ms = now;
}

/* Touches --health-file (created if missing), at most every
 * MATCHER_HEALTH_MS: its age tells a health check that the loop turns. A
 * failure is logged once, until a touch works again. */
static void matcher_health(struct matcher *m)
{
	const char *path = m->mc->health_file;
	long now = clock_now_ms();
	if (!path || (m->health_ms && now - m->health_ms < MATCHER_HEALTH_MS))
		return;
	m->health_ms = now;
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || futimens(fd, NULL) != 0) {
		if (!m->health_failed)
			log_warn("cannot touch the health file '%s': %s", path,
				 strerror(errno));
		m->health_failed = 1;
	} else {
		m->health_failed = 0;
	}
	if (fd >= 0)
		close(fd);
}

/* One batch: its messages, its look-up, then their outcomes. */
struct matcher_batch {
	rd_kafka_message_t **msgs;
	struct work_outcome *out;
	size_t n;
	struct work_batch work;
	long t_poll, t_redis;       /* ms spent, for the debug line */
	long t_produced;            /* clock_now_ms() when its outcomes were produced */
};

/* Destroys a batch's messages. */
static void matcher_drop(struct matcher_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		rd_kafka_message_destroy(b->msgs[i]);
	b->n = 0;
}

#define MATCHER_GAVE_UP (-1) /* matcher_finish(): stopped, not finished */

/* Finishes a batch whose outcomes were produced: waits for their
 * acknowledgements, commits its offsets, frees it. Returns the exit code
 * (0: go on), or MATCHER_GAVE_UP when a stop was requested and its outcomes
 * were not acknowledged in the stop's time. */
static int matcher_finish(struct matcher *m, struct matcher_batch *b)
{
	int exit_code = 0;
	if (matcher_await(m, b->out, b->n) == 0)
		matcher_commit(m, b->msgs, b->n);
	else
		exit_code = signals_stop ? MATCHER_GAVE_UP : EXIT_RUNTIME;
	log_debug("batch of %zu: poll %ld ms, redis %ld ms, outcomes %ld ms", b->n,
		  b->t_poll, b->t_redis, clock_now_ms() - b->t_produced);
	work_outcomes_release(b->out, b->n);
	matcher_drop(b);
	return exit_code;
}

/* Abandons a batch: not committed, so its records go to a matcher again. */
static void matcher_abandon(struct matcher *m, struct matcher_batch *b)
{
	if (!b->n)
		return;
	work_drop(&m->work, &b->work);
	work_outcomes_release(b->out, b->n);
	matcher_drop(b);
}

/* The batches in flight, a ring, oldest first: first those whose outcomes
 * were produced (the broker acknowledges them), then those sent to Redis
 * (it answers them in order). Redis answers a batch while the matcher
 * polls and sends the next one and the broker acknowledges the ones
 * before: no step waits for another unless the ring is full (Redis, the
 * shared bottleneck, idled otherwise: bench/RESULTS.md). */
#define MATCHER_SLOTS    8  /* batches in flight in all */
#define MATCHER_AT_REDIS 2  /* of which sent to Redis and not read yet */
struct matcher_flight {
	struct matcher_batch slot[MATCHER_SLOTS];
	size_t head;                /* the oldest batch */
	size_t produced, sent;      /* how many in each state, from head */
};

static struct matcher_batch *matcher_flight_at(struct matcher_flight *f, size_t i)
{
	return &f->slot[(f->head + i) % MATCHER_SLOTS];
}

/* Allocates the batches of up to max records. 0, or -1 (memory:
 * matcher_flight_free() then). */
static int matcher_flight_init(struct matcher_flight *f, size_t max)
{
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < MATCHER_SLOTS; i++) {
		f->slot[i].msgs = calloc(max, sizeof(*f->slot[i].msgs));
		f->slot[i].out = calloc(max, sizeof(*f->slot[i].out));
		if (!f->slot[i].msgs || !f->slot[i].out)
			return -1;
	}
	return 0;
}

/* Frees the batches. Only once the producer is destroyed: its delivery
 * reports write into the outcomes. */
static void matcher_flight_free(struct matcher *m, struct matcher_flight *f)
{
	for (int i = 0; i < MATCHER_SLOTS; i++) {
		matcher_abandon(m, &f->slot[i]);
		work_batch_release(&f->slot[i].work);
		free(f->slot[i].msgs);
		free(f->slot[i].out);
	}
}

/* Finishes the oldest batch (produced) and takes it off the ring. */
static int matcher_flight_finish(struct matcher *m, struct matcher_flight *f)
{
	int exit_code = matcher_finish(m, matcher_flight_at(f, 0));
	f->head = (f->head + 1) % MATCHER_SLOTS;
	f->produced--;
	return exit_code;
}

/* At a stop whose time ran out: the batches left are neither finished
 * nor committed (committing a later one would commit over the records of
 * an earlier one); another matcher redoes them. Returns 0. */
static int matcher_flight_give_up(struct matcher *m, struct matcher_flight *f)
{
	size_t records = 0;
	for (size_t i = 0; i < f->produced + f->sent; i++) {
		struct matcher_batch *b = matcher_flight_at(f, i);
		records += b->n;
		if (i < f->produced) {
			work_outcomes_release(b->out, b->n);
			matcher_drop(b);
		} else {
			matcher_abandon(m, b);
		}
	}
	f->produced = f->sent = 0;
	m->gave_up = 1;
	log_warn("stop: the batches in flight could not be finished in time: "
		 "their %zu records are not committed, another matcher will redo "
		 "them", records);
	return 0;
}

/* Whether every outcome of b is acknowledged (none failed, none pending). */
static int matcher_acked(const struct matcher_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->out[i].payload && b->out[i].delivery != WORK_DELIVERED)
			return 0;
	return 1;
}

/* One step: commits the oldest batches once acknowledged; unless draining,
 * polls a new batch and sends it to Redis; reads the oldest batch sent
 * when Redis has enough to do meanwhile (or nothing came), and produces its
 * outcomes; waits for the oldest acknowledgements only when the ring is
 * full or nothing else is left to do. Returns the exit code (0: go on). */
static int matcher_step(struct matcher *m, struct matcher_flight *f, int draining)
{
	rd_kafka_poll(m->producer, 0); /* delivery reports */
	matcher_commits_read(m, 0);
	while (f->produced && matcher_acked(matcher_flight_at(f, 0)))
		matcher_flight_finish(m, f);

	size_t got = 0;
	if (!draining && f->produced + f->sent < MATCHER_SLOTS && f->sent < MATCHER_AT_REDIS) {
		struct matcher_batch *b = matcher_flight_at(f, f->produced + f->sent);
		long t0 = clock_now_ms();
		/* Wait for records only when nothing else is to be done: a batch
		 * at Redis is read as soon as the records already here are taken. */
		int first_wait = f->sent ? 0 : f->produced ? MATCHER_IDLE_POLL_MS :
			MATCHER_FIRST_POLL_MS;
		b->n = matcher_collect(m, b->msgs, (size_t)m->mc->batch_max, first_wait,
				       f->sent ? 0 : MATCHER_FILL_MS);
		b->t_poll = clock_now_ms() - t0;
		if (b->n && work_start(&m->work, &b->work, b->msgs, b->n, b->out,
				       &m->stats) != 0) {
			matcher_drop(b);
			return EXIT_RUNTIME;
		}
		got = b->n;
		f->sent += got > 0;
	}

	if (f->sent && (f->sent >= MATCHER_AT_REDIS || !got || draining)) {
		struct matcher_batch *b = matcher_flight_at(f, f->produced);
		long t1 = clock_now_ms();
		if (work_end(&m->work, &b->work, &m->stats) != 0) {
			/* Its outcomes are released. The batches before it are
			 * finished, the ones after it abandoned (committing them
			 * would commit over its records): stop, another matcher
			 * redoes the rest. */
			matcher_drop(b);
			for (size_t i = f->produced + 1; i < f->produced + f->sent; i++)
				matcher_abandon(m, matcher_flight_at(f, i));
			f->sent = 0;
			int exit_code = 0;
			while (f->produced && exit_code == 0)
				exit_code = matcher_flight_finish(m, f);
			if (exit_code == MATCHER_GAVE_UP)
				exit_code = matcher_flight_give_up(m, f);
			return exit_code ? exit_code : signals_stop ? 0 : EXIT_RUNTIME;
		}
		b->t_redis = clock_now_ms() - t1;
		matcher_produce(m, b->out, b->n);
		b->t_produced = clock_now_ms();
		f->sent--;
		f->produced++;
	}

	if (f->produced && (f->produced + f->sent == MATCHER_SLOTS || (!got && !f->sent))) {
		int exit_code = matcher_flight_finish(m, f);
		if (exit_code == MATCHER_GAVE_UP)
			exit_code = matcher_flight_give_up(m, f);
		return exit_code;
	}
	return 0;
}

/* Consumes into f until a stop request or a failure, then finishes the
 * batches in flight and waits for their commits. Returns the exit code. */
static int matcher_run(struct matcher *m, struct matcher_flight *f)
{
	int exit_code = 0;
	m->last_progress_ms = clock_now_ms();
	while (!signals_stop && exit_code == 0) {
		matcher_health(m);
		exit_code = matcher_step(m, f, 0);
		matcher_progress(m, 0);
	}
	/* Stop requested: finish what Redis was already given, in order. */
	int drained = 0;
	while (exit_code == 0 && (f->produced || f->sent)) {
		exit_code = matcher_step(m, f, 1);
		drained = 1;
	}
	if (drained && exit_code == 0 && !m->gave_up)
		log_info("stop requested: the batches in flight are finished");
	matcher_commits_settle(m);
	return exit_code;
}

int main(int argc, char **argv)
{
	struct matcher_conf mc;
	int exit_code = 0;
	log_init("matcher", NULL);
	if (matcher_conf_parse(argc, argv, &mc, &exit_code) < 0)
		return exit_code;
	signals_install();
	mallopt(M_ARENA_MAX, MATCHER_MALLOC_ARENAS);

	struct matcher m;
	memset(&m, 0, sizeof(m));
	m.mc = &mc;
	m.work.addr = mc.redis;
	m.work.retry_ms = mc.redis_retry_ms;
	m.work.read_addr = mc.read_addr[0] ? mc.read_addr : NULL;
	m.work.alert_ms = mc.index_alert_s * 1000;
	m.work.evidence = mc.evidence;

	char errstr[512];
	m.producer = kafka_producer_new(mc.brokers, mc.kafka_conf, matcher_on_delivery,
					&m, errstr, sizeof(errstr));
	if (!m.producer) {
		log_error("%s", errstr);
		return EXIT_RUNTIME;
	}
	char *consumer_conf = NULL;
	/* The session timeout is the consumer's alone (the producer would warn
	 * about it): not through AIJ_KAFKA_CONF, which goes to both. */
	if (asprintf(&consumer_conf, "%s,session.timeout.ms=%ld%s%s", MATCHER_CONSUMER_CONF,
		     mc.session_timeout_ms, mc.kafka_conf ? "," : "",
		     mc.kafka_conf ? mc.kafka_conf : "") < 0) {
		log_error("out of memory");
		rd_kafka_destroy(m.producer);
		return EXIT_RUNTIME;
	}
	m.consumer = kafka_consumer_new(mc.brokers, mc.group, consumer_conf, errstr,
					sizeof(errstr));
	free(consumer_conf);
	if (!m.consumer || kafka_subscribe(m.consumer, mc.topic_records, errstr,
					   sizeof(errstr)) != 0) {
		log_error("%s", errstr);
		if (m.consumer)
			rd_kafka_destroy(m.consumer);
		rd_kafka_destroy(m.producer);
		return EXIT_RUNTIME;
	}
	/* Redis is connected lazily: a matcher started before Redis waits and
	 * retries at its first batch like after any Redis failure. */
	log_info("consuming '%s' as group '%s' (batches of %ld), outcomes to '%s', "
		 "redis %s%s%s, evidence %s", mc.topic_records, mc.group, mc.batch_max,
		 mc.topic_outcomes, mc.redis, mc.read_addr[0] ? ", reading from " : "",
		 mc.read_addr, mc.evidence ? "on" : "off");

	m.commits = rd_kafka_queue_new(m.consumer);
	struct matcher_flight flight;
	if (matcher_flight_init(&flight, (size_t)mc.batch_max) != 0) {
		log_error("out of memory for batches of %ld", mc.batch_max);
		exit_code = EXIT_RUNTIME;
	} else {
		exit_code = matcher_run(&m, &flight);
	}
	rd_kafka_queue_destroy(m.commits);

	/* In order: leave the group (our partitions go to the others at once),
	 * then make sure no outcome is left in the producer's queue. Leaving
	 * is bounded: it waits for a rebalance of the group, or for a commit
	 * sent to a broker that went away (up to librdkafka's 60 s). */
	long stopped_for = matcher_stopped_for(&m), leave_ms = MATCHER_LEAVE_MS;
	if (stopped_for >= 0 && MATCHER_STOP_MS - stopped_for < leave_ms)
		leave_ms = MATCHER_STOP_MS - stopped_for > MATCHER_LEAVE_MIN_MS ?
			   MATCHER_STOP_MS - stopped_for : MATCHER_LEAVE_MIN_MS;
	kafka_consumer_close(m.consumer, (int)leave_ms);
	/* Once the stop's time ran out, what is left belongs to records not
	 * committed: no more waiting for it. */
	int left = kafka_drain(m.producer, m.gave_up ? 0 : MATCHER_STOP_DRAIN_MS);
	if (left > 0) {
		log_warn("%d outcomes still unacknowledged at exit (their records "
			 "were not committed)", left);
		/* Failed now rather than have rd_kafka_destroy() linger on an
		 * unreachable broker. */
		rd_kafka_purge(m.producer, RD_KAFKA_PURGE_F_QUEUE |
					   RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_poll(m.producer, 0);
	}
	rd_kafka_destroy(m.producer);
	matcher_flight_free(&m, &flight);
	work_release(&m.work);
	matcher_progress(&m, 1);
	log_info("stopped (exit %d)", exit_code);
	return exit_code;
}
