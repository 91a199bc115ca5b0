#include "index_write.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "index_load_impl.h"
#include "log.h"
#include "redis.h"
#include "signals.h"

#define INDEX_CHUNK_ARGS 2000   /* arguments per pipelined command */
#define INDEX_WINDOW 64         /* commands in flight before reading a reply */

#define INDEX_VALUES_SIZE (256u * 1024) /* values built for one command */

/* Sends commands pipelined and reads their replies a window behind. */
struct index_writer {
	redisContext *rc;
	const char *argv[2 + INDEX_CHUNK_ARGS];
	size_t argvlen[2 + INDEX_CHUNK_ARGS];
	/* Values built for the command being built ("\t<count>...", near
	 * values): emptied once it is appended (hiredis copies). */
	char *values;
	size_t values_used, values_size;
	char key[96];
	int head;       /* arguments before the pairs: "HSET key" */
	int argc;
	int pending;
	char *errstr;
	size_t errstr_size;
	int failed;
};

static int index_writer_fail(struct index_writer *w, const char *what)
{
	snprintf(w->errstr, w->errstr_size, "redis: %s", what);
	w->failed = 1;
	return -1;
}

static int index_reply_check(struct index_writer *w)
{
	redisReply *reply = NULL;
	if (redisGetReply(w->rc, (void **)&reply) != REDIS_OK)
		return index_writer_fail(w, w->rc->errstr);
	w->pending--;
	if (reply->type == REDIS_REPLY_ERROR)
		index_writer_fail(w, reply->str);
	freeReplyObject(reply);
	return w->failed ? -1 : 0;
}

/* Appends the command being built (if it has arguments past its head). */
static int index_writer_flush(struct index_writer *w)
{
	if (w->failed)
		return -1;
	if (w->argc <= w->head)
		return 0;
	/* A stop request ends a load between two commands: the current index
	 * stays, the half generation is deleted by the next load. */
	if (signals_stop) {
		snprintf(w->errstr, w->errstr_size, "stopped by a signal");
		w->failed = 1;
		return -1;
	}
	/* hiredis copies the arguments here: buffers may be reused after. */
	if (redisAppendCommandArgv(w->rc, w->argc, w->argv, w->argvlen) != REDIS_OK)
		return index_writer_fail(w, w->rc->errstr);
	w->argc = w->head;
	w->values_used = 0;
	w->pending++;
	if (w->pending >= INDEX_WINDOW)
		return index_reply_check(w);
	return 0;
}

/* Starts a command "<cmd> [key]"; key is copied. */
static int index_writer_begin(struct index_writer *w, const char *cmd,
			      const char *key)
{
	if (index_writer_flush(w))
		return -1;
	w->argv[0] = cmd;
	w->argvlen[0] = strlen(cmd);
	w->head = 1;
	if (key) {
		snprintf(w->key, sizeof(w->key), "%s", key);
		w->argv[1] = w->key;
		w->argvlen[1] = strlen(w->key);
		w->head = 2;
	}
	w->argc = w->head;
	return 0;
}

static int index_writer_arg(struct index_writer *w, const char *arg, size_t len)
{
	w->argv[w->argc] = arg;
	w->argvlen[w->argc++] = len;
	/* Keep pairs whole: a command ends on an even count of arguments. */
	if (w->argc - w->head >= INDEX_CHUNK_ARGS && (w->argc - w->head) % 2 == 0)
		return index_writer_flush(w);
	return 0;
}

static int index_writer_finish(struct index_writer *w)
{
	if (index_writer_flush(w))
		return -1;
	while (w->pending > 0)
		if (index_reply_check(w))
			return -1;
	return 0;
}

/* Room for len more bytes of values, for the next pair of arguments:
 * the command being built is appended first if the room is short (its
 * values are then copied). Returns where to write, or NULL (w failed). */
static char *index_writer_room(struct index_writer *w, size_t len)
{
	if (w->values_used + len > w->values_size) {
		if (index_writer_flush(w))
			return NULL;
		w->values_used = 0;
		if (len > w->values_size) {
			size_t size = len > INDEX_VALUES_SIZE ? len : INDEX_VALUES_SIZE;
			char *v = realloc(w->values, size);
			if (!v) {
				index_writer_fail(w, "out of memory");
				return NULL;
			}
			w->values = v;
			w->values_size = size;
		}
	}
	return w->values + w->values_used;
}

/* A dossier's part of a near value, "<id>\t<ml>\t<third field>": the item's
 * value, then what follows its key after '|' up to the next '|' (or the
 * end). Writes it to out when out is not NULL; returns its length. */
