/* A bump allocator in blocks kept from use to use: what a message unpacked
 * by protobuf-c needs (every string of every field allocated on its own,
 * then freed one by one) costs a few additions instead. Reset it once the
 * message is done with; free it at the end. Not thread-safe. */
#ifndef AIJ_ARENA_H
#define AIJ_ARENA_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

struct arena_block;

struct arena {
	struct arena_block *blocks;
	size_t block_size;        /* a new block's size, when a request fits */
};

/* An empty arena of blocks of block_size bytes (0: 256 KiB). Nothing is
 * allocated before the first request. */
void arena_init(struct arena *a, size_t block_size);

/* size bytes aligned for any type, valid until arena_reset() or
 * arena_release(); NULL when out of memory. */
void *arena_alloc(struct arena *a, size_t size);

/* Empties the arena (everything allocated goes at once); keeps its blocks. */
void arena_reset(struct arena *a);

/* Frees the blocks; the arena may then be used again (it is empty). */
void arena_release(struct arena *a);

/* A protobuf-c allocator drawing on a (its free does nothing: arena_reset()
 * frees it all). Unpack with it, never call *_free_unpacked() on the
 * result. */
ProtobufCAllocator arena_protobuf(struct arena *a);

#endif
