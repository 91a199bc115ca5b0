/* The files the editions service serves: the report files of the latest run
 * in DIR/reports/<ml_code>.csv (SPEC §6-§7), and the same way any folder of
 * <name>.csv files (DIR/attached). The reporter writes a run's files whole;
 * the service lists and reads them, and replaces or deletes a report. Every
 * change is atomic: a reader sees the old file or the new one, never half. */
#ifndef AIJ_EDITIONS_STORE_H
#define AIJ_EDITIONS_STORE_H

#include <stddef.h>
#include <time.h>

#include "report_format.h"

#define STORE_REPORTS_DIR "reports"

struct store_entry {
	char ml_code[REPORT_NAME_MAX + 1];
	long long size;  /* bytes */
	time_t mtime;    /* last written: by the run, or by a replacement */
	size_t lines;    /* its line ends */
	size_t rows;     /* for a report: its data rows (the header aside) */
};

/* Lists folder/<name>.csv for every valid report name (report_name_valid()):
 * the national one first, then by name. *entries is malloc'ed (free() it),
 * NULL when there is none. A missing folder has none. Returns 0 or -1
 * (errstr). */
int store_file_list(const char *folder, struct store_entry **entries, size_t *n,
		    char *errstr, size_t errstr_size);

/* Reads folder/<name>.csv (a regular file, not followed if a link) whole
 * into *data (malloc'ed, NUL-terminated; free() it), and describes it in
 * *info when not NULL. Returns 0, 1 when there is no such file (or name is
 * not a valid one), -1 on an error (errstr). */
int store_file_read(const char *folder, const char *name, char **data, size_t *len,
		    struct store_entry *info, char *errstr, size_t errstr_size);

/* The reports of dir (dir/reports), as store_file_list(), rows filled. */
int store_list(const char *dir, struct store_entry **entries, size_t *n,
	       char *errstr, size_t errstr_size);

/* The report of code in dir, as store_file_read(), rows filled. */
int store_read(const char *dir, const char *code, char **data, size_t *len,
	       struct store_entry *info, char *errstr, size_t errstr_size);

/* Replaces the existing report of code with data (in the form of SPEC §6,
 * checked by the caller): written to a temporary file in the same folder,
 * synced, then renamed over. Returns 0, 1 when there is no such report
 * (nothing written), -1 on an error (errstr; nothing changed). */
int store_replace(const char *dir, const char *code, const char *data, size_t len,
		  char *errstr, size_t errstr_size);

/* Deletes the report of code. Returns 0, 1 when there is no such report,
 * -1 on an error (errstr). */
int store_delete(const char *dir, const char *code, char *errstr, size_t errstr_size);

#endif
