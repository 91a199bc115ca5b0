#include "inbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "attempt.h"
#include "filing.h"
#include "history.h"
#include "log.h"

static const char *const inbox_kind_names[] = { "dossiers", "dispositifs" };
static const char *const inbox_kind_whats[] = { "export", "week" };

const char *inbox_kind_name(enum inbox_kind kind)
{
	return inbox_kind_names[kind];
}

const char *inbox_kind_what(enum inbox_kind kind)
{
	return inbox_kind_whats[kind];
}

int inbox_path(char *out, size_t size, const char *dir, const char *name)
{
	size_t d = strlen(dir), n = strlen(name);
	if (d + 1 + n >= size) {
		out[0] = '\0';
		return -1;
	}
	memcpy(out, dir, d);
	out[d] = '/';
	memcpy(out + d + 1, name, n + 1);
	return 0;
}

int inbox_init(struct inbox *in, const struct inbox_conf *c,
	       char *errstr, size_t errstr_size)
{
	memset(in, 0, sizeof(*in));
	in->c = c;
	in->lock_fd = -1;
	if (strlen(c->watch) > sizeof(in->dir[0]) - 32 ||
	    strlen(c->out) > sizeof(in->history) - 16) {
		snprintf(errstr, errstr_size, "path too long: '%s'", c->watch);
		return -1;
	}
	for (int k = 0; k < 2; k++) {
		snprintf(in->dir[k], sizeof(in->dir[k]), "%s/%s", c->watch, inbox_kind_names[k]);
		snprintf(in->archive[k], sizeof(in->archive[k]), "%s/archive/%s", c->watch,
			 inbox_kind_names[k]);
		snprintf(in->held[k], sizeof(in->held[k]), "%s/held/%s", c->watch,
			 inbox_kind_names[k]);
		if (filing_mkdirs(in->dir[k], errstr, errstr_size) < 0 ||
		    filing_mkdirs(in->archive[k], errstr, errstr_size) < 0 ||
		    filing_mkdirs(in->held[k], errstr, errstr_size) < 0)
			return -1;
	}
	char lock[PATH_MAX];
	inbox_path(lock, sizeof(lock), c->watch, ".aij-inbox.lock");
	in->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (in->lock_fd < 0) {
		snprintf(errstr, errstr_size, "cannot open '%s': %s", lock, strerror(errno));
		return -1;
	}
	if (flock(in->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(errstr, errstr_size, "another aij-inbox watches '%s' (it holds "
			 "'%s')", c->watch, lock);
		return -1;
	}
	if (filing_mkdirs(c->out, errstr, errstr_size) < 0)
		return -1;
	snprintf(in->history, sizeof(in->history), "%s/" HISTORY_FILE, c->out);
	probe_init(&in->probe, c->redis);
	return 0;
}

void inbox_release(struct inbox *in)
{
	probe_release(&in->probe);
	if (in->lock_fd >= 0)
		close(in->lock_fd);
	in->lock_fd = -1;
}

/* Files kind's name away: into held/ with reason_line, or into archive/
 * when reason_line is NULL. Returns 0 with final set, or -1 (said). */
static int inbox_file_away(struct inbox *in, enum inbox_kind kind, const char *name,
			   const char *reason_line, char *final, size_t final_size)
{
	char errstr[1024];
	const char *dest = reason_line ? in->held[kind] : in->archive[kind];
	if (filing_move(in->dir[kind], name, dest, reason_line, final, final_size,
			errstr, sizeof(errstr)) < 0) {
		log_error("cannot file '%s' away: %s: it stays in the inbox", name, errstr);
		return -1;
	}
	if (kind == KIND_DISPOSITIFS)
		attempt_drop(in->dir[kind], name);
	return 0;
}

int inbox_archive(struct inbox *in, enum inbox_kind kind, const char *name,
		  char *final, size_t final_size)
{
	return inbox_file_away(in, kind, name, NULL, final, final_size);
}

void inbox_hold(struct inbox *in, enum inbox_kind kind, const char *name,
		const char *guard, const char *reason_fr, const char *reason)
{
	char line[2048], final[NAME_MAX + 1];
	filing_reason_line(guard, reason_fr, reason, line, sizeof(line));
	if (inbox_file_away(in, kind, name, line, final, sizeof(final)) < 0)
		return;
	log_error("%s '%s' held (%s): %s: filed as held/%s/%s with its .reason; to "
		  "publish it anyway, move it back into %s/ with a '%s.accept' file",
		  inbox_kind_whats[kind], name, *guard ? guard : "error", reason,
		  inbox_kind_names[kind], final, in->dir[kind], name);
}
