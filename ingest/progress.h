/* What ingest tells the operator on stderr: a progress line about every
 * second, and the final counts. */
#ifndef AIJ_INGEST_PROGRESS_H
#define AIJ_INGEST_PROGRESS_H

#include <stdint.h>

#include "send.h"
#include "record.h"

struct progress {
	const struct sender *snd;
	long start_ms;
	long last_ms;                         /* when the last line was printed */
	uint64_t records;                     /* records read and published */
	uint64_t by_code[CODE_TECHNICAL + 1]; /* records per validation code */
};

/* Starts the clock; snd (borrowed) gives the acknowledged count. */
void progress_init(struct progress *pg, const struct sender *snd);

/* Counts one record with its validation code (CODE_OK when valid). */
void progress_count(struct progress *pg, enum record_code code);

/* Prints the progress line when about a second passed since the last one. */
void progress_tick(struct progress *pg);

/* progress_tick() for callbacks: opaque is the struct progress. */
void progress_tick_cb(void *opaque);

/* Prints the final count line: records, valid, invalid by code. */
void progress_final(const struct progress *pg, uint64_t last_line);

#endif
