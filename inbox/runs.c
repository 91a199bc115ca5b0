#include "runs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

json_t *runs_load(const char *path, char *errstr, size_t errstr_size)
{
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return json_array();
	json_error_t jerr;
	json_t *h = json_load_file(path, 0, &jerr);
	if (!h) {
		snprintf(errstr, errstr_size, "cannot read the run history '%s': %s (line %d)",
			 path, jerr.text, jerr.line);
		return NULL;
	}
	if (!json_is_array(h)) {
		snprintf(errstr, errstr_size, "the run history '%s' is not a JSON array", path);
		json_decref(h);
		return NULL;
	}
	return h;
}

const char *runs_str(const json_t *e, const char *key)
{
	const char *s = json_string_value(json_object_get(e, key));
	return s ? s : "";
}

long long runs_int(const json_t *e, const char *key)
{
	return (long long)json_integer_value(json_object_get(e, key));
}

json_t *runs_find_attempt(const json_t *h, const char *attempt)
{
	for (size_t i = json_array_size(h); i-- > 0;) {
		json_t *e = json_array_get(h, i);
		if (strcmp(runs_str(e, "attempt"), attempt) == 0)
			return e;
	}
	return NULL;
}

json_t *runs_published_sha(const json_t *h, const char *kind, const char *sha256)
{
	for (size_t i = json_array_size(h); i-- > 0;) {
		json_t *e = json_array_get(h, i);
		if (strcmp(runs_str(e, "kind"), kind) == 0 &&
		    strcmp(runs_str(e, "status"), "published") == 0 &&
		    strcmp(runs_str(e, "sha256"), sha256) == 0)
			return e;
	}
	return NULL;
}

json_t *runs_last_published(const json_t *h, const char *kind)
{
	for (size_t i = json_array_size(h); i-- > 0;) {
		json_t *e = json_array_get(h, i);
		if (strcmp(runs_str(e, "kind"), kind) == 0 &&
		    strcmp(runs_str(e, "status"), "published") == 0)
			return e;
	}
	return NULL;
}

unsigned runs_trailing(const json_t *h, const char *kind, const char *sha256,
		       const char *status, const char *guard)
{
	unsigned n = 0;
	for (size_t i = json_array_size(h); i-- > 0;) {
		json_t *e = json_array_get(h, i);
		if (strcmp(runs_str(e, "kind"), kind) != 0 ||
		    strcmp(runs_str(e, "sha256"), sha256) != 0)
			continue;
		if (strcmp(runs_str(e, "status"), status) != 0 ||
		    strcmp(runs_str(e, "guard"), guard) != 0)
			break;
		n++;
	}
	return n;
}

int runs_append(const char *path, json_t *entry, char *errstr, size_t errstr_size)
{
	char dir_buf[PATH_MAX], lock[PATH_MAX + 16], tmp[PATH_MAX + 32];
	snprintf(dir_buf, sizeof(dir_buf), "%s", path);
	const char *dir = dirname(dir_buf);
	snprintf(lock, sizeof(lock), "%s/.runs.lock", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());

	int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lfd < 0) {
		snprintf(errstr, errstr_size, "cannot open '%s': %s", lock, strerror(errno));
		return -1;
	}
	while (flock(lfd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			snprintf(errstr, errstr_size, "cannot lock '%s': %s", lock,
				 strerror(errno));
			close(lfd);
			return -1;
		}
	}
	int rc = -1;
	json_t *h = runs_load(path, errstr, errstr_size);
	if (h && json_array_append(h, entry) == 0) {
		if (json_dump_file(h, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0) {
			snprintf(errstr, errstr_size, "cannot write '%s'", tmp);
		} else {
			/* The bytes on disk before the name points at them. */
			int fd = open(tmp, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				fsync(fd);
				close(fd);
			}
			if (rename(tmp, path) < 0) {
				snprintf(errstr, errstr_size, "cannot rename '%s' to '%s': %s",
					 tmp, path, strerror(errno));
			} else {
				int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				if (dfd >= 0) {
					fsync(dfd);
					close(dfd);
				}
				rc = 0;
			}
		}
		if (rc < 0)
			unlink(tmp);
	} else if (h) {
		snprintf(errstr, errstr_size, "out of memory");
	}
	json_decref(h);
	flock(lfd, LOCK_UN);
	close(lfd);
	return rc;
}
