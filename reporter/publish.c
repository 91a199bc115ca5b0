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
#include <unistd.h>

#include "collect.h"
#include "log.h"
#include "report.h"
#include "summary.h"

/* mkdir -p */
static int publish_mkdirs(const char *dir, char *errstr, size_t errstr_size)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
		snprintf(errstr, errstr_size, "path too long: '%s'", dir);
		return -1;
	}
	for (char *p = path + 1; ; p++) {
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

void publish_abort(const char *stage)
{
	if (stage && *stage)
		nftw(stage, publish_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Removes the staging folders that reporters which died left in dir. */
static void publish_sweep(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		if (strncmp(e->d_name, ".tmp-", 5) != 0)
			continue;
		long pid = strtol(e->d_name + 5, &end, 10);
		if (*end || pid <= 0)
			continue;
		/* A live reporter's (ours is a leftover: a past process had our pid). */
		if (pid != getpid() && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;
		char path[4200];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		log_warn("removing '%s', left by a reporter that stopped midway", path);
		publish_abort(path);
	}
	closedir(d);
}

int publish_begin(const char *dir, char *stage, size_t stage_size,
		  char *errstr, size_t errstr_size)
{
	if (publish_mkdirs(dir, errstr, errstr_size))
		return -1;
	publish_sweep(dir);
	snprintf(stage, stage_size, "%s/.tmp-%d", dir, (int)getpid());
	char reports[4200];
	snprintf(reports, sizeof(reports), "%s/reports", stage);
	if (mkdir(stage, 0777) != 0 || mkdir(reports, 0777) != 0) {
		snprintf(errstr, errstr_size, "cannot create '%s': %s", reports,
			 strerror(errno));
		publish_abort(stage);
		stage[0] = '\0';
		return -1;
	}
	return 0;
}

static int publish_rename(const char *from, const char *to,
			  char *errstr, size_t errstr_size)
{
	if (rename(from, to) != 0) {
		snprintf(errstr, errstr_size, "cannot rename '%s' to '%s': %s",
			 from, to, strerror(errno));
		return -1;
	}
	return 0;
}

/* Makes what was written under dir durable: the files (syncfs, one call
 * for all of them) or the renames in dir. */
static void publish_sync(const char *dir, int whole_fs)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		if (whole_fs)
			syncfs(fd);
		else
			fsync(fd);
		close(fd);
	}
}

int publish_commit(const char *dir, const char *stage,
		   char *errstr, size_t errstr_size)
{
	char from[4200], to[4200], old[4200];
	snprintf(from, sizeof(from), "%s/reports", stage);
	snprintf(to, sizeof(to), "%s/reports", dir);
	publish_sync(stage, 1);

	/* Swap the folders in one step: the old reports land in the stage. */
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_EXCHANGE) != 0) {
		if (errno == ENOENT) {
			if (publish_rename(from, to, errstr, errstr_size))
				return -1;
		} else if (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP) {
			/* A filesystem without the exchange: two renames, a
			 * moment without any reports rather than a mix. */
			snprintf(old, sizeof(old), "%s/old-reports", stage);
			if (publish_rename(to, old, errstr, errstr_size) ||
			    publish_rename(from, to, errstr, errstr_size))
				return -1;
		} else {
			snprintf(errstr, errstr_size, "cannot swap '%s' and '%s': %s",
				 from, to, strerror(errno));
			return -1;
		}
	}
	static const char *const files[] = { "integrated.csv", "summary.json" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(from, sizeof(from), "%s/%s", stage, files[i]);
		snprintf(to, sizeof(to), "%s/%s", dir, files[i]);
		if (publish_rename(from, to, errstr, errstr_size))
			return -1;
	}
	publish_sync(dir, 0);
	publish_abort(stage);
	return 0;
}

int publish_run(const char *dir, struct collect *c, const struct referential *ref,
		size_t *n_reports, char *errstr, size_t errstr_size)
{
	char stage[4096], path[4200];
	struct report_count *counts = NULL;
	size_t n_counts = 0;
	if (collect_finish(c, errstr, errstr_size) ||
	    publish_begin(dir, stage, sizeof(stage), errstr, errstr_size))
		return -1;
	int rc = -1;
	snprintf(path, sizeof(path), "%s/reports", stage);
	if (report_write_all(path, c, ref, &counts, &n_counts, errstr, errstr_size))
		goto out;
	snprintf(path, sizeof(path), "%s/integrated.csv", stage);
	if (report_write_integrated(path, c, errstr, errstr_size))
		goto out;
	snprintf(path, sizeof(path), "%s/summary.json", stage);
	if (summary_write(path, c, counts, n_counts, errstr, errstr_size))
		goto out;
	if (publish_commit(dir, stage, errstr, errstr_size))
		goto out;
	rc = 0;
	if (n_reports)
		*n_reports = n_counts;
out:
	if (rc)
		publish_abort(stage);
	free(counts);
	return rc;
}
