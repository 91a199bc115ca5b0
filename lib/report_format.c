#include "report_format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "reader.h"

const char *const report_column_titles[REPORT_COLUMNS] = {
	"Identifiant SIGMA",
	"Code P\xc3\xb4le Emploi",
	"Nom de naissance",
	"Pr\xc3\xa9nom",
	"Date de naissance",
	"Commune INSEE de r\xc3\xa9sidence",
	"Codes retour",
};

int report_name_valid(const char *name)
{
	size_t n = 0;
	for (const char *p = name; *p; p++, n++) {
		char c = *p;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return n >= 1 && n <= REPORT_NAME_MAX;
}

int report_codes_parse(const char *s, size_t len, struct report_codes *out)
{
	memset(out, 0, sizeof(*out));
	if (len == 0 || (len + 1) % 3 != 0 || (len + 1) / 3 > REPORT_CODES_MAX)
		return -1;
	struct report_codes c = { .n = 0 };
	for (size_t i = 0; i < len; i += 3) {
		if (s[i] < '0' || s[i] > '9' || s[i + 1] < '0' || s[i + 1] > '9')
			return -1;
		unsigned code = (unsigned)(s[i] - '0') * 10 + (unsigned)(s[i + 1] - '0');
		if (code < 1 || code > 10)
			return -1;
		if (i + 2 < len && s[i + 2] != '/')
			return -1;
		c.code[c.n++] = code;
		c.mask |= UINT32_C(1) << code;
	}
	*out = c;
	return 0;
}

size_t report_split_fields(char *s, const char **field, size_t nfields)
{
	size_t n = 0;
	for (;;) {
		char *sep = strchr(s, ';');
		if (sep)
			*sep = '\0';
		if (n < nfields)
			field[n] = s;
		n++;
		if (!sep)
			break;
		s = sep + 1;
	}
	for (size_t i = n; i < nfields; i++)
		field[i] = "";
	return n;
}

char *report_next_line(char **p, char *end)
{
	char *nl = memchr(*p, '\n', (size_t)(end - *p));
	char *stop = nl ? nl : end;
	*stop = '\0';
	if (stop > *p && stop[-1] == '\r')
		stop[-1] = '\0';
	char *s = *p;
	*p = nl ? nl + 1 : end;
	return s;
}

/* 1 when the line (len bytes) is empty, or only ';', spaces and tabs. */
static int report_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ';' && s[i] != ' ' && s[i] != '\t')
			return 0;
	return 1;
}

int report_parse(const char *data, size_t len, struct report *r,
		 char *errstr, size_t errstr_size)
{
	memset(r, 0, sizeof(*r));
	r->text = malloc(len + 1);
	if (!r->text) {
		snprintf(errstr, errstr_size, "out of memory reading a report of %zu bytes", len);
		return -1;
	}
	memcpy(r->text, data, len);
	r->text[len] = '\0';
	/* At most one row per line end, plus one for a last line without. */
	size_t cap = 1;
	for (size_t i = 0; i < len; i++)
		cap += data[i] == '\n';
	r->row = calloc(cap, sizeof(*r->row));
	if (!r->row) {
		free(r->text);
		r->text = NULL;
		snprintf(errstr, errstr_size, "out of memory reading a report of %zu bytes", len);
		return -1;
	}
	char *p = r->text;
	char *end = r->text + len;
	if (len >= 3 && memcmp(p, REPORT_BOM, 3) == 0)
		p += 3;
	uint64_t line = 0;
	while (p < end) {
		char *s = report_next_line(&p, end);
		line++;
		/* The header, and blank lines, are not rows; a NUL cuts a line. */
		if (line == 1 || report_blank(s, strlen(s)))
			continue;
		struct report_row *row = &r->row[r->n++];
		row->line = line;
		report_split_fields(s, row->field, REPORT_COLUMNS);
		const char *codes = row->field[REPORT_COL_CODES];
		report_codes_parse(codes, strlen(codes), &row->codes);
	}
	return 0;
}

void report_release(struct report *r)
{
	free(r->text);
	free(r->row);
	memset(r, 0, sizeof(*r));
}

/* The growing output of report_normalize(). */
struct report_out {
	char *buf;
	size_t len, cap;
};

static int report_out_add(struct report_out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		while (cap < o->len + n + 1)
			cap *= 2;
		char *grown = realloc(o->buf, cap);
		if (!grown)
			return -1;
		o->buf = grown;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
	return 0;
}

/* Shows at most 40 bytes of s in an error message, cut on a character. */
static int report_shown(const char *s, size_t n)
{
	if (n <= 40)
		return (int)n;
	n = 40;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return (int)n;
}

/* What a spreadsheet does to a report opened as CSV, and where to start
 * from instead: the end of the messages that refuse such a file. */
#define REPORT_HINT_EXCEL "ouvrez plutôt le rapport téléchargé en Excel (« Télécharger " \
	"(Excel) »), dont les cellules restent du texte, corrigez-le, puis enregistrez-le " \
	"en CSV (séparateur « ; », UTF-8)"

