#include "scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static int ends_with(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);
	return n > s && strcasecmp(name + n - s, suffix) == 0;
}

enum scan_name scan_classify(const char *name)
{
	if (name[0] == '.' || name[0] == '\0')
		return SCAN_IGNORED;
	static const char *const partial[] = { ".part", ".tmp", ".filepart" };
	for (size_t i = 0; i < sizeof(partial) / sizeof(partial[0]); i++)
		if (ends_with(name, partial[i]))
			return SCAN_IGNORED;
	if (ends_with(name, ".done"))
		return SCAN_DONE;
	if (ends_with(name, ".accept"))
		return SCAN_ACCEPT;
	if (ends_with(name, ".reason"))
		return SCAN_REASON;
	return SCAN_DATA;
}

int scan_complete(const struct scan_file *f, long now_ms, long settle_ms)
{
	return f->marker != SCAN_DATA || now_ms - f->stable_since_ms >= settle_ms;
}

int scan_dir_init(struct scan_dir *d, const char *path)
{
	memset(d, 0, sizeof(*d));
	d->path = strdup(path);
	return d->path ? 0 : -1;
}

void scan_dir_release(struct scan_dir *d)
{
	free(d->path);
	free(d->files);
	memset(d, 0, sizeof(*d));
}

struct scan_file *scan_dir_find(struct scan_dir *d, const char *name)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->files[i].name, name) == 0)
			return &d->files[i];
	return NULL;
}

/* The ctime of dir/<name><suffix> when it is a regular file, else 0. */
static time_t scan_marker_ctime(int dfd, const char *name, const char *suffix)
{
	char marker[NAME_MAX + 16];
	struct stat st;
	if ((size_t)snprintf(marker, sizeof(marker), "%s%s", name, suffix) >= sizeof(marker))
		return 0;
	if (fstatat(dfd, marker, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return 0;
	return st.st_ctim.tv_sec > 0 ? st.st_ctim.tv_sec : 1;
}

static int scan_file_cmp(const void *a, const void *b)
{
	const struct scan_file *x = a, *y = b;
	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Updates (or adds) the entry of the regular file name. */
static int scan_dir_see(struct scan_dir *d, int dfd, const char *name,
			const struct stat *st, long now_ms)
{
	struct scan_file *f = scan_dir_find(d, name);
	if (!f) {
		if (d->n == d->cap) {
			size_t cap = d->cap ? d->cap * 2 : 16;
			struct scan_file *files = realloc(d->files, cap * sizeof(*files));
			if (!files)
				return -1;
			d->files = files;
			d->cap = cap;
		}
		f = &d->files[d->n++];
		memset(f, 0, sizeof(*f));
		snprintf(f->name, sizeof(f->name), "%s", name);
		f->stable_since_ms = now_ms;
	} else if (f->dev != st->st_dev || f->ino != st->st_ino ||
		   f->size != st->st_size || f->mtime.tv_sec != st->st_mtim.tv_sec ||
		   f->mtime.tv_nsec != st->st_mtim.tv_nsec) {
		f->stable_since_ms = now_ms;
	}
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->size = st->st_size;
	f->mtime = st->st_mtim;
	f->present = 1;

	time_t accept = scan_marker_ctime(dfd, name, ".accept");
	time_t done = accept ? 0 : scan_marker_ctime(dfd, name, ".done");
	f->marker = accept ? SCAN_ACCEPT : done ? SCAN_DONE : SCAN_DATA;
	f->arrival = st->st_mtim.tv_sec > st->st_ctim.tv_sec ? st->st_mtim.tv_sec
							     : st->st_ctim.tv_sec;
	if (accept > f->arrival)
		f->arrival = accept;
	if (done > f->arrival)
		f->arrival = done;
	return 0;
}

int scan_dir_update(struct scan_dir *d, long now_ms, char *errstr, size_t errstr_size)
{
	DIR *dir = opendir(d->path);
	if (!dir) {
		snprintf(errstr, errstr_size, "cannot read the folder '%s': %s", d->path,
			 strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < d->n; i++)
		d->files[i].present = 0;
	int dfd = dirfd(dir);
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(dir)) != NULL) {
		if (scan_classify(de->d_name) != SCAN_DATA)
			continue;
		struct stat st;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue; /* gone meanwhile, a folder, a link... */
		if (scan_dir_see(d, dfd, de->d_name, &st, now_ms) < 0) {
			snprintf(errstr, errstr_size, "out of memory");
			rc = -1;
			break;
		}
	}
	closedir(dir);
	/* Drop the files gone. */
	size_t kept = 0;
	for (size_t i = 0; i < d->n; i++)
		if (d->files[i].present)
			d->files[kept++] = d->files[i];
	d->n = kept;
	if (d->n > 1)
		qsort(d->files, d->n, sizeof(d->files[0]), scan_file_cmp);
	return rc;
}
