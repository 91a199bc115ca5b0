#include "publish.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attached.h"
#include "clock.h"
#include "collect.h"
#include "dispositif.h"
#include "history.h"
#include "index_attach.h"
#include "index_lookup.h"
#include "journal.h"
#include "log.h"
#include "redis.h"
#include "rejections.h"
#include "report.h"
#include "signals.h"
#include "summary.h"

#define PUBLISH_GENS     ".published"
#define PUBLISH_CURRENT  "current"
#define PUBLISH_JOURNAL  "attachments"
#define PUBLISH_ENTRY    "entry.json"
#define PUBLISH_REDIS_TIMEOUT_MS 10000

/* The names readers use, each a link into the current generation. */
static const char *const publish_names[] = {
	"reports", "attached", "integrated.csv", "summary.json", "evidence", "weeks.json",
};
#define PUBLISH_NAMES (sizeof(publish_names) / sizeof(publish_names[0]))

/* Test-only fault injection: AIJ_FAULT=publish-after-attach makes the
 * reporter die (exit 9) once the attachments are made and before the files
 * are switched, as a crash would (tests/e2e: the next start must finish the
 * publication). */
static void publish_fault(const char *point)
{
	const char *fault = getenv("AIJ_FAULT");
	if (fault && strcmp(fault, point) == 0) {
		log_error("AIJ_FAULT=%s: dying here (a test)", point);
		_exit(9);
	}
}

/* ---------------------------------------------------------------------- */
/* The files of a run                                                      */

struct publish_walk {
	FILE *integrated;
	struct attached *attached;
	FILE *journal;
	const char *journal_path;
	const char *run_id;
};

/* One integrated line: its integrated.csv row, its attached/ row, its
 * attachment. */
static int publish_integrated(const struct collect_integrated *in, void *arg,
			      char *errstr, size_t errstr_size)
{
	struct publish_walk *w = arg;
	report_integrated_row(w->integrated, in);
	if (attached_add(w->attached, in, errstr, errstr_size))
		return -1;
	if (!w->journal)
		return 0;
	/* The identity "<sigma>;<type>;<date_debut>" (~30 bytes; a field may
	 * be up to a line's 64 KiB). */
	const enum record_field parts[] = { FIELD_SIGMA, FIELD_TYPE, FIELD_DATE_DEBUT };
	size_t lens[3], need = 3;
	for (size_t i = 0; i < 3; i++)
		need += lens[i] = strlen(in->fields[parts[i]]);
	char stack[256];
	char *identity = need <= sizeof(stack) ? stack : malloc(need);
	char *stored = identity ? dispositif_encode(in->line, w->run_id, in->fields) : NULL;
	int rc = -1;
	if (!stored) {
		snprintf(errstr, errstr_size, "out of memory");
		goto out;
	}
	size_t n = 0;
	for (size_t i = 0; i < 3; i++) {
		memcpy(identity + n, in->fields[parts[i]], lens[i]);
		n += lens[i];
		identity[n++] = i < 2 ? ';' : '\0';
	}
	struct index_attachment a = { in->dossier, identity, stored };
	rc = journal_add(w->journal, w->journal_path, &a, errstr, errstr_size);
out:
	free(stored);
	if (identity != stack)
		free(identity);
	return rc;
}

/* The state of the weeks in a row that run c is counted from: that of
 * the folder previous (NULL: none). A damaged state is said loudly and
 * counting starts again, rather than holding every run from now on.
 * NULL when out of memory (errstr). */
static struct rejections *publish_rejections(const char *previous, const struct collect *c,
					     char *errstr, size_t errstr_size)
{
	char why[512];
	struct rejections *r = rejections_load(previous, c->run_id, why, sizeof(why));
	if (r || !previous) {
		if (!r)
			snprintf(errstr, errstr_size, "%s", why);
		return r;
	}
	log_warn("run %s: the weeks in a row start again from 1: %s", c->run_id, why);
	r = rejections_load(NULL, c->run_id, errstr, errstr_size);
	return r;
}

/* The date of run c, YYYY-MM-DD in Europe/Paris (log_init() set the zone):
 * its manifest's, else today. */
static void publish_day(const struct collect *c, char out[16])
{
	time_t t = c->created_at > 0 ? (time_t)c->created_at : time(NULL);
	struct tm tm;
	if (!localtime_r(&t, &tm) || strftime(out, 16, "%Y-%m-%d", &tm) == 0)
		snprintf(out, 16, "%s", "");
}

