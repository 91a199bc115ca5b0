/* An integrated dispositif as stored in Redis, in aij:dispositifs:<dossier_id>
 * (lib/index_keys.h), and read back by the editions service.
 *
 * Stored form: "1;<line>;<run_id>;<the 12 fields, ';'-separated>", the
 * fields as the week's file gave them ("1" is the form's version; the file's
 * fields never hold ';'). A dispositif whose run id or fields hold ';' (a
 * run id chosen so, a record from another producer) is stored as the JSON
 * object that dispositif_decode() gives instead, as every dispositif was
 * before the compact form: a quarter of Redis's memory and a third of the
 * matcher's CPU went to that JSON. */
#ifndef AIJ_DISPOSITIF_H
#define AIJ_DISPOSITIF_H

#include <stdint.h>

#include <jansson.h>

#include "record.h"

/* The JSON names of the 12 fields (SPEC §2.1), in file order. */
extern const char *const dispositif_field_names[RECORD_FIELDS];

/* The stored form of a dispositif of line `line` of run run_id with
 * fields[0..RECORD_FIELDS). Returns a string to free(), or NULL when out of
 * memory. */
char *dispositif_encode(uint64_t line, const char *run_id,
			const char *const fields[RECORD_FIELDS]);

/* The dispositif stored as value (either form) as a JSON object: its 12
 * named fields, "run_id" and "line" (a number). A value that is not valid
 * UTF-8 has that string left empty. Returns a new reference
 * (json_decref()), or NULL when value is neither form or out of memory. */
json_t *dispositif_decode(const char *value);

#endif
