#include "work.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aij.pb-c.h"
#include "clock.h"
#include "fmt.h"
#include "evidence.h"
#include "index_lookup.h"
#include "log.h"
#include "normalize.h"
#include "record.h"
#include "redis.h"
#include "signals.h"

#define WORK_BACKOFF_FIRST_MS 100
#define WORK_BACKOFF_MAX_MS   2000
#define WORK_REDIS_TIMEOUT_MS 5000

/* A missing index is an alert, not a retry: said at INFO when first seen
 * (a one-shot run starts the week while the index loads), at ERROR once it
 * lasted w->alert_ms, then again this often while it lasts. */
#define WORK_NO_INDEX_REMIND_MS (10 * 60 * 1000)
#define WORK_NO_INDEX_POLL_MS   200

/* A valid record on its way through the look-up. */
struct work_item {
	size_t msg;                 /* index in the batch */
	char *buf;                  /* holds pe, nom, ident */
	struct index_lookup_query q;
};

/* Records of a batch are unpacked into an arena of blocks kept from batch
 * to batch: protobuf-c otherwise mallocs every string of every record, and
 * fresh blocks cost page faults at each batch. */
struct work_arena_block {
	struct work_arena_block *next;
	size_t used, size;
	max_align_t data[];
};

#define WORK_ARENA_BLOCK (256u * 1024)

/* ProtobufCAllocator's alloc: from the first block with room. */
static void *work_arena_alloc(void *data, size_t size)
{
	struct work_arena_block **head = data;
	size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	struct work_arena_block *b = *head;
	while (b && b->size - b->used < size)
		b = b->next;
	if (!b) {
		size_t bsize = size > WORK_ARENA_BLOCK ? size : WORK_ARENA_BLOCK;
		b = malloc(sizeof(*b) + bsize);
		if (!b)
			return NULL;
		b->next = *head;
		b->used = 0;
		b->size = bsize;
		*head = b;
	}
	void *p = (char *)b->data + b->used;
	b->used += size;
	return p;
}

static void work_arena_free(void *data, void *pointer)
{
	(void)data;
	(void)pointer; /* everything goes at once, with work_arena_reset() */
}

/* Empties the blocks for the next batch; keeps them. */
static void work_arena_reset(struct work_arena_block *b)
{
	for (; b; b = b->next)
		b->used = 0;
}

static const char *work_field(const Aij__Record *r, size_t i)
{
	return i < r->n_fields && r->fields[i] ? r->fields[i] : "";
}

/* Fills item's look-up inputs from a valid record. 0 or -1 (memory). */
static int work_prepare(struct work_item *it, const Aij__Record *r)
{
	const char *pe = work_field(r, FIELD_PE);
	const char *nom = work_field(r, FIELD_NOM);
	const char *prenom = work_field(r, FIELD_PRENOM);
	const char *date = work_field(r, FIELD_DATE_NAISSANCE);

	size_t pe_size = strlen(pe) + 1, nom_size = strlen(nom) + 1;
	size_t ident_size = strlen(nom) + strlen(prenom) + strlen(date) + 3;
	it->buf = malloc(pe_size + nom_size + ident_size);
	if (!it->buf)
		return -1;
	char *pe_key = it->buf, *nom_key = pe_key + pe_size;
	char *ident = nom_key + nom_size;
	index_key_pe(pe, pe_key, pe_size);
	name_normalize(nom, nom_key, nom_size);
	index_key_ident(nom, prenom, date, ident, ident_size);
	it->q.pe = pe_key;
	it->q.nom = nom_key;
	it->q.ident = ident;
	return 0;
}

/* Packs the outcome of record r into o. codes/ncodes for a failure, else
 * res holds the integration. 0 or -1 (memory). */
