#include "history.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

void history_time(time_t t, char *buf, size_t size)
{
	struct tm tm;
	char zone[8];
	if (t == 0 || !localtime_r(&t, &tm) ||
	    strftime(zone, sizeof(zone), "%z", &tm) != 5) {
		snprintf(buf, size, "%s", "");
		return;
	}
	/* %z is "+0100"; ISO 8601 wants "+01:00". */
	char stamp[32];
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s%.3s:%.2s", stamp, zone, zone + 3);
}

json_t *history_load(const char *path, char *errstr, size_t errstr_size)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT)
			return json_array();
		snprintf(errstr, errstr_size, "cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	json_error_t jerr;
	json_t *h = json_loadf(f, 0, &jerr);
	fclose(f);
	if (!h) {
		snprintf(errstr, errstr_size, "'%s': line %d: %s", path, jerr.line, jerr.text);
		return NULL;
	}
	if (!json_is_array(h)) {
		snprintf(errstr, errstr_size, "'%s' is not a JSON array", path);
		json_decref(h);
		return NULL;
	}
	return h;
}

const char *history_str(const json_t *e, const char *key)
{
	const char *s = json_string_value(json_object_get(e, key));
	return s ? s : "";
}

uint64_t history_num(const json_t *e, const char *key)
{
	json_int_t n = json_integer_value(json_object_get(e, key));
	return n > 0 ? (uint64_t)n : 0;
}

json_t *history_last(const json_t *h, const char *kind, const char *status)
{
	for (size_t i = json_array_size(h); i-- > 0;) {
		json_t *e = json_array_get(h, i);
		if (kind && *kind && strcmp(history_str(e, "kind"), kind) != 0)
			continue;
		if (status && strcmp(history_str(e, "status"), status) != 0)
			continue;
		return e;
	}
	return NULL;
}

json_t *history_find_attempt(const json_t *h, const char *attempt)
{
	for (size_t i = json_array_size(h); i-- > 0;) {
		json_t *e = json_array_get(h, i);
		if (strcmp(history_str(e, "attempt"), attempt) == 0)
			return e;
	}
	return NULL;
}

json_t *history_published_sha(const json_t *h, const char *sha256)
{
	for (size_t i = json_array_size(h); i-- > 0;) {
		json_t *e = json_array_get(h, i);
		if (strcmp(history_str(e, "kind"), HISTORY_KIND_WEEK) == 0 &&
		    strcmp(history_str(e, "status"), HISTORY_PUBLISHED) == 0 &&
		    strcmp(history_str(e, "sha256"), sha256) == 0)
			return e;
	}
	return NULL;
}

/* Keys in a fixed order: a person reads the file. */
json_t *history_entry_json(const struct history_entry *e)
{
	char started[40], finished[40];
	history_time(e->started_at, started, sizeof(started));
	history_time(e->finished_at, finished, sizeof(finished));
#define S(x) ((x) ? (x) : "")
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, "
			 "s:I, s:I, s:b, s:s, s:s}",
			 "kind", S(e->kind), "run_id", S(e->run_id),
			 "attempt", S(e->attempt), "source", S(e->source),
			 "sha256", S(e->sha256), "status", S(e->status),
			 "guard", S(e->guard), "reason", S(e->reason),
			 "reason_fr", S(e->reason_fr ? e->reason_fr : e->reason),
			 "lines", (json_int_t)e->lines,
			 "integrated", (json_int_t)e->integrated,
			 "failed", (json_int_t)e->failed,
			 "dossiers", (json_int_t)e->dossiers,
			 "malformed", (json_int_t)e->malformed,
			 "accepted", e->accepted, "started_at", started,
			 "finished_at", finished);
#undef S
}

/* Writes h to path through a temporary file beside it, renamed over it. */
static int history_replace(const char *path, const json_t *h,
			   char *errstr, size_t errstr_size)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid());
	FILE *f = fopen(tmp, "w");
	if (!f) {
		snprintf(errstr, errstr_size, "cannot write '%s': %s", tmp, strerror(errno));
		return -1;
	}
	int bad = json_dumpf(h, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
		  fputc('\n', f) == EOF || fflush(f) != 0 || fsync(fileno(f)) != 0;
	int err = errno;
	if (fclose(f) != 0 && !bad) {
		bad = 1;
		err = errno;
	}
	if (bad || rename(tmp, path) != 0) {
		if (!bad)
			err = errno;
		snprintf(errstr, errstr_size, "cannot write '%s': %s", path, strerror(err));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int history_append(const char *path, const struct history_entry *e,
		   char *errstr, size_t errstr_size)
{
	json_t *entry = history_entry_json(e);
	if (!entry) {
		snprintf(errstr, errstr_size, "out of memory");
		return -1;
	}
	int rc = history_append_json(path, entry, errstr, errstr_size);
	json_decref(entry);
	return rc;
}

int history_append_json(const char *path, json_t *entry,
			char *errstr, size_t errstr_size)
{
	/* The lock file lives beside the history: DIR/.runs.lock. */
	char dir_buf[4096], lock[4200];
	snprintf(dir_buf, sizeof(dir_buf), "%s", path);
	snprintf(lock, sizeof(lock), "%s/.runs.lock", dirname(dir_buf));
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0) {
		snprintf(errstr, errstr_size, "cannot open '%s': %s", lock, strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			snprintf(errstr, errstr_size, "cannot lock '%s': %s", lock,
				 strerror(errno));
			close(fd);
			return -1;
		}
	}
	int rc = -1;
	json_t *h = history_load(path, errstr, errstr_size);
	if (h && json_array_append(h, entry) != 0)
		snprintf(errstr, errstr_size, "out of memory");
	else if (h)
		rc = history_replace(path, h, errstr, errstr_size);
	json_decref(h);
	close(fd); /* releases the lock */
	return rc;
}

int history_time_parse(const char *text, time_t *t)
{
	struct tm tm = { 0 };
	int n = 0;
	if (!text || sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
			    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n != 19)
		return -1;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	const char *z = text + n;
	long offset = 0;
	if (strcmp(z, "Z") != 0) {
		int oh, om, m = 0;
		if ((z[0] != '+' && z[0] != '-') ||
		    sscanf(z + 1, "%2d:%2d%n", &oh, &om, &m) != 2 || m != 5 ||
		    z[6] != '\0' || oh > 23 || om > 59)
			return -1;
		offset = (z[0] == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*t = timegm(&tm) - offset;
	return 0;
}
