#include "runs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

json_t *runs_load(const char *dir, int *absent, char *errstr, size_t errstr_size)
{
	char path[4096];
	*absent = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, RUNS_FILE);
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		*absent = 1;
		return NULL;
	}
	json_error_t jerr;
	json_t *runs = json_load_file(path, 0, &jerr);
	if (!runs) {
		snprintf(errstr, errstr_size, "cannot read '%s': %s (line %d)", path,
			 jerr.text, jerr.line);
		return NULL;
	}
	if (!json_is_array(runs)) {
		snprintf(errstr, errstr_size, "'%s' is not a JSON array", path);
		json_decref(runs);
		return NULL;
	}
	return runs;
}

const char *runs_str(const json_t *entry, const char *key)
{
	const char *s = json_string_value(json_object_get(entry, key));
	return s ? s : "";
}

size_t runs_held(const json_t *runs, const json_t *held[2])
{
	static const char *const kinds[2] = { "dispositifs", "dossiers" };
	size_t n = 0;
	for (size_t k = 0; k < 2; k++) {
		const json_t *last = NULL;
		size_t i;
		json_t *e;
		json_array_foreach(runs, i, e) {
			if (strcmp(runs_str(e, "kind"), kinds[k]) != 0)
				continue;
			const char *status = runs_str(e, "status");
			if (strcmp(status, "held") == 0 || strcmp(status, "failed") == 0)
				last = e;
			else if (strcmp(status, "published") == 0)
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
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *rest = strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm);
	long off = 0;
	if (rest && (*rest == 'Z' || *rest == '\0')) {
		off = 0;
	} else if (rest && (*rest == '+' || *rest == '-')) {
		int hh = 0, mm = 0;
		long sign = *rest == '-' ? -1 : 1;
		if (sscanf(rest + 1, "%2d:%2d", &hh, &mm) != 2 &&
		    sscanf(rest + 1, "%2d%2d", &hh, &mm) != 2)
			rest = NULL;
		off = (hh * 3600L + mm * 60L) * sign;
	} else {
		rest = NULL;
	}
	if (!rest) {
		snprintf(buf, size, "%s", iso);
		return;
	}
	time_t t = timegm(&tm) - off;
	struct tm local;
	localtime_r(&t, &local);
	strftime(buf, size, "%d/%m/%Y à %H:%M", &local);
}
