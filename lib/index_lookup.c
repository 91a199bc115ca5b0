#include "index_lookup.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "evidence.h"
#include "fmt.h"
#include "redis.h"

/* lib/lua/index_resolve.lua, embedded at build time (Makefile). */
static const char index_lookup_lua[] =
#include "index_resolve.lua.h"
	;

#define INDEX_LOOKUP_ARGS_PER_RECORD 5  /* P, hash(P), N(nom), ident, the hashes of
					   ident (and np, pd, nd with the evidence) */

/* Hex SHA-1 of the script, as EVALSHA names it: computed once. */
static char index_lookup_sha[41];

static void index_lookup_sha_once(void)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	EVP_Digest(index_lookup_lua, sizeof(index_lookup_lua) - 1, md, &md_len,
		   EVP_sha1(), NULL);
	for (unsigned int i = 0; i < md_len && i < 20; i++)
		snprintf(index_lookup_sha + 2 * i, 3, "%02x", md[i]);
	index_lookup_sha[40] = '\0';
}

/* Splits an index value of step (1-2: "<id>\t<N(nom)>\t<ml>", 3:
 * "<id>\t<ml>"; an index loaded before the ML was there has none) into
 * o->dossier_id and o->ml_code. -1 when a part does not fit. */
static int index_lookup_parse_value(unsigned step, const char *v, size_t len,
				    struct index_lookup_result *o)
{
	const char *tab = memchr(v, '\t', len);
	size_t id_len = tab ? (size_t)(tab - v) : len;
	const char *ml = NULL;
	if (tab) {
		ml = tab + 1;
		if (step < 3) {
			ml = memchr(ml, '\t', len - (size_t)(ml - v));
			ml = ml ? ml + 1 : NULL;
		}
	}
	size_t ml_len = ml ? len - (size_t)(ml - v) : 0;
	if (id_len == 0 || id_len >= INDEX_ID_MAX || ml_len >= INDEX_ML_MAX)
		return -1;
	memcpy(o->dossier_id, v, id_len);
	o->dossier_id[id_len] = '\0';
	if (ml_len)
		memcpy(o->ml_code, ml, ml_len);
	o->ml_code[ml_len] = '\0';
	return 0;
}

void index_lookup_release(struct index_lookup_result *res, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(res[i].ev);
		res[i].ev = NULL;
		res[i].nev = 0;
	}
}

/* Builds o's evidence from the script's {source, value...} for record q.
 * 0, or -1 when the reply is malformed or memory ran out (errstr). */
static int index_lookup_parse_evidence(const redisReply *ev, const struct index_lookup_query *q,
				       struct index_lookup_result *o, char *errstr, size_t errstr_size)
{
	struct evidence_raw raw;
	memset(&raw, 0, sizeof(raw));
	if (ev->elements % 2) {
		snprintf(errstr, errstr_size, "redis: the look-up script answered a "
			 "malformed evidence");
		return -1;
	}
	for (size_t k = 0; k + 1 < ev->elements; k += 2) {
		const redisReply *src = ev->element[k], *v = ev->element[k + 1];
		if (src->type != REDIS_REPLY_INTEGER || v->type != REDIS_REPLY_STRING ||
		    src->integer < 1 || src->integer > EVIDENCE_SOURCES) {
			snprintf(errstr, errstr_size, "redis: the look-up script answered "
				 "a malformed evidence");
			return -1;
		}
		raw.v[src->integer - 1] = v->str;
		raw.len[src->integer - 1] = v->len;
	}
	struct evidence_candidate c[EVIDENCE_MAX];
	size_t n = evidence_build(&raw, q->ident, c);
	if (n == 0)
		return 0;
	/* One block: the array, then each candidate's strings. */
	size_t size = n * sizeof(*o->ev);
	for (size_t i = 0; i < n; i++)
		size += c[i].id.len + c[i].ml.len + c[i].value.len + 3;
	o->ev = malloc(size);
	if (!o->ev) {
		snprintf(errstr, errstr_size, "out of memory");
		return -1;
	}
	char *p = (char *)(o->ev + n);
	for (size_t i = 0; i < n; i++) {
		const struct evidence_slice *part[3] = { &c[i].id, &c[i].ml, &c[i].value };
		const char **dst[3] = { &o->ev[i].dossier_id, &o->ev[i].ml_code,
					&o->ev[i].value };
		for (int k = 0; k < 3; k++) {
			if (part[k]->len) /* (an empty value has no pointer) */
				memcpy(p, part[k]->s, part[k]->len);
			p[part[k]->len] = '\0';
			*dst[k] = p;
			p += part[k]->len + 1;
		}
		o->ev[i].step = c[i].step;
		o->ev[i].code = c[i].code;
		o->ev[i].differs = c[i].differs;
	}
	o->nev = n;
	return 0;
}

