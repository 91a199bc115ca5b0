#include "consume.h"

#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "clock.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "signals.h"

#define CONSUME_CLOSE_MS 2000 /* no group to leave: closing is quick */
#define CONSUME_METADATA_MS 5000 /* each topic's, while waiting for them */

/* Assigns every partition of both topics from the beginning: the reporter
 * reads whole topics, no group coordination needed. Waits for the topics
 * to exist up to the stall timeout while nothing stops it. Returns the
 * partitions assigned (free with rd_kafka_topic_partition_list_destroy()),
 * or NULL (errstr). */
static rd_kafka_topic_partition_list_t *
consume_assign(rd_kafka_t *rk, const struct consume_opts *opts,
	       char *errstr, size_t errstr_size)
{
	const char *topics[] = { opts->topic_runs, opts->topic_outcomes };
	rd_kafka_topic_partition_list_t *list =
		kafka_assign_topics(rk, topics, 2, opts->stall_timeout_s,
				    CONSUME_METADATA_MS, errstr, errstr_size);
	if (list)
		log_info("reading %d partitions of '%s' and '%s' from the beginning",
			 list->cnt, topics[0], topics[1]);
	return list;
}

/* Feeds one message to c, unpacking an outcome in arena (reset after).
 * Returns 1 when it brought something new, 0 when not, -1 on an error
 * (errstr). */
static int consume_message(const struct consume_opts *opts, struct collect *c,
			   struct arena *arena, const rd_kafka_message_t *msg,
			   char *errstr, size_t errstr_size)
{
	const char *topic = rd_kafka_topic_name(msg->rkt);
	if (strcmp(topic, opts->topic_runs) == 0) {
		Aij__Manifest *m = aij__manifest__unpack(NULL, msg->len, msg->payload);
		if (!m) {
			log_warn("'%s' [%" PRId32 "] offset %" PRId64 ": not a manifest, ignored",
				 topic, msg->partition, msg->offset);
			return 0;
		}
		int rc = collect_takes(c, m->run_id, m->attempt);
		if (rc < 0) {
			snprintf(errstr, errstr_size, "out of memory");
		} else if (rc > 0) {
			rc = collect_manifest(c, m, errstr, errstr_size);
			if (rc > 0)
				log_info("manifest of attempt %s: %llu records from '%s' "
					 "(sha256 %.12s...)", m->attempt,
					 (unsigned long long)m->records, m->source_name,
					 m->sha256);
		} else if (rc == 0 && strcmp(m->run_id, c->run_id) == 0) {
			log_warn("manifest of another attempt of run %s (%s, not %s): "
				 "ignored", m->run_id, m->attempt, c->attempt);
		}
		aij__manifest__free_unpacked(m, NULL);
		return rc;
	}
	ProtobufCAllocator alloc = arena_protobuf(arena);
	Aij__Outcome *o = aij__outcome__unpack(&alloc, msg->len, msg->payload);
	if (!o) {
		arena_reset(arena);
		log_warn("'%s' [%" PRId32 "] offset %" PRId64 ": not an outcome, ignored",
			 topic, msg->partition, msg->offset);
		return 0;
	}
	int rc = collect_takes(c, o->run_id, o->attempt);
	if (rc < 0)
		snprintf(errstr, errstr_size, "out of memory");
	else if (rc > 0)
		rc = collect_outcome(c, o, errstr, errstr_size);
	arena_reset(arena);
	return rc;
}

/* One progress line: done/total, the rate since start (when start_count
 * outcomes were in), an ETA. */
static void consume_progress(const struct collect *c, double start,
			     uint64_t start_count)
{
	double elapsed = clock_now_s() - start;
	uint64_t got = c->have_manifest ? c->in_range : c->received;
	double rate = elapsed > 0.5 && got > start_count
		      ? (double)(got - start_count) / elapsed : 0;
	if (!c->have_manifest) {
		log_info("outcomes received: %llu (%.0f/s), waiting for the manifest",
			 (unsigned long long)got, rate);
		return;
	}
	uint64_t missing = c->records - c->in_range;
	char eta[48] = "";
	if (missing == 0)
		snprintf(eta, sizeof(eta), ", complete");
	else if (rate > 0)
		snprintf(eta, sizeof(eta), ", ETA %.0f s", (double)missing / rate);
	log_info("outcomes received: %llu of %llu (%.1f%%, %.0f/s%s)",
		 (unsigned long long)c->in_range, (unsigned long long)c->records,
		 c->records ? 100.0 * (double)c->in_range / (double)c->records : 100.0,
		 rate, eta);
}

