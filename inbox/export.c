#include "export.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "child.h"
#include "clock.h"
#include "digest.h"
#include "filing.h"
#include "history.h"
#include "log.h"
#include "schedule.h"
#include "verdict.h"

/* The reload, when it fails: after 5 min, doubling up to 1 h (a broken
 * export in archive/ must not run aij-indexer every few seconds). */
#define RELOAD_FIRST_MS 300000L
#define RELOAD_MAX_MS   3600000L

/* Runs aij-indexer on path. Returns its exit status, -1 when it could not
 * run (said), or -2 when stopped. */
static int export_run_indexer(struct inbox *in, const char *path, int accept)
{
	char *argv[] = { "aij-indexer", "--dossiers", (char *)path, "--redis",
			 (char *)in->c->redis, "--history", in->history,
			 accept ? "--accept" : NULL, NULL };
	char errstr[1024];
	int stopped;
	int rc = child_run(in->c->bin, argv, &stopped, errstr, sizeof(errstr));
	if (rc < 0)
		log_error("%s", errstr);
	return stopped ? -2 : rc;
}

void export_take(struct inbox *in, const struct scan_file *f, struct note *n)
{
	char path[PATH_MAX], sha[65], errstr[1024], final[NAME_MAX + 1];
	inbox_path(path, sizeof(path), in->dir[KIND_DOSSIERS], f->name);
	int accept = f->marker == SCAN_ACCEPT;
	n->taken = 1;
	if (digest_file(path, sha, errstr, sizeof(errstr)) < 0) {
		if (access(path, F_OK) == 0)
			inbox_hold(in, KIND_DOSSIERS, f->name, "unreadable", NULL, errstr);
		return;
	}
	char now[40];
	history_time(inbox_now(), now, sizeof(now));
	log_info("taking the export '%s' (%lld bytes, sha256 %.12s..., %s) at %s", f->name,
		 (long long)f->size, sha, accept ? "with .accept: over the guards"
			: f->marker == SCAN_DONE ? ".done" : "settled", now);
	size_t before = verdict_count(in->history);
	int rc = export_run_indexer(in, path, accept);
	if (rc == -2) {
		log_info("stopped while loading the export '%s': it stays in the inbox "
			 "(the index in use is unchanged)", f->name);
		return;
	}
	if (rc == 0) {
		if (inbox_archive(in, KIND_DOSSIERS, f->name, final, sizeof(final)) == 0)
			log_info("export '%s' loaded%s: filed as archive/dossiers/%s", f->name,
				 accept ? " (accepted over its guards)" : "", final);
		probe_check(&in->probe, 1);
		in->reload_failures = 0;
		return;
	}
	if (rc == 4 || rc == 2) {
		/* Held (4) or unreadable (2): aij-indexer's entry says why. */
		json_t *e = verdict_after(in->history, before, "dossiers", sha);
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
			inbox_hold(in, KIND_DOSSIERS, f->name, guard,
				   e ? history_str(e, "reason_fr") : NULL, reason);
		}
		json_decref(e);
		return;
	}
	notes_retry_later(n, "export", f->name, "aij-indexer", rc);
}

/* Finds in archive/dossiers/ the file of the last published export: its
 * name (or name.N) with its sha256, else the one filed last (newest ctime).
 * Returns 0 with name set, or -1 when the folder has none. */
static int export_reload_source(struct inbox *in, char *name, size_t size)
{
	char errstr[512];
	json_t *h = history_load(in->history, errstr, sizeof(errstr));
	json_t *last = history_last(h, HISTORY_KIND_EXPORT, HISTORY_PUBLISHED);
	int found = -1;
	if (last && *history_str(last, "source")) {
		for (unsigned i = 1; i < 100 && found < 0; i++) {
			char cand[NAME_MAX + 1], path[PATH_MAX], sha[65];
			if (filing_candidate(history_str(last, "source"), i, cand, sizeof(cand)) < 0)
				break;
			inbox_path(path, sizeof(path), in->archive[KIND_DOSSIERS], cand);
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
	if (scan_dir_init(&d, in->archive[KIND_DOSSIERS]) < 0)
		return -1;
	time_t newest = 0;
	if (scan_dir_update(&d, clock_now_ms(), errstr, sizeof(errstr)) == 0) {
		for (size_t i = 0; i < d.n; i++) {
			char path[PATH_MAX];
			struct stat st;
			inbox_path(path, sizeof(path), d.path, d.files[i].name);
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

int export_reload(struct inbox *in)
{
	if (clock_now_ms() < in->reload_retry_at_ms)
		return 0;
	char name[NAME_MAX + 1], path[PATH_MAX];
	if (export_reload_source(in, name, sizeof(name)) < 0) {
		if (!in->reload_none_said) {
			/* Never loaded (a new installation), or lost. */
			char errstr[512];
			json_t *h = history_load(in->history, errstr, sizeof(errstr));
			if (history_last(h, HISTORY_KIND_EXPORT, HISTORY_PUBLISHED))
				log_error("no dossier index loaded in Redis at %s, and no export "
					  "in archive/dossiers/ to reload: weeks wait for a "
					  "dossier export in '%s'", in->c->redis,
					  in->dir[KIND_DOSSIERS]);
			else
				log_info("no dossier index loaded yet: weeks wait for a dossier "
					 "export in '%s'", in->dir[KIND_DOSSIERS]);
			json_decref(h);
		}
		in->reload_none_said = 1;
		return 0;
	}
	in->reload_none_said = 0;
	inbox_path(path, sizeof(path), in->archive[KIND_DOSSIERS], name);
	log_error("no dossier index loaded in Redis at %s (restarted empty?): reloading "
		  "the last export loaded, archive/dossiers/%s", in->c->redis, name);
	int rc = export_run_indexer(in, path, 0);
	if (rc == -2)
		return 1;
	if (rc == 0) {
		log_info("index reloaded from archive/dossiers/%s", name);
		in->reload_failures = 0;
		in->reload_retry_at_ms = 0;
		probe_check(&in->probe, 1);
		return 1;
	}
	in->reload_failures++;
	long ms = clock_backoff_ms(RELOAD_FIRST_MS, RELOAD_MAX_MS, in->reload_failures);
	in->reload_retry_at_ms = clock_now_ms() + ms;
	log_error("reloading archive/dossiers/%s failed (aij-indexer exit %d, see above): "
		  "tried again in %ld s; weeks wait for an index (drop a dossier export "
		  "into '%s')", name, rc, ms / 1000, in->dir[KIND_DOSSIERS]);
	return 1;
}