static size_t index_near_entry(const struct index_item *it, char *out)
{
	const char *field = it->key + it->key_len + 1;
	size_t field_len = strcspn(field, "|");
	if (out) {
		memcpy(out, it->value, it->value_len);
		out[it->value_len] = '\t';
		memcpy(out + it->value_len + 1, field, field_len);
	}
	return it->value_len + 1 + field_len;
}

/* A dossier's part of a shared value, "\t<id>\t<ml>", from a pe1/pe2 value
 * "<id>\t<N(nom)>\t<ml>" or an ident one "<id>\t<ml>". Writes it to out when
 * out is not NULL; returns its length. */
static size_t index_shared_entry(const struct index_item *it, char *out)
{
	const char *ml = it->value + it->value_len;
	while (ml > it->value && ml[-1] != '\t')
		ml--;
	size_t ml_len = (size_t)(it->value + it->value_len - ml);
	if (ml == it->value)
		ml_len = 0; /* no tab: cannot be */
	if (out) {
		out[0] = '\t';
		memcpy(out + 1, it->value, it->id_len);
		out[1 + it->id_len] = '\t';
		memcpy(out + 2 + it->id_len, ml, ml_len);
	}
	return 2 + it->id_len + ml_len;
}

/* Builds the value of the key of it[0..n) (adjacent items, n_ids distinct
 * dossiers, n_ids > 1 or a near table) in w's values. NULL when w failed. */
static const char *index_value_of(struct index_writer *w, const struct index_load *d,
				  int table, const struct index_item *it, size_t n,
				  unsigned n_ids, size_t *len)
{
	char count[16];
	size_t count_len = (size_t)snprintf(count, sizeof(count), "\t%u", n_ids);
	int near = index_table_near(table);
	size_t listed = 0;
	if (near && n > INDEX_NEAR_MAX) /* not sorted: its rows counted */
		count_len = (size_t)snprintf(count, sizeof(count), "\t%zu", n);
	else if (near)
		listed = n_ids;
	else if (d->near && table != TABLE_ML)
		listed = n_ids < INDEX_SHARED_IDS ? n_ids : INDEX_SHARED_IDS;
	size_t need = near && listed ? 0 : count_len;
	for (size_t i = 0, k = 0; i < n && k < listed; i++)
		if (i == 0 || index_other_dossier(&it[i], &it[i - 1])) {
			need += near ? index_near_entry(&it[i], NULL) + (k > 0)
				     : index_shared_entry(&it[i], NULL);
			k++;
		}
	char *out = index_writer_room(w, need);
	if (!out)
		return NULL;
	size_t pos = 0;
	if (!(near && listed)) {
		memcpy(out, count, count_len);
		pos = count_len;
	}
	for (size_t i = 0, k = 0; i < n && k < listed; i++)
		if (i == 0 || index_other_dossier(&it[i], &it[i - 1])) {
			if (near && k > 0)
				out[pos++] = '\t';
			pos += near ? index_near_entry(&it[i], out + pos)
				    : index_shared_entry(&it[i], out + pos);
			k++;
		}
	w->values_used += pos;
	*len = pos;
	return out;
}

/* Writes one table, one HSET per bucket; a key of several dossiers gets
 * "\t<count>" (distinct dossier ids among its adjacent items), then with
 * the evidence the first dossiers' ids; a key of the blocking tables gets
 * its dossiers' near value. */
static int index_write_table(struct index_writer *w, const char *gen,
			     const struct index_load *d, int table)
{
	const struct index_table *t = &d->table[table];
	for (uint32_t b = 0; b < d->buckets; b++) {
		const struct index_item *it = t->items + t->start[b];
		size_t n = t->start[b + 1] - t->start[b];
		if (b + 1 < d->buckets)
			index_prefetch(t, b + 1);
		if (n == 0)
			continue;
		char key[96];
		index_key_bucket(key, sizeof(key), gen, t->name, d->digits, b);
		if (index_writer_begin(w, "HSET", key))
			return -1;
		for (size_t i = 0; i < n;) {
			size_t j = i + 1;
			unsigned distinct = 1;
			for (; j < n && index_same_key(&it[j], &it[i]); j++)
				distinct += (unsigned)index_other_dossier(&it[j], &it[j - 1]);
			const char *value = it[i].value;
			size_t value_len = it[i].value_len;
			if ((distinct > 1 || index_table_near(table)) &&
			    !(value = index_value_of(w, d, table, it + i, j - i, distinct,
						     &value_len)))
				return -1;
			if (index_writer_arg(w, it[i].key, it[i].key_len) ||
			    index_writer_arg(w, value, value_len))
				return -1;
			i = j;
		}
	}
	return index_writer_flush(w);
}

/* lib/lua/index_switch.lua, embedded at build time (Makefile): makes a
 * generation current unless a newer one already is. */
