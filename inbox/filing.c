#include "filing.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILING_MAX_CANDIDATES 10000

/* The French phrase of each guard (lib/guard.h's names, and "unreadable",
 * the inbox's own): for an entry written before runs.json had reason_fr. */
static const struct {
	const char *guard, *fr;
} filing_guard_fr[] = {
	{ "validation", "trop de lignes en échec de validation" },
	{ "format", "trop de lignes au mauvais format (code 01)" },
	{ "technical", "erreurs techniques (Redis injoignable)" },
	{ "older", "semaine plus ancienne que la dernière publiée" },
	{ "already", "fichier déjà intégré" },
	{ "incomplete", "traitement incomplet (lignes sans résultat)" },
	{ "dossiers_empty", "export sans aucun dossier" },
	{ "dossiers_malformed", "trop de lignes mal formées dans l'export" },
	{ "dossiers_shrunk", "moins de la moitié des dossiers en service" },
	{ "unreadable", "fichier illisible" },
};

void filing_reason_line(const char *guard, const char *reason_fr, const char *reason,
			char *out, size_t size)
{
	const char *fr = NULL;
	if (reason_fr && *reason_fr && strcmp(reason_fr, reason) != 0)
		fr = reason_fr; /* the guard's own, with its figures */
	for (size_t i = 0; !fr && i < sizeof(filing_guard_fr) / sizeof(filing_guard_fr[0]); i++)
		if (strcmp(guard, filing_guard_fr[i].guard) == 0)
			fr = filing_guard_fr[i].fr;
	snprintf(out, size, "retenu / held (%s): %s / %s", *guard ? guard : "error",
		 fr ? fr : "échec", *reason ? reason : "no reason given");
	for (char *p = out; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

int filing_candidate(const char *name, unsigned n, char *out, size_t size)
{
	char suffix[16] = "";
	if (n > 1)
		snprintf(suffix, sizeof(suffix), ".%u", n);
	size_t len = strlen(name), slen = strlen(suffix);
	if (len + slen >= size)
		return -1;
	memcpy(out, name, len);
	memcpy(out + len, suffix, slen + 1);
	return 0;
}

int filing_rename_noreplace(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* A file system without RENAME_NOREPLACE: a hard link cannot replace
	 * either. */
	if (link(from, to) == 0) {
		if (unlink(from) == 0)
			return 0;
		int err = errno;
		unlink(to);
		errno = err;
		return -1;
	}
	if (errno != EPERM && errno != EOPNOTSUPP)
		return -1;
	/* Nor hard links: check, then rename (this process is the only one
	 * filing into the folder). */
	struct stat st;
	if (lstat(to, &st) == 0) {
		errno = EEXIST;
		return -1;
	}
	return rename(from, to);
}

int filing_mkdirs(const char *path, char *errstr, size_t errstr_size)
{
	char buf[PATH_MAX];
	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf)) {
		snprintf(errstr, errstr_size, "path too long: '%s'", path);
		return -1;
	}
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
			snprintf(errstr, errstr_size, "cannot create the folder '%s': %s",
				 buf, strerror(errno));
			return -1;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(errstr, errstr_size, "'%s' is not a folder", path);
		return -1;
	}
	return 0;
}

void filing_drop_markers(const char *dir, const char *name)
{
	static const char *const markers[] = { ".done", ".accept", ".reason" };
	for (size_t i = 0; i < sizeof(markers) / sizeof(markers[0]); i++) {
		char path[PATH_MAX];
		if ((size_t)snprintf(path, sizeof(path), "%s/%s%s", dir, name,
				     markers[i]) < sizeof(path))
			unlink(path);
	}
}

/* Writes reason and a line end into the new file path (O_EXCL). Returns 0,
 * or -1 with errno (EEXIST: taken). */
static int filing_write_reason(const char *path, const char *reason)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	size_t len = strlen(reason);
	int ok = write(fd, reason, len) == (ssize_t)len && write(fd, "\n", 1) == 1 &&
		 fsync(fd) == 0;
	int err = errno;
	if (close(fd) < 0 && ok) {
		ok = 0;
		err = errno;
	}
	if (!ok) {
		unlink(path);
		errno = err;
		return -1;
	}
	return 0;
}

int filing_move(const char *dir, const char *name, const char *dest,
		const char *reason, char *final, size_t final_size,
		char *errstr, size_t errstr_size)
{
	char from[PATH_MAX], to[PATH_MAX], reason_path[PATH_MAX + 8];
	if ((size_t)snprintf(from, sizeof(from), "%s/%s", dir, name) >= sizeof(from)) {
		snprintf(errstr, errstr_size, "path too long: '%s/%s'", dir, name);
		return -1;
	}
	if (filing_mkdirs(dest, errstr, errstr_size) < 0)
		return -1;
	for (unsigned n = 1; n <= FILING_MAX_CANDIDATES; n++) {
		char cand[NAME_MAX + 1];
		if (filing_candidate(name, n, cand, sizeof(cand)) < 0 ||
		    (size_t)snprintf(to, sizeof(to), "%s/%s", dest, cand) >= sizeof(to)) {
			snprintf(errstr, errstr_size, "no name left for '%s' in '%s'", name, dest);
			return -1;
		}
		if (reason) {
			snprintf(reason_path, sizeof(reason_path), "%s.reason", to);
			struct stat st;
			if (lstat(to, &st) == 0)
				continue;
			if (filing_write_reason(reason_path, reason) < 0) {
				if (errno == EEXIST)
					continue;
				snprintf(errstr, errstr_size, "cannot write '%s': %s",
					 reason_path, strerror(errno));
				return -1;
			}
		}
		if (filing_rename_noreplace(from, to) == 0) {
			snprintf(final, final_size, "%s", cand);
			filing_drop_markers(dir, name);
			return 0;
		}
		int err = errno;
		if (reason)
			unlink(reason_path); /* ours, written above */
		if (err != EEXIST) {
			snprintf(errstr, errstr_size, "cannot move '%s' to '%s': %s", from,
				 to, strerror(err));
			return -1;
		}
	}
	snprintf(errstr, errstr_size, "no name left for '%s' in '%s' (%d taken)", name,
		 dest, FILING_MAX_CANDIDATES);
	return -1;
}
