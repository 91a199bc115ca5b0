#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

static char log_prog[64] = "aij";
static char log_run[128];
static enum log_level log_threshold = LOG_LVL_INFO;

static const char *const log_names[] = { "ERROR", "WARN", "INFO", "DEBUG" };

void log_init(const char *prog, const char *run_id)
{
	snprintf(log_prog, sizeof(log_prog), "%s", prog ? prog : "aij");
	log_set_run(run_id);
	clock_use_paris();
}

void log_set_run(const char *run_id)
{
	snprintf(log_run, sizeof(log_run), "%s", run_id ? run_id : "");
}

void log_set_level(enum log_level level)
{
	log_threshold = level;
}

int log_level_parse(const char *name, enum log_level *level)
{
	static const char *const lower[] = { "error", "warn", "info", "debug" };
	for (size_t i = 0; i < sizeof(lower) / sizeof(lower[0]); i++) {
		if (strcasecmp(name, lower[i]) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

int log_level_set_name(const char *name, char *errstr, size_t errstr_size)
{
	enum log_level level;
	if (!name || log_level_parse(name, &level) != 0) {
		snprintf(errstr, errstr_size,
			 "unknown log level '%s' (error, warn, info or debug)",
			 name ? name : "");
		return -1;
	}
	log_set_level(level);
	return 0;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level > log_threshold)
		return;

	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);

	/* Build the whole line first: one write() keeps lines of concurrent
	 * processes sharing a terminal from interleaving. */
	char line[2048];
	int n = snprintf(line, sizeof(line), "%s %s %s[%d]%s%s ", stamp,
			 log_names[level], log_prog, (int)getpid(),
			 log_run[0] ? " run=" : "", log_run);
	if (n < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	if (write(STDERR_FILENO, line, len) < 0) {
		/* Nowhere left to report it. */
	}
}
