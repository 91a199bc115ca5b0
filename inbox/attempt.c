#include "attempt.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "scan.h"

static int attempt_path(const char *dir, const char *name, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/.%s.aij-attempt", dir, name);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Copies src into dst (size bytes) when it fits; else dst is "" (a state
 * with a field cut short is no state). */
static void attempt_copy(char *dst, size_t size, const char *src)
{
	size_t len = strlen(src);
	if (len >= size)
		len = 0;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

int attempt_read(const char *dir, const char *name, struct attempt_state *st)
{
	char path[PATH_MAX];
	if (attempt_path(dir, name, path, sizeof(path)) < 0)
		return 0;
	FILE *in = fopen(path, "r");
	if (!in)
		return 0;
	memset(st, 0, sizeof(*st));
	char line[256], phase[32] = "";
	while (fgets(line, sizeof(line), in)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "attempt=", 8) == 0)
			attempt_copy(st->attempt, sizeof(st->attempt), line + 8);
		else if (strncmp(line, "run_id=", 7) == 0)
			attempt_copy(st->run_id, sizeof(st->run_id), line + 7);
		else if (strncmp(line, "sha256=", 7) == 0)
			attempt_copy(st->sha256, sizeof(st->sha256), line + 7);
		else if (strncmp(line, "phase=", 6) == 0)
			attempt_copy(phase, sizeof(phase), line + 6);
	}
	fclose(in);
	st->ingested = strcmp(phase, "ingested") == 0;
	return st->attempt[0] && st->run_id[0] && st->sha256[0];
}

int attempt_write(const char *dir, const char *name, const struct attempt_state *st)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	if (attempt_path(dir, name, path, sizeof(path)) < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *out = fopen(tmp, "w");
	if (!out)
		return -1;
	fprintf(out, "attempt=%s\nrun_id=%s\nsha256=%s\nphase=%s\n", st->attempt,
		st->run_id, st->sha256, st->ingested ? "ingested" : "started");
	int ok = fflush(out) == 0 && fsync(fileno(out)) == 0;
	ok = fclose(out) == 0 && ok;
	if (!ok || rename(tmp, path) < 0) {
		log_warn("cannot write '%s': %s (a restart during this attempt starts "
			 "another one)", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

void attempt_drop(const char *dir, const char *name)
{
	char path[PATH_MAX];
	if (attempt_path(dir, name, path, sizeof(path)) == 0)
		unlink(path);
}

void attempt_new_id(const char *run_id, char *out, size_t size)
{
	unsigned char r[4] = { 0 };
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		long ms = clock_now_ms();
		memcpy(r, &ms, sizeof(r));
		r[0] ^= (unsigned char)getpid();
	}
	snprintf(out, size, "%s#%02x%02x%02x%02x", run_id, r[0], r[1], r[2], r[3]);
}

void attempt_forget_ingested(const char *dir)
{
	struct scan_dir d;
	char errstr[256];
	if (scan_dir_init(&d, dir) < 0 ||
	    scan_dir_update(&d, clock_now_ms(), errstr, sizeof(errstr)) < 0) {
		scan_dir_release(&d);
		return;
	}
	for (size_t i = 0; i < d.n; i++) {
		struct attempt_state st;
		if (attempt_read(dir, d.files[i].name, &st) && st.ingested) {
			st.ingested = 0;
			attempt_write(dir, d.files[i].name, &st);
			log_info("week '%s': attempt %s was published to a broker that is "
				 "gone (--new-broker): it runs again", d.files[i].name,
				 st.attempt);
		}
	}
	scan_dir_release(&d);
}
