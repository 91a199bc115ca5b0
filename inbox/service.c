#include "service.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "attempt.h"
#include "clock.h"
#include "export.h"
#include "filing.h"
#include "history.h"
#include "inbox.h"
#include "log.h"
#include "note.h"
#include "probe.h"
#include "scan.h"
#include "signals.h"
#include "week.h"

/* How long the loop sleeps when there is nothing to do. */
#define TICK_MS 500

/* The loop's state: the inbox (what export.c and week.c use too), what it
 * follows of the two folders, and what it said last (each thing once). */
struct service {
	struct inbox in;
	struct scan_dir scan[2];
	int scan_failed[2];        /* the folder could not be read (said once) */
	struct notes notes;
	/* What was said last about a file waiting (not said again). */
	char wait_said[NAME_MAX + 64];
	enum probe_state probe_said; /* the Redis state said last */
	time_t sched_prev;         /* last schedule time <= now, cached */
	time_t sched_next;         /* next schedule time > now, cached */
};

/* Says line once: not again while the same thing is waiting for the same
 * reason. */
static void service_say_waiting(struct service *s, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void service_say_waiting(struct service *s, const char *key, const char *fmt, ...)
{
	if (strcmp(s->wait_said, key) == 0)
		return;
	snprintf(s->wait_said, sizeof(s->wait_said), "%s", key);
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_info("%s", line);
}

/* --- choosing what to do next ---------------------------------------------- */

/* Whether a complete file is due: no schedule, an .accept marker, taken
 * before, or a schedule time passed since it arrived. */
static int service_due(struct service *s, const struct scan_file *f,
		       const struct note *n, enum inbox_kind kind)
{
	if (!s->in.c->scheduled || f->marker == SCAN_ACCEPT || n->taken)
		return 1;
	if (kind == KIND_DISPOSITIFS) {
		struct attempt_state st;
		if (attempt_read(s->in.dir[KIND_DISPOSITIFS], f->name, &st))
			return 1; /* taken before a restart */
	}
	time_t now = inbox_now();
	if (now >= s->sched_next || now < s->sched_prev) {
		s->sched_prev = schedule_prev(&s->in.c->schedule, now);
		s->sched_next = schedule_next(&s->in.c->schedule, now);
	}
	if (s->sched_prev > f->arrival + clock_offset())
		return 1;
	return 0;
}

/* The first file of kind to take now: the oldest complete and due one. NULL
 * when none, or when that one waits for its retry time (the later ones wait
 * behind it: weeks are published in order). *blocked is set when there is a
 * file of kind that the other kind should wait for (an export uploading,
 * settling or waiting for its retry). */
static struct scan_file *service_pick(struct service *s, enum inbox_kind kind,
				      struct note **np, int *blocked)
{
	long now_ms = clock_now_ms();
	long settle_ms = s->in.c->settle_s * 1000;
	*blocked = 0;
	for (size_t i = 0; i < s->scan[kind].n; i++) {
		struct scan_file *f = &s->scan[kind].files[i];
		struct note *n = notes_get(&s->notes, kind, f);
		if (!n)
			return NULL;
		int resumed = 0;
		if (kind == KIND_DISPOSITIFS) {
			struct attempt_state st;
			resumed = attempt_read(s->in.dir[KIND_DISPOSITIFS], f->name, &st);
		}
		if (!resumed && !n->taken && !scan_complete(f, now_ms, settle_ms)) {
			*blocked = 1;
			continue;
		}
		if (!service_due(s, f, n, kind)) {
			if (!n->schedule_logged) {
				char at[40], sched[32];
				history_time(s->sched_next, at, sizeof(at));
				schedule_format(&s->in.c->schedule, sched, sizeof(sched));
				log_info("%s '%s' is complete: it waits for the schedule (%s), "
					 "next at %s", inbox_kind_what(kind), f->name, sched, at);
				n->schedule_logged = 1;
			}
			continue;
		}
		*blocked = 1;
		if (n->retry_at_ms && now_ms < n->retry_at_ms)
			return NULL;
		*np = n;
		return f;
	}
	return NULL;
}

static void service_scan(struct service *s)
{
	for (int k = 0; k < 2; k++) {
		char errstr[1024];
		if (scan_dir_update(&s->scan[k], clock_now_ms(), errstr, sizeof(errstr)) < 0) {
			if (!s->scan_failed[k])
				log_error("%s", errstr);
			s->scan_failed[k] = 1;
			filing_mkdirs(s->in.dir[k], errstr, sizeof(errstr));
		} else {
			s->scan_failed[k] = 0;
		}
	}
	notes_sweep(&s->notes, s->scan);
}

/* Says when Redis stops or starts answering (once each time). */
static void service_say_redis(struct service *s, enum probe_state ps)
{
	if (ps == PROBE_DOWN && s->probe_said != PROBE_DOWN)
		log_warn("Redis at %s does not answer (%s): nothing is taken until it does",
			 s->in.c->redis, s->in.probe.error);
	else if (ps != PROBE_DOWN && s->probe_said == PROBE_DOWN)
		log_info("Redis at %s answers again", s->in.c->redis);
	s->probe_said = ps;
}

/* One step: takes one file (or reloads the index), or returns 0 when there
 * is nothing to do now. */
static int service_step(struct service *s)
{
	struct note *n;
	int export_waits, week_waits;
	service_scan(s);
	enum probe_state ps = probe_check(&s->in.probe, 0);
	service_say_redis(s, ps);
	if (ps == PROBE_READY)
		s->in.reload_none_said = 0; /* a later loss of the index is said again */
	struct scan_file *f = service_pick(s, KIND_DOSSIERS, &n, &export_waits);
	if (f) {
		if (ps == PROBE_DOWN)
			return 0; /* said by service_say_redis() */
		struct scan_file copy = *f;
		export_take(&s->in, &copy, n);
		s->wait_said[0] = '\0';
		return 1;
	}
	if (ps == PROBE_NO_INDEX && !export_waits && export_reload(&s->in))
		return 1;
	f = service_pick(s, KIND_DISPOSITIFS, &n, &week_waits);
	if (!f)
		return 0;
	char key[NAME_MAX + 32];
	if (export_waits) {
		snprintf(key, sizeof(key), "export:%s", f->name);
		service_say_waiting(s, key, "week '%s' waits for the dossier export in '%s' "
				    "to be loaded first", f->name, s->in.dir[KIND_DOSSIERS]);
		return 0;
	}
	if (ps != PROBE_READY) {
		snprintf(key, sizeof(key), "%d:%s", (int)ps, f->name);
		if (ps == PROBE_DOWN)
			service_say_waiting(s, key, "week '%s' waits until Redis at %s answers",
					    f->name, s->in.c->redis);
		else
			service_say_waiting(s, key, "week '%s' waits: no dossier index loaded "
					    "in Redis at %s", f->name, s->in.c->redis);
		return 0;
	}
	struct scan_file copy = *f;
	week_take(&s->in, &copy, n);
	s->wait_said[0] = '\0';
	return 1;
}

static int service_init(struct service *s, const struct inbox_conf *c,
			char *errstr, size_t errstr_size)
{
	memset(s, 0, sizeof(*s));
	if (inbox_init(&s->in, c, errstr, errstr_size) < 0)
		return -1;
	for (int k = 0; k < 2; k++) {
		if (scan_dir_init(&s->scan[k], s->in.dir[k]) < 0) {
			snprintf(errstr, errstr_size, "out of memory");
			return -1;
		}
	}
	return 0;
}

static void service_release(struct service *s)
{
	for (int k = 0; k < 2; k++)
		scan_dir_release(&s->scan[k]);
	notes_release(&s->notes);
	inbox_release(&s->in);
}

int service_run(const struct inbox_conf *c, char *errstr, size_t errstr_size)
{
	struct service s;
	if (service_init(&s, c, errstr, errstr_size) < 0) {
		service_release(&s);
		return -1;
	}
	char sched[64] = "none: a complete file is taken at once";
	if (c->scheduled) {
		char at[40];
		schedule_format(&c->schedule, sched, sizeof(sched));
		history_time(schedule_next(&c->schedule, inbox_now()), at, sizeof(at));
		snprintf(sched + strlen(sched), sizeof(sched) - strlen(sched), ", next at %s", at);
	}
	log_info("watching '%s' (dossiers/, dispositifs/): settle %ld s, schedule %s; "
		 "run history '%s'; programs in '%s'", c->watch, c->settle_s, sched,
		 s.in.history, c->bin);
	if (clock_faked()) {
		char now[40];
		history_time(inbox_now(), now, sizeof(now));
		log_warn("fake clock (AIJ_FAKE_NOW, for tests only): now is %s", now);
	}
	if (c->new_broker)
		attempt_forget_ingested(s.in.dir[KIND_DISPOSITIFS]);
	while (!signals_stop) {
		if (!service_step(&s))
			clock_sleep_ms(TICK_MS);
	}
	log_info("stopped");
	service_release(&s);
	return 0;
}
