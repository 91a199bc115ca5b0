#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EDITIONS_READ_MAX (64L * 1024 * 1024) /* far above any real report */

int editions_code_valid(const char *code)
{
	size_t n = 0;
	for (const char *p = code; *p; p++, n++) {
		char c = *p;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return n >= 1 && n <= EDITIONS_CODE_MAX;
}

/* Opens dir/reports; returns the fd, or -1 with errno set. */
static int editions_reports_open(const char *dir)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/reports", dir) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

size_t editions_report_rows(const char *data, size_t len)
{
	size_t lines = 0;
	for (size_t i = 0; i + 1 < len; i++) {
		if (data[i] == '\r' && data[i + 1] == '\n')
			lines++;
	}
	return lines > 0 ? lines - 1 : 0;
}

/* Reads the regular file name of dirfd whole. Returns 0, 1 when absent,
 * -1 (errno) on an error. */
static int editions_read_at(int dirfd, const char *name, char **data, size_t *len,
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
	if (st->st_size > EDITIONS_READ_MAX) {
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

static int editions_entry_cmp(const void *a, const void *b)
{
	const struct editions_entry *x = a, *y = b;
	int xn = strcmp(x->ml_code, EDITIONS_NATIONAL_REPORT) == 0;
	int yn = strcmp(y->ml_code, EDITIONS_NATIONAL_REPORT) == 0;
	if (xn != yn)
		return yn - xn;
	return strcmp(x->ml_code, y->ml_code);
}

int editions_store_list(const char *dir, struct editions_entry **entries,
			size_t *n, char *errstr, size_t errstr_size)
{
	*entries = NULL;
	*n = 0;
	int dirfd = editions_reports_open(dir);
	if (dirfd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(errstr, errstr_size, "cannot open '%s/reports': %s", dir,
			 strerror(errno));
		return -1;
	}
	DIR *d = fdopendir(dirfd);
	if (!d) {
		snprintf(errstr, errstr_size, "cannot list '%s/reports': %s", dir,
			 strerror(errno));
		close(dirfd);
		return -1;
	}
	struct editions_entry *list = NULL;
	size_t count = 0, cap = 0;
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t nlen = strlen(de->d_name);
		if (nlen <= 4 || strcmp(de->d_name + nlen - 4, ".csv") != 0 ||
		    nlen - 4 > EDITIONS_CODE_MAX)
			continue;
		char code[EDITIONS_CODE_MAX + 1];
		memcpy(code, de->d_name, nlen - 4);
		code[nlen - 4] = '\0';
		if (!editions_code_valid(code))
			continue;
		char *data = NULL;
		size_t len = 0;
		struct stat st;
		int r = editions_read_at(dirfd, de->d_name, &data, &len, &st);
		if (r == 1)
			continue; /* deleted meanwhile, or not a plain file */
		if (r < 0) {
			snprintf(errstr, errstr_size, "cannot read '%s/reports/%s': %s",
				 dir, de->d_name, strerror(errno));
			rc = -1;
			break;
		}
		if (count == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			struct editions_entry *grown = realloc(list, ncap * sizeof(*grown));
			if (!grown) {
				free(data);
				snprintf(errstr, errstr_size, "out of memory");
				rc = -1;
				break;
			}
			list = grown;
			cap = ncap;
		}
		struct editions_entry *e = &list[count++];
		snprintf(e->ml_code, sizeof(e->ml_code), "%s", code);
		e->size = (long long)len;
		e->mtime = st.st_mtime;
		e->rows = editions_report_rows(data, len);
		free(data);
	}
	closedir(d);
	if (rc < 0) {
		free(list);
		return -1;
	}
	if (count > 1)
		qsort(list, count, sizeof(*list), editions_entry_cmp);
	*entries = list;
	*n = count;
	return 0;
}

/* The start of every function on one report: checks code, opens
 * dir/reports into *dirfd (the caller closes it) and names the report
 * "<code>.csv" into name. Returns 0, 1 when there is no such report to look
 * for (a code that is not one, no reports folder), -1 with errstr. */
static int editions_report_dir(const char *dir, const char *code, char *name,
			       size_t name_size, int *dirfd, char *errstr,
			       size_t errstr_size)
{
	if (!editions_code_valid(code))
		return 1;
	*dirfd = editions_reports_open(dir);
	if (*dirfd < 0) {
		if (errno == ENOENT)
			return 1;
		snprintf(errstr, errstr_size, "cannot open '%s/reports': %s", dir,
			 strerror(errno));
		return -1;
	}
	snprintf(name, name_size, "%s.csv", code);
	return 0;
}

/* As editions_report_dir(), and 1 (the folder closed) unless the report is
 * there as a regular file: a symbolic link or a folder named like a report
 * is never replaced or deleted through it. */
static int editions_report_find(const char *dir, const char *code, char *name,
				size_t name_size, int *dirfd, char *errstr,
				size_t errstr_size)
{
	int found = editions_report_dir(dir, code, name, name_size, dirfd, errstr,
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

int editions_store_read(const char *dir, const char *code, char **data,
			size_t *len, struct editions_entry *info,
			char *errstr, size_t errstr_size)
{
	char name[EDITIONS_CODE_MAX + 8];
	int dirfd;
	int found = editions_report_dir(dir, code, name, sizeof(name), &dirfd, errstr,
					errstr_size);
	if (found != 0)
		return found;
	struct stat st;
	int r = editions_read_at(dirfd, name, data, len, &st);
	int e = errno;
	close(dirfd);
	if (r < 0) {
		snprintf(errstr, errstr_size, "cannot read '%s/reports/%s': %s", dir,
			 name, strerror(e));
		return -1;
	}
	if (r == 0 && info) {
		snprintf(info->ml_code, sizeof(info->ml_code), "%s", code);
		info->size = (long long)*len;
		info->mtime = st.st_mtime;
		info->rows = editions_report_rows(*data, *len);
	}
	return r;
}

/* Length of the valid UTF-8 sequence at s (1 to 4), or 0 when s does not
 * start one (overlong forms, surrogates and code points past U+10FFFF too). */
static size_t editions_utf8_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t n;
	unsigned min;
	unsigned cp;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		cp = c & 0x1F;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		cp = c & 0x0F;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		cp = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

/* 1 when s (n bytes) is return codes: NN or NN/NN/..., each 01 to 10. */
static int editions_codes_ok(const char *s, size_t n)
{
	if (n == 0 || (n + 1) % 3 != 0)
		return 0;
	for (size_t i = 0; i < n; i += 3) {
		if (s[i] < '0' || s[i] > '9' || s[i + 1] < '0' || s[i + 1] > '9')
			return 0;
		int code = (s[i] - '0') * 10 + (s[i + 1] - '0');
		if (code < 1 || code > 10)
			return 0;
		if (i + 2 < n && s[i + 2] != '/')
			return 0;
	}
	return 1;
}

long editions_report_check(const char *data, size_t len,
			   char *errstr, size_t errstr_size)
{
	const unsigned char *u = (const unsigned char *)data;
	if (len == 0) {
		snprintf(errstr, errstr_size, "the upload is empty");
		return -1;
	}
	if (len < 3 || memcmp(data, "\xef\xbb\xbf", 3) != 0) {
		snprintf(errstr, errstr_size,
			 "a report starts with the UTF-8 byte order mark (EF BB BF)");
		return -1;
	}
	unsigned long line = 1;
	for (size_t i = 3; i < len;) {
		if (u[i] == 0) {
			snprintf(errstr, errstr_size, "line %lu holds a NUL byte", line);
			return -1;
		}
		if (u[i] == '\n') {
			line++;
			i++;
			continue;
		}
		size_t n = editions_utf8_len(u + i, len - i);
		if (n == 0) {
			snprintf(errstr, errstr_size, "line %lu is not valid UTF-8", line);
			return -1;
		}
		i += n;
	}

	size_t pos = 3;
	long rows = 0;
	line = 0;
	while (pos < len) {
		line++;
		const char *start = data + pos;
		const char *nl = memchr(start, '\n', len - pos);
		if (!nl || nl == start || nl[-1] != '\r') {
			snprintf(errstr, errstr_size, "line %lu does not end with CRLF", line);
			return -1;
		}
		size_t n = (size_t)(nl - 1 - start);
		if (memchr(start, '\r', n)) {
			snprintf(errstr, errstr_size,
				 "line %lu holds a carriage return inside it", line);
			return -1;
		}
		pos = (size_t)(nl - data) + 1;
		if (line == 1) {
			if (n != strlen(EDITIONS_REPORT_HEADER) ||
			    memcmp(start, EDITIONS_REPORT_HEADER, n) != 0) {
				snprintf(errstr, errstr_size,
					 "line 1 is not the report header '%s'",
					 EDITIONS_REPORT_HEADER);
				return -1;
			}
			continue;
		}
		size_t fields = 1;
		const char *last = start;
		for (size_t i = 0; i < n; i++) {
			if (start[i] == ';') {
				fields++;
				last = start + i + 1;
			}
		}
		if (fields != EDITIONS_REPORT_COLUMNS) {
			snprintf(errstr, errstr_size, "line %lu has %zu fields instead of %d",
				 line, fields, EDITIONS_REPORT_COLUMNS);
			return -1;
		}
		size_t clen = (size_t)(start + n - last);
		if (!editions_codes_ok(last, clen)) {
			snprintf(errstr, errstr_size,
				 "line %lu: '%.*s' are not return codes such as 05/05/04",
				 line, (int)(clen > 40 ? 40 : clen), last);
			return -1;
		}
		rows++;
	}
	if (line == 0) {
		snprintf(errstr, errstr_size, "the report has no header line");
		return -1;
	}
	return rows;
}

static int editions_write_all(int fd, const char *data, size_t len)
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

int editions_store_replace(const char *dir, const char *code, const char *data,
			   size_t len, char *errstr, size_t errstr_size)
{
	char name[EDITIONS_CODE_MAX + 8];
	char tmp[EDITIONS_CODE_MAX + 64];
	int dirfd;
	int found = editions_report_find(dir, code, name, sizeof(name), &dirfd, errstr,
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
	if (editions_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
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

int editions_store_delete(const char *dir, const char *code,
			  char *errstr, size_t errstr_size)
{
	char name[EDITIONS_CODE_MAX + 8];
	int dirfd;
	int found = editions_report_find(dir, code, name, sizeof(name), &dirfd, errstr,
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