int publish_files(const char *dir, const struct collect *c,
		  const struct referential *ref, const char *previous, const char *journal,
		  size_t *n_reports, char *errstr, size_t errstr_size)
{
	char path[4200], reports[4200], attached[4200], evidence[4200];
	snprintf(reports, sizeof(reports), "%s/reports", dir);
	snprintf(attached, sizeof(attached), "%s/attached", dir);
	snprintf(evidence, sizeof(evidence), "%s/evidence", dir);
	if (mkdir(reports, 0777) != 0 || mkdir(attached, 0777) != 0 ||
	    mkdir(evidence, 0777) != 0) {
		snprintf(errstr, errstr_size, "cannot create '%s': %s", reports,
			 strerror(errno));
		return -1;
	}
	struct report_count *counts = NULL;
	size_t n_counts = 0;
	struct publish_walk w = { .run_id = c->run_id, .journal_path = journal };
	int rc = -1;
	char today[16];
	publish_day(c, today);
	struct rejections *rej = publish_rejections(previous, c, errstr, errstr_size);
	struct rejections_line *weeks = calloc(c->n_failed ? c->n_failed : 1, sizeof(*weeks));
	if (!rej || !weeks) {
		if (rej)
			snprintf(errstr, errstr_size, "out of memory");
		goto out;
	}
	if (rejections_count(rej, c, today, weeks, errstr, errstr_size) ||
	    report_write_all(reports, evidence, c, ref, weeks, &counts, &n_counts, errstr,
			     errstr_size))
		goto out;
	snprintf(path, sizeof(path), "%s/integrated.csv", dir);
	if (!(w.integrated = fopen(path, "wb"))) {
		snprintf(errstr, errstr_size, "cannot create '%s': %s", path, strerror(errno));
		goto out;
	}
	fputs(REPORT_INTEGRATED_HEADER "\n", w.integrated);
	if (!(w.attached = attached_open(attached, errstr, errstr_size)) ||
	    (journal && !(w.journal = journal_create(journal, errstr, errstr_size))) ||
	    collect_integrated_walk(c, publish_integrated, &w, errstr, errstr_size))
		goto out;
	FILE *f = w.integrated;
	w.integrated = NULL;
	if (report_close(f, path, errstr, errstr_size))
		goto out;
	struct attached *a = w.attached;
	w.attached = NULL;
	if (attached_close(a, errstr, errstr_size))
		goto out;
	if (journal) {
		f = w.journal;
		w.journal = NULL;
		if (journal_close(f, journal, errstr, errstr_size))
			goto out;
	}
	snprintf(path, sizeof(path), "%s/summary.json", dir);
	if (summary_write(path, c, counts, n_counts, errstr, errstr_size))
		goto out;
	snprintf(path, sizeof(path), "%s/weeks.json", dir);
	if (summary_weeks_write(path, c, weeks, errstr, errstr_size) ||
	    rejections_write(rej, dir, errstr, errstr_size))
		goto out;
	if (n_reports)
		*n_reports = n_counts;
	rc = 0;
out:
	rejections_free(rej);
	free(weeks);
	if (w.integrated)
		fclose(w.integrated);
	if (w.journal)
		fclose(w.journal);
	char ignored[16];
	attached_close(w.attached, ignored, sizeof(ignored));
	free(counts);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Folders                                                                 */

int publish_mkdirs(const char *dir, char *errstr, size_t errstr_size)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
		snprintf(errstr, errstr_size, "path too long: '%s'", dir);
		return -1;
	}
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(path, 0777) != 0 && errno != EEXIST) {
			snprintf(errstr, errstr_size, "cannot create '%s': %s", path,
				 strerror(errno));
			return -1;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(errstr, errstr_size, "'%s' is not a folder", dir);
		return -1;
	}
	return 0;
}

