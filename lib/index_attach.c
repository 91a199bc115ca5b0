#include "index_attach.h"

#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "redis.h"

/* The dossier each identity of a chunk belongs to, as the chunk is
 * applied in order. */
struct index_attach_owner {
	const char *identity;       /* borrowed from the chunk */
	const char *dossier;        /* borrowed: from the chunk or the reply */
	int changed;                /* the owner hash must be written */
	UT_hash_handle hh;
};

/* One command "<cmd> <key> <field> [<value>]". */
static void index_attach_cmd(struct redis_resp *r, const char *cmd, const char *key,
			     size_t key_len, const char *field, const char *value)
{
	redis_resp_put(r, NULL, value ? 4 : 3);
	redis_resp_put(r, cmd, strlen(cmd));
	redis_resp_put(r, key, key_len);
	redis_resp_put(r, field, strlen(field));
	if (value)
		redis_resp_put(r, value, strlen(value));
}

/* Sends and reads the pipelined commands of one chunk. */
static int index_attach_chunk(redisContext *rc, const struct index_attachment *a,
			      size_t n, struct index_attach_stats *stats,
			      char *errstr, size_t errstr_size)
{
	const char **argv = malloc((2 + 2 * n) * sizeof(*argv));
	size_t *argvlen = malloc((2 + 2 * n) * sizeof(*argvlen));
	struct index_attach_owner *owners = calloc(n, sizeof(*owners)), *map = NULL;
	char key[INDEX_KEY_DISPOSITIFS_SIZE];
	struct redis_resp resp = { NULL, 0, 0, 0 };
	redisReply *got = NULL;
	size_t pending = 0;
	int status = -1;
	if (!argv || !argvlen || !owners) {
		snprintf(errstr, errstr_size, "out of memory");
		goto out;
	}
	/* 1. Who holds each identity now. */
	argv[0] = "HMGET";
	argv[1] = INDEX_KEY_OWNER;
	for (size_t i = 0; i < n; i++)
		argv[2 + i] = a[i].identity;
	for (size_t i = 0; i < 2 + n; i++)
		argvlen[i] = strlen(argv[i]);
	if (redisAppendCommandArgv(rc, (int)(2 + n), argv, argvlen) != REDIS_OK ||
	    !(got = redis_reply(rc, errstr, errstr_size)))
		goto fail;
	if (got->type != REDIS_REPLY_ARRAY || got->elements != n) {
		snprintf(errstr, errstr_size, "redis: HMGET of the owners: unexpected reply");
		goto out;
	}
	/* 2. In order: leave the old dossier, join the new one. */
	size_t n_owners = 0;
	for (size_t i = 0; i < n; i++) {
		struct index_attach_owner *o = NULL;
		HASH_FIND_STR(map, a[i].identity, o);
		if (!o) {
			o = &owners[n_owners++];
			o->identity = a[i].identity;
			o->dossier = got->element[i]->type == REDIS_REPLY_STRING ?
				     got->element[i]->str : NULL;
			HASH_ADD_KEYPTR(hh, map, o->identity, strlen(o->identity), o);
		}
		int moved = o->dossier && strcmp(o->dossier, a[i].dossier_id) != 0;
		if (moved) {
			size_t key_len = index_key_dispositifs(key, o->dossier);
			index_attach_cmd(&resp, "HDEL", key, key_len, a[i].identity, NULL);
			pending++;
			stats->moved++;
		}
		if (!o->dossier || moved) {
			o->dossier = a[i].dossier_id;
			o->changed = 1;
		}
		size_t key_len = index_key_dispositifs(key, a[i].dossier_id);
		index_attach_cmd(&resp, "HSET", key, key_len, a[i].identity, a[i].dispositif);
		pending++;
		stats->attached++;
	}
	/* 3. The owners that changed, in one command. */
	size_t argc = 2;
	argv[0] = "HSET";
	for (size_t k = 0; k < n_owners; k++)
		if (owners[k].changed) {
			argv[argc++] = owners[k].identity;
			argv[argc++] = owners[k].dossier;
		}
	if (argc > 2) {
		redis_resp_put(&resp, NULL, argc);
		for (size_t i = 0; i < argc; i++)
			redis_resp_put(&resp, argv[i], strlen(argv[i]));
		pending++;
	}
	if (resp.failed || (resp.len &&
			    redisAppendFormattedCommand(rc, resp.buf, resp.len) != REDIS_OK)) {
		snprintf(errstr, errstr_size, "out of memory");
		pending = 0;
		goto out;
	}
	while (pending > 0) {
		redisReply *r = redis_reply(rc, errstr, errstr_size);
		if (!r)
			goto fail;
		freeReplyObject(r);
		pending--;
	}
	status = 0;
	goto out;
fail:
	/* The replies still due are lost with the connection: the caller
	 * reconnects and applies the chunk again, which gives the same state. */
	if (!rc->err)
		while (pending-- > 0) {
			void *r = NULL;
			if (redisGetReply(rc, &r) != REDIS_OK)
				break;
			freeReplyObject(r);
		}
out:
	HASH_CLEAR(hh, map);
	freeReplyObject(got);
	free(resp.buf);
	free(owners);
	free(argv);
	free(argvlen);
	return status;
}

int index_attach(redisContext *rc, const struct index_attachment *a, size_t n,
		 struct index_attach_stats *stats, char *errstr, size_t errstr_size)
{
	for (size_t done = 0; done < n; done += INDEX_ATTACH_CHUNK) {
		size_t k = n - done < INDEX_ATTACH_CHUNK ? n - done : INDEX_ATTACH_CHUNK;
		if (index_attach_chunk(rc, a + done, k, stats, errstr, errstr_size))
			return -1;
	}
	return 0;
}
