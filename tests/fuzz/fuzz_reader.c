/* libFuzzer target: the week's file reader, then the splitter and the
 * validator on every line it returns (the path ingest takes for each line).
 *
 * The input becomes a file's whole content through a memfd, so reader_open
 * reads it exactly as it reads a real file (no change to the reader). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "reader.h"
#include "record.h"

/* Aborts (a finding) when s is not strict UTF-8 of exactly len bytes. */
static void fuzz_check_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	if (strlen(s) != len)
		abort();
	while (i < len) {
		unsigned char c = p[i];
		size_t n = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 :
			   c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
		if (n == 0 || i + n > len)
			abort();
		for (size_t k = 1; k < n; k++)
			if ((p[i + k] & 0xC0) != 0x80)
				abort();
		i += n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[256];
	int fd = memfd_create("fuzz-week", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	for (size_t off = 0; off < size;) {
		ssize_t w = write(fd, data + off, size - off);
		if (w <= 0)
			abort();
		off += (size_t)w;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct reader *r = reader_open(path, err, sizeof(err));
	close(fd); /* the reader has its own descriptor */
	if (!r)
		abort();

	struct reader_line l;
	uint64_t prev = 0;
	int rc;
	while ((rc = reader_next(r, &l, err, sizeof(err))) == 1) {
		fuzz_check_utf8(l.text, l.len);
		if (l.line <= prev || l.len > 3 * (size_t)READER_MAX_LINE)
			abort();
		prev = l.line;

		char *copy = strdup(l.text);
		struct record_fields f;
		if (!copy)
			abort();
		record_split(copy, &f);
		for (size_t i = 0; i < RECORD_FIELDS; i++)
			if (!f.field[i] || (i >= f.count && *f.field[i]))
				abort();
		enum record_code code = record_validate(&f, l.too_long, NULL);
		if (code != CODE_OK && code != CODE_COLUMNS && code != CODE_MANDATORY &&
		    code != CODE_DATES && code != CODE_INSEE && code != CODE_MOTIF)
			abort();
		if ((l.too_long || f.count != RECORD_FIELDS) && code != CODE_COLUMNS)
			abort();
		free(copy);
	}
	if (rc != 0)
		abort();
	size_t ns;
	const struct reader_range *sk = reader_skipped(r, &ns);
	for (size_t i = 0; i < ns; i++)
		if (sk[i].first > sk[i].last || sk[i].last > reader_last_line(r) ||
		    (i > 0 && sk[i].first <= sk[i - 1].last + 1))
			abort();
	char hex[65];
	reader_sha256(r, hex);
	if (strlen(hex) != 64)
		abort();
	reader_close(r);
	return 0;
}