/* The codes that only a line that passed validation (SPEC §3: the first
 * rule that fails gives the single code) can have: its birth date was a
 * real JJ/MM/AAAA date (rule 07 passed: codes 02 to 06, 08, 09, 10) and its
 * INSEE code a commune's, 5 characters (rule 08 passed too: 02 to 05, 09,
 * 10). */
#define REPORT_DATE_CHECKED  (UINT32_C(0x1f) << 2 | UINT32_C(1) << 8 | UINT32_C(1) << 9 | \
			      UINT32_C(1) << 10)
#define REPORT_INSEE_CHECKED (UINT32_C(0xf) << 2 | UINT32_C(1) << 9 | UINT32_C(1) << 10)

/* 1 when the n bytes of s are an INSEE commune code: 5 digits or capital
 * letters ("08249", "2A004"). */
static int report_insee_shape(const char *s, size_t n)
{
	if (n != 5)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')))
			return 0;
	return 1;
}

/* 1 when the n bytes of s are a real date written JJ/MM/AAAA. */
static int report_date_shape(const char *s, size_t n)
{
	char date[16];
	long days;
	if (n >= sizeof(date))
		return 0;
	memcpy(date, s, n);
	date[n] = '\0';
	return date_parse(date, &days) == 0;
}

/* Undoes standard CSV quoting in the line s (len bytes): writes its fields
 * into out (len + 1 bytes at least), joined by ';', each field wholly in
 * double quotes written without them, a doubled quote inside as one. A
 * field that opens a quote and does not close it at its end is written as
 * it is (a '"' is an ordinary character in a report). Returns the length
 * written (NUL-terminated) with *quoted set when a field was unquoted; or
 * -1 with *bad the 1-based field whose quotes hold a ';', which no field of
 * a report holds. */
static long report_unquote(const char *s, size_t len, char *out, int *quoted, size_t *bad)
{
	size_t i = 0, o = 0;
	for (size_t field = 1;; field++) {
		int done = 0;
		if (i < len && s[i] == '"') {
			size_t j = i + 1, w = o, semi = 0;
			while (j < len) {
				if (s[j] == '"' && j + 1 < len && s[j + 1] == '"') {
					out[w++] = '"';
					j += 2;
				} else if (s[j] == '"') {
					break;
				} else {
					semi += s[j] == ';';
					out[w++] = s[j++];
				}
			}
			if (j < len && (j + 1 == len || s[j + 1] == ';')) {
				if (semi) {
					*bad = field;
					return -1;
				}
				*quoted = 1;
				o = w;
				i = j + 1;
				done = 1;
			}
		}
		if (!done)
			while (i < len && s[i] != ';')
				out[o++] = s[i++];
		if (i >= len)
			break;
		out[o++] = s[i++]; /* the ';' */
	}
	out[o] = '\0';
	return (long)o;
}