static const char index_switch_lua[] =
#include "index_switch.lua.h"
	;

/* UNLINKs every key of generation g: its buckets, named from its meta's
 * bucket count, then the meta. */
static int index_drop_gen(redisContext *rc, const char *g, char *errstr,
			  size_t errstr_size)
{
	char meta[96];
	int meta_len = index_key_meta(meta, sizeof(meta), g);
	redisReply *r = redis_command(rc, errstr, errstr_size, "HMGET %s " INDEX_META_DIGITS " "
				      INDEX_META_NEAR,
				      meta);
	if (!r)
		return -1;
	int digits = 0, near = 1; /* a crashed load may have written them */
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
		if (r->element[0]->type == REDIS_REPLY_STRING)
			digits = atoi(r->element[0]->str);
		if (r->element[1]->type == REDIS_REPLY_STRING)
			near = atoi(r->element[1]->str) != 0;
	}
	freeReplyObject(r);
	long long buckets = digits > 0 && digits <= 6 ? 1LL << (4 * digits) : 0;

	struct index_writer *w = calloc(1, sizeof(*w));
	char (*names)[96] = malloc(INDEX_CHUNK_ARGS * sizeof(*names));
	if (!w || !names) {
		free(w);
		free(names);
		snprintf(errstr, errstr_size, "out of memory");
		return -1;
	}
	w->rc = rc;
	w->errstr = errstr;
	w->errstr_size = errstr_size;
	int failed = index_writer_begin(w, "UNLINK", NULL);
	size_t k = 0;
	for (int t = 0; t < TABLES && !failed; t++) {
		if (!near && index_table_near(t))
			continue;
		for (long long b = 0; b < buckets && !failed; b++) {
			/* names[] is reused once the command holding it is sent. */
			int len = index_key_bucket(names[k % INDEX_CHUNK_ARGS], sizeof(names[0]),
						   g, index_load_table_names[t], (unsigned)digits,
						   (uint32_t)b);
			failed = index_writer_arg(w, names[k % INDEX_CHUNK_ARGS], (size_t)len);
			k++;
		}
	}
	failed = failed || index_writer_arg(w, meta, (size_t)meta_len) ||
		 index_writer_finish(w);
	free(names);
	free(w);
	return failed ? -1 : 0;
}

/* Deletes every generation recorded but keep and the newer ones (a load
 * still running elsewhere). */
static int index_drop_old(redisContext *rc, long long keep, char *errstr,
			  size_t errstr_size)
{
	redisReply *members = redis_command(rc, errstr, errstr_size, "SMEMBERS %s",
					    INDEX_KEY_GENERATIONS);
	if (!members)
		return -1;
	int failed = 0;
	for (size_t i = 0; i < members->elements && !failed; i++) {
		const char *g = members->element[i]->str;
		if (!g || strtoll(g, NULL, 10) >= keep)
			continue;
		failed = index_drop_gen(rc, g, errstr, errstr_size) != 0;
		redisReply *r = failed ? NULL :
			redis_command(rc, errstr, errstr_size, "SREM %s %s",
				      INDEX_KEY_GENERATIONS, g);
		failed = failed || !r;
		freeReplyObject(r);
		if (!failed)
			log_info("index generation %s deleted", g);
	}
	freeReplyObject(members);
	return failed ? -1 : 0;
}

/* The blocking tables, grouped by a thread of index_write() while it
 * writes the look-up tables (Redis works then; the indexer has a core
 * spare), in the arrays the look-up tables' grouping left. */
struct index_near_work {
	struct index_load *d;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done[TABLES];               /* 1 grouped, -1 out of memory */
	struct index_load_group_counts k[TABLES];
};

static void *index_near_thread(void *arg)
{
	struct index_near_work *nw = arg;
	struct index_load *d = nw->d;
	static const int near[] = { TABLE_NP, TABLE_PD, TABLE_ND };
	for (size_t i = 0; i < sizeof(near) / sizeof(near[0]); i++) {
		int slot = d->spare[0] ? 0 : 1;
		int rc = d->rows || d->nrows == 0 ?
			 index_load_group(d, near[i], d->rows, d->nrows, &d->spare[slot],
					  &d->spare_cap[slot], &nw->k[near[i]]) : -1;
		if (i + 1 == sizeof(near) / sizeof(near[0])) {
			free(d->rows); /* made the last: its memory back */
			d->rows = NULL;
		}
		pthread_mutex_lock(&nw->lock);
		nw->done[near[i]] = rc ? -1 : 1;
		pthread_cond_broadcast(&nw->cond);
		pthread_mutex_unlock(&nw->lock);
	}
	return NULL;
}

