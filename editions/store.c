#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_READ_MAX (64L * 1024 * 1024) /* far above any real report */

/* The reports folder of dir into path; 0, or -1 (errno) when too long. */
static int store_reports_path(const char *dir, char *path, size_t size)
{
	if (snprintf(path, size, "%s/" STORE_REPORTS_DIR, dir) >= (int)size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static size_t store_lines(const char *data, size_t len)
{
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += data[i] == '\n';
	return lines;
}

/* Reads the regular file name of dirfd whole. Returns 0, 1 when absent,
 * -1 (errno) on an error. */
static int store_read_at(int dirfd, const char *name, char **data, size_t *len,
			    struct stat *st)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return (errno == ENOENT || errno == ELOOP) ? 1 : -1;
	if (fstat(fd, st) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return 1;
	}
	if (st->st_size > STORE_READ_MAX) {
		close(fd);
		errno = EFBIG;
		return -1;
	}
	size_t size = (size_t)st->st_size;
	char *buf = malloc(size + 1);
	if (!buf) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	size_t got = 0;
	while (got < size) {
		ssize_t r = read(fd, buf + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			close(fd);
			errno = e;
			return -1;
		}
		if (r == 0)
			break; /* shrunk meanwhile: keep what is there */
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	*data = buf;
	*len = got;
	return 0;
}

static int store_entry_cmp(const void *a, const void *b)
{
	const struct store_entry *x = a, *y = b;
	int xn = strcmp(x->ml_code, REPORT_NATIONAL) == 0;
	int yn = strcmp(y->ml_code, REPORT_NATIONAL) == 0;
	if (xn != yn)
		return yn - xn;
	return strcmp(x->ml_code, y->ml_code);
}

int store_file_list(const char *folder, struct store_entry **entries, size_t *n,
		    char *errstr, size_t errstr_size)
{
	*entries = NULL;
	*n = 0;
	int dirfd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(errstr, errstr_size, "cannot open '%s': %s", folder, strerror(errno));
		return -1;
	}
	DIR *d = fdopendir(dirfd);
	if (!d) {
		snprintf(errstr, errstr_size, "cannot list '%s': %s", folder, strerror(errno));
		close(dirfd);
		return -1;
	}
	struct store_entry *list = NULL;
	size_t count = 0, cap = 0;
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t nlen = strlen(de->d_name);
		if (nlen <= 4 || strcmp(de->d_name + nlen - 4, ".csv") != 0 ||
		    nlen - 4 > REPORT_NAME_MAX)
			continue;
		char code[REPORT_NAME_MAX + 1];
		memcpy(code, de->d_name, nlen - 4);
		code[nlen - 4] = '\0';
		if (!report_name_valid(code))
			continue;
		char *data = NULL;
		size_t len = 0;
		struct stat st;
		int r = store_read_at(dirfd, de->d_name, &data, &len, &st);
		if (r == 1)
			continue; /* deleted meanwhile, or not a plain file */
		if (r < 0) {
			snprintf(errstr, errstr_size, "cannot read '%s/%s': %s",
				 folder, de->d_name, strerror(errno));
			rc = -1;
			break;
		}
		if (count == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			struct store_entry *grown = realloc(list, ncap * sizeof(*grown));
			if (!grown) {
				free(data);
				snprintf(errstr, errstr_size, "out of memory");
				rc = -1;
				break;
			}
			list = grown;
			cap = ncap;
		}
		struct store_entry *e = &list[count++];
		memset(e, 0, sizeof(*e));
		snprintf(e->ml_code, sizeof(e->ml_code), "%s", code);
		e->size = (long long)len;
		e->mtime = st.st_mtime;
		e->lines = store_lines(data, len);
		free(data);
	}
	closedir(d);
	if (rc < 0) {
		free(list);
		return -1;
	}
	if (count > 1)
		qsort(list, count, sizeof(*list), store_entry_cmp);
	*entries = list;
	*n = count;
	return 0;
}

/* The start of every function on one file: checks name, opens folder
 * into *dirfd (the caller closes it) and names the file "<name>.csv" into
 * file. Returns 0, 1 when there is no such file to look for (a name that is
 * not one, no folder), -1 with errstr. */
static int store_file_dir(const char *folder, const char *name, char *file,
			  size_t file_size, int *dirfd, char *errstr,
			  size_t errstr_size)
{
	if (!report_name_valid(name))
		return 1;
	*dirfd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0) {
		if (errno == ENOENT)
			return 1;
		snprintf(errstr, errstr_size, "cannot open '%s': %s", folder, strerror(errno));
		return -1;
	}
	snprintf(file, file_size, "%s.csv", name);
	return 0;
}

/* As store_file_dir() on dir/reports, and 1 (the folder closed) unless the
 * report is there as a regular file: a symbolic link or a folder named like
 * a report is never replaced or deleted through it. */
