/* The integration report of SPEC §6 (« _Rapport intégration AIJ ») as a
 * file: what the reporter writes and the editions service reads back,
 * checks and rewrites. One place for its header, columns and name rules;
 * and the header of DIR/attached/<ml_code>.csv, the dispositifs a run
 * attached (team contract), which the reporter writes and the editions
 * service reads.
 *
 * A report: UTF-8 with a BOM, CRLF line ends (the last line too), the
 * header, then one row per failed line: 7 ';'-separated fields, the last
 * one the return codes ("05", "05/05/04"). */
#ifndef AIJ_REPORT_FORMAT_H
#define AIJ_REPORT_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define REPORT_BOM      "\xef\xbb\xbf"
#define REPORT_EOL      "\r\n"
#define REPORT_HEADER   "Identifiant SIGMA;Code P\xc3\xb4le Emploi;Nom de naissance;" \
	"Pr\xc3\xa9nom;Date de naissance;Commune INSEE de r\xc3\xa9sidence;Codes retour"
#define REPORT_COLUMNS  7
#define REPORT_NATIONAL "_national"  /* the national report's name (SPEC §5) */
#define REPORT_NAME_MAX 63           /* a report name (an ML code) at most */
#define REPORT_CODES_MAX 3           /* one code per look-up step at most */

enum report_col {
	REPORT_COL_SIGMA,     /* identifiant_sigma */
	REPORT_COL_PE,        /* identifiant_pe (« Code Pôle Emploi ») */
	REPORT_COL_NOM,       /* nom_naissance */
	REPORT_COL_PRENOM,    /* prenom */
	REPORT_COL_NAISSANCE, /* date_naissance */
	REPORT_COL_INSEE,     /* code_insee_residence */
	REPORT_COL_CODES,     /* the return codes */
};

/* The header's column titles, in order (UTF-8). */
extern const char *const report_column_titles[REPORT_COLUMNS];

/* The report's XLSX (editions service) has two more columns after the
 * codes, « Piste » and « Semaines en échec »; a report corrected in it and
 * saved as CSV has them too: report_normalize() takes it and drops them. */
#define REPORT_TITLE_PISTE  "Piste"
#define REPORT_TITLE_WEEKS  "Semaines en \xc3\xa9" "chec"
#define REPORT_XLSX_EXTRA   ";" REPORT_TITLE_PISTE ";" REPORT_TITLE_WEEKS
#define REPORT_XLSX_COLUMNS (REPORT_COLUMNS + 2)

/* DIR/attached/<ml_code>.csv: UTF-8 without BOM, LF, ';', this header. */
#define ATTACHED_DIR     "attached"
#define ATTACHED_HEADER  "line;dossier_id;step;identifiant_sigma;identifiant_pe;" \
	"nom_naissance;prenom;date_naissance;code_insee_residence;type_dispositif;" \
	"date_debut;date_fin_prevue;date_fin_reelle;motif_sortie"
#define ATTACHED_COLUMNS 14

/* 1 when name may name a report (DIR/reports/<name>.csv, and a path of the
 * editions service): 1 to REPORT_NAME_MAX characters of [A-Za-z0-9_-], so
 * never ".", "/" nor "%". Else 0. */
int report_name_valid(const char *name);

/* Return codes parsed: "05/05/04" gives n 3, code {5, 5, 4}, and bit c of
 * mask set for each code c. */
struct report_codes {
	unsigned code[REPORT_CODES_MAX];
	size_t n;
	uint32_t mask;
};

/* Parses the len bytes of s as return codes: 1 to REPORT_CODES_MAX codes
 * of two digits, each 01 to 10, joined by '/'. Returns 0, or -1 (out is
 * then empty: n 0, mask 0). */
int report_codes_parse(const char *s, size_t len, struct report_codes *out);

/* Splits the NUL-terminated line s in place at each ';' into field
 * (nfields at most; the missing ones ""). Returns how many fields the line
 * had: a row is well formed when that is nfields. */
size_t report_split_fields(char *s, const char **field, size_t nfields);

/* The line at *p of a text ending at end, NUL-terminated in place (its LF
 * and a CR before it cut off); *p moves to the next line. Call while
 * *p < end. */
char *report_next_line(char **p, char *end);

/* One row of a report read back. */
struct report_row {
	uint64_t line;                 /* its line in the file (the header is 1) */
	const char *field[REPORT_COLUMNS]; /* never NULL; "" for a missing one */
	struct report_codes codes;     /* n 0 when the last field is not codes */
};

/* A report read back: its rows, pointing into text. */
struct report {
	char *text;
	struct report_row *row;
	size_t n;
};

/* Reads a stored report (data, len bytes) back, forgivingly, for showing
 * it: a BOM is skipped, LF or CRLF ends a line, the first line (the
 * header) is skipped, blank lines too, a row's missing fields are "" and
 * fields past the seventh are dropped. Returns 0 with r filled (release it
 * with report_release()), or -1 when out of memory (errstr). */
int report_parse(const char *data, size_t len, struct report *r,
		 char *errstr, size_t errstr_size);

/* Frees what report_parse() allocated; r may then be parsed into again. */
void report_release(struct report *r);

/* What report_normalize() found in the bytes it was given. */
struct report_normalized {
	size_t rows;        /* data rows */
	int had_bom;        /* the bytes started with a UTF-8 BOM */
	int windows_1252;   /* at least one line was not UTF-8 (decoded) */
	int lf;             /* at least one line ended with LF alone */
	size_t blank;       /* blank lines dropped (empty or only ';' and spaces) */
	int xlsx_columns;   /* the header had REPORT_XLSX_EXTRA: those two
			       columns were dropped from every row */
	int quoted;         /* at least one field was wholly in double quotes
			       (standard CSV quoting): unquoted */
};

/* Turns an uploaded report into the exact bytes of SPEC §6. The upload may
 * be UTF-8 or Windows-1252 (each line decoded as lib/reader.h decodes the
 * week's file), with or without a BOM, with CRLF or LF line ends, the last
 * line with or without one; blank lines are dropped. Its first line must be
 * the header, every other line 7 fields whose last is return codes
 * (report_codes_parse()); or the header followed by REPORT_XLSX_EXTRA, every
 * other line 9 fields whose seventh is return codes, the last two dropped.
 * Standard CSV quoting is undone first: a field wholly in double quotes
 * ("05/05/05", a quote inside doubled) is taken without them, the header's
 * too; a quoted field holding a ';' is refused (no field of a report holds
 * one). A row whose codes only a line that passed validation can have
 * (SPEC §3: 02 to 06, 08, 09, 10) must have its birth date as a real
 * JJ/MM/AAAA date, and when they are 02 to 05, 09 or 10, its INSEE code as
 * 5 characters (digits or capitals): a spreadsheet that opened the CSV
 * turned "28/03/1999" into "28/03/99" and "08249" into "8249", and the
 * report would no longer say which young person the line is about.
 * Returns the report (malloc'ed, free() it) with
 * *out_len and *what (may be NULL) filled, or NULL with errstr saying what is
 * wrong and on which line of the upload. errstr is in French: it is shown
 * to the person who uploaded the file. */
char *report_normalize(const char *data, size_t len, size_t *out_len,
		       struct report_normalized *what,
		       char *errstr, size_t errstr_size);

#endif
