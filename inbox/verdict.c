#include "verdict.h"

#include <string.h>
#include <sys/stat.h>

#include "clock.h"
#include "history.h"
#include "log.h"
#include "signals.h"

/* After this long without the reporter's verdict, one WARN line. */
#define VERDICT_WARN_MS (30L * 60 * 1000)

size_t verdict_count(const char *history)
{
	char errstr[512];
	json_t *h = history_load(history, errstr, sizeof(errstr));
	size_t n = json_array_size(h);
	json_decref(h);
	return n;
}

json_t *verdict_after(const char *history, size_t after, const char *kind,
		      const char *sha256)
{
	char errstr[512];
	json_t *h = history_load(history, errstr, sizeof(errstr));
	json_t *found = NULL;
	for (size_t i = json_array_size(h); h && i-- > after;) {
		json_t *e = json_array_get(h, i);
		if (strcmp(history_str(e, "kind"), kind) == 0 &&
		    strcmp(history_str(e, "sha256"), sha256) == 0) {
			found = json_deep_copy(e);
			break;
		}
	}
	json_decref(h);
	return found;
}

json_t *verdict_wait(const char *history, const char *out_dir, const char *attempt)
{
	log_info("waiting for the reporter's verdict on attempt %s (in '%s')", attempt,
		 history);
	long start = clock_now_ms();
	int warned = 0, read_failed = 0;
	struct stat last = { 0 };
	while (!signals_stop) {
		struct stat st;
		/* Read again only when the file changed: it can be large. */
		if (stat(history, &st) == 0 &&
		    (st.st_ino != last.st_ino || st.st_size != last.st_size ||
		     st.st_mtim.tv_sec != last.st_mtim.tv_sec ||
		     st.st_mtim.tv_nsec != last.st_mtim.tv_nsec)) {
			char errstr[512];
			json_t *h = history_load(history, errstr, sizeof(errstr));
			if (!h) {
				if (!read_failed)
					log_error("%s", errstr);
				read_failed = 1;
			} else {
				read_failed = 0;
				last = st;
				json_t *e = history_find_attempt(h, attempt);
				const char *status = e ? history_str(e, "status") : "";
				if (strcmp(status, "published") == 0 ||
				    strcmp(status, "held") == 0 ||
				    strcmp(status, "already") == 0 ||
				    strcmp(status, "failed") == 0) {
					json_t *copy = json_deep_copy(e);
					json_decref(h);
					return copy;
				}
				json_decref(h);
			}
		}
		if (!warned && clock_now_ms() - start > VERDICT_WARN_MS) {
			log_warn("no verdict on attempt %s after %ld min: is aij-reporter "
				 "--follow running with --out '%s'?", attempt,
				 VERDICT_WARN_MS / 60000, out_dir);
			warned = 1;
		}
		clock_sleep_ms(250);
	}
	return NULL;
}

unsigned verdict_week_trailing(const json_t *h, const char *sha256, const char *status,
			       const char *guard)
{
	unsigned n = 0;
	for (size_t i = json_array_size(h); i-- > 0;) {
		json_t *e = json_array_get(h, i);
		if (strcmp(history_str(e, "kind"), HISTORY_KIND_WEEK) != 0 ||
		    strcmp(history_str(e, "sha256"), sha256) != 0)
			continue;
		if (strcmp(history_str(e, "status"), status) != 0 ||
		    strcmp(history_str(e, "guard"), guard) != 0)
			break;
		n++;
	}
	return n;
}
