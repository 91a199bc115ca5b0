#include "runs.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "history.h"

json_t *runs_load(const char *dir, char *errstr, size_t errstr_size)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/" HISTORY_FILE, dir);
	return history_load(path, errstr, errstr_size);
}

const char *runs_str(const json_t *entry, const char *key)
{
	return history_str(entry, key);
}

const char *runs_reason(const json_t *entry)
{
	const char *fr = history_str(entry, "reason_fr");
	return *fr ? fr : history_str(entry, "reason");
}

size_t runs_held(const json_t *runs, const json_t *held[2])
{
	static const char *const kinds[2] = { HISTORY_KIND_WEEK, HISTORY_KIND_EXPORT };
	size_t n = 0;
	for (size_t k = 0; k < 2; k++) {
		const json_t *last = NULL;
		size_t i;
		json_t *e;
		json_array_foreach(runs, i, e) {
			if (strcmp(runs_str(e, "kind"), kinds[k]) != 0)
				continue;
			const char *status = runs_str(e, "status");
			if (strcmp(status, HISTORY_HELD) == 0 || strcmp(status, HISTORY_FAILED) == 0)
				last = e;
			else if (strcmp(status, HISTORY_PUBLISHED) == 0)
				last = NULL;
		}
		if (last)
			held[n++] = last;
	}
	return n;
}

const char *runs_status_label(const char *status)
{
	static const struct {
		const char *status, *label;
	} labels[] = {
		{ "published", "publiée" },
		{ "held", "retenue" },
		{ "already", "déjà intégrée" },
		{ "failed", "en échec" },
		{ "running", "en cours" },
	};
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (strcmp(status, labels[i].status) == 0)
			return labels[i].label;
	return status;
}

void runs_time(const char *iso, char *buf, size_t size)
{
	time_t t;
	if (history_time_parse(iso, &t) < 0) {
		snprintf(buf, size, "%s", iso);
		return;
	}
	struct tm local;
	localtime_r(&t, &local);
	strftime(buf, size, "%d/%m/%Y à %H:%M", &local);
}
