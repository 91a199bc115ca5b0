#include "summary.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rejections.h"

/* Sets key to n; returns 0 or -1 when out of memory. */
static int summary_set_int(json_t *obj, const char *key, uint64_t n)
{
	return json_object_set_new(obj, key, json_integer((json_int_t)n));
}

/* The whole summary as a JSON object; NULL when out of memory.
 * Free with json_decref(). */
static json_t *summary_build(const struct collect *c,
			     const struct report_count *counts, size_t n_counts)
{
	uint64_t by_code[32] = { 0 };
	const uint64_t *by_step = c->integrated_by_step; /* [0]: outside 1..3 */
	for (size_t i = 0; i < c->n_failed; i++)
		for (unsigned code = 1; code < 32; code++)
			if (c->failed[i].code_mask & (UINT32_C(1) << code))
				by_code[code]++;

	json_t *root = json_object(), *codes = json_object(),
	       *steps = json_object(), *reports = json_object();
	int err = !root || !codes || !steps || !reports;
	char key[16];
	for (unsigned code = 1; code < 32 && !err; code++) {
		if (!by_code[code])
			continue;
		snprintf(key, sizeof(key), "%02u", code);
		err |= summary_set_int(codes, key, by_code[code]);
	}
	for (unsigned step = 1; step <= 3 && !err; step++) {
		snprintf(key, sizeof(key), "%u", step);
		err |= summary_set_int(steps, key, by_step[step]);
	}
	for (size_t i = 0; i < n_counts && !err; i++)
		err |= summary_set_int(reports, counts[i].ml_code, counts[i].rows);
	if (!err) {
		err |= json_object_set_new(root, "run_id", json_string(c->run_id));
		err |= summary_set_int(root, "lines", (uint64_t)c->n_failed + c->n_integrated);
		err |= summary_set_int(root, "integrated", c->n_integrated);
		err |= summary_set_int(root, "failed", c->n_failed);
		err |= json_object_set(root, "by_code", codes);
		err |= json_object_set(root, "by_step", steps);
		err |= json_object_set(root, "reports", reports);
	}
	/* Only when there are some: a clean run's summary is unchanged. */
	if (!err && c->n_poison > 0) {
		json_t *poison = json_array();
		err |= !poison;
		for (size_t i = 0; i < c->n_poison && !err; i++)
			err |= json_array_append_new(poison, json_pack("{s:s, s:s}", "source",
								       c->poison[i], "code", "10"));
		err |= json_object_set_new(root, "poison", poison);
	}
	json_decref(codes);
	json_decref(steps);
	json_decref(reports);
	if (err) {
		json_decref(root);
		return NULL;
	}
	return root;
}

/* Writes root (taken) to path as summary.json is written. 0 or -1. */
static int summary_dump(const char *path, json_t *root, char *errstr, size_t errstr_size)
{
	/* Indent 2 with sorted keys gives the separators ",\n" and ": ",
	 * byte for byte what Python's json.dumps(indent=2) writes. */
	char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	json_decref(root);
	if (!text) {
		snprintf(errstr, errstr_size, "out of memory building '%s'", path);
		return -1;
	}
	FILE *f = fopen(path, "wb");
	if (!f) {
		snprintf(errstr, errstr_size, "cannot create '%s': %s", path,
			 strerror(errno));
		free(text);
		return -1;
	}
	fputs(text, f);
	fputc('\n', f);
	free(text);
	return report_close(f, path, errstr, errstr_size);
}

int summary_write(const char *path, const struct collect *c,
		  const struct report_count *counts, size_t n_counts,
		  char *errstr, size_t errstr_size)
{
	return summary_dump(path, summary_build(c, counts, n_counts), errstr, errstr_size);
}

int summary_weeks_write(const char *path, const struct collect *c,
			const struct rejections_line *weeks,
			char *errstr, size_t errstr_size)
{
	json_t *root = json_object(), *by = json_object();
	int err = !root || !by;
	for (size_t i = 0; i < c->n_failed && !err; i++) {
		char key[16];
		snprintf(key, sizeof(key), "%u", (unsigned)weeks[i].weeks);
		json_t *n = json_object_get(by, key);
		err |= summary_set_int(by, key, n ? (uint64_t)json_integer_value(n) + 1 : 1);
	}
	if (!err) {
		err |= json_object_set(root, "by_weeks_rejected", by);
		err |= summary_set_int(root, "failed", c->n_failed);
		err |= json_object_set_new(root, "run_id", json_string(c->run_id));
	}
	json_decref(by);
	if (err) {
		json_decref(root);
		root = NULL;
	}
	return summary_dump(path, root, errstr, errstr_size);
}