static int store_report_find(const char *dir, const char *code, char *name,
			     size_t name_size, int *dirfd, char *errstr,
			     size_t errstr_size)
{
	char folder[4096];
	if (store_reports_path(dir, folder, sizeof(folder)) < 0) {
		snprintf(errstr, errstr_size, "folder name '%s' too long", dir);
		return -1;
	}
	int found = store_file_dir(folder, code, name, name_size, dirfd, errstr,
				   errstr_size);
	if (found != 0)
		return found;
	struct stat st;
	if (fstatat(*dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
		close(*dirfd);
		return 1;
	}
	return 0;
}

int store_file_read(const char *folder, const char *name, char **data, size_t *len,
		    struct store_entry *info, char *errstr, size_t errstr_size)
{
	char file[REPORT_NAME_MAX + 8];
	int dirfd;
	int found = store_file_dir(folder, name, file, sizeof(file), &dirfd, errstr,
				   errstr_size);
	if (found != 0)
		return found;
	struct stat st;
	int r = store_read_at(dirfd, file, data, len, &st);
	int e = errno;
	close(dirfd);
	if (r < 0) {
		snprintf(errstr, errstr_size, "cannot read '%s/%s': %s", folder, file,
			 strerror(e));
		return -1;
	}
	if (r == 0 && info) {
		memset(info, 0, sizeof(*info));
		snprintf(info->ml_code, sizeof(info->ml_code), "%s", name);
		info->size = (long long)*len;
		info->mtime = st.st_mtime;
		info->lines = store_lines(*data, *len);
	}
	return r;
}

int store_list(const char *dir, struct store_entry **entries, size_t *n,
	       char *errstr, size_t errstr_size)
{
	char folder[4096];
	if (store_reports_path(dir, folder, sizeof(folder)) < 0) {
		snprintf(errstr, errstr_size, "folder name '%s' too long", dir);
		return -1;
	}
	if (store_file_list(folder, entries, n, errstr, errstr_size) < 0)
		return -1;
	for (size_t i = 0; i < *n; i++)
		(*entries)[i].rows = (*entries)[i].lines > 0 ? (*entries)[i].lines - 1 : 0;
	return 0;
}

int store_read(const char *dir, const char *code, char **data, size_t *len,
	       struct store_entry *info, char *errstr, size_t errstr_size)
{
	char folder[4096];
	if (store_reports_path(dir, folder, sizeof(folder)) < 0) {
		snprintf(errstr, errstr_size, "folder name '%s' too long", dir);
		return -1;
	}
	int r = store_file_read(folder, code, data, len, info, errstr, errstr_size);
	if (r == 0 && info)
		info->rows = info->lines > 0 ? info->lines - 1 : 0;
	return r;
}

static int store_write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, data, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

int store_replace(const char *dir, const char *code, const char *data, size_t len,
		  char *errstr, size_t errstr_size)
{
	char name[REPORT_NAME_MAX + 8];
	char tmp[REPORT_NAME_MAX + 64];
	int dirfd;
	int found = store_report_find(dir, code, name, sizeof(name), &dirfd, errstr,
				      errstr_size);
	if (found != 0)
		return found;
	/* The temporary name starts with '.': never listed, never a report. */
	snprintf(tmp, sizeof(tmp), ".%s.csv.upload-%ld", code, (long)getpid());
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
			0644);
	if (fd < 0) {
		snprintf(errstr, errstr_size, "cannot create '%s/reports/%s': %s", dir,
			 tmp, strerror(errno));
		close(dirfd);
		return -1;
	}
	if (store_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		snprintf(errstr, errstr_size, "cannot write '%s/reports/%s': %s", dir,
			 tmp, strerror(errno));
		close(fd);
		unlinkat(dirfd, tmp, 0);
		close(dirfd);
		return -1;
	}
	if (close(fd) < 0 || renameat(dirfd, tmp, dirfd, name) < 0) {
		snprintf(errstr, errstr_size, "cannot replace '%s/reports/%s': %s", dir,
			 name, strerror(errno));
		unlinkat(dirfd, tmp, 0);
		close(dirfd);
		return -1;
	}
	fsync(dirfd); /* the rename itself survives a crash */
	close(dirfd);
	return 0;
}

int store_delete(const char *dir, const char *code, char *errstr, size_t errstr_size)
{
	char name[REPORT_NAME_MAX + 8];
	int dirfd;
	int found = store_report_find(dir, code, name, sizeof(name), &dirfd, errstr,
				      errstr_size);
	if (found != 0)
		return found;
	if (unlinkat(dirfd, name, 0) < 0) {
		int e = errno;
		close(dirfd);
		if (e == ENOENT)
			return 1;
		snprintf(errstr, errstr_size, "cannot delete '%s/reports/%s': %s", dir,
			 name, strerror(e));
		return -1;
	}
	fsync(dirfd);
	close(dirfd);
	return 0;
}