/* Waits until the thread grouped table t. 0, or -1 (out of memory). */
static int index_near_wait(struct index_near_work *nw, int t)
{
	pthread_mutex_lock(&nw->lock);
	while (!nw->done[t])
		pthread_cond_wait(&nw->cond, &nw->lock);
	int rc = nw->done[t] > 0 ? 0 : -1;
	pthread_mutex_unlock(&nw->lock);
	return rc;
}

int index_write(redisContext *rc, struct index_load *d,
		char *gen, size_t gen_size, char *errstr, size_t errstr_size)
{
	redisReply *r = redis_command(rc, errstr, errstr_size, "INCR %s", INDEX_KEY_SEQ);
	if (!r)
		return -1;
	long long g = r->integer;
	freeReplyObject(r);
	snprintf(gen, gen_size, "%lld", g);
	char g_text[24], meta[96];
	snprintf(g_text, sizeof(g_text), "%lld", g);
	index_key_meta(meta, sizeof(meta), g_text);

	/* Recorded first, with its bucket count: a load that dies half way is
	 * found and deleted by the next one. */
	r = redis_command(rc, errstr, errstr_size, "SADD %s %lld",
			  INDEX_KEY_GENERATIONS, g);
	freeReplyObject(r);
	if (r)
		r = redis_command(rc, errstr, errstr_size,
				  "HSET %s " INDEX_META_DIGITS " %u buckets %u source %s "
				  "dossiers %llu malformed %llu loaded_at %lld " INDEX_META_NEAR
				  " %d", meta,
				  d->digits, d->buckets, d->source, (unsigned long long)d->counts.loaded,
				  (unsigned long long)d->counts.malformed, (long long)time(NULL),
				  d->near);
	freeReplyObject(r);
	if (!r)
		return -1;

	struct index_writer *w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(errstr, errstr_size, "out of memory");
		return -1;
	}
	w->rc = rc;
	w->errstr = errstr;
	w->errstr_size = errstr_size;
	struct index_near_work nw = { .d = d };
	pthread_t near_thread;
	int near_started = 0;
	if (d->near) {
		pthread_mutex_init(&nw.lock, NULL);
		pthread_cond_init(&nw.cond, NULL);
		near_started = pthread_create(&near_thread, NULL, index_near_thread, &nw) == 0;
		if (!near_started)
			index_near_thread(&nw); /* no thread: here, first */
	}
	int failed = 0;
	for (int t = 0; t < TABLES && !failed; t++) {
		if (!d->near && index_table_near(t))
			continue;
		double t0 = clock_now_s();
		if (index_table_near(t) && index_near_wait(&nw, t) != 0) {
			snprintf(errstr, errstr_size, "out of memory");
			failed = 1;
			break;
		}
		failed = index_write_table(w, g_text, d, t) != 0;
		log_debug("table %s: %zu items written in %.2f s", d->table[t].name,
			  d->table[t].n, clock_now_s() - t0);
	}
	failed = failed || index_writer_finish(w);
	free(w->values);
	free(w);
	if (d->near) {
		if (near_started)
			pthread_join(near_thread, NULL);
		pthread_cond_destroy(&nw.cond);
		pthread_mutex_destroy(&nw.lock);
		struct index_load_counts *c = &d->counts;
		c->np_keys = nw.k[TABLE_NP].keys;
		c->pd_keys = nw.k[TABLE_PD].keys;
		c->nd_keys = nw.k[TABLE_ND].keys;
		c->near_crowded = nw.k[TABLE_NP].crowded + nw.k[TABLE_PD].crowded +
				  nw.k[TABLE_ND].crowded;
		if (!failed)
			log_info("evidence: blocking keys %llu np, %llu pd, %llu nd (%llu of "
				 "more than %d rows, their count only)",
				 (unsigned long long)c->np_keys, (unsigned long long)c->pd_keys,
				 (unsigned long long)c->nd_keys,
				 (unsigned long long)c->near_crowded, INDEX_NEAR_MAX);
	}
	if (failed)
		return -1;

	r = redis_command(rc, errstr, errstr_size, "EVAL %s 1 %s %lld",
			  index_switch_lua, INDEX_KEY_CURRENT, g);
	if (!r)
		return -1;
	int switched = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
	freeReplyObject(r);
	if (!switched) {
		snprintf(errstr, errstr_size,
			 "a newer index generation than %lld is current: another load "
			 "finished first", g);
		return -1;
	}
	log_info("index generation %lld is current (%u buckets a table)", g, d->buckets);
	/* The new index is live: a failed clean-up is redone by the next load. */
	char why[256];
	if (index_drop_old(rc, g, why, sizeof(why)) != 0)
		log_warn("older index generations not deleted: %s", why);
	return 0;
}