static int publish_rm_one(const char *path, const struct stat *st, int type,
			  struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

/* Removes path and everything under it. */
static void publish_rmtree(const char *path)
{
	nftw(path, publish_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Makes a rename or a new link in dir durable. */
static void publish_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Makes every file written under dir durable (one call for all). */
static void publish_sync_fs(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		syncfs(fd);
		close(fd);
	}
}

/* The generation number of a name of .published/: n for "<n>", -1 for
 * anything else ("<n>.tmp-<pid>" included). */
static long publish_gen_of(const char *name)
{
	char *end;
	if (name[0] < '0' || name[0] > '9')
		return -1;
	long n = strtol(name, &end, 10);
	return *end == '\0' && n > 0 ? n : -1;
}

/* The generation DIR/current points to, 0 when there is none. */
static long publish_current(const char *out)
{
	char link[4200], target[512];
	snprintf(link, sizeof(link), "%s/" PUBLISH_CURRENT, out);
	ssize_t len = readlink(link, target, sizeof(target) - 1);
	if (len <= 0)
		return 0;
	target[len] = '\0';
	const char *slash = strrchr(target, '/');
	long n = publish_gen_of(slash ? slash + 1 : target);
	return n > 0 ? n : 0;
}

/* Removes the half-written generations of reporters that died (and the
 * staging folders of the previous layout, DIR/.tmp-<pid>); the highest
 * committed generation goes to *highest. */
static void publish_sweep(const char *out, long *highest)
{
	const char *const places[] = { PUBLISH_GENS, "." };
	*highest = 0;
	for (size_t k = 0; k < 2; k++) {
		char dir[4200];
		snprintf(dir, sizeof(dir), "%s/%s", out, places[k]);
		DIR *d = opendir(dir);
		if (!d)
			continue;
		struct dirent *e;
		while ((e = readdir(d))) {
			long n = k == 0 ? publish_gen_of(e->d_name) : -1;
			if (n > *highest)
				*highest = n;
			const char *tmp = strstr(e->d_name, ".tmp-");
			if (!tmp || (k == 1 && tmp != e->d_name))
				continue;
			char *end;
			long pid = strtol(tmp + 5, &end, 10);
			if (*end || pid <= 0)
				continue;
			/* A live reporter's (ours is a leftover: a past
			 * process had our pid). */
			if (pid != getpid() && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
				continue;
			char path[4500];
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			log_warn("removing '%s', left by a reporter that stopped midway", path);
			publish_rmtree(path);
		}
		closedir(d);
	}
}

/* The previous layout had the files themselves in DIR: they become
 * generation 1, so that they stay published until the next run. */
static int publish_migrate(const char *out, long *highest, char *errstr,
			   size_t errstr_size)
{
	char path[4200], gen[4200], to[4400];
	struct stat st;
	snprintf(path, sizeof(path), "%s/reports", out);
	if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return 0;
	long n = *highest + 1;
	snprintf(gen, sizeof(gen), "%s/" PUBLISH_GENS "/%ld", out, n);
	if (mkdir(gen, 0777) != 0) {
		snprintf(errstr, errstr_size, "cannot create '%s': %s", gen, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < PUBLISH_NAMES; i++) {
		snprintf(path, sizeof(path), "%s/%s", out, publish_names[i]);
		snprintf(to, sizeof(to), "%s/%s", gen, publish_names[i]);
		if (lstat(path, &st) == 0 && !S_ISLNK(st.st_mode) && rename(path, to) != 0) {
			snprintf(errstr, errstr_size, "cannot move '%s' to '%s': %s", path, to,
				 strerror(errno));
			return -1;
		}
	}
	log_info("'%s': the previous run's files moved into %s/%ld (published "
		 "files now live in generations)", out, PUBLISH_GENS, n);
	*highest = n;
	return 0;
}

/* Points DIR/current at generation n (one rename), then makes sure the
 * names readers use are links through it. */
static int publish_switch(const char *out, long n, char *errstr, size_t errstr_size)
{
	char link[4200], tmp[4200], target[64];
	snprintf(target, sizeof(target), PUBLISH_GENS "/%ld", n);
	snprintf(link, sizeof(link), "%s/" PUBLISH_CURRENT, out);
	snprintf(tmp, sizeof(tmp), "%s/." PUBLISH_CURRENT ".tmp-%d", out, (int)getpid());
	unlink(tmp);
	if (symlink(target, tmp) != 0 || rename(tmp, link) != 0) {
		snprintf(errstr, errstr_size, "cannot point '%s' at '%s': %s", link, target,
			 strerror(errno));
		unlink(tmp);
		return -1;
	}
	for (size_t i = 0; i < PUBLISH_NAMES; i++) {
		char path[4200], to[256];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", out, publish_names[i]);
		snprintf(to, sizeof(to), PUBLISH_CURRENT "/%s", publish_names[i]);
		if (lstat(path, &st) == 0)
			continue;
		if (symlink(to, path) != 0) {
			snprintf(errstr, errstr_size, "cannot create the link '%s': %s", path,
				 strerror(errno));
			return -1;
		}
	}
	publish_sync_dir(out);
	return 0;
}

/* Removes every generation but keep (and the half-written ones of live
 * reporters). */
static void publish_prune(const char *out, long keep)
{
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/" PUBLISH_GENS, out);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		long n = publish_gen_of(e->d_name);
		if (n <= 0 || n == keep)
			continue;
		char path[4500];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		publish_rmtree(path);
	}
	closedir(d);
}

/* ---------------------------------------------------------------------- */
/* Attachments and the history                                             */

struct publish_attach {
	const char *redis;
	redisContext *rc;
	int retry_s;
	struct index_attach_stats stats;
};

/* One chunk of the journal into Redis, reconnecting and retrying (backoff
 * 1 s doubling to 30 s) for up to retry_s seconds while Redis fails. */
static int publish_attach_chunk(const struct index_attachment *a, size_t n,
				void *arg, char *errstr, size_t errstr_size)
{
	struct publish_attach *pa = arg;
	long deadline = clock_now_ms() + (long)pa->retry_s * 1000;
	long delay = 1000;
	for (int attempt = 1;; attempt++) {
		if (!pa->rc)
			pa->rc = redis_connect(pa->redis, PUBLISH_REDIS_TIMEOUT_MS,
					       errstr, errstr_size);
		if (pa->rc && index_attach(pa->rc, a, n, &pa->stats, errstr, errstr_size) == 0)
			return 0;
		if (pa->rc && pa->rc->err) {
			redisFree(pa->rc);
			pa->rc = NULL;
		}
		if (signals_stop || clock_now_ms() + delay > deadline)
			return -1;
		log_warn("attaching the dispositifs: %s; retry %d in %ld s", errstr,
			 attempt, delay / 1000);
		for (long slept = 0; slept < delay && !signals_stop; slept += 100)
			clock_sleep_ms(100);
		delay = delay * 2 > 30000 ? 30000 : delay * 2;
	}
}

/* Makes the attachments of generation gen; logs what they did. */
static int publish_attach(const char *gen, const char *redis, int retry_s,
			  char *errstr, size_t errstr_size)
{
	char journal[4300];
	snprintf(journal, sizeof(journal), "%s/" PUBLISH_JOURNAL, gen);
	if (access(journal, F_OK) != 0)
		return 0; /* done already (the journal goes once switched) */
	struct publish_attach pa = { .redis = redis, .retry_s = retry_s };
	double t0 = clock_now_s();
	long long n = journal_replay(journal, publish_attach_chunk, &pa, errstr,
				     errstr_size);
	if (pa.rc)
		redisFree(pa.rc);
	if (n < 0)
		return -1;
	log_info("%lld dispositifs attached to their dossiers in redis (%llu moved "
		 "from another dossier) in %.2f s", n, (unsigned long long)pa.stats.moved,
		 clock_now_s() - t0);
	publish_fault("publish-after-attach");
	return 0;
}

/* Appends gen's history entry unless the history has it already. */
static int publish_history(const char *out, const char *gen, char *errstr,
			   size_t errstr_size)
{
	char path[4300], history[4200];
	snprintf(path, sizeof(path), "%s/" PUBLISH_ENTRY, gen);
	snprintf(history, sizeof(history), "%s/" HISTORY_FILE, out);
	if (access(path, F_OK) != 0)
		return 0; /* a generation of the previous layout: no entry */
	json_error_t jerr;
	json_t *entry = json_load_file(path, 0, &jerr);
	if (!entry) {
		snprintf(errstr, errstr_size, "'%s': %s", path, jerr.text);
		return -1;
	}
	json_t *h = history_load(history, errstr, errstr_size);
	int rc = h ? 0 : -1;
	const json_t *had = h ? history_find_attempt(h, history_str(entry, "attempt")) : NULL;
	if (h && !(had && strcmp(history_str(had, "status"), HISTORY_PUBLISHED) == 0)) {
		char now[40];
		history_time(time(NULL), now, sizeof(now));
		json_object_set_new(entry, "finished_at", json_string(now));
		rc = history_append_json(history, entry, errstr, errstr_size);
	}
	json_decref(h);
	json_decref(entry);
	return rc;
}

/* The steps after the commit point, each done only if not done yet. */
static int publish_finish(const char *out, long n, const char *redis, int retry_s,
			  char *errstr, size_t errstr_size)
{
	char gen[4200], journal[4300];
	snprintf(gen, sizeof(gen), "%s/" PUBLISH_GENS "/%ld", out, n);
	if (publish_attach(gen, redis, retry_s, errstr, errstr_size))
		return -1;
	if (publish_current(out) != n && publish_switch(out, n, errstr, errstr_size))
		return -1;
	if (publish_history(out, gen, errstr, errstr_size))
		return -1;
	snprintf(journal, sizeof(journal), "%s/" PUBLISH_JOURNAL, gen);
	unlink(journal);
	publish_prune(out, n);
	return 0;
}

int publish_recover(const char *out, const char *redis, int retry_s,
		    char *errstr, size_t errstr_size)
{
	char gens[4200];
	snprintf(gens, sizeof(gens), "%s/" PUBLISH_GENS, out);
	if (access(gens, F_OK) != 0)
		return 0;
	long highest = 0;
	publish_sweep(out, &highest);
	long current = publish_current(out);
	if (highest == 0)
		return 0;
	if (highest != current)
		log_warn("'%s': generation %ld was committed but not published by a "
			 "reporter that stopped midway: finishing its publication", out,
			 highest);
	if (publish_finish(out, highest, redis, retry_s, errstr, errstr_size))
		return -1;
	if (highest != current)
		log_info("'%s': generation %ld published", out, highest);
	return 0;
}

int publish_run(const char *out, struct collect *c, const struct referential *ref,
		const char *redis, int retry_s, json_t *entry, size_t *n_reports,
		char *errstr, size_t errstr_size)
{
	char gens[4200], stage[4300], gen[4300], journal[4400], path[4400];
	long highest = 0;
	snprintf(gens, sizeof(gens), "%s/" PUBLISH_GENS, out);
	if (collect_finish(c, errstr, errstr_size) ||
	    publish_mkdirs(gens, errstr, errstr_size) ||
	    publish_recover(out, redis, retry_s, errstr, errstr_size))
		return -1;
	publish_sweep(out, &highest);
	if (publish_migrate(out, &highest, errstr, errstr_size))
		return -1;
	long n = highest + 1;
	snprintf(stage, sizeof(stage), "%s/%ld.tmp-%d", gens, n, (int)getpid());
	snprintf(gen, sizeof(gen), "%s/%ld", gens, n);
	snprintf(journal, sizeof(journal), "%s/" PUBLISH_JOURNAL, stage);
	if (mkdir(stage, 0777) != 0) {
		snprintf(errstr, errstr_size, "cannot create '%s': %s", stage, strerror(errno));
		return -1;
	}

	/* The index the run was matched against, for the history. */
	redisContext *rc = redis_connect(redis, PUBLISH_REDIS_TIMEOUT_MS, errstr, errstr_size);
	uint64_t dossiers = 0;
	if (rc && index_lookup_current(rc, NULL, 0, &dossiers, errstr, errstr_size) >= 0)
		json_object_set_new(entry, "dossiers", json_integer((json_int_t)dossiers));
	if (rc)
		redisFree(rc);
	errstr[0] = '\0'; /* the size is for the history only: no index, fine */

	/* The run published before: the weeks in a row go on from its state. */
	char previous[4300];
	long current = publish_current(out);
	snprintf(previous, sizeof(previous), "%s/%ld", gens, current);

	snprintf(path, sizeof(path), "%s/" PUBLISH_ENTRY, stage);
	if (publish_files(stage, c, ref, current > 0 ? previous : NULL, journal, n_reports,
			  errstr, errstr_size) ||
	    json_dump_file(entry, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
		if (!errstr[0])
			snprintf(errstr, errstr_size, "cannot write '%s'", path);
		publish_rmtree(stage);
		return -1;
	}
	/* The commit point: once renamed, the generation is published, by
	 * this process or by the next start. */
	publish_sync_fs(stage);
	if (rename(stage, gen) != 0) {
		snprintf(errstr, errstr_size, "cannot rename '%s' to '%s': %s", stage, gen,
			 strerror(errno));
		publish_rmtree(stage);
		return -1;
	}
	publish_sync_dir(gens);
	if (publish_finish(out, n, redis, retry_s, errstr, errstr_size)) {
		size_t len = strlen(errstr);
		snprintf(errstr + len, errstr_size - len, " (run %s is committed as "
			 "'%s': the reporter's next start finishes its publication)",
			 c->run_id, gen);
		return PUBLISH_PENDING;
	}
	return 0;
}