static int work_pack(struct work_outcome *o, const Aij__Record *r,
		     const struct index_lookup_result *res, const unsigned *codes,
		     size_t ncodes)
{
	Aij__Outcome out = AIJ__OUTCOME__INIT;
	Aij__Integrated integrated = AIJ__INTEGRATED__INIT;
	Aij__Failed failed = AIJ__FAILED__INIT;
	Aij__Candidate cand[EVIDENCE_MAX], *cand_ptr[EVIDENCE_MAX];
	char *differs[EVIDENCE_MAX][1];
	uint32_t c[3];
	out.run_id = r->run_id;
	out.attempt = r->attempt;
	out.line = r->line;
	out.seq = r->seq;
	/* A failed line's fields go into the reports; an integrated line's
	 * are the dispositif the reporter attaches when it publishes the run. */
	out.n_fields = r->n_fields;
	out.fields = r->fields;
	if (res && res->step) {
		integrated.dossier_id = (char *)res->dossier_id;
		integrated.ml_code = (char *)res->ml_code;
		integrated.step = res->step;
		out.result_case = AIJ__OUTCOME__RESULT_INTEGRATED;
		out.integrated = &integrated;
	} else {
		for (size_t i = 0; i < ncodes && i < 3; i++)
			c[i] = codes[i];
		failed.n_codes = ncodes < 3 ? ncodes : 3;
		failed.codes = c;
		size_t nev = !res ? 0 : res->nev < EVIDENCE_MAX ? res->nev : EVIDENCE_MAX;
		for (size_t i = 0; i < nev; i++) {
			const struct index_lookup_candidate *e = &res->ev[i];
			aij__candidate__init(&cand[i]);
			cand[i].dossier_id = (char *)e->dossier_id;
			cand[i].ml_code = (char *)e->ml_code;
			cand[i].step = e->step;
			cand[i].code = e->code;
			const char *name = evidence_field_name(e->differs);
			if (name) {
				differs[i][0] = (char *)name;
				cand[i].n_differs = 1;
				cand[i].differs = differs[i];
			}
			cand[i].value = (char *)e->value;
			cand_ptr[i] = &cand[i];
		}
		failed.n_evidence = nev;
		failed.evidence = cand_ptr;
		out.result_case = AIJ__OUTCOME__RESULT_FAILED;
		out.failed = &failed;
	}
	o->len = aij__outcome__get_packed_size(&out);
	o->payload = malloc(o->len ? o->len : 1);
	if (!o->payload)
		return -1;
	aij__outcome__pack(&out, o->payload);
	return 0;
}

/* Packs the outcome of a message that is not a Record: code 10 and where
 * the message is, under run_id (the run of its batch's records, or "").
 * 0 or -1 (memory). */
static int work_pack_poison(struct work_outcome *o, const rd_kafka_message_t *m,
			    const char *run_id, const char *attempt)
{
	static uint32_t technical = CODE_TECHNICAL;
	Aij__Outcome out = AIJ__OUTCOME__INIT;
	Aij__Failed failed = AIJ__FAILED__INIT;
	char source[300];
	snprintf(source, sizeof(source), "%s[%" PRId32 "]@%" PRId64,
		 rd_kafka_topic_name(m->rkt), m->partition, m->offset);
	out.run_id = (char *)run_id;
	out.attempt = (char *)attempt;
	out.line = 0;
	out.seq = UINT64_MAX;
	out.source = source;
	failed.n_codes = 1;
	failed.codes = &technical;
	out.result_case = AIJ__OUTCOME__RESULT_FAILED;
	out.failed = &failed;
	o->key_len = (size_t)snprintf(o->key, sizeof(o->key), "0");
	o->len = aij__outcome__get_packed_size(&out);
	o->payload = malloc(o->len);
	if (!o->payload)
		return -1;
	aij__outcome__pack(&out, o->payload);
	return 0;
}

/* A replica that fails is left alone this long (the primary serves). */
#define WORK_REPLICA_RETRY_MS 30000
#define WORK_REPLICA_LAG_SAY_MS 60000

/* Drops the connections: the batches in flight on them are sent again. */
static void work_disconnect(struct work *w)
{
	if (w->rc)
		redisFree(w->rc);
	if (w->ro)
		redisFree(w->ro);
	w->rc = w->ro = NULL;
	for (size_t i = 0; i < w->inflight; i++)
		w->queue[i]->state = WORK_UNSENT;
	w->inflight = 0;
}

