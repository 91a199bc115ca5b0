/* Filing a file away out of the inbox: into INBOX/archive/<kind>/ once
 * integrated, into INBOX/held/<kind>/ with a "<name>.reason" beside it when
 * a guard held it. A file is only ever renamed, never copied, replaced or
 * deleted: a name taken already gets a suffix (week.csv, week.csv.2,
 * week.csv.3, ...). The markers (<name>.done, <name>.accept, and a
 * <name>.reason an operator moved back with the file) are not data: they
 * are removed once the file is filed. */
#ifndef AIJ_INBOX_FILING_H
#define AIJ_INBOX_FILING_H

#include <stddef.h>

/* The n-th name tried for name (n >= 1): name itself, then "name.n".
 * Returns 0, or -1 when it does not fit in size. */
int filing_candidate(const char *name, unsigned n, char *out, size_t size);

/* Renames from to to unless to exists (atomically where the file system
 * can). Returns 0, or -1 with errno (EEXIST: to is taken). */
int filing_rename_noreplace(const char *from, const char *to);

/* Creates path and its parents (mode 0755, like mkdir -p). 0 or -1 errstr. */
int filing_mkdirs(const char *path, char *errstr, size_t errstr_size);

/* Moves dir/name into the folder dest (created if needed) under the first
 * free candidate name; with reason (one line) not NULL, a candidate is free
 * when neither it nor <it>.reason exists, and the reason is written there
 * before the file moves. final (final_size bytes) receives the name used.
 * Then removes dir's markers of name. Returns 0, or -1 with errstr (the
 * file stays where it was). */
int filing_move(const char *dir, const char *name, const char *dest,
		const char *reason, char *final, size_t final_size,
		char *errstr, size_t errstr_size);

/* "retenu / held (GUARD): <French> / <English>": the line of a .reason
 * file for guard and the verdict's reasons (runs.json's reason_fr and
 * reason; without a French one, a French phrase for the guard), for the
 * operator who reads held/ and for staff who read French only. Line ends
 * become spaces: the .reason file is one line. */
void filing_reason_line(const char *guard, const char *reason_fr, const char *reason,
			char *out, size_t size);

/* Removes dir/<name>.done, .accept and .reason (what is there). */
void filing_drop_markers(const char *dir, const char *name);

#endif
