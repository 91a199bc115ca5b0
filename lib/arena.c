#include "arena.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>

#define ARENA_BLOCK_DEFAULT (256u * 1024)

struct arena_block {
	struct arena_block *next;
	size_t used, size;
	max_align_t data[];
};

void arena_init(struct arena *a, size_t block_size)
{
	a->blocks = NULL;
	a->block_size = block_size ? block_size : ARENA_BLOCK_DEFAULT;
}

void *arena_alloc(struct arena *a, size_t size)
{
	size = (size + alignof(max_align_t) - 1) / alignof(max_align_t) * alignof(max_align_t);
	struct arena_block *b = a->blocks;
	while (b && b->size - b->used < size)
		b = b->next;
	if (!b) {
		size_t bsize = size > a->block_size ? size : a->block_size;
		b = malloc(sizeof(*b) + bsize);
		if (!b)
			return NULL;
		b->next = a->blocks;
		b->used = 0;
		b->size = bsize;
		a->blocks = b;
	}
	void *p = (char *)b->data + b->used;
	b->used += size;
	return p;
}

void arena_reset(struct arena *a)
{
	for (struct arena_block *b = a->blocks; b; b = b->next)
		b->used = 0;
}

void arena_release(struct arena *a)
{
	while (a->blocks) {
		struct arena_block *next = a->blocks->next;
		free(a->blocks);
		a->blocks = next;
	}
}

static void *arena_pb_alloc(void *data, size_t size)
{
	return arena_alloc(data, size);
}

static void arena_pb_free(void *data, void *pointer)
{
	(void)data;
	(void)pointer; /* everything goes with arena_reset() */
}

ProtobufCAllocator arena_protobuf(struct arena *a)
{
	ProtobufCAllocator alloc = { arena_pb_alloc, arena_pb_free, a };
	return alloc;
}