/* Connects to addr and caches the look-up script. NULL with errstr. */
static redisContext *work_open(const char *addr, char *errstr, size_t errstr_size)
{
	redisContext *rc = redis_connect(addr, WORK_REDIS_TIMEOUT_MS, errstr, errstr_size);
	if (rc && index_lookup_script_load(rc, errstr, errstr_size) != 0) {
		redisFree(rc);
		rc = NULL;
	}
	return rc;
}

/* Connects to the primary if needed, and to the replica when one is given
 * and not left alone. 0, or -1 with errstr (the primary failed). */
static int work_connect(struct work *w, char *errstr, size_t errstr_size)
{
	if (!w->rc && !(w->rc = work_open(w->addr, errstr, errstr_size)))
		return -1;
	if (w->read_addr && !w->ro && clock_now_ms() >= w->ro_retry_at) {
		char why[256];
		if (!(w->ro = work_open(w->read_addr, why, sizeof(why)))) {
			w->ro_retry_at = clock_now_ms() + WORK_REPLICA_RETRY_MS;
			log_warn("replica %s: %s; the primary serves the look-ups for %d s",
				 w->read_addr, why, WORK_REPLICA_RETRY_MS / 1000);
		} else {
			log_info("look-ups on the replica %s (checked against the "
				 "primary's index generation)", w->read_addr);
		}
	}
	return 0;
}

/* Appends "GET <current generation>" to rc's pipeline. */
static void work_append_generation(redisContext *rc)
{
	redisAppendCommand(rc, "GET %s", INDEX_KEY_CURRENT);
}

/* A generation from a GET reply (0: none, -1: an error reply), freed. */
static long long work_generation(redisReply *r)
{
	long long g = r && r->type == REDIS_REPLY_STRING ? atoll(r->str) :
		      r && r->type == REDIS_REPLY_ERROR ? -1 : 0;
	freeReplyObject(r);
	return g;
}

/* Sends b's look-up script, behind the batches in flight: on the replica
 * (with the generations) when there is one and b did not find it lagging,
 * else on the primary. 0, or -1 with errstr (the connections are then
 * dropped). */
static int work_send(struct work *w, struct work_batch *b, char *errstr,
		     size_t errstr_size)
{
	if (w->inflight == WORK_INFLIGHT_MAX) {
		snprintf(errstr, errstr_size, "more than %d batches in flight",
			 WORK_INFLIGHT_MAX);
		return -1;
	}
	if (work_connect(w, errstr, errstr_size) != 0)
		return -1;
	int replica = w->ro && !b->on_replica;
	if (replica) {
		work_append_generation(w->rc);
		work_append_generation(w->ro);
	}
	if (index_lookup_send(replica ? w->ro : w->rc, b->q, b->nitems, w->evidence, errstr,
			      errstr_size) != 0) {
		work_disconnect(w);
		return -1;
	}
	/* on_replica: 1 sent there; -1: lagging, the primary's turn. */
	b->on_replica = replica ? 1 : b->on_replica ? -1 : 0;
	b->state = WORK_SENT;
	w->queue[w->inflight++] = b;
	return 0;
}

/* The replica's part of a batch's reply: its generation before the script,
 * the script's reply, the primary's generation. Returns 1 when the replica
 * had the primary's generation (or a newer one), 0 when it lagged (b goes
 * to the primary), -1 with errstr on a failure. */
static int work_receive_replica(struct work *w, struct work_batch *h,
				char *errstr, size_t errstr_size)
{
	long long replica = work_generation(redis_reply(w->ro, errstr, errstr_size));
	int rc = index_lookup_recv(w->ro, h->q, h->nitems, h->res, errstr, errstr_size);
	long long primary = work_generation(redis_reply(w->rc, errstr, errstr_size));
	if (w->ro->err || w->rc->err)
		return -1;
	if (rc != 0 && replica >= primary)
		return -1; /* the same index, the same error as on the primary */
	if (rc == 0 && replica >= primary)
		return 1;
	long now = clock_now_ms();
	if (now - w->ro_stale_said >= WORK_REPLICA_LAG_SAY_MS) {
		w->ro_stale_said = now;
		log_warn("replica %s lags: index generation %lld, the primary's %lld; "
			 "its batches go to the primary meanwhile", w->read_addr,
			 replica, primary);
	}
	return 0;
}

