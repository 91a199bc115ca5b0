#include "week.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "attempt.h"
#include "child.h"
#include "clock.h"
#include "digest.h"
#include "history.h"
#include "log.h"
#include "schedule.h"
#include "verdict.h"

/* A week held for technical errors runs again as soon as Redis answers with
 * an index; held so again, after 1 min, doubling up to 1 h (a cause that
 * is not Redis must not make it run every few seconds). */
#define TECH_FIRST_MS   60000L
#define TECH_MAX_MS     3600000L
/* A week whose run stalled (failed, guard incomplete) runs this many more
 * times, then it is held. */
#define INCOMPLETE_RETRIES 2
/* When history cannot be read: the week is tried again after this. */
#define WEEK_RETRY_MS   30000L

/* The run id for a week taken now: --run-id, else the one it had when
 * first taken, else the ISO week of now (Europe/Paris). */
static void week_run_id(const struct inbox *in, const struct note *n,
			const struct attempt_state *st, char *out, size_t size)
{
	if (in->c->run_id && *in->c->run_id) {
		snprintf(out, size, "%s", in->c->run_id);
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

/* The same file as a published run: nothing run, an "already" entry, filed
 * into archive/. */
static void week_already(struct inbox *in, const char *name, const char *sha,
			 const char *run_id, const json_t *pub)
{
	char attempt[96], reason[512], errstr[1024], final[NAME_MAX + 1];
	attempt_new_id(run_id, attempt, sizeof(attempt));
	snprintf(reason, sizeof(reason), "already integrated as run %s (attempt %s): same "
		 "sha256", history_str(pub, "run_id"), history_str(pub, "attempt"));
	time_t now = inbox_now();
	struct history_entry e = {
		.kind = HISTORY_KIND_WEEK, .run_id = run_id, .attempt = attempt,
		.source = name, .sha256 = sha, .status = HISTORY_ALREADY,
		.guard = "already", .reason = reason, .started_at = now, .finished_at = now,
	};
	if (history_append(in->history, &e, errstr, sizeof(errstr)) < 0)
		log_error("cannot add the 'already' entry of '%s' to the run history: %s",
			  name, errstr);
	if (inbox_archive(in, KIND_DISPOSITIFS, name, final, sizeof(final)) == 0)
		log_warn("week '%s' already integrated as run %s (attempt %s, sha256 "
			 "%.12s...): not run again; filed as archive/dispositifs/%s", name,
			 history_str(pub, "run_id"), history_str(pub, "attempt"), sha, final);
}

/* Acts on the reporter's verdict v on the week f. */
static void week_verdict(struct inbox *in, const struct scan_file *f, struct note *n,
			 const char *sha, const json_t *v)
{
	const char *status = history_str(v, "status"), *guard = history_str(v, "guard");
	const char *reason = history_str(v, "reason"), *run_id = history_str(v, "run_id");
	const char *dir = in->dir[KIND_DISPOSITIFS];
	char final[NAME_MAX + 1];
	n->failures = 0;
	if (strcmp(status, "published") == 0 || strcmp(status, "already") == 0) {
		n->technical = 0;
		if (inbox_archive(in, KIND_DISPOSITIFS, f->name, final, sizeof(final)) < 0)
			return;
		if (strcmp(status, "published") == 0)
			log_info("week '%s' integrated: run %s published (%llu lines, %llu "
				 "integrated, %llu failed%s): filed as archive/dispositifs/%s",
				 f->name, run_id, (unsigned long long)history_num(v, "lines"),
				 (unsigned long long)history_num(v, "integrated"),
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
		attempt_write(dir, f->name, &again);
		n->technical++;
		n->retry_at_ms = n->technical <= 1 ? 0
			: clock_now_ms() + clock_backoff_ms(TECH_FIRST_MS, TECH_MAX_MS,
							   n->technical - 1);
		log_error("week '%s' held (technical): %s: it stays in the inbox and runs "
			  "again by itself once Redis answers with a dossier index loaded%s",
			  f->name, reason, n->technical <= 1 ? "" : " (not before a back-off)");
		return;
	}
	if (strcmp(status, "failed") == 0 && strcmp(guard, "incomplete") == 0) {
		char errstr[512];
		json_t *h = history_load(in->history, errstr, sizeof(errstr));
		unsigned times = h ? verdict_week_trailing(h, sha, HISTORY_FAILED, "incomplete")
				   : 1;
		json_decref(h);
		if (times <= INCOMPLETE_RETRIES) {
			attempt_write(dir, f->name, &again);
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
		inbox_hold(in, KIND_DISPOSITIFS, f->name, guard, why_fr, why);
		return;
	}
	inbox_hold(in, KIND_DISPOSITIFS, f->name, guard, history_str(v, "reason_fr"), reason);
}

/* Starts a new attempt of the week f (path, sha): the same file published
 * before is filed as "already" instead; else aij-ingest publishes its
 * records. Returns 0 with st the ingested attempt (the reporter decides
 * now), or -1 when there is nothing to wait for (filed, stopped, or to be
 * tried again: said). */
static int week_ingest(struct inbox *in, const struct scan_file *f, struct note *n,
		       const char *path, const char *sha, const char *run_id,
		       struct attempt_state *st)
{
	const char *dir = in->dir[KIND_DISPOSITIFS];
	int accept = f->marker == SCAN_ACCEPT;
	char errstr[1024], now[40];
	json_t *h = history_load(in->history, errstr, sizeof(errstr));
	if (!h) {
		log_error("%s", errstr);
		n->retry_at_ms = clock_now_ms() + WEEK_RETRY_MS;
		return -1;
	}
	json_t *pub = history_published_sha(h, sha);
	if (pub) {
		week_already(in, f->name, sha, run_id, pub);
		json_decref(h);
		return -1;
	}
	json_decref(h);
	memset(st, 0, sizeof(*st));
	attempt_new_id(run_id, st->attempt, sizeof(st->attempt));
	snprintf(st->run_id, sizeof(st->run_id), "%s", run_id);
	snprintf(st->sha256, sizeof(st->sha256), "%s", sha);
	attempt_write(dir, f->name, st);
	history_time(inbox_now(), now, sizeof(now));
	log_info("taking the week '%s' (%lld bytes, sha256 %.12s..., %s) at %s: "
		 "attempt %s", f->name, (long long)f->size, sha,
		 accept ? "with .accept: over the guards"
			: f->marker == SCAN_DONE ? ".done" : "settled", now, st->attempt);
	char *argv[] = { "aij-ingest", "--file", (char *)path, "--brokers",
			 (char *)in->c->brokers, "--run-id", (char *)run_id, "--attempt",
			 st->attempt, "--communes", (char *)in->c->communes, "--motifs",
			 (char *)in->c->motifs, accept ? "--accept" : NULL, NULL };
	int stopped;
	int rc = child_run(in->c->bin, argv, &stopped, errstr, sizeof(errstr));
	if (rc < 0)
		log_error("%s", errstr);
	if (stopped) {
		log_info("stopped while publishing the week '%s': it stays in the "
			 "inbox (no manifest: nothing of attempt %s is reported)",
			 f->name, st->attempt);
		return -1;
	}
	if (rc == 2 && access(path, F_OK) == 0) {
		inbox_hold(in, KIND_DISPOSITIFS, f->name, "unreadable", NULL,
			   "aij-ingest could not read it (exit 2, see its log line)");
		return -1;
	}
	if (rc != 0) {
		notes_retry_later(n, "week", f->name, "aij-ingest", rc);
		return -1;
	}
	st->ingested = 1;
	attempt_write(dir, f->name, st);
	return 0;
}

/* week_take() but the log's run id, which it sets for its lines. */
static void week_run(struct inbox *in, const struct scan_file *f, struct note *n,
		     const char *path, const char *sha)
{
	char run_id[64];
	struct attempt_state st;
	int have_state = attempt_read(in->dir[KIND_DISPOSITIFS], f->name, &st) &&
			 strcmp(st.sha256, sha) == 0;
	week_run_id(in, n, have_state ? &st : NULL, run_id, sizeof(run_id));
	snprintf(n->run_id, sizeof(n->run_id), "%s", run_id);
	log_set_run(run_id);
	if (have_state && st.ingested)
		log_info("week '%s': resuming attempt %s (its records were all published "
			 "before the stop)", f->name, st.attempt);
	else if (week_ingest(in, f, n, path, sha, run_id, &st) < 0)
		return;
	json_t *v = verdict_wait(in->history, in->c->out, st.attempt);
	if (!v) {
		log_info("stopped while waiting for the verdict on attempt %s: the week '%s' "
			 "stays in the inbox; the next start %s", st.attempt, f->name,
			 in->c->new_broker ? "runs it again (--new-broker)"
					   : "waits for that verdict");
		return;
	}
	week_verdict(in, f, n, sha, v);
	json_decref(v);
}

void week_take(struct inbox *in, const struct scan_file *f, struct note *n)
{
	char path[PATH_MAX], sha[65], errstr[1024];
	inbox_path(path, sizeof(path), in->dir[KIND_DISPOSITIFS], f->name);
	n->taken = 1;
	if (digest_file(path, sha, errstr, sizeof(errstr)) < 0) {
		if (access(path, F_OK) == 0)
			inbox_hold(in, KIND_DISPOSITIFS, f->name, "unreadable", NULL, errstr);
		return;
	}
	week_run(in, f, n, path, sha);
	log_set_run(NULL);
}
