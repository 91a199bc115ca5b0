/* The editions on disk: the report files of the latest run, in
 * DIR/reports/<ml_code>.csv (SPEC §6-§7). The reporter writes a run's reports
 * whole; the editions service lists, reads, replaces and deletes them. Every
 * change is atomic: a reader sees the old file or the new one, never half. */
#ifndef AIJ_REPORTER_EDITIONS_STORE_H
#define AIJ_REPORTER_EDITIONS_STORE_H

#include <stddef.h>
#include <time.h>

/* The report header of SPEC §6, byte for byte (as report.h writes it). */
#define EDITIONS_REPORT_HEADER "Identifiant SIGMA;Code P\xc3\xb4le Emploi;Nom de naissance;" \
	"Pr\xc3\xa9nom;Date de naissance;Commune INSEE de r\xc3\xa9sidence;Codes retour"
#define EDITIONS_REPORT_COLUMNS 7
#define EDITIONS_NATIONAL_REPORT "_national"
#define EDITIONS_CODE_MAX 63

struct editions_entry {
	char ml_code[EDITIONS_CODE_MAX + 1];
	long long size;  /* bytes */
	time_t mtime;    /* last written: by the run, or by a replacement */
	size_t rows;     /* data rows, header excluded */
};

/* 1 when code is a report name the service accepts: 1 to EDITIONS_CODE_MAX
 * characters of [A-Za-z0-9_-] (so never ".", "/" or "%"), else 0. */
int editions_code_valid(const char *code);

/* Lists the reports of dir: the national one first, then by ML code.
 * *entries is malloc'ed (free() it), NULL when there is none. A dir without
 * reports/ has no reports. Returns 0 or -1 (errstr). */
int editions_store_list(const char *dir, struct editions_entry **entries,
			size_t *n, char *errstr, size_t errstr_size);

/* Reads the report of code whole into *data (malloc'ed, NUL-terminated for
 * convenience; free() it) and describes it in *info when not NULL.
 * Returns 0, 1 when there is no such report, -1 on an error (errstr). */
int editions_store_read(const char *dir, const char *code, char **data,
			size_t *len, struct editions_entry *info,
			char *errstr, size_t errstr_size);

/* Checks that data has the shape of a report (SPEC §6): UTF-8 with a BOM,
 * CRLF line ends (the last line too), the exact header, then rows of 7
 * ';'-separated fields whose last one is return codes such as 05/05/04.
 * Returns the number of rows, or -1 with errstr saying what is wrong and
 * on which line. */
long editions_report_check(const char *data, size_t len,
			   char *errstr, size_t errstr_size);

/* Number of data rows of a report (its CRLF-ended lines but the header). */
size_t editions_report_rows(const char *data, size_t len);

/* Replaces the existing report of code with data (checked by the caller):
 * written to a temporary file in the same folder, synced, then renamed over.
 * Returns 0, 1 when there is no such report (nothing written), -1 on an
 * error (errstr; nothing changed). */
int editions_store_replace(const char *dir, const char *code, const char *data,
			   size_t len, char *errstr, size_t errstr_size);

/* Deletes the report of code. Returns 0, 1 when there is no such report,
 * -1 on an error (errstr). */
int editions_store_delete(const char *dir, const char *code,
			  char *errstr, size_t errstr_size);

#endif
