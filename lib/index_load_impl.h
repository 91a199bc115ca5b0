/* The dossier export held in memory, as lib/index_load.c reads and groups
 * it and lib/index_write.c writes it into Redis: shared by those two files
 * only (other callers use lib/index_load.h and lib/index_write.h). */
#ifndef AIJ_INDEX_LOAD_IMPL_H
#define AIJ_INDEX_LOAD_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "index_load.h"

/* One field to write: key -> value, in bucket hash mod B. In the blocking
 * tables np, pd and nd the key is followed by '|' and the dossier's third
 * field (up to the next '|' or the end): key and field share one string. */
struct index_item {
	uint32_t hash;
	uint32_t id_len;      /* the dossier id is value's first id_len bytes */
	uint32_t key_len, value_len;
	const char *key;
	const char *value;
};

/* One hash of the layout: its items, then grouped by bucket. */
struct index_table {
	const char *name;           /* "pe1", "pe2", "ident", "ml", "np", "pd", "nd" */
	struct index_item *items;   /* sorted by bucket, key, value once read */
	size_t n, cap;
	uint32_t *start;            /* bucket b is items[start[b] .. start[b+1]) */
};

enum { TABLE_PE1, TABLE_PE2, TABLE_IDENT, TABLE_ML, TABLE_NP, TABLE_PD, TABLE_ND,
       TABLES };

/* The tables' names in Redis (INDEX_TABLE_...), by TABLE_. */
extern const char *const index_load_table_names[TABLES];

/* The blocking tables of the evidence. */
static inline int index_table_near(int t)
{
	return t == TABLE_NP || t == TABLE_PD || t == TABLE_ND;
}

struct index_load {
	struct index_block *blocks; /* its strings (lib/index_load.c) */
	int near;                   /* the evidence: the ids of shared keys,
				       the tables np, pd, nd */
	struct index_table table[TABLES];
	uint32_t buckets;           /* B = 16^digits */
	unsigned digits;            /* bucket names: that many hex digits */
	char source[256];
	struct index_load_counts counts;
	/* Item arrays left over by the grouping of index_load_read(), for the
	 * blocking tables that index_write() groups while it writes. */
	struct index_item *spare[2];
	size_t spare_cap[2];
	/* With the evidence, ident's items in row order, kept from the
	 * grouping: the blocking tables are made from them, reading the keys'
	 * strings in the order they were written (the grouped order is random
	 * in memory: twice the CPU). */
	struct index_item *rows;
	size_t nrows;
};

/* Asks the CPU for the strings of bucket b: they are scattered in row order
 * over the blocks, and waiting for each while working on the bucket before
 * was most of the loader's time. */
static inline void index_prefetch(const struct index_table *t, uint32_t b)
{
	for (uint32_t i = t->start[b]; i < t->start[b + 1]; i++) {
		__builtin_prefetch(t->items[i].key);
		__builtin_prefetch(t->items[i].value);
	}
}

/* Two items of the same key (same hash first: cheaper). */
static inline int index_same_key(const struct index_item *x, const struct index_item *y)
{
	return x->hash == y->hash && x->key_len == y->key_len &&
	       memcmp(x->key, y->key, x->key_len) == 0;
}

/* Two adjacent items of one key for different dossiers. */
static inline int index_other_dossier(const struct index_item *x, const struct index_item *y)
{
	return x->id_len != y->id_len || memcmp(x->value, y->value, x->id_len) != 0;
}

/* The key counts of one table. */
struct index_load_group_counts {
	uint64_t keys;          /* distinct keys */
	uint64_t shared;        /* of which several items */
	uint64_t crowded;       /* of which more than INDEX_NEAR_MAX dossiers */
};

/* Groups the items of table of d by bucket (lib/index_load.c says how).
 * 0, or -1 (out of memory). */
int index_load_group(struct index_load *d, int table,
		     const struct index_item *rows, size_t nrows,
		     struct index_item **spare, size_t *spare_cap,
		     struct index_load_group_counts *k);

#endif
