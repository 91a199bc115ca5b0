/* libFuzzer target: an uploaded report, as the editions service takes it
 * (lib/report_format.h): report_normalize() on any bytes, and on what it
 * accepts, the checks that hold for every report it writes: UTF-8 with a
 * BOM, CRLF after every line, the header first, 7 fields and valid codes on
 * every row; normalising it again gives the same bytes; report_parse()
 * reads back as many rows. report_parse() on any bytes too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024];
	struct report r;
	if (report_parse((const char *)data, size, &r, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < r.n; i++)
			for (int c = 0; c < REPORT_COLUMNS; c++)
				if (!r.row[i].field[c])
					abort();
		report_release(&r);
	}

	size_t len = 0;
	struct report_normalized what;
	char *out = report_normalize((const char *)data, size, &len, &what, err, sizeof(err));
	if (!out) {
		if (!err[0])
			abort(); /* a refusal always says why */
		return 0;
	}
	size_t hl = strlen(REPORT_BOM REPORT_HEADER REPORT_EOL);
	if (len < hl || memcmp(out, REPORT_BOM REPORT_HEADER REPORT_EOL, hl) != 0)
		abort();
	if (len < 2 || out[len - 2] != '\r' || out[len - 1] != '\n')
		abort();
	size_t rows = 0;
	for (const char *p = out + hl; p < out + len;) {
		const char *eol = strstr(p, "\r\n");
		if (!eol || memchr(p, '\n', (size_t)(eol - p)) || memchr(p, '\r', (size_t)(eol - p)))
			abort();
		size_t fields = 1;
		const char *last = p;
		for (const char *q = p; q < eol; q++)
			if (*q == ';') {
				fields++;
				last = q + 1;
			}
		struct report_codes codes;
		if (fields != REPORT_COLUMNS || report_codes_parse(last, (size_t)(eol - last), &codes) < 0)
			abort();
		rows++;
		p = eol + 2;
	}
	if (rows != what.rows)
		abort();
	size_t len2 = 0;
	struct report_normalized again;
	char *out2 = report_normalize(out, len, &len2, &again, err, sizeof(err));
	if (!out2 || len2 != len || memcmp(out, out2, len) != 0 || again.windows_1252 ||
	    !again.had_bom || again.lf || again.blank || again.rows != what.rows)
		abort();
	if (report_parse(out, len, &r, err, sizeof(err)) < 0 || r.n != rows)
		abort();
	report_release(&r);
	free(out2);
	free(out);
	return 0;
}