/* Reads the reply of the oldest batch in flight into that batch. Returns
 * 0, or -1 with errstr: an error reply leaves that batch to be sent again;
 * a broken connection (or a script no longer cached) drops the
 * connections, and with them every batch in flight. */
static int work_receive(struct work *w, char *errstr, size_t errstr_size)
{
	struct work_batch *h = w->queue[0];
	w->inflight--;
	memmove(w->queue, w->queue + 1, w->inflight * sizeof(*w->queue));
	if (h->on_replica == 1) {
		int got = work_receive_replica(w, h, errstr, errstr_size);
		if (got == 1) {
			h->state = WORK_RESOLVED;
			h->on_replica = 0;
			return 0;
		}
		if (got == 0) {
			h->state = WORK_UNSENT; /* on the primary, next */
			return 0;
		}
		h->on_replica = 0;
		h->state = WORK_UNSENT;
		if ((w->ro && w->ro->err) || (w->rc && w->rc->err) || strstr(errstr, "NOSCRIPT"))
			work_disconnect(w);
		return -1;
	}
	h->on_replica = 0;
	if (index_lookup_recv(w->rc, h->q, h->nitems, h->res, errstr, errstr_size) == 0) {
		h->state = WORK_RESOLVED;
		return 0;
	}
	h->state = WORK_UNSENT;
	if (w->rc->err || strstr(errstr, "NOSCRIPT"))
		work_disconnect(w);
	return -1;
}

/* Sleeps ms in slices, so that a stop request is seen at once. Returns
 * -1 when stopped. */
static int work_sleep(long ms)
{
	for (long slept = 0; slept < ms && !signals_stop; slept += 50)
		clock_sleep_ms(ms - slept < 50 ? ms - slept : 50);
	return signals_stop ? -1 : 0;
}

/* Redis answers but holds no index: the records wait (code 10 would fail
 * lines that match once an export is loaded). Said at INFO, at ERROR after
 * w->alert_ms and every WORK_NO_INDEX_REMIND_MS; polls every 200 ms.
 * Returns -1 when stopped. */
static int work_wait_index(struct work *w, size_t nitems)
{
	long now = clock_now_ms();
	if (!w->no_index_since) {
		w->no_index_since = now;
		w->no_index_said = 0;
		log_info("no dossier index in redis yet: %zu records wait for an export "
			 "to be loaded (an alert in %ld s)", nitems, w->alert_ms / 1000);
	} else if ((!w->no_index_said && now - w->no_index_since >= w->alert_ms) ||
		   (w->no_index_said && now - w->no_index_said >= WORK_NO_INDEX_REMIND_MS)) {
		w->no_index_said = now;
		log_error("alert: redis holds no dossier index (restarted empty, or never "
			  "loaded) for %ld s: the records wait until an export is loaded "
			  "(aij-indexer)", (now - w->no_index_since) / 1000);
	}
	return work_sleep(WORK_NO_INDEX_POLL_MS);
}

/* Gets b's results: sends it if it is not in flight, reads replies up to
 * its own, retrying Redis within the budget (backoff 100 ms doubling to
 * 2 s). Once a batch spent the whole budget, Redis is taken for down: the
 * next batches get one attempt each, until one succeeds (else a week would
 * wait the budget once per batch). A missing index is waited for, without
 * budget. Returns 0 with b->res filled, 1 when the budget ran out (code
 * 10), -1 when stopped. */
