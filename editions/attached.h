/* The dispositifs the latest run attached to the dossiers of one ML,
 * DIR/attached/<ml_code>.csv (team contract; lib/report_format.h has its
 * header): which dossier each line went to, at which step. */
#ifndef AIJ_EDITIONS_ATTACHED_H
#define AIJ_EDITIONS_ATTACHED_H

#include <stddef.h>
#include <stdint.h>

#include "report_format.h"

enum attached_col {
	ATT_LINE, ATT_DOSSIER, ATT_STEP, ATT_SIGMA, ATT_PE, ATT_NOM, ATT_PRENOM,
	ATT_NAISSANCE, ATT_INSEE, ATT_TYPE, ATT_DEBUT, ATT_FIN_PREVUE, ATT_FIN_REELLE,
	ATT_MOTIF,
};

struct attached_row {
	const char *field[ATTACHED_COLUMNS];
	uint64_t line;  /* the week file's line */
	unsigned step;  /* 1, 2 or 3; 0 when the field is not one */
};

struct attached {
	char *text;
	struct attached_row *row;
	size_t n;
	size_t malformed; /* rows skipped: not 14 fields */
};

/* Reads dir/attached/<ml_code>.csv (ml_code checked by the caller). Returns
 * 0 with a filled (attached_release() it), 1 when there is no such file,
 * -1 with errstr when it cannot be read or its header is not the contract's.
 * *no_folder (may be NULL) is set when dir/attached itself is missing (the
 * reporter does not publish them yet). */
int attached_load(const char *dir, const char *ml_code, struct attached *a,
		  int *no_folder, char *errstr, size_t errstr_size);

void attached_release(struct attached *a);

/* The MLs that have a file in dir/attached, sorted, with their row counts:
 * *codes (each malloc'ed, the array too: attached_list_free()) and *rows.
 * Returns their number (0 when there is no folder), or -1 with errstr. */
long attached_list(const char *dir, char ***codes, size_t **rows,
		   char *errstr, size_t errstr_size);

void attached_list_free(char **codes, size_t *rows, size_t n);

#endif
