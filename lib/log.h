/* One log line per event, on stderr:
 *   2026-11-28T16:02:50Z INFO matcher[1234] run=2026-W48 batch of 500 records done
 */
#ifndef AIJ_LOG_H
#define AIJ_LOG_H

#include <stddef.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Sets the program name and the run id shown on every line (both copied;
 * run_id may be NULL or empty for none). */
void log_init(const char *prog, const char *run_id);
void log_set_run(const char *run_id);
void log_set_level(enum log_level level);
/* Parses "error", "warn", "info" or "debug"; returns 0, or -1 if unknown. */
int log_level_parse(const char *name, enum log_level *level);
/* Sets the level named name (log_level_parse). Returns 0, or -1 with errstr
 * ("unknown log level 'x' ..."): every program's --log-level. */
int log_level_set_name(const char *name, char *errstr, size_t errstr_size);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
