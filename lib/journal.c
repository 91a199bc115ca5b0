#include "journal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

FILE *journal_create(const char *path, char *errstr, size_t errstr_size)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		snprintf(errstr, errstr_size, "cannot create '%s': %s", path,
			 strerror(errno));
	return f;
}

static int journal_put(FILE *f, const char *s)
{
	uint32_t len = (uint32_t)strlen(s);
	return fwrite(&len, sizeof(len), 1, f) == 1 &&
	       (len == 0 || fwrite(s, len, 1, f) == 1) ? 0 : -1;
}

int journal_add(FILE *f, const char *path, const struct index_attachment *a,
		char *errstr, size_t errstr_size)
{
	if (journal_put(f, a->dossier_id) || journal_put(f, a->identity) ||
	    journal_put(f, a->dispositif)) {
		snprintf(errstr, errstr_size, "cannot write '%s': %s", path,
			 strerror(errno ? errno : EIO));
		return -1;
	}
	return 0;
}

int journal_close(FILE *f, const char *path, char *errstr, size_t errstr_size)
{
	int failed = fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0;
	int err = errno;
	if (fclose(f) != 0 && !failed) {
		failed = 1;
		err = errno;
	}
	if (failed)
		snprintf(errstr, errstr_size, "cannot write '%s': %s", path,
			 strerror(err ? err : EIO));
	return failed ? -1 : 0;
}

/* Reads one string into a buffer of the chunk's (grown as needed). Returns
 * 1, 0 at a clean end of file (first string of an entry only), -1 when
 * damaged or unreadable. */
static int journal_get(FILE *f, char **buf, size_t *cap, size_t *used,
		       size_t *off, int first)
{
	uint32_t len;
	size_t got = fread(&len, 1, sizeof(len), f);
	if (got == 0 && first && feof(f))
		return 0;
	if (got != sizeof(len) || len > (UINT32_MAX >> 2))
		return -1;
	if (*used + len + 1 > *cap) {
		size_t ncap = (*used + len + 1) * 2;
		char *nbuf = realloc(*buf, ncap);
		if (!nbuf)
			return -1;
		*buf = nbuf;
		*cap = ncap;
	}
	if (len && fread(*buf + *used, len, 1, f) != 1)
		return -1;
	(*buf)[*used + len] = '\0';
	*off = *used;
	*used += len + 1;
	return 1;
}

long long journal_replay(const char *path, journal_fn fn, void *arg,
			 char *errstr, size_t errstr_size)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(errstr, errstr_size, "cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	struct index_attachment *a = malloc(INDEX_ATTACH_CHUNK * sizeof(*a));
	size_t (*offs)[3] = malloc(INDEX_ATTACH_CHUNK * sizeof(*offs));
	char *buf = NULL;
	size_t cap = 0, used = 0, n = 0;
	long long total = 0;
	int rc = 0;
	if (!a || !offs) {
		snprintf(errstr, errstr_size, "out of memory");
		rc = -1;
	}
	while (rc == 0) {
		int got = journal_get(f, &buf, &cap, &used, &offs[n][0], 1);
		if (got == 1 && (journal_get(f, &buf, &cap, &used, &offs[n][1], 0) != 1 ||
				 journal_get(f, &buf, &cap, &used, &offs[n][2], 0) != 1))
			got = -1;
		if (got < 0) {
			snprintf(errstr, errstr_size, "'%s' is damaged or unreadable "
				 "after %lld entries", path, total + (long long)n);
			rc = -1;
			break;
		}
		if (got == 1)
			n++;
		if (n == INDEX_ATTACH_CHUNK || (got == 0 && n > 0)) {
			/* buf may have moved while the chunk grew: point now. */
			for (size_t i = 0; i < n; i++) {
				a[i].dossier_id = buf + offs[i][0];
				a[i].identity = buf + offs[i][1];
				a[i].dispositif = buf + offs[i][2];
			}
			if (fn(a, n, arg, errstr, errstr_size) != 0) {
				rc = -1;
				break;
			}
			total += (long long)n;
			n = 0;
			used = 0;
		}
		if (got == 0)
			break;
	}
	fclose(f);
	free(a);
	free(offs);
	free(buf);
	return rc ? -1 : total;
}
