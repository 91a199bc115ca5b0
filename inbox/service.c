#include "service.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "child.h"
#include "clock.h"
#include "digest.h"
#include "filing.h"
#include "history.h"
#include "log.h"
#include "probe.h"
#include "scan.h"
#include "signals.h"

#define TICK_MS 500
/* A child that failed (exit 1: Kafka or Redis refused): tried again after
 * 30 s, doubling up to 10 min. */
#define RETRY_FIRST_MS  30000L
#define RETRY_MAX_MS    600000L
/* A week held for technical errors runs again as soon as Redis answers with
 * an index; held so again, after 1 min, doubling up to 1 h (a cause that
 * is not Redis must not make it run every few seconds). */
#define TECH_FIRST_MS   60000L
#define TECH_MAX_MS     3600000L
/* The reload of the last export into an empty Redis, when it fails. */
#define HEAL_FIRST_MS   300000L
#define HEAL_MAX_MS     3600000L
/* A week whose run stalled (failed, guard incomplete) runs this many more
 * times, then it is held. */
#define INCOMPLETE_RETRIES 2
/* After this long without the reporter's verdict, one WARN line. */
#define VERDICT_WARN_MS (30L * 60 * 1000)

static const char *const kind_names[] = { "dossiers", "dispositifs" };
static const char *const kind_what[] = { "export", "week" };

/* What the service remembers of a file in the inbox (dropped when the file
 * goes). */
struct note {
	enum inbox_kind kind;
	char name[NAME_MAX + 1];
	ino_t ino;
	int taken;            /* taken once by this process: due whatever the schedule */
	long retry_at_ms;     /* not before (clock_now_ms()) */
	unsigned failures;    /* consecutive failures of its child (exit 1) */
	unsigned technical;   /* consecutive holds for technical errors */
	int schedule_logged;  /* "waits for the schedule" said */
	char run_id[64];      /* the run id given when first taken */
};

struct service {
	const struct inbox_conf *c;
	char dir[2][PATH_MAX];     /* INBOX/<kind> */
	char archive[2][PATH_MAX]; /* INBOX/archive/<kind> */
	char held[2][PATH_MAX];    /* INBOX/held/<kind> */
	char history[PATH_MAX];    /* DIR/runs.json */
	struct scan_dir scan[2];
	int scan_failed[2];        /* the folder could not be read (said once) */
	struct probe probe;
	int lock_fd;               /* INBOX/.aij-inbox.lock, flock()ed */
	struct note *notes;
	size_t n_notes, cap_notes;
	/* What was said last about a file waiting (not said again). */
	char wait_said[NAME_MAX + 64];
	long heal_retry_at_ms;
	unsigned heal_failures;
	int heal_none_said;        /* "nothing to reload from" said */
	enum probe_state probe_said; /* the Redis state said last */
	time_t sched_prev;         /* last schedule time <= now, cached */
	time_t sched_next;         /* next schedule time > now, cached */
};

/* The state of a week's attempt, kept beside it while it runs (hidden:
 * ".<name>.aij-attempt"), so that a restart resumes an attempt whose records
 * are all on Kafka instead of starting another. */
struct attempt_state {
	char attempt[96];
	char run_id[64];
	char sha256[65];
	int ingested; /* aij-ingest exited 0: the reporter decides */
};

/* --- small helpers ------------------------------------------------------- */

static void now_iso(char *out, size_t size)
{
	history_time(inbox_now(), out, size);
}

/* dir/name into out; -1 when it does not fit (never with NAME_MAX names
 * under the folders main.c checked). */
static int path_join(char *out, size_t size, const char *dir, const char *name)
{
	size_t d = strlen(dir), n = strlen(name);
	if (d + 1 + n >= size) {
		out[0] = '\0';
		return -1;
	}
	memcpy(out, dir, d);
	out[d] = '/';
	memcpy(out + d + 1, name, n + 1);
	return 0;
}