static int index_lookup_parse_results(const redisReply *reply, const struct index_lookup_query *q,
				      size_t n, struct index_lookup_result *out, char *errstr,
				      size_t errstr_size)
{
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != n) {
		snprintf(errstr, errstr_size,
			 "redis: the look-up script answered %zu results for %zu records",
			 reply->type == REDIS_REPLY_ARRAY ? reply->elements : 0, n);
		for (size_t i = 0; i < n; i++)
			out[i].ev = NULL;
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		out[i].ev = NULL;
	for (size_t i = 0; i < n; i++) {
		const redisReply *r = reply->element[i];
		struct index_lookup_result *o = &out[i];
		memset(o, 0, sizeof(*o));
		if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
		    r->element[0]->type != REDIS_REPLY_INTEGER)
			goto bad;
		long long step = r->element[0]->integer;
		if (step >= 1 && step <= 3) {
			const redisReply *v = r->element[1];
			if (v->type != REDIS_REPLY_STRING ||
			    index_lookup_parse_value((unsigned)step, v->str, v->len, o) != 0)
				goto bad;
			o->step = (unsigned)step;
			continue;
		}
		size_t end = r->elements;
		const redisReply *ev = r->element[end - 1];
		if (ev->type == REDIS_REPLY_ARRAY)
			end--;
		else
			ev = NULL;
		if (step != 0 || end > 4 || end < 2)
			goto bad;
		for (size_t c = 1; c < end; c++) {
			if (r->element[c]->type != REDIS_REPLY_INTEGER)
				goto bad;
			o->codes[o->ncodes++] = (unsigned)r->element[c]->integer;
		}
		if (ev && index_lookup_parse_evidence(ev, &q[i], o, errstr, errstr_size) != 0) {
			index_lookup_release(out, i + 1);
			return -1;
		}
		continue;
bad:
		snprintf(errstr, errstr_size,
			 "redis: the look-up script answered an unexpected result for record %zu",
			 i);
		index_lookup_release(out, i);
		return -1;
	}
	return 0;
}

int index_lookup_script_load(redisContext *rc, char *errstr, size_t errstr_size)
{
	redisReply *reply = redis_command(rc, errstr, errstr_size, "SCRIPT LOAD %b",
					  index_lookup_lua, sizeof(index_lookup_lua) - 1);
	if (!reply)
		return -1;
	int status = 0;
	if (reply->type != REDIS_REPLY_STRING) {
		snprintf(errstr, errstr_size, "redis: SCRIPT LOAD of the look-up script: "
			 "unexpected reply");
		status = -1;
	}
	freeReplyObject(reply);
	return status;
}

/* Writes the hashes of the blocking keys of ident ("NOM|PRENOM|DATE"), np
 * "NOM|PRENOM", pd "PRENOM|DATE", nd "NOM|DATE", as 24 hex digits (the
 * script cuts their buckets) to out (25 bytes). "" when ident has not
 * its two '|'. */
static void index_lookup_near_hashes(const char *ident, char *out)
{
	const char *bar1 = strchr(ident, '|');
	const char *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
	if (!bar2) {
		out[0] = '\0';
		return;
	}
	size_t nom = (size_t)(bar1 - ident), date = strlen(bar2 + 1);
	/* nd: the hash over "NOM|" then "DATE", as over the joined key. */
	uint32_t nd = index_key_hash_more(index_key_hash(ident, nom + 1), bar2 + 1, date);
	fmt_hex8(index_key_hash(ident, (size_t)(bar2 - ident)), out);
	fmt_hex8(index_key_hash(bar1 + 1, strlen(bar1 + 1)), out + 8);
	fmt_hex8(nd, out + 16);
	out[24] = '\0';
}