enum consume_result consume_run(const struct consume_opts *opts,
				struct collect *c,
				char *errstr, size_t errstr_size)
{
	rd_kafka_t *rk = kafka_consumer_new(opts->brokers, opts->group, opts->kafka_conf,
					    errstr, errstr_size);
	if (!rk)
		return CONSUME_ERROR;
	enum consume_result res = CONSUME_ERROR;
	struct arena arena;
	arena_init(&arena, 0);
	rd_kafka_topic_partition_list_t *assigned =
		consume_assign(rk, opts, errstr, errstr_size);
	if (!assigned) {
		res = signals_stop ? CONSUME_STOPPED : CONSUME_ERROR;
		goto out;
	}
	rd_kafka_topic_partition_list_destroy(assigned);

	double last_new = clock_now_s(), last_log = last_new, start = last_new;
	while (!collect_complete(c)) {
		if (signals_stop) {
			res = CONSUME_STOPPED;
			goto out;
		}
		rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 200);
		double now = clock_now_s();
		if (msg) {
			int rc = 0;
			if (msg->err) {
				if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
					log_warn("kafka: %s", rd_kafka_message_errstr(msg));
			} else {
				rc = consume_message(opts, c, &arena, msg, errstr, errstr_size);
			}
			rd_kafka_message_destroy(msg);
			if (rc < 0)
				goto out;
			if (rc > 0)
				last_new = now;
		}
		if (now - last_log >= opts->progress_s) {
			consume_progress(c, start, 0);
			last_log = now;
		}
		if (!collect_complete(c) && now - last_new >= opts->stall_timeout_s) {
			res = CONSUME_STALLED;
			goto out;
		}
	}
	consume_progress(c, start, 0);
	res = CONSUME_COMPLETE;
out:
	arena_release(&arena);
	kafka_consumer_close(rk, CONSUME_CLOSE_MS);
	return res;
}

/* --- following every run ------------------------------------------------ */

struct follow {
	const struct consume_opts *opts;
	const struct consume_follow_hooks *hooks;
	rd_kafka_t *rk;
	rd_kafka_topic_partition_list_t *outcomes; /* to pause, resume, rewind */
	rd_kafka_topic_partition_list_t *runs;     /* offset -1 once read to its end */
	rd_kafka_topic_partition_list_t *runs_pos; /* offset: the next to read */
	int caught_up;          /* the runs topic read up to its end at start */
	char target[256];       /* the run followed ("" none yet) */
	char target_attempt[320]; /* and its attempt */
	struct collect c;
	struct arena arena;     /* the outcome being unpacked */
	int collecting;         /* c holds target's run, not complete yet */
	int stalled;
	double last_new, start;
	uint64_t start_count, messages;
};

/* Reads the outcomes again from the beginning (a new run to collect): the
 * whole assignment is replaced, the runs topic where we are in it, which also
 * drops the outcomes fetched already. (A seek of the outcome partitions
 * timed out now and then on a busy machine.) Returns 0 or -1 (errstr). */
static int follow_rewind(struct follow *f, char *errstr, size_t errstr_size)
{
	rd_kafka_topic_partition_list_t *list =
		rd_kafka_topic_partition_list_new(f->outcomes->cnt + f->runs_pos->cnt);
	for (int i = 0; i < f->runs_pos->cnt; i++)
		rd_kafka_topic_partition_list_add(list, f->runs_pos->elems[i].topic,
						  f->runs_pos->elems[i].partition)->offset =
			f->runs_pos->elems[i].offset;
	for (int i = 0; i < f->outcomes->cnt; i++)
		rd_kafka_topic_partition_list_add(list, f->outcomes->elems[i].topic,
						  f->outcomes->elems[i].partition)->offset =
			RD_KAFKA_OFFSET_BEGINNING;
	rd_kafka_resp_err_t err = rd_kafka_assign(f->rk, list);
	rd_kafka_topic_partition_list_destroy(list);
	if (err) {
		snprintf(errstr, errstr_size, "cannot read '%s' again: %s",
			 f->opts->topic_outcomes, rd_kafka_err2str(err));
		return -1;
	}
	return 0;
}