/* Copies src into dst (size bytes) when it fits; else dst is "". */
static void copy_str(char *dst, size_t size, const char *src)
{
	size_t len = strlen(src);
	if (len >= size)
		len = 0;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static long backoff_ms(long first, long max, unsigned n)
{
	long ms = first;
	for (unsigned i = 1; i < n && ms < max; i++)
		ms *= 2;
	return ms < max ? ms : max;
}

static const struct {
	const char *guard, *fr;
} guard_fr[] = {
	{ "validation", "trop de lignes en échec de validation" },
	{ "format", "trop de lignes au mauvais format (code 01)" },
	{ "technical", "erreurs techniques (Redis injoignable)" },
	{ "older", "semaine plus ancienne que la dernière publiée" },
	{ "already", "fichier déjà intégré" },
	{ "incomplete", "traitement incomplet (lignes sans résultat)" },
	{ "dossiers_empty", "export sans aucun dossier" },
	{ "dossiers_malformed", "trop de lignes mal formées dans l'export" },
	{ "dossiers_shrunk", "moins de la moitié des dossiers en service" },
	{ "unreadable", "fichier illisible" },
};

void service_reason_line(const char *guard, const char *reason_fr, const char *reason,
			 char *out, size_t size)
{
	const char *fr = NULL;
	if (reason_fr && *reason_fr && strcmp(reason_fr, reason) != 0)
		fr = reason_fr; /* the guard's own, with its figures */
	for (size_t i = 0; !fr && i < sizeof(guard_fr) / sizeof(guard_fr[0]); i++)
		if (strcmp(guard, guard_fr[i].guard) == 0)
			fr = guard_fr[i].fr;
	snprintf(out, size, "retenu / held (%s): %s / %s", *guard ? guard : "error",
		 fr ? fr : "échec", *reason ? reason : "no reason given");
	for (char *p = out; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

static struct note *note_get(struct service *s, enum inbox_kind kind,
			     const struct scan_file *f)
{
	for (size_t i = 0; i < s->n_notes; i++) {
		struct note *n = &s->notes[i];
		if (n->kind == kind && n->ino == f->ino && strcmp(n->name, f->name) == 0)
			return n;
	}
	if (s->n_notes == s->cap_notes) {
		size_t cap = s->cap_notes ? s->cap_notes * 2 : 16;
		struct note *notes = realloc(s->notes, cap * sizeof(*notes));
		if (!notes)
			return NULL;
		s->notes = notes;
		s->cap_notes = cap;
	}
	struct note *n = &s->notes[s->n_notes++];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->ino = f->ino;
	snprintf(n->name, sizeof(n->name), "%s", f->name);
	return n;
}

/* Drops the notes of files no longer in the inbox. */
static void notes_sweep(struct service *s)
{
	size_t kept = 0;
	for (size_t i = 0; i < s->n_notes; i++) {
		struct note *n = &s->notes[i];
		struct scan_file *f = scan_dir_find(&s->scan[n->kind], n->name);
		if (f && f->ino == n->ino)
			s->notes[kept++] = *n;
	}
	s->n_notes = kept;
}

/* Says line once: not again while the same thing is waiting for the same
 * reason. */
static void say_waiting(struct service *s, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say_waiting(struct service *s, const char *key, const char *fmt, ...)
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

/* --- the attempt state beside a week ------------------------------------- */

static int state_path(const struct service *s, const char *name, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/.%s.aij-attempt", s->dir[KIND_DISPOSITIFS], name);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Reads the state of name; 1 when there is one, 0 when not. */
static int state_read(const struct service *s, const char *name, struct attempt_state *st)
{
	char path[PATH_MAX];
	if (state_path(s, name, path, sizeof(path)) < 0)
		return 0;
	FILE *in = fopen(path, "r");
	if (!in)
		return 0;
	memset(st, 0, sizeof(*st));
	char line[256], phase[32] = "";
	while (fgets(line, sizeof(line), in)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "attempt=", 8) == 0)
			copy_str(st->attempt, sizeof(st->attempt), line + 8);
		else if (strncmp(line, "run_id=", 7) == 0)
			copy_str(st->run_id, sizeof(st->run_id), line + 7);
		else if (strncmp(line, "sha256=", 7) == 0)
			copy_str(st->sha256, sizeof(st->sha256), line + 7);
		else if (strncmp(line, "phase=", 6) == 0)
			copy_str(phase, sizeof(phase), line + 6);
	}
	fclose(in);
	st->ingested = strcmp(phase, "ingested") == 0;
	return st->attempt[0] && st->run_id[0] && st->sha256[0];
}

/* Writes the state of name (temporary file, then rename). */
static int state_write(const struct service *s, const char *name,
		       const struct attempt_state *st)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	if (state_path(s, name, path, sizeof(path)) < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *out = fopen(tmp, "w");
	if (!out)
		return -1;
	fprintf(out, "attempt=%s\nrun_id=%s\nsha256=%s\nphase=%s\n", st->attempt,
		st->run_id, st->sha256, st->ingested ? "ingested" : "started");
	int ok = fflush(out) == 0 && fsync(fileno(out)) == 0;
	ok = fclose(out) == 0 && ok;
	if (!ok || rename(tmp, path) < 0) {
		log_warn("cannot write '%s': %s (a restart during this attempt starts "
			 "another one)", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void state_drop(const struct service *s, const char *name)
{
	char path[PATH_MAX];
	if (state_path(s, name, path, sizeof(path)) == 0)
		unlink(path);
}

/* --- filing --------------------------------------------------------------- */

/* Files kind's name away: into held/ with reason_line, or into archive/
 * when reason_line is NULL. Returns 0 with final set, or -1 (said). */
static int file_away(struct service *s, enum inbox_kind kind, const char *name,
		     const char *reason_line, char *final, size_t final_size)
{
	char errstr[1024];
	const char *dest = reason_line ? s->held[kind] : s->archive[kind];
	if (filing_move(s->dir[kind], name, dest, reason_line, final, final_size,
			errstr, sizeof(errstr)) < 0) {
		log_error("cannot file '%s' away: %s: it stays in the inbox", name, errstr);
		return -1;
	}
	if (kind == KIND_DISPOSITIFS)
		state_drop(s, name);
	return 0;
}

/* Holds kind's name with the reason (guard, reason): into held/, and one
 * ERROR line saying what to do. */
static void hold(struct service *s, enum inbox_kind kind, const char *name,
		 const char *guard, const char *reason_fr, const char *reason)
{
	char line[2048], final[NAME_MAX + 1];
	service_reason_line(guard, reason_fr, reason, line, sizeof(line));
	if (file_away(s, kind, name, line, final, sizeof(final)) < 0)
		return;
	log_error("%s '%s' held (%s): %s: filed as held/%s/%s with its .reason; to "
		  "publish it anyway, move it back into %s/ with a '%s.accept' file",
		  kind_what[kind], name, *guard ? guard : "error", reason, kind_names[kind],
		  final, s->dir[kind], name);
}

unsigned service_week_trailing(const json_t *h, const char *sha256, const char *status,
			       const char *guard)
{
	unsigned n = 0;
	for (size_t i = json_array_size(h); i-- > 0;) {
		json_t *e = json_array_get(h, i);
		if (strcmp(history_str(e, "kind"), HISTORY_KIND_WEEK) != 0 ||
		    strcmp(history_str(e, "sha256"), sha256) != 0)
			continue;
		if (strcmp(history_str(e, "status"), status) != 0 ||
		    strcmp(history_str(e, "guard"), guard) != 0)
			break;
		n++;
	}
	return n;
}

/* --- the export ---------------------------------------------------------- */

/* The latest entry of kind with sha256 appended to the history after its
 * first `after` entries (the child's verdict), a deep copy, or NULL. */
static json_t *entry_after(const struct service *s, size_t after, const char *kind,
			   const char *sha256)
{
	char errstr[512];
	json_t *h = history_load(s->history, errstr, sizeof(errstr));
	json_t *found = NULL;
	for (size_t i = json_array_size(h); h && i-- > after;) {
		json_t *e = json_array_get(h, i);
		if (strcmp(history_str(e, "kind"), kind) == 0 &&
		    strcmp(history_str(e, "sha256"), sha256) == 0) {
			found = json_deep_copy(e);
			break;
		}
	}
	json_decref(h);
	return found;
}

/* How many entries the run history has now. */
static size_t runs_count(const struct service *s)
{
	char errstr[512];
	json_t *h = history_load(s->history, errstr, sizeof(errstr));
	size_t n = json_array_size(h);
	json_decref(h);
	return n;
}

/* Runs aij-indexer on path. Returns its exit status, -1 when it could not
 * run (said), or -2 when stopped. */
static int run_indexer(struct service *s, const char *path, int accept)
{
	char *argv[] = { "aij-indexer", "--dossiers", (char *)path, "--redis",
			 (char *)s->c->redis, "--history", s->history,
			 accept ? "--accept" : NULL, NULL };
	char errstr[1024];
	int stopped;
	int rc = child_run(s->c->bin, argv, &stopped, errstr, sizeof(errstr));
	if (rc < 0)
		log_error("%s", errstr);
	return stopped ? -2 : rc;
}

/* A child that failed: the file stays, tried again later. */
static void retry_later(struct note *n, const char *what, const char *name,
			const char *program, int rc)
{
	n->failures++;
	long ms = backoff_ms(RETRY_FIRST_MS, RETRY_MAX_MS, n->failures);
	n->retry_at_ms = clock_now_ms() + ms;
	if (rc >= 0)
		log_error("%s '%s': %s failed (exit %d, see above): it stays in the inbox, "
			  "tried again in %ld s", what, name, program, rc, ms / 1000);
	else
		log_error("%s '%s': %s could not run: it stays in the inbox, tried again "
			  "in %ld s", what, name, program, ms / 1000);
}

static void take_export(struct service *s, const struct scan_file *f, struct note *n)
{
	char path[PATH_MAX], sha[65], errstr[1024], final[NAME_MAX + 1];
	path_join(path, sizeof(path), s->dir[KIND_DOSSIERS], f->name);
	int accept = f->marker == SCAN_ACCEPT;
	n->taken = 1;
	if (digest_file(path, sha, errstr, sizeof(errstr)) < 0) {
		if (access(path, F_OK) == 0)
			hold(s, KIND_DOSSIERS, f->name, "unreadable", NULL, errstr);
		return;
	}
	char now[40];
	now_iso(now, sizeof(now));
	log_info("taking the export '%s' (%lld bytes, sha256 %.12s..., %s) at %s", f->name,
		 (long long)f->size, sha, accept ? "with .accept: over the guards"
			: f->marker == SCAN_DONE ? ".done" : "settled", now);
	size_t before = runs_count(s);
	int rc = run_indexer(s, path, accept);
	if (rc == -2) {
		log_info("stopped while loading the export '%s': it stays in the inbox "
			 "(the index in use is unchanged)", f->name);
		return;
	}
	if (rc == 0) {
		if (file_away(s, KIND_DOSSIERS, f->name, NULL, final, sizeof(final)) == 0)
			log_info("export '%s' loaded%s: filed as archive/dossiers/%s", f->name,
				 accept ? " (accepted over its guards)" : "", final);
		probe_check(&s->probe, 1);
		s->heal_failures = 0;
		return;
	}
	if (rc == 4 || rc == 2) {
		json_t *e = entry_after(s, before, "dossiers", sha);
		const char *guard = e ? history_str(e, "guard") : "";
		const char *reason = e ? history_str(e, "reason") : "";
		char fallback[256];
		if (!*reason) {
			snprintf(fallback, sizeof(fallback), rc == 4
				 ? "held by aij-indexer (exit 4, see its log line)"
				 : "not a readable dossier export (aij-indexer exit 2, see its "
				   "log line)");
			reason = fallback;
		}
		if (!*guard)
			guard = rc == 2 ? "unreadable" : "error";
		if (access(path, F_OK) == 0) {
			log_info("aij-indexer exited with %d: the export '%s' is not loaded, the "
				 "index in use stays", rc, f->name);
			hold(s, KIND_DOSSIERS, f->name, guard,
			     e ? history_str(e, "reason_fr") : NULL, reason);
		}
		json_decref(e);
		return;
	}
	retry_later(n, "export", f->name, "aij-indexer", rc);
}

/* --- the reload of the last export into an empty Redis ------------------- */

/* Finds in archive/dossiers/ the file of the last published export: its
 * name (or name.N) with its sha256, else the one filed last (newest ctime).
 * Returns 0 with name set, or -1 when the folder has none. */
static int heal_source(struct service *s, char *name, size_t size)
{
	char errstr[512];
	json_t *h = history_load(s->history, errstr, sizeof(errstr));
	json_t *last = history_last(h, HISTORY_KIND_EXPORT, HISTORY_PUBLISHED);
	int found = -1;
	if (last && *history_str(last, "source")) {
		for (unsigned i = 1; i < 100 && found < 0; i++) {
			char cand[NAME_MAX + 1], path[PATH_MAX], sha[65];
			if (filing_candidate(history_str(last, "source"), i, cand, sizeof(cand)) < 0)
				break;
			path_join(path, sizeof(path), s->archive[KIND_DOSSIERS], cand);
			if (access(path, F_OK) < 0)
				continue;
			if (digest_file(path, sha, errstr, sizeof(errstr)) == 0 &&
			    strcmp(sha, history_str(last, "sha256")) == 0) {
				snprintf(name, size, "%s", cand);
				found = 0;
			}
		}
	}
	json_decref(h);
	if (found == 0)
		return 0;
	struct scan_dir d;
	if (scan_dir_init(&d, s->archive[KIND_DOSSIERS]) < 0)
		return -1;
	time_t newest = 0;
	if (scan_dir_update(&d, clock_now_ms(), errstr, sizeof(errstr)) == 0) {
		for (size_t i = 0; i < d.n; i++) {
			char path[PATH_MAX];
			struct stat st;
			path_join(path, sizeof(path), d.path, d.files[i].name);
			if (stat(path, &st) == 0 && st.st_ctim.tv_sec >= newest) {
				newest = st.st_ctim.tv_sec;
				snprintf(name, size, "%s", d.files[i].name);
				found = 0;
			}
		}
	}
	scan_dir_release(&d);
	return found;
}

/* Redis answers without an index (restarted empty, flushed): reloads the
 * last export loaded. Returns 1 when it ran (or tried), 0 when not. */
static int heal(struct service *s)
{
	if (clock_now_ms() < s->heal_retry_at_ms)
		return 0;
	char name[NAME_MAX + 1], path[PATH_MAX];
	if (heal_source(s, name, sizeof(name)) < 0) {
		if (!s->heal_none_said) {
			/* Never loaded (a new installation), or lost. */
			char errstr[512];
			json_t *h = history_load(s->history, errstr, sizeof(errstr));
			if (history_last(h, HISTORY_KIND_EXPORT, HISTORY_PUBLISHED))
				log_error("no dossier index loaded in Redis at %s, and no export "
					  "in archive/dossiers/ to reload: weeks wait for a "
					  "dossier export in '%s'", s->c->redis,
					  s->dir[KIND_DOSSIERS]);
			else
				log_info("no dossier index loaded yet: weeks wait for a dossier "
					 "export in '%s'", s->dir[KIND_DOSSIERS]);
			json_decref(h);
		}
		s->heal_none_said = 1;
		return 0;
	}
	s->heal_none_said = 0;
	path_join(path, sizeof(path), s->archive[KIND_DOSSIERS], name);
	log_error("no dossier index loaded in Redis at %s (restarted empty?): reloading "
		  "the last export loaded, archive/dossiers/%s", s->c->redis, name);
	int rc = run_indexer(s, path, 0);
	if (rc == -2)
		return 1;
	if (rc == 0) {
		log_info("index reloaded from archive/dossiers/%s", name);
		s->heal_failures = 0;
		s->heal_retry_at_ms = 0;
		probe_check(&s->probe, 1);
		return 1;
	}
	s->heal_failures++;
	long ms = backoff_ms(HEAL_FIRST_MS, HEAL_MAX_MS, s->heal_failures);
	s->heal_retry_at_ms = clock_now_ms() + ms;
	log_error("reloading archive/dossiers/%s failed (aij-indexer exit %d, see above): "
		  "tried again in %ld s; weeks wait for an index (drop a dossier export "
		  "into '%s')", name, rc, ms / 1000, s->dir[KIND_DOSSIERS]);
	return 1;
}

/* --- the week ------------------------------------------------------------ */

/* Waits for the runs.json entry of attempt with a verdict. Returns a deep
 * copy of it, or NULL when stopped. */
static json_t *wait_verdict(struct service *s, const char *attempt)
{
	log_info("waiting for the reporter's verdict on attempt %s (in '%s')", attempt,
		 s->history);
	long start = clock_now_ms();
	int warned = 0, read_failed = 0;
	struct stat last = { 0 };
	while (!signals_stop) {
		struct stat st;
		if (stat(s->history, &st) == 0 &&
		    (st.st_ino != last.st_ino || st.st_size != last.st_size ||
		     st.st_mtim.tv_sec != last.st_mtim.tv_sec ||
		     st.st_mtim.tv_nsec != last.st_mtim.tv_nsec)) {
			char errstr[512];
			json_t *h = history_load(s->history, errstr, sizeof(errstr));
			if (!h) {
				if (!read_failed)
					log_error("%s", errstr);
				read_failed = 1;
			} else {
				read_failed = 0;
				last = st;
				json_t *e = history_find_attempt(h, attempt);
				const char *status = e ? history_str(e, "status") : "";
				if (strcmp(status, "published") == 0 ||
				    strcmp(status, "held") == 0 ||
				    strcmp(status, "already") == 0 ||
				    strcmp(status, "failed") == 0) {
					json_t *copy = json_deep_copy(e);
					json_decref(h);
					return copy;
				}
				json_decref(h);
			}
		}
		if (!warned && clock_now_ms() - start > VERDICT_WARN_MS) {
			log_warn("no verdict on attempt %s after %ld min: is aij-reporter "
				 "--follow running with --out '%s'?", attempt,
				 VERDICT_WARN_MS / 60000, s->c->out);
			warned = 1;
		}
		clock_sleep_ms(250);
	}
	return NULL;
}

/* The run id for a week taken now: --run-id, else the one it had when
 * first taken, else the ISO week of now (Europe/Paris). */
static void week_run_id(const struct service *s, const struct note *n,
			const struct attempt_state *st, char *out, size_t size)
{
	if (s->c->run_id && *s->c->run_id) {
		snprintf(out, size, "%s", s->c->run_id);
	} else if (st && st->run_id[0]) {
		snprintf(out, size, "%s", st->run_id);
	} else if (n->run_id[0]) {
		snprintf(out, size, "%s", n->run_id);
	} else {
		time_t now = inbox_now();
		struct tm tm;
		localtime_r(&now, &tm);
		strftime(out, size, "%G-W%V", &tm);
	}
}

static void new_attempt(const char *run_id, char *out, size_t size)
{
	unsigned char r[4] = { 0 };
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		long ms = clock_now_ms();
		memcpy(r, &ms, sizeof(r));
		r[0] ^= (unsigned char)getpid();
	}
	snprintf(out, size, "%s#%02x%02x%02x%02x", run_id, r[0], r[1], r[2], r[3]);
}

/* The same file as a published run: nothing run, an "already" entry, filed
 * into archive/. */
static void week_already(struct service *s, const char *name, const char *sha,
			 const char *run_id, const json_t *pub)
{
	char attempt[96], reason[512], errstr[1024], final[NAME_MAX + 1];
	new_attempt(run_id, attempt, sizeof(attempt));
	snprintf(reason, sizeof(reason), "already integrated as run %s (attempt %s): same "
		 "sha256", history_str(pub, "run_id"), history_str(pub, "attempt"));
	time_t now = inbox_now();
	struct history_entry e = {
		.kind = HISTORY_KIND_WEEK, .run_id = run_id, .attempt = attempt,
		.source = name, .sha256 = sha, .status = HISTORY_ALREADY,
		.guard = "already", .reason = reason, .started_at = now, .finished_at = now,
	};
	if (history_append(s->history, &e, errstr, sizeof(errstr)) < 0)
		log_error("cannot add the 'already' entry of '%s' to the run history: %s",
			  name, errstr);
	if (file_away(s, KIND_DISPOSITIFS, name, NULL, final, sizeof(final)) == 0)
		log_warn("week '%s' already integrated as run %s (attempt %s, sha256 "
			 "%.12s...): not run again; filed as archive/dispositifs/%s", name,
			 history_str(pub, "run_id"), history_str(pub, "attempt"), sha, final);
}

/* Acts on the reporter's verdict on the week name. */
static void week_verdict(struct service *s, const struct scan_file *f, struct note *n,
			 const char *sha, const json_t *v)
{
	const char *status = history_str(v, "status"), *guard = history_str(v, "guard");
	const char *reason = history_str(v, "reason"), *run_id = history_str(v, "run_id");
	char final[NAME_MAX + 1];
	n->failures = 0;
	if (strcmp(status, "published") == 0 || strcmp(status, "already") == 0) {
		n->technical = 0;
		if (file_away(s, KIND_DISPOSITIFS, f->name, NULL, final, sizeof(final)) < 0)
			return;
		if (strcmp(status, "published") == 0)
			log_info("week '%s' integrated: run %s published (%llu lines, %llu "
				 "integrated, %llu failed%s): filed as archive/dispositifs/%s",
				 f->name, run_id, (unsigned long long)history_num(v, "lines"), (unsigned long long)history_num(v, "integrated"),
				 (unsigned long long)history_num(v, "failed"),
				 json_is_true(json_object_get(v, "accepted"))
					 ? ", accepted over its guards" : "", final);
		else
			log_warn("week '%s' not published again: %s: filed as "
				 "archive/dispositifs/%s", f->name, reason, final);
		return;
	}
	/* The two that run again: the state stays, not ingested, so that the
	 * next attempt (also after a restart) keeps the run id and does not
	 * wait for the schedule. */
	struct attempt_state again = { .ingested = 0 };
	snprintf(again.attempt, sizeof(again.attempt), "%s", history_str(v, "attempt"));
	snprintf(again.run_id, sizeof(again.run_id), "%s", run_id);
	snprintf(again.sha256, sizeof(again.sha256), "%s", sha);
	if (strcmp(status, "held") == 0 && strcmp(guard, "technical") == 0) {
		state_write(s, f->name, &again);
		n->technical++;
		n->retry_at_ms = n->technical <= 1 ? 0
			: clock_now_ms() + backoff_ms(TECH_FIRST_MS, TECH_MAX_MS, n->technical - 1);
		log_error("week '%s' held (technical): %s: it stays in the inbox and runs "
			  "again by itself once Redis answers with a dossier index loaded%s",
			  f->name, reason, n->technical <= 1 ? "" : " (not before a back-off)");
		return;
	}
	if (strcmp(status, "failed") == 0 && strcmp(guard, "incomplete") == 0) {
		char errstr[512];
		json_t *h = history_load(s->history, errstr, sizeof(errstr));
		unsigned times = h ? service_week_trailing(h, sha, HISTORY_FAILED, "incomplete")
				   : 1;
		json_decref(h);
		if (times <= INCOMPLETE_RETRIES) {
			state_write(s, f->name, &again);
			n->retry_at_ms = 0;
			log_error("week '%s' did not complete (%s): running it again (%u of %d)",
				  f->name, reason, times, INCOMPLETE_RETRIES);
			return;
		}
		char why[1024], why_fr[1024];
		snprintf(why, sizeof(why), "did not complete %u times in a row, last: %s",
			 times, reason);
		snprintf(why_fr, sizeof(why_fr), "traitement incomplet %u fois de suite, "
			 "la dernière : %s", times, history_str(v, "reason_fr"));
		hold(s, KIND_DISPOSITIFS, f->name, guard, why_fr, why);
		return;
	}
	hold(s, KIND_DISPOSITIFS, f->name, guard, history_str(v, "reason_fr"), reason);
}

static void take_week(struct service *s, const struct scan_file *f, struct note *n)
{
	char path[PATH_MAX], sha[65], errstr[1024], run_id[64], now[40];
	path_join(path, sizeof(path), s->dir[KIND_DISPOSITIFS], f->name);
	int accept = f->marker == SCAN_ACCEPT;
	n->taken = 1;
	if (digest_file(path, sha, errstr, sizeof(errstr)) < 0) {
		if (access(path, F_OK) == 0)
			hold(s, KIND_DISPOSITIFS, f->name, "unreadable", NULL, errstr);
		return;
	}
	struct attempt_state st;
	int have_state = state_read(s, f->name, &st) && strcmp(st.sha256, sha) == 0;
	week_run_id(s, n, have_state ? &st : NULL, run_id, sizeof(run_id));
	snprintf(n->run_id, sizeof(n->run_id), "%s", run_id);
	log_set_run(run_id);
	now_iso(now, sizeof(now));

	if (have_state && st.ingested) {
		log_info("week '%s': resuming attempt %s (its records were all published "
			 "before the stop)", f->name, st.attempt);
	} else {
		char errbuf[512];
		json_t *h = history_load(s->history, errbuf, sizeof(errbuf));
		if (!h) {
			log_error("%s", errbuf);
			n->retry_at_ms = clock_now_ms() + RETRY_FIRST_MS;
			log_set_run(NULL);
			return;
		}
		json_t *pub = history_published_sha(h, sha);
		if (pub) {
			week_already(s, f->name, sha, run_id, pub);
			json_decref(h);
			log_set_run(NULL);
			return;
		}
		json_decref(h);
		memset(&st, 0, sizeof(st));
		new_attempt(run_id, st.attempt, sizeof(st.attempt));
		snprintf(st.run_id, sizeof(st.run_id), "%s", run_id);
		snprintf(st.sha256, sizeof(st.sha256), "%s", sha);
		state_write(s, f->name, &st);
		log_info("taking the week '%s' (%lld bytes, sha256 %.12s..., %s) at %s: "
			 "attempt %s", f->name, (long long)f->size, sha,
			 accept ? "with .accept: over the guards"
				: f->marker == SCAN_DONE ? ".done" : "settled", now, st.attempt);
		char *argv[] = { "aij-ingest", "--file", path, "--brokers",
				 (char *)s->c->brokers, "--run-id", run_id, "--attempt",
				 st.attempt, "--communes", (char *)s->c->communes, "--motifs",
				 (char *)s->c->motifs, accept ? "--accept" : NULL, NULL };
		int stopped;
		int rc = child_run(s->c->bin, argv, &stopped, errstr, sizeof(errstr));
		if (rc < 0)
			log_error("%s", errstr);
		if (stopped) {
			log_info("stopped while publishing the week '%s': it stays in the "
				 "inbox (no manifest: nothing of attempt %s is reported)",
				 f->name, st.attempt);
			log_set_run(NULL);
			return;
		}
		if (rc == 2 && access(path, F_OK) == 0) {
			hold(s, KIND_DISPOSITIFS, f->name, "unreadable", NULL,
			     "aij-ingest could not read it (exit 2, see its log line)");
			log_set_run(NULL);
			return;
		}
		if (rc != 0) {
			retry_later(n, "week", f->name, "aij-ingest", rc);
			log_set_run(NULL);
			return;
		}
		st.ingested = 1;
		state_write(s, f->name, &st);
	}
	json_t *v = wait_verdict(s, st.attempt);
	if (!v) {
		log_info("stopped while waiting for the verdict on attempt %s: the week '%s' "
			 "stays in the inbox; the next start %s", st.attempt, f->name,
			 s->c->new_broker ? "runs it again (--new-broker)"
					  : "waits for that verdict");
		log_set_run(NULL);
		return;
	}
	week_verdict(s, f, n, sha, v);
	json_decref(v);
	log_set_run(NULL);
}

/* --- choosing what to do next ---------------------------------------------- */

/* Whether a complete file is due: no schedule, an .accept marker, taken
 * before, or a schedule time passed since it arrived. */
static int due(struct service *s, const struct scan_file *f, const struct note *n,
	       enum inbox_kind kind)
{
	if (!s->c->scheduled || f->marker == SCAN_ACCEPT || n->taken)
		return 1;
	if (kind == KIND_DISPOSITIFS) {
		struct attempt_state st;
		if (state_read(s, f->name, &st))
			return 1; /* taken before a restart */
	}
	time_t now = inbox_now();
	if (now >= s->sched_next || now < s->sched_prev) {
		s->sched_prev = schedule_prev(&s->c->schedule, now);
		s->sched_next = schedule_next(&s->c->schedule, now);
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
static struct scan_file *pick(struct service *s, enum inbox_kind kind, struct note **np,
			      int *blocked)
{
	long now_ms = clock_now_ms();
	long settle_ms = s->c->settle_s * 1000;
	*blocked = 0;
	for (size_t i = 0; i < s->scan[kind].n; i++) {
		struct scan_file *f = &s->scan[kind].files[i];
		struct note *n = note_get(s, kind, f);
		if (!n)
			return NULL;
		int resumed = 0;
		if (kind == KIND_DISPOSITIFS) {
			struct attempt_state st;
			resumed = state_read(s, f->name, &st);
		}
		if (!resumed && !n->taken && !scan_complete(f, now_ms, settle_ms)) {
			*blocked = 1;
			continue;
		}
		if (!due(s, f, n, kind)) {
			if (!n->schedule_logged) {
				char at[40], sched[32];
				history_time(s->sched_next, at, sizeof(at));
				schedule_format(&s->c->schedule, sched, sizeof(sched));
				log_info("%s '%s' is complete: it waits for the schedule (%s), "
					 "next at %s", kind_what[kind], f->name, sched, at);
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

static void scan_all(struct service *s)
{
	for (int k = 0; k < 2; k++) {
		char errstr[1024];
		if (scan_dir_update(&s->scan[k], clock_now_ms(), errstr, sizeof(errstr)) < 0) {
			if (!s->scan_failed[k])
				log_error("%s", errstr);
			s->scan_failed[k] = 1;
			filing_mkdirs(s->dir[k], errstr, sizeof(errstr));
		} else {
			s->scan_failed[k] = 0;
		}
	}
	notes_sweep(s);
}

/* Says when Redis stops or starts answering (once each time). */
static void say_redis(struct service *s, enum probe_state ps)
{
	if (ps == PROBE_DOWN && s->probe_said != PROBE_DOWN)
		log_warn("Redis at %s does not answer (%s): nothing is taken until it does",
			 s->c->redis, s->probe.error);
	else if (ps != PROBE_DOWN && s->probe_said == PROBE_DOWN)
		log_info("Redis at %s answers again", s->c->redis);
	s->probe_said = ps;
}

/* One step: takes one file (or reloads the index), or returns 0 when there
 * is nothing to do now. */
static int step(struct service *s)
{
	struct note *n;
	int export_waits, week_waits;
	scan_all(s);
	enum probe_state ps = probe_check(&s->probe, 0);
	say_redis(s, ps);
	if (ps == PROBE_READY)
		s->heal_none_said = 0; /* a later loss of the index is said again */
	struct scan_file *f = pick(s, KIND_DOSSIERS, &n, &export_waits);
	if (f) {
		if (ps == PROBE_DOWN)
			return 0; /* said by say_redis() */
		struct scan_file copy = *f;
		take_export(s, &copy, n);
		s->wait_said[0] = '\0';
		return 1;
	}
	if (ps == PROBE_NO_INDEX && !export_waits && heal(s))
		return 1;
	f = pick(s, KIND_DISPOSITIFS, &n, &week_waits);
	if (!f)
		return 0;
	char key[NAME_MAX + 32];
	if (export_waits) {
		snprintf(key, sizeof(key), "export:%s", f->name);
		say_waiting(s, key, "week '%s' waits for the dossier export in '%s' to be "
			    "loaded first", f->name, s->dir[KIND_DOSSIERS]);
		return 0;
	}
	if (ps != PROBE_READY) {
		snprintf(key, sizeof(key), "%d:%s", (int)ps, f->name);
		if (ps == PROBE_DOWN)
			say_waiting(s, key, "week '%s' waits until Redis at %s answers",
				    f->name, s->c->redis);
		else
			say_waiting(s, key, "week '%s' waits: no dossier index loaded in Redis "
				    "at %s", f->name, s->c->redis);
		return 0;
	}
	struct scan_file copy = *f;
	take_week(s, &copy, n);
	s->wait_said[0] = '\0';
	return 1;
}

/* With a new broker (deploy/aij-local's, in memory), the records of an
 * attempt published before this start are gone: its week runs again (a new
 * attempt, same run id) instead of waiting for a verdict that cannot come. */
static void forget_ingested(struct service *s)
{
	struct scan_dir d;
	char errstr[256];
	if (scan_dir_init(&d, s->dir[KIND_DISPOSITIFS]) < 0 ||
	    scan_dir_update(&d, clock_now_ms(), errstr, sizeof(errstr)) < 0) {
		scan_dir_release(&d);
		return;
	}
	for (size_t i = 0; i < d.n; i++) {
		struct attempt_state st;
		if (state_read(s, d.files[i].name, &st) && st.ingested) {
			st.ingested = 0;
			state_write(s, d.files[i].name, &st);
			log_info("week '%s': attempt %s was published to a broker that is "
				 "gone (--new-broker): it runs again", d.files[i].name,
				 st.attempt);
		}
	}
	scan_dir_release(&d);
}

static int service_init(struct service *s, const struct inbox_conf *c,
			char *errstr, size_t errstr_size)
{
	memset(s, 0, sizeof(*s));
	s->c = c;
	s->lock_fd = -1;
	if (strlen(c->watch) > sizeof(s->dir[0]) - 32 ||
	    strlen(c->out) > sizeof(s->history) - 16) {
		snprintf(errstr, errstr_size, "path too long: '%s'", c->watch);
		return -1;
	}
	for (int k = 0; k < 2; k++) {
		snprintf(s->dir[k], sizeof(s->dir[k]), "%s/%s", c->watch, kind_names[k]);
		snprintf(s->archive[k], sizeof(s->archive[k]), "%s/archive/%s", c->watch,
			 kind_names[k]);
		snprintf(s->held[k], sizeof(s->held[k]), "%s/held/%s", c->watch, kind_names[k]);
		if (filing_mkdirs(s->dir[k], errstr, errstr_size) < 0 ||
		    filing_mkdirs(s->archive[k], errstr, errstr_size) < 0 ||
		    filing_mkdirs(s->held[k], errstr, errstr_size) < 0)
			return -1;
		if (scan_dir_init(&s->scan[k], s->dir[k]) < 0) {
			snprintf(errstr, errstr_size, "out of memory");
			return -1;
		}
	}
	/* One service per inbox: a second one would take the same files. */
	char lock[PATH_MAX];
	path_join(lock, sizeof(lock), c->watch, ".aij-inbox.lock");
	s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (s->lock_fd < 0) {
		snprintf(errstr, errstr_size, "cannot open '%s': %s", lock, strerror(errno));
		return -1;
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(errstr, errstr_size, "another aij-inbox watches '%s' (it holds "
			 "'%s')", c->watch, lock);
		return -1;
	}
	if (filing_mkdirs(c->out, errstr, errstr_size) < 0)
		return -1;
	snprintf(s->history, sizeof(s->history), "%s/runs.json", c->out);
	probe_init(&s->probe, c->redis);
	return 0;
}

static void service_release(struct service *s)
{
	for (int k = 0; k < 2; k++)
		scan_dir_release(&s->scan[k]);
	probe_release(&s->probe);
	free(s->notes);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
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
		 s.history, c->bin);
	if (clock_faked()) {
		char now[40];
		now_iso(now, sizeof(now));
		log_warn("fake clock (AIJ_FAKE_NOW, for tests only): now is %s", now);
	}
	if (c->new_broker)
		forget_ingested(&s);
	while (!signals_stop) {
		if (!step(&s))
			clock_sleep_ms(TICK_MS);
	}
	log_info("stopped");
	service_release(&s);
	return 0;
}