int index_lookup_send(redisContext *rc, const struct index_lookup_query *q, size_t n,
		      int evidence, char *errstr, size_t errstr_size)
{
	if (n == 0)
		return 0;
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, index_lookup_sha_once);
	char stride[8], count[24];
	snprintf(stride, sizeof(stride), "%d", INDEX_LOOKUP_ARGS_PER_RECORD);
	snprintf(count, sizeof(count), "%zu", n);
	/* Read-only: a replica runs it too (Redis 7). Then the script's
	 * arguments before the records': the names of the key layout. */
	const char *head[] = { "EVALSHA_RO", index_lookup_sha, "0", INDEX_KEY_PREFIX, stride,
			       count, evidence ? "1" : "0", INDEX_KEY_CURRENT, INDEX_META,
			       INDEX_META_DIGITS, INDEX_META_NEAR, INDEX_TABLE_PE1,
			       INDEX_TABLE_PE2, INDEX_TABLE_IDENT, INDEX_TABLE_NP,
			       INDEX_TABLE_PD, INDEX_TABLE_ND };
	const size_t nhead = sizeof(head) / sizeof(head[0]);
	struct redis_resp r = { NULL, 0, 0, 0 };
	redis_resp_put(&r, NULL, nhead + INDEX_LOOKUP_ARGS_PER_RECORD * n);
	for (size_t i = 0; i < nhead; i++)
		redis_resp_put(&r, head[i], strlen(head[i]));
	for (size_t i = 0; i < n; i++) {
		/* hash(P), then hash(ident) and, with the evidence, the near
		 * keys' three hashes in the same argument. */
		char pe_hash[8], hashes[36];
		size_t pe_len = strlen(q[i].pe), ident_len = strlen(q[i].ident);
		fmt_hex8(index_key_hash(q[i].pe, pe_len), pe_hash);
		fmt_hex8(index_key_hash(q[i].ident, ident_len), hashes);
		hashes[8] = '\0';
		if (evidence)
			index_lookup_near_hashes(q[i].ident, hashes + 8);
		redis_resp_put(&r, q[i].pe, pe_len);
		redis_resp_put(&r, pe_hash, 8);
		redis_resp_put(&r, q[i].nom, strlen(q[i].nom));
		redis_resp_put(&r, q[i].ident, ident_len);
		redis_resp_put(&r, hashes, strlen(hashes));
	}
	int status = -1;
	if (r.failed) {
		snprintf(errstr, errstr_size, "out of memory");
		goto out;
	}
	/* Copies the bytes (q may go once this returns), then writes them. */
	if (redisAppendFormattedCommand(rc, r.buf, r.len) != REDIS_OK) {
		snprintf(errstr, errstr_size, "redis: %s",
			 rc->errstr[0] ? rc->errstr : "out of memory");
		goto out;
	}
	int done = 0;
	while (!done)
		if (redisBufferWrite(rc, &done) != REDIS_OK) {
			snprintf(errstr, errstr_size, "redis: %s", rc->errstr);
			goto out;
		}
	status = 0;
out:
	free(r.buf);
	return status;
}

int index_lookup_recv(redisContext *rc, const struct index_lookup_query *q, size_t n,
		      struct index_lookup_result *out, char *errstr, size_t errstr_size)
{
	if (n == 0)
		return 0;
	redisReply *reply = redis_reply(rc, errstr, errstr_size);
	if (!reply)
		return -1;
	int status = index_lookup_parse_results(reply, q, n, out, errstr, errstr_size);
	freeReplyObject(reply);
	return status;
}

int index_lookup_current(redisContext *rc, char *gen, size_t gen_size,
			 uint64_t *dossiers, char *errstr, size_t errstr_size)
{
	redisReply *r = redis_command(rc, errstr, errstr_size, "GET %s",
				      INDEX_KEY_CURRENT);
	if (!r)
		return -1;
	int found = r->type == REDIS_REPLY_STRING;
	if (found && gen)
		snprintf(gen, gen_size, "%s", r->str);
	if (found && dossiers) {
		char meta[128];
		index_key_meta(meta, sizeof(meta), r->str);
		redisReply *m = redis_command(rc, errstr, errstr_size, "HGET %s dossiers",
					      meta);
		if (!m) {
			freeReplyObject(r);
			return -1;
		}
		*dossiers = m->type == REDIS_REPLY_STRING ? strtoull(m->str, NULL, 10) : 0;
		freeReplyObject(m);
	}
	freeReplyObject(r);
	return found;
}

/* lib/lua/index_ml.lua, embedded at build time (Makefile). */
static const char index_lookup_ml_lua[] =
#include "index_ml.lua.h"
	;

int index_lookup_ml(redisContext *rc, const char *dossier_id, char *ml,
		    size_t ml_size, char *errstr, size_t errstr_size)
{
	char hash[12];
	snprintf(hash, sizeof(hash), "%08x", index_key_hash(dossier_id, strlen(dossier_id)));
	redisReply *r = redis_command(rc, errstr, errstr_size, "EVAL %s 0 %s %s %s %s %s %s %s",
				      index_lookup_ml_lua, INDEX_KEY_PREFIX, dossier_id, hash,
				      INDEX_KEY_CURRENT, INDEX_META, INDEX_META_DIGITS,
				      INDEX_TABLE_ML);
	if (!r)
		return -1;
	int found = r->type == REDIS_REPLY_STRING;
	if (found)
		snprintf(ml, ml_size, "%s", r->str);
	freeReplyObject(r);
	return found;
}