/* A manifest of another attempt than the one followed: follow that one. */
static int follow_switch(struct follow *f, const Aij__Manifest *m,
			 char *errstr, size_t errstr_size)
{
	if (f->collecting && f->caught_up)
		log_warn("run %s (attempt %s) left incomplete (%llu of %llu outcomes): "
			 "attempt %s of run %s is newer", f->target, f->target_attempt,
			 (unsigned long long)f->c.in_range,
			 (unsigned long long)f->c.records, m->attempt, m->run_id);
	collect_release(&f->c);
	f->collecting = 0;
	snprintf(f->target, sizeof(f->target), "%s", m->run_id);
	snprintf(f->target_attempt, sizeof(f->target_attempt), "%s", m->attempt);
	if (collect_init(&f->c, m->run_id, m->attempt, NULL, errstr, errstr_size) < 0 ||
	    collect_manifest(&f->c, m, errstr, errstr_size) < 0)
		return -1;
	f->collecting = 1;
	f->stalled = 0;
	f->last_new = f->start = clock_now_s();
	f->start_count = 0;
	log_set_run(m->run_id);
	log_info("run %s: manifest of attempt %s, %llu records from '%s' (sha256 "
		 "%.12s...): collecting its outcomes", m->run_id, m->attempt,
		 (unsigned long long)m->records, m->source_name, m->sha256);
	metrics_run_begin(m->run_id);
	metrics_progress(f->messages, 0, m->records);
	return f->caught_up ? follow_rewind(f, errstr, errstr_size) : 0;
}

static int follow_manifest(struct follow *f, const rd_kafka_message_t *msg,
			   char *errstr, size_t errstr_size)
{
	for (int i = 0; i < f->runs_pos->cnt; i++)
		if (f->runs_pos->elems[i].partition == msg->partition)
			f->runs_pos->elems[i].offset = msg->offset + 1;
	Aij__Manifest *m = aij__manifest__unpack(NULL, msg->len, msg->payload);
	if (!m) {
		log_warn("'%s' [%" PRId32 "] offset %" PRId64 ": not a manifest, ignored",
			 f->opts->topic_runs, msg->partition, msg->offset);
		return 0;
	}
	int rc = 0;
	if (strcmp(m->run_id, f->target) != 0 || strcmp(m->attempt, f->target_attempt) != 0)
		rc = follow_switch(f, m, errstr, errstr_size);
	else if (f->collecting && collect_manifest(&f->c, m, errstr, errstr_size) < 0)
		rc = -1;
	else if (!f->collecting && f->caught_up)
		log_info("manifest of attempt %s again: that attempt is decided "
			 "already, ignored", m->attempt);
	aij__manifest__free_unpacked(m, NULL);
	return rc;
}

/* The runs topic read to where it ended at start: the latest run is known,
 * its outcomes may come, all of them from the beginning (a few may have
 * come before the pause took hold, while an older run was the target).
 * Returns 0 or -1 (errstr). */
static int follow_catch_up(struct follow *f, char *errstr, size_t errstr_size)
{
	if (!kafka_partition_eof(f->runs, NULL))
		return 0;
	f->caught_up = 1;
	if (!f->target[0]) {
		log_info("no run on '%s' yet: waiting for a manifest", f->opts->topic_runs);
		metrics_state(METRICS_WAITING);
	} else if (f->hooks->decided && f->hooks->decided(f->target_attempt, f->hooks->arg)) {
		log_info("run %s, attempt %s, the latest, is decided already (DIR/runs.json): "
			 "waiting for the next run", f->target, f->target_attempt);
		collect_release(&f->c);
		f->collecting = 0;
	}
	rd_kafka_resume_partitions(f->rk, f->outcomes);
	return f->messages > 0 ? follow_rewind(f, errstr, errstr_size) : 0;
}

static int follow_outcome(struct follow *f, const rd_kafka_message_t *msg,
			  char *errstr, size_t errstr_size)
{
	if (!f->collecting)
		return 0;
	ProtobufCAllocator alloc = arena_protobuf(&f->arena);
	Aij__Outcome *o = aij__outcome__unpack(&alloc, msg->len, msg->payload);
	if (!o) {
		arena_reset(&f->arena);
		log_warn("'%s' [%" PRId32 "] offset %" PRId64 ": not an outcome, ignored",
			 f->opts->topic_outcomes, msg->partition, msg->offset);
		return 0;
	}
	int rc = collect_takes(&f->c, o->run_id, o->attempt);
	if (rc > 0)
		rc = collect_outcome(&f->c, o, errstr, errstr_size);
	else if (rc < 0)
		snprintf(errstr, errstr_size, "out of memory");
	arena_reset(&f->arena);
	if (rc > 0) {
		f->last_new = clock_now_s();
		if (f->stalled) {
			f->stalled = 0;
			metrics_state(METRICS_COLLECTING);
		}
	}
	return rc < 0 ? -1 : 0;
}