static int work_resolve(struct work *w, struct work_batch *b)
{
	long start = clock_now_ms();
	long deadline = w->down_since ? start : start + w->retry_ms;
	long delay = WORK_BACKOFF_FIRST_MS;
	for (;;) {
		char errstr[512] = "";
		int failed = 0;
		while (b->state != WORK_RESOLVED && !failed) {
			if (b->state == WORK_UNSENT)
				failed = work_send(w, b, errstr, sizeof(errstr)) != 0;
			else if (work_receive(w, errstr, sizeof(errstr)) != 0)
				/* Another batch's error: its turn comes. */
				failed = b->state != WORK_RESOLVED &&
					 b->state != WORK_SENT;
		}
		if (!failed) {
			long now = clock_now_ms();
			if (w->down_since)
				log_info("redis is back after %ld s down", (now - w->down_since) / 1000);
			else if (w->failed_attempts > 0)
				log_info("redis is back after %d attempts", w->failed_attempts + 1);
			if (w->no_index_since)
				log_info("a dossier index is loaded: the records waited %ld s",
					 (now - w->no_index_since) / 1000);
			w->failed_attempts = 0;
			w->no_index_since = 0;
			w->down_since = 0;
			return 0;
		}
		if (strstr(errstr, INDEX_LOOKUP_ERR_NO_INDEX)) {
			if (work_wait_index(w, b->nitems) != 0)
				return -1;
			deadline = clock_now_ms() + w->retry_ms; /* Redis answers */
			continue;
		}
		w->failed_attempts++;
		long now = clock_now_ms();
		if (now + delay > deadline) {
			if (!w->down_since) {
				w->down_since = now;
				log_error("redis still failing after %d attempts in %ld s (%s): "
					  "%zu records get code 10; the next batches get one "
					  "attempt each until redis answers", w->failed_attempts,
					  (now - start) / 1000, errstr, b->nitems);
			} else {
				log_error("redis down for %ld s (%s): %zu records get code 10",
					  (now - w->down_since) / 1000, errstr, b->nitems);
			}
			return 1;
		}
		if (w->failed_attempts == 1)
			log_warn("redis: %s; retrying for up to %ld s (--redis-retry-ms) "
				 "before the records get code 10", errstr,
				 (deadline - now) / 1000);
		else
			log_warn("redis: %s; retry %d in %ld ms", errstr, w->failed_attempts,
				 delay);
		if (work_sleep(delay) != 0)
			return -1;
		delay = delay * 2 > WORK_BACKOFF_MAX_MS ? WORK_BACKOFF_MAX_MS : delay * 2;
	}
}

/* Sizes b's arrays for n messages. 0 or -1 (memory). */
static int work_batch_reserve(struct work_batch *b, size_t n)
{
	if (n <= b->cap)
		return 0;
	Aij__Record **rec = realloc(b->rec, n * sizeof(*rec));
	if (rec)
		b->rec = rec;
	struct work_item *items = realloc(b->items, n * sizeof(*items));
	if (items)
		b->items = items;
	struct index_lookup_query *q = realloc(b->q, n * sizeof(*q));
	if (q)
		b->q = q;
	struct index_lookup_result *res = realloc(b->res, n * sizeof(*res));
	if (res)
		b->res = res;
	if (!rec || !items || !q || !res)
		return -1;
	b->cap = n;
	return 0;
}

/* Frees what b holds for its current batch; keeps its arrays and blocks. */
static void work_batch_clear(struct work_batch *b)
{
	if (b->state == WORK_RESOLVED)
		index_lookup_release(b->res, b->nitems); /* the evidence */
	for (size_t k = 0; k < b->nitems; k++)
		free(b->items[k].buf);
	b->nitems = 0;
	b->n = 0;
	b->state = WORK_UNSENT;
	work_arena_reset(b->arena); /* the records */
}