char *report_normalize(const char *data, size_t len, size_t *out_len,
		       struct report_normalized *what,
		       char *errstr, size_t errstr_size)
{
	struct report_normalized w = { 0 };
	struct report_out o = { NULL, 0, 0 };
	char *text = NULL; /* one decoded line */
	char *raw = NULL;  /* the same before unquoting */
	size_t text_cap = 0;
	unsigned long line = 0;
	int header_seen = 0;
	if (len == 0) {
		snprintf(errstr, errstr_size, "le fichier est vide");
		return NULL;
	}
	const char *nul = memchr(data, '\0', len);
	if (nul) {
		unsigned long at = 1;
		for (const char *q = data; q < nul; q++)
			at += *q == '\n';
		snprintf(errstr, errstr_size, "la ligne %lu contient un octet nul : "
			 "ce n'est pas un fichier texte", at);
		return NULL;
	}
	size_t pos = 0;
	if (len >= 3 && memcmp(data, REPORT_BOM, 3) == 0) {
		w.had_bom = 1;
		pos = 3;
	}
	if (report_out_add(&o, REPORT_BOM, 3) < 0)
		goto oom;
	while (pos < len) {
		const char *start = data + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;
		pos += n + (nl ? 1 : 0);
		line++;
		if (n > 0 && start[n - 1] == '\r')
			n--;
		else if (nl)
			w.lf = 1;
		if (memchr(start, '\r', n)) {
			snprintf(errstr, errstr_size,
				 "la ligne %lu contient un retour chariot au milieu", line);
			goto fail;
		}
		if (3 * n + 1 > text_cap) {
			char *grown = realloc(text, 3 * n + 1);
			if (!grown)
				goto oom;
			text = grown;
			grown = realloc(raw, 3 * n + 1);
			if (!grown)
				goto oom;
			raw = grown;
			text_cap = 3 * n + 1;
		}
		int cp1252 = 0;
		size_t rlen = reader_decode_bytes((const unsigned char *)start, n, 0, raw,
						  &cp1252);
		w.windows_1252 |= cp1252;
		/* A spreadsheet may quote every text field (LibreOffice's « Mettre
		 * entre guillemets toutes les cellules texte »): standard CSV. */
		size_t bad = 0;
		long unquoted = report_unquote(raw, rlen, text, &w.quoted, &bad);
		if (unquoted < 0) {
			snprintf(errstr, errstr_size,
				 "ligne %lu : la colonne %zu, entre guillemets, contient un "
				 "« ; », ce qu'aucun champ d'un rapport ne contient", line, bad);
			goto fail;
		}
		size_t tlen = (size_t)unquoted;
		if (report_blank(text, tlen)) {
			w.blank++;
			continue;
		}
		if (!header_seen) {
			size_t hlen = strlen(REPORT_HEADER);
			if (tlen == hlen + strlen(REPORT_XLSX_EXTRA) &&
			    memcmp(text, REPORT_HEADER REPORT_XLSX_EXTRA, tlen) == 0) {
				/* Saved from the XLSX: its two last columns go. */
				w.xlsx_columns = 1;
				tlen = hlen;
			} else if (tlen != hlen || memcmp(text, REPORT_HEADER, tlen) != 0) {
				snprintf(errstr, errstr_size,
					 "la ligne %lu n'est pas l'en-tête d'un rapport « %s »",
					 line, REPORT_HEADER);
				goto fail;
			}
			header_seen = 1;
		} else {
			int want = w.xlsx_columns ? REPORT_XLSX_COLUMNS : REPORT_COLUMNS;
			size_t fields = 1;
			/* Where each of the 7 fields starts, and where the 8th would
			 * (one past the ';' that ends the 7th). */
			size_t at[REPORT_COLUMNS + 1] = { 0 };
			for (size_t i = 0; i < tlen; i++) {
				if (text[i] == ';') {
					if (fields < REPORT_COLUMNS + 1)
						at[fields] = i + 1;
					fields++;
				}
			}
			if (fields != (size_t)want) {
				snprintf(errstr, errstr_size,
					 "la ligne %lu a %zu colonnes au lieu de %d", line,
					 fields, want);
				goto fail;
			}
			if (fields > REPORT_COLUMNS)
				tlen = at[REPORT_COLUMNS] - 1;
			else
				at[REPORT_COLUMNS] = tlen + 1;
			/* Field k is the at[k+1] - 1 - at[k] bytes at text + at[k]. */
			const char *last = text + at[REPORT_COL_CODES];
			size_t clen = at[REPORT_COL_CODES + 1] - 1 - at[REPORT_COL_CODES];
			struct report_codes codes;
			if (report_codes_parse(last, clen, &codes) < 0) {
				snprintf(errstr, errstr_size,
					 "ligne %lu : « %.*s » n'est pas une suite de codes retour "
					 "comme 05 ou 05/05/04 (un tableur a pu retirer les zéros "
					 "ou en faire une date : " REPORT_HINT_EXCEL ")",
					 line, report_shown(last, clen), last);
				goto fail;
			}
			const char *birth = text + at[REPORT_COL_NAISSANCE];
			size_t blen = at[REPORT_COL_NAISSANCE + 1] - 1 - at[REPORT_COL_NAISSANCE];
			if (!(codes.mask & ~REPORT_DATE_CHECKED) &&
			    !report_date_shape(birth, blen)) {
				snprintf(errstr, errstr_size,
					 "ligne %lu : la date de naissance « %.*s » n'est pas une "
					 "date JJ/MM/AAAA (un tableur a pu la convertir : "
					 REPORT_HINT_EXCEL ")", line, report_shown(birth, blen),
					 birth);
				goto fail;
			}
			const char *insee = text + at[REPORT_COL_INSEE];
			size_t ilen = at[REPORT_COL_INSEE + 1] - 1 - at[REPORT_COL_INSEE];
			if (!(codes.mask & ~REPORT_INSEE_CHECKED) &&
			    !report_insee_shape(insee, ilen)) {
				snprintf(errstr, errstr_size,
					 "ligne %lu : le code INSEE « %.*s » n'a pas 5 caractères "
					 "comme 08249 ou 2A004 (un tableur a pu retirer le zéro du "
					 "début : " REPORT_HINT_EXCEL ")", line,
					 report_shown(insee, ilen), insee);
				goto fail;
			}
			w.rows++;
		}
		if (report_out_add(&o, text, tlen) < 0 || report_out_add(&o, REPORT_EOL, 2) < 0)
			goto oom;
	}
	if (!header_seen) {
		snprintf(errstr, errstr_size, "le fichier n'a que des lignes vides");
		goto fail;
	}
	free(text);
	free(raw);
	*out_len = o.len;
	if (what)
		*what = w;
	return o.buf;
oom:
	snprintf(errstr, errstr_size, "out of memory reading a report of %zu bytes", len);
fail:
	free(text);
	free(raw);
	free(o.buf);
	return NULL;
}
