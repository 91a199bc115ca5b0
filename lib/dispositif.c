#include "dispositif.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DISPOSITIF_TAG   "1"
#define DISPOSITIF_PARTS (3 + RECORD_FIELDS) /* tag, line, run id, fields */

const char *const dispositif_field_names[RECORD_FIELDS] = {
	"identifiant_sigma", "code_regional", "identifiant_pe", "nom_naissance",
	"prenom", "date_naissance", "code_insee_residence", "type_dispositif",
	"date_debut", "date_fin_prevue", "date_fin_reelle", "motif_sortie",
};

/* Sets key to the string s, or "" when s is not UTF-8: left out, not stored
 * broken. 0 or -1 (memory). */
static int dispositif_set(json_t *obj, const char *key, const char *s, size_t len)
{
	json_t *v = json_stringn(s, len);
	if (!v)
		v = json_string("");
	return json_object_set_new(obj, key, v);
}

/* The JSON object of a dispositif from its parts. NULL when out of memory. */
static json_t *dispositif_object(uint64_t line, const char *run_id, size_t run_id_len,
				 const char *const fields[RECORD_FIELDS],
				 const size_t lens[RECORD_FIELDS])
{
	json_t *obj = json_object();
	int failed = !obj;
	for (size_t i = 0; i < RECORD_FIELDS && !failed; i++)
		failed = dispositif_set(obj, dispositif_field_names[i], fields[i], lens[i]);
	if (!failed)
		failed = dispositif_set(obj, "run_id", run_id, run_id_len) ||
			 json_object_set_new(obj, "line", json_integer((json_int_t)line));
	if (failed) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

char *dispositif_encode(uint64_t line, const char *run_id,
			const char *const fields[RECORD_FIELDS])
{
	size_t lens[RECORD_FIELDS], total = strlen(run_id) + 48;
	int compact = strchr(run_id, ';') == NULL;
	for (size_t i = 0; i < RECORD_FIELDS; i++) {
		lens[i] = strlen(fields[i]);
		total += lens[i] + 1;
		compact = compact && memchr(fields[i], ';', lens[i]) == NULL;
	}
	if (!compact) {
		json_t *obj = dispositif_object(line, run_id, strlen(run_id), fields, lens);
		char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
		json_decref(obj);
		return text;
	}
	char *out = malloc(total);
	if (!out)
		return NULL;
	char *p = out + snprintf(out, total, DISPOSITIF_TAG ";%" PRIu64 ";%s", line, run_id);
	for (size_t i = 0; i < RECORD_FIELDS; i++) {
		*p++ = ';';
		memcpy(p, fields[i], lens[i]);
		p += lens[i];
	}
	*p = '\0';
	return out;
}

json_t *dispositif_decode(const char *value)
{
	if (value[0] == '{') {
		json_t *obj = json_loads(value, 0, NULL);
		if (json_is_object(obj))
			return obj;
		json_decref(obj);
		return NULL;
	}
	/* The compact form: exactly DISPOSITIF_PARTS parts. */
	const char *part[DISPOSITIF_PARTS];
	size_t len[DISPOSITIF_PARTS], n = 0;
	const char *s = value;
	for (;;) {
		const char *end = strchr(s, ';');
		if (n == DISPOSITIF_PARTS)
			return NULL;
		part[n] = s;
		len[n++] = end ? (size_t)(end - s) : strlen(s);
		if (!end)
			break;
		s = end + 1;
	}
	if (n != DISPOSITIF_PARTS || len[0] != strlen(DISPOSITIF_TAG) ||
	    memcmp(part[0], DISPOSITIF_TAG, len[0]) != 0 || len[1] == 0 || len[1] > 19)
		return NULL;
	uint64_t line = 0;
	for (size_t i = 0; i < len[1]; i++) {
		if (part[1][i] < '0' || part[1][i] > '9')
			return NULL;
		line = line * 10 + (uint64_t)(part[1][i] - '0');
	}
	return dispositif_object(line, part[2], len[2], part + 3, len + 3);
}