int work_start(struct work *w, struct work_batch *b, rd_kafka_message_t *const *msgs,
	       size_t n, struct work_outcome *out, struct work_stats *stats)
{
	ProtobufCAllocator alloc = { work_arena_alloc, work_arena_free, &b->arena };
	memset(out, 0, n * sizeof(*out));
	b->msgs = msgs;
	b->out = out;
	b->n = n;
	b->nitems = 0;
	b->state = WORK_UNSENT;
	b->poison = 0;
	if (work_batch_reserve(b, n ? n : 1) != 0)
		goto oom;

	for (size_t i = 0; i < n; i++) {
		const rd_kafka_message_t *m = msgs[i];
		b->rec[i] = aij__record__unpack(&alloc, m->len, m->payload);
		if (!b->rec[i]) {
			/* Not a Record: no line to report it under. Logged loudly,
			 * published by work_end() as a code-10 outcome naming its
			 * offset, and committed past, so that it never blocks its
			 * partition. */
			log_error("message at %s[%" PRId32 "] offset %" PRId64
				  " (key '%.*s') is not a Record: reported as code 10 and skipped",
				  rd_kafka_topic_name(m->rkt), m->partition, m->offset,
				  (int)(m->key_len < 40 ? m->key_len : 40),
				  m->key ? (const char *)m->key : "");
			stats->poison++;
			b->poison++;
			continue;
		}
		Aij__Record *r = b->rec[i];
		out[i].key_len = fmt_u64(out[i].key, r->line);
		stats->records++;
		if (r->validation_code != 0) {
			unsigned code = r->validation_code;
			if (work_pack(&out[i], r, NULL, &code, 1))
				goto oom;
			stats->failed++;
			continue;
		}
		struct work_item *it = &b->items[b->nitems];
		memset(it, 0, sizeof(*it));
		b->nitems++; /* counted now: freed by work_batch_clear() */
		it->msg = i;
		if (work_prepare(it, r))
			goto oom;
		b->q[b->nitems - 1] = it->q;
	}

	/* Sent now, answered while the caller does other work; a failure here
	 * is only retried by work_end(), within the budget. */
	char errstr[512];
	if (b->nitems > 0 && work_send(w, b, errstr, sizeof(errstr)) != 0)
		log_warn("redis: %s; the batch will be sent again", errstr);
	return 0;
oom:
	log_error("out of memory while preparing a batch of %zu records", n);
	work_outcomes_release(out, n);
	work_batch_clear(b);
	return -1;
}

int work_end(struct work *w, struct work_batch *b, struct work_stats *stats)
{
	size_t n = b->n;
	struct work_outcome *out = b->out;
	int resolved = 0, status = -1;
	if (b->nitems > 0)
		resolved = work_resolve(w, b);
	if (resolved < 0) {
		log_warn("stopping during redis retries: the batch of %zu records is "
			 "left uncommitted for the next matcher", n);
		goto done;
	}
	for (size_t k = 0; k < b->nitems; k++) {
		size_t i = b->items[k].msg;
		static const unsigned technical = CODE_TECHNICAL;
		const struct index_lookup_result *res = &b->res[k];
		int rc = resolved == 1 ? work_pack(&out[i], b->rec[i], NULL, &technical, 1)
				       : work_pack(&out[i], b->rec[i], res, res->codes,
						   res->ncodes);
		if (rc)
			goto oom;
		if (resolved == 1) {
			stats->technical++;
			stats->failed++;
		} else if (res->step) {
			stats->integrated++;
		} else {
			stats->failed++;
		}
	}
	if (b->poison > 0) {
		const char *run_id = "", *attempt = "";
		for (size_t i = 0; i < n && !*run_id; i++)
			if (b->rec[i]) {
				run_id = b->rec[i]->run_id;
				attempt = b->rec[i]->attempt;
			}
		for (size_t i = 0; i < n; i++)
			if (!b->rec[i] &&
			    work_pack_poison(&out[i], b->msgs[i], run_id, attempt))
				goto oom;
	}
	status = 0;
	goto done;
oom:
	log_error("out of memory while packing a batch of %zu records", n);
done:
	if (status != 0)
		work_outcomes_release(out, n);
	work_batch_clear(b);
	return status;
}

void work_drop(struct work *w, struct work_batch *b)
{
	/* Still in flight: its reply would be read as another batch's. */
	if (b->state == WORK_SENT)
		work_disconnect(w);
	if (b->out)
		work_outcomes_release(b->out, b->n);
	work_batch_clear(b);
}

void work_batch_release(struct work_batch *b)
{
	work_batch_clear(b);
	while (b->arena) {
		struct work_arena_block *next = b->arena->next;
		free(b->arena);
		b->arena = next;
	}
	free(b->rec);
	free(b->items);
	free(b->q);
	free(b->res);
	memset(b, 0, sizeof(*b));
}

void work_release(struct work *w)
{
	work_disconnect(w);
}

void work_outcomes_release(struct work_outcome *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(out[i].payload);
		out[i].payload = NULL;
	}
}