enum consume_result consume_follow(const struct consume_opts *opts,
				   const struct consume_follow_hooks *hooks,
				   char *errstr, size_t errstr_size)
{
	struct follow f = { .opts = opts, .hooks = hooks };
	enum consume_result res = CONSUME_ERROR;
	arena_init(&f.arena, 0);
	rd_kafka_topic_partition_list_t *all = NULL;
	/* The end of the runs topic comes as an event (kafka_reader_new(),
	 * kafka_partition_eof()). A bounded fetch queue: the follower reads
	 * whole topics again and again, its memory is one run plus this,
	 * whatever the topics hold. Not smaller: librdkafka 2.0.2 stops fetching
	 * once the queue holds this much and looks again only later (topics
	 * holding 12 runs of 400k lines, the latest one decided in 50-60 s with
	 * 1 MiB, 10 s with 8 MiB; bench/RESULTS.md). */
	char *conf = NULL;
	if (asprintf(&conf, "queued.max.messages.kbytes=8192%s%s",
		     opts->kafka_conf ? "," : "", opts->kafka_conf ? opts->kafka_conf : "") < 0) {
		snprintf(errstr, errstr_size, "out of memory");
		return CONSUME_ERROR;
	}
	f.rk = kafka_reader_new(opts->brokers, opts->group, conf, errstr, errstr_size);
	free(conf);
	if (!f.rk)
		return CONSUME_ERROR;
	all = consume_assign(f.rk, opts, errstr, errstr_size);
	if (!all) {
		res = signals_stop ? CONSUME_STOPPED : CONSUME_ERROR;
		goto out;
	}
	f.runs = kafka_partition_ends(all, opts->topic_runs);
	f.outcomes = rd_kafka_topic_partition_list_new(all->cnt);
	f.runs_pos = rd_kafka_topic_partition_list_new(1);
	for (int i = 0; i < all->cnt; i++) {
		const rd_kafka_topic_partition_t *p = &all->elems[i];
		if (strcmp(p->topic, opts->topic_outcomes) == 0)
			rd_kafka_topic_partition_list_add(f.outcomes, p->topic, p->partition);
		else
			rd_kafka_topic_partition_list_add(f.runs_pos, p->topic,
							  p->partition)->offset =
				RD_KAFKA_OFFSET_BEGINNING;
	}
	/* The outcomes wait until the latest run is known: no run's outcomes
	 * are collected only to be dropped for a newer one. */
	rd_kafka_pause_partitions(f.rk, f.outcomes);
	if (follow_catch_up(&f, errstr, errstr_size) < 0)
		goto out;

	double last_log = clock_now_s();
	while (!signals_stop) {
		rd_kafka_message_t *msg = rd_kafka_consumer_poll(f.rk, 200);
		int rc = 0;
		if (msg) {
			f.messages++;
			int runs = msg->rkt &&
				   strcmp(rd_kafka_topic_name(msg->rkt), opts->topic_runs) == 0;
			if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
				if (runs)
					kafka_partition_eof(f.runs, msg);
				if (runs && !f.caught_up)
					rc = follow_catch_up(&f, errstr, errstr_size);
			} else if (msg->err) {
				log_warn("kafka: %s", rd_kafka_message_errstr(msg));
			} else if (runs) {
				rc = follow_manifest(&f, msg, errstr, errstr_size);
			} else {
				rc = follow_outcome(&f, msg, errstr, errstr_size);
			}
			rd_kafka_message_destroy(msg);
			if (rc < 0)
				goto out;
		}
		double now = clock_now_s();
		if (f.collecting && f.caught_up && collect_complete(&f.c)) {
			consume_progress(&f.c, f.start, f.start_count);
			metrics_progress(f.messages, f.c.in_range, f.c.records);
			f.collecting = 0;
			hooks->on_complete(&f.c, hooks->arg);
			collect_release(&f.c); /* memory back, run after run */
			log_info("waiting for the next run");
		}
		if (now - last_log >= opts->progress_s) {
			if (f.collecting && f.caught_up)
				consume_progress(&f.c, f.start, f.start_count);
			metrics_progress(f.messages, f.collecting ? f.c.in_range : 0,
					 f.collecting ? f.c.records : 0);
			last_log = now;
		}
		if (f.collecting && f.caught_up && !f.stalled &&
		    now - f.last_new >= opts->stall_timeout_s) {
			f.stalled = 1;
			metrics_state(METRICS_STALLED);
			hooks->on_stalled(&f.c, opts->stall_timeout_s, hooks->arg);
		}
	}
	res = CONSUME_STOPPED;
out:
	collect_release(&f.c);
	arena_release(&f.arena);
	if (f.outcomes)
		rd_kafka_topic_partition_list_destroy(f.outcomes);
	if (f.runs)
		rd_kafka_topic_partition_list_destroy(f.runs);
	if (f.runs_pos)
		rd_kafka_topic_partition_list_destroy(f.runs_pos);
	if (all)
		rd_kafka_topic_partition_list_destroy(all);
	kafka_consumer_close(f.rk, CONSUME_CLOSE_MS);
	return res;
}
