#include "progress.h"


#include "clock.h"
#include "log.h"

#define PROGRESS_EVERY_MS 1000

void progress_init(struct progress *pg, const struct sender *snd)
{
	*pg = (struct progress){ .snd = snd };
	pg->start_ms = pg->last_ms = clock_now_ms();
}

void progress_count(struct progress *pg, enum record_code code)
{
	pg->records++;
	if ((unsigned)code <= CODE_TECHNICAL)
		pg->by_code[code]++;
}

static double progress_rate(const struct progress *pg, long now)
{
	long elapsed = now - pg->start_ms;
	return elapsed > 0 ? (double)pg->records * 1000.0 / (double)elapsed : 0.0;
}

void progress_tick(struct progress *pg)
{
	long now = clock_now_ms();
	if (now - pg->last_ms < PROGRESS_EVERY_MS)
		return;
	pg->last_ms = now;
	log_info("progress: %llu records read, %llu acknowledged, %.0f records/s",
		 (unsigned long long)pg->records,
		 (unsigned long long)pg->snd->acked, progress_rate(pg, now));
}

void progress_tick_cb(void *opaque)
{
	progress_tick(opaque);
}

void progress_final(const struct progress *pg, uint64_t last_line)
{
	const uint64_t *c = pg->by_code;
	uint64_t invalid = pg->records - c[CODE_OK];
	log_info("read %llu records (last line %llu) in %.1f s: %llu valid, "
		 "%llu invalid (01: %llu, 07: %llu, 06: %llu, 08: %llu, 09: %llu)",
		 (unsigned long long)pg->records, (unsigned long long)last_line,
		 (double)(clock_now_ms() - pg->start_ms) / 1000.0,
		 (unsigned long long)c[CODE_OK], (unsigned long long)invalid,
		 (unsigned long long)c[CODE_COLUMNS],
		 (unsigned long long)c[CODE_MANDATORY],
		 (unsigned long long)c[CODE_DATES],
		 (unsigned long long)c[CODE_INSEE],
		 (unsigned long long)c[CODE_MOTIF]);
}
