/* The streaming reader of the week's file (SPEC §2.1): encodings, line ends,
 * blank lines, the header, the 64 KiB bound, the checksum. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reader.h"

#define MAX_LINES 64

static char tmp_path[64];

/* Writes n bytes into a fresh file under /tmp; its path is in tmp_path. */
static const char *write_tmp(const void *data, size_t n)
{
	snprintf(tmp_path, sizeof(tmp_path), "/tmp/aij-test-reader-XXXXXX");
	int fd = mkstemp(tmp_path);
	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	const char *p = data;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		cr_assert_gt(w, 0, "write: %s", strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	close(fd);
	return tmp_path;
}


/* A line as returned, copied out of the reader. */
struct got {
	uint64_t line;
	char *text;
	size_t len;
	int too_long, cp1252;
};

struct result {
	struct got lines[MAX_LINES];
	size_t n;
	uint64_t last_line;
	struct reader_range skipped[MAX_LINES];
	size_t nskipped;
	char sha[65];
};

/* Reads the whole file at path into res. */
static void read_all(const char *path, struct result *res)
{
	char err[256] = "";
	struct reader_line l;
	struct reader *r = reader_open(path, err, sizeof(err));
	cr_assert_not_null(r, "reader_open: %s", err);

	memset(res, 0, sizeof(*res));
	int rc;
	while ((rc = reader_next(r, &l, err, sizeof(err))) == 1) {
		cr_assert_lt(res->n, MAX_LINES);
		cr_assert_eq(strlen(l.text), l.len, "text is a C string of len bytes");
		struct got *g = &res->lines[res->n++];
		g->line = l.line;
		g->text = strdup(l.text);
		g->len = l.len;
		g->too_long = l.too_long;
		g->cp1252 = l.cp1252;
	}
	cr_assert_eq(rc, 0, "reader_next: %s", err);
	cr_assert_eq(reader_next(r, &l, err, sizeof(err)), 0, "still 0 after the end");
	res->last_line = reader_last_line(r);
	size_t ns;
	const struct reader_range *s = reader_skipped(r, &ns);
	cr_assert_leq(ns, MAX_LINES);
	if (ns)
		memcpy(res->skipped, s, ns * sizeof(*s));
	res->nskipped = ns;
	reader_sha256(r, res->sha);
	reader_close(r);
}

static void result_release(struct result *res)
{
	for (size_t i = 0; i < res->n; i++)
		free(res->lines[i].text);
	res->n = 0;
}

static struct result last_res;

static struct result *read_bytes(const void *data, size_t n)
{
	result_release(&last_res);
	read_all(write_tmp(data, n), &last_res);
	unlink(tmp_path);
	tmp_path[0] = '\0';
	return &last_res;
}

static void remove_tmp(void)
{
	if (tmp_path[0])
		unlink(tmp_path);
}

static void cleanup(void)
{
	remove_tmp();
	result_release(&last_res);
}

TestSuite(reader, .fini = cleanup);

#define READ_STR(s) read_bytes((s), sizeof(s) - 1)

static void expect_line(const struct result *res, size_t i, uint64_t line,
			const char *text)
{
	cr_assert_lt(i, res->n, "line #%zu missing (%zu read)", i, res->n);
	cr_expect_eq(res->lines[i].line, line, "record %zu: line %llu, want %llu", i,
		     (unsigned long long)res->lines[i].line, (unsigned long long)line);
	cr_expect_str_eq(res->lines[i].text, text, "record %zu", i);
}

static void expect_skipped(const struct result *res, size_t i, uint64_t first,
			   uint64_t last)
{
	cr_assert_lt(i, res->nskipped, "skipped range #%zu missing", i);
	cr_expect_eq(res->skipped[i].first, first, "range %zu first", i);
	cr_expect_eq(res->skipped[i].last, last, "range %zu last", i);
}

Test(reader, lf_lines_and_numbers)
{
	struct result *res = READ_STR("a;b\nc;d\ne\n");
	cr_assert_eq(res->n, 3);
	expect_line(res, 0, 1, "a;b");
	expect_line(res, 1, 2, "c;d");
	expect_line(res, 2, 3, "e");
	cr_expect_eq(res->last_line, 3);
	cr_expect_eq(res->nskipped, 0);
	cr_expect_eq(res->lines[0].cp1252, 0);
	cr_expect_eq(res->lines[0].too_long, 0);
}

Test(reader, crlf)
{
	struct result *res = READ_STR("a;b\r\nc;d\r\n\r\ne\r\n");
	cr_assert_eq(res->n, 3);
	expect_line(res, 0, 1, "a;b");
	expect_line(res, 1, 2, "c;d");
	expect_line(res, 2, 4, "e");
	expect_skipped(res, 0, 3, 3);
	cr_expect_eq(res->last_line, 4);
}

Test(reader, lone_cr_inside_a_line_is_kept)
{
	struct result *res = READ_STR("a\rb\r\n");
	cr_assert_eq(res->n, 1);
	expect_line(res, 0, 1, "a\rb");
}

Test(reader, no_final_newline)
{
	struct result *res = READ_STR("a\nb");
	cr_assert_eq(res->n, 2);
	expect_line(res, 1, 2, "b");
	cr_expect_eq(res->last_line, 2);

	res = READ_STR("a\r\nb\r");
	cr_assert_eq(res->n, 2);
	expect_line(res, 1, 2, "b");
}

Test(reader, blank_lines_skipped_but_counted)
{
	struct result *res = READ_STR("\na\n\n \t\nb\n\r\n\t\nc\n\n");
	cr_assert_eq(res->n, 3);
	expect_line(res, 0, 2, "a");
	expect_line(res, 1, 5, "b");
	expect_line(res, 2, 8, "c");
	cr_expect_eq(res->last_line, 9);
	cr_assert_eq(res->nskipped, 4);
	expect_skipped(res, 0, 1, 1);
	expect_skipped(res, 1, 3, 4);
	expect_skipped(res, 2, 6, 7);
	expect_skipped(res, 3, 9, 9);
}

Test(reader, a_cr_inside_is_not_blank)
{
	/* Only a CR that ends the line is a line end: " \r " is text. */
	struct result *res = READ_STR(" \r \n\r\r\n \r\n");
	cr_assert_eq(res->n, 2);
	expect_line(res, 0, 1, " \r ");
	expect_line(res, 1, 2, "\r");
	cr_assert_eq(res->nskipped, 1);
	expect_skipped(res, 0, 3, 3);
}

Test(reader, bom_skipped)
{
	struct result *res = READ_STR("\xEF\xBB\xBF" "a;b\nc\n");
	cr_assert_eq(res->n, 2);
	expect_line(res, 0, 1, "a;b");
	cr_expect_eq(res->lines[0].cp1252, 0);

	/* Only at the very start: elsewhere it is text (U+FEFF). */
	res = READ_STR("a\n\xEF\xBB\xBF" "b\n");
	expect_line(res, 1, 2, "\xEF\xBB\xBF" "b");

	/* A file that is only a BOM has no line. */
	res = READ_STR("\xEF\xBB\xBF");
	cr_expect_eq(res->n, 0);
	cr_expect_eq(res->last_line, 0);
}

Test(reader, header_any_case)
{
	static const char *headers[] = {
		"identifiant_sigma;code_regional;identifiant_pe",
		"IDENTIFIANT_SIGMA;CODE_REGIONAL",
		"Identifiant_Sigma",
		"  identifiant_SIGMA\t;x",
	};
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		char buf[256];
		int n = snprintf(buf, sizeof(buf), "%s\r\nS1;a\n", headers[i]);
		struct result *res = read_bytes(buf, (size_t)n);
		cr_assert_eq(res->n, 1, "header '%s'", headers[i]);
		expect_line(res, 0, 2, "S1;a");
		cr_assert_eq(res->nskipped, 1);
		expect_skipped(res, 0, 1, 1);
		remove_tmp();
	}
}

Test(reader, header_after_bom_and_blank_lines)
{
	struct result *res = READ_STR("\xEF\xBB\xBF\n  \nidentifiant_sigma;x\nS1;a\n");
	cr_assert_eq(res->n, 1);
	expect_line(res, 0, 4, "S1;a");
	cr_assert_eq(res->nskipped, 1);
	expect_skipped(res, 0, 1, 3);
}

Test(reader, header_only_first_non_blank_line)
{
	/* A header-like line later on is a record (it will fail validation). */
	struct result *res = READ_STR("S1;a\nidentifiant_sigma;x\n");
	cr_assert_eq(res->n, 2);
	expect_line(res, 1, 2, "identifiant_sigma;x");

	/* A first field that only starts with the name is no header. */
	res = READ_STR("identifiant_sigma2;x\n");
	cr_assert_eq(res->n, 1);
}

Test(reader, file_of_only_a_header)
{
	struct result *res = READ_STR("identifiant_sigma;code_regional\n");
	cr_expect_eq(res->n, 0);
	cr_expect_eq(res->last_line, 1);
	expect_skipped(res, 0, 1, 1);
}

Test(reader, empty_file)
{
	struct result *res = read_bytes("", 0);
	cr_expect_eq(res->n, 0);
	cr_expect_eq(res->last_line, 0);
	cr_expect_eq(res->nskipped, 0);
	cr_expect_str_eq(res->sha,
			 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

Test(reader, windows_1252)
{
	/* LEFÈVRE with È as the single byte 0xC8. */
	struct result *res = READ_STR("S1;LEF\xC8VRE;Ren\xE9" "e\r\nS2;DUPONT\r\n");
	cr_assert_eq(res->n, 2);
	expect_line(res, 0, 1, "S1;LEF\xC3\x88VRE;Ren\xC3\xA9" "e");
	cr_expect_eq(res->lines[0].cp1252, 1);
	expect_line(res, 1, 2, "S2;DUPONT");
	cr_expect_eq(res->lines[1].cp1252, 0, "an ASCII line is UTF-8");
}

Test(reader, windows_1252_table)
{
	/* 0x80 €, 0x8C Œ, 0x9C œ, 0x9F Ÿ, 0x8A Š, 0x92 ’, 0xA0 no-break space,
	 * 0xFF ÿ; 0x81 0x8D 0x8F 0x90 0x9D are undefined: U+FFFD. */
	struct result *res = READ_STR("\x80\x8C\x9C\x9F\x8A\x92\xA0\xFF|\x81\x8D\x8F\x90\x9D\n");
	cr_assert_eq(res->n, 1);
	expect_line(res, 0, 1,
		    "\xE2\x82\xAC\xC5\x92\xC5\x93\xC5\xB8\xC5\xA0\xE2\x80\x99\xC2\xA0\xC3\xBF|"
		    "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	cr_expect_eq(res->lines[0].cp1252, 1);
}

Test(reader, utf8_and_windows_1252_mixed_per_line)
{
	struct result *res = READ_STR("LEF\xC3\x88VRE\nLEF\xC8VRE\n");
	cr_assert_eq(res->n, 2);
	expect_line(res, 0, 1, "LEF\xC3\x88VRE");
	expect_line(res, 1, 2, "LEF\xC3\x88VRE");
	cr_expect_eq(res->lines[0].cp1252, 0);
	cr_expect_eq(res->lines[1].cp1252, 1);
}

Test(reader, invalid_utf8_forms_are_windows_1252)
{
	/* Overlong, surrogate, truncated sequence, past U+10FFFF. */
	static const char *bad[] = { "\xC0\xAF", "\xED\xA0\x80", "\xC3", "\xF4\x90\x80\x80" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "x%sy\n", bad[i]);
		struct result *res = read_bytes(buf, (size_t)n);
		cr_assert_eq(res->n, 1);
		cr_expect_eq(res->lines[0].cp1252, 1, "case %zu", i);
		remove_tmp();
	}
	struct result *res = READ_STR("\xF0\x9F\x98\x80\n"); /* U+1F600 is fine */
	cr_expect_eq(res->lines[0].cp1252, 0);
}

Test(reader, nul_bytes)
{
	struct result *res = read_bytes("a\0b;\0\nc\n", 8);
	cr_assert_eq(res->n, 2);
	expect_line(res, 0, 1, "a\xEF\xBF\xBD" "b;\xEF\xBF\xBD");
	cr_expect_eq(res->lines[0].len, 9);
	cr_expect_eq(res->lines[0].cp1252, 0);
	expect_line(res, 1, 2, "c");

	res = read_bytes("\xC8\0\n", 3);
	expect_line(res, 0, 1, "\xC3\x88\xEF\xBF\xBD");
}

/* reader_decode_bytes() on its own, as the editions service decodes an
 * uploaded report with it: the same results as through a file. */
Test(reader, decode_bytes)
{
	char out[64];
	int cp = -1;
	cr_expect_eq(reader_decode_bytes((const unsigned char *)"Pr\xC3\xA9nom", 7, 0, out, &cp), 7);
	cr_expect_str_eq(out, "Pr\xC3\xA9nom");
	cr_expect_eq(cp, 0);
	cr_expect_eq(reader_decode_bytes((const unsigned char *)"Pr\xE9nom;\x80", 8, 0, out, &cp), 11);
	cr_expect_str_eq(out, "Pr\xC3\xA9nom;\xE2\x82\xAC");
	cr_expect_eq(cp, 1);
	cr_expect_eq(reader_decode_bytes((const unsigned char *)"", 0, 0, out, NULL), 0);
	cr_expect_str_eq(out, "");
	/* A sequence cut by the end: Windows-1252, unless allow_cut drops it. */
	cr_expect_eq(reader_decode_bytes((const unsigned char *)"ab\xC3", 3, 0, out, &cp), 4);
	cr_expect_str_eq(out, "ab\xC3\x83");
	cr_expect_eq(reader_decode_bytes((const unsigned char *)"ab\xC3", 3, 1, out, &cp), 2);
	cr_expect_str_eq(out, "ab");
	cr_expect_eq(cp, 0);
	/* The worst case, 3 bytes out for each byte in. */
	cr_expect_eq(reader_decode_bytes((const unsigned char *)"\x80\x80", 2, 0, out, NULL), 6);
}

/* Reads a file of one line, fill repeated len times and ended by end, then
 * the line "next". */
static struct result *read_long(size_t len, const char *end, const char *fill)
{
	size_t fl = strlen(fill), el = strlen(end);
	size_t total = len * fl + el + 6;
	char *buf = malloc(total);
	cr_assert_not_null(buf);
	for (size_t i = 0; i < len; i++)
		memcpy(buf + i * fl, fill, fl);
	memcpy(buf + len * fl, end, el);
	memcpy(buf + len * fl + el, "next\n", 5);
	struct result *res = read_bytes(buf, total - 1);
	free(buf);
	return res;
}

Test(reader, line_at_the_bound_is_kept)
{
	struct result *res = read_long(READER_MAX_LINE, "\n", "x");
	cr_assert_eq(res->n, 2);
	cr_expect_eq(res->lines[0].too_long, 0);
	cr_expect_eq(res->lines[0].len, READER_MAX_LINE);
	expect_line(res, 1, 2, "next");
	remove_tmp();

	/* The CR of a CRLF does not count. */
	res = read_long(READER_MAX_LINE, "\r\n", "x");
	cr_expect_eq(res->lines[0].too_long, 0);
	cr_expect_eq(res->lines[0].len, READER_MAX_LINE);
	expect_line(res, 1, 2, "next");
}

Test(reader, line_of_64_kib_plus_one)
{
	struct result *res = read_long(READER_MAX_LINE + 1, "\n", "x");
	cr_assert_eq(res->n, 2);
	cr_expect_eq(res->lines[0].line, 1);
	cr_expect_eq(res->lines[0].too_long, 1);
	cr_expect_eq(res->lines[0].len, READER_MAX_LINE);
	cr_expect_eq(res->lines[1].too_long, 0);
	expect_line(res, 1, 2, "next");
	cr_expect_eq(res->last_line, 2);
	remove_tmp();

	res = read_long(READER_MAX_LINE + 1, "\r\n", "x");
	cr_expect_eq(res->lines[0].too_long, 1);
	expect_line(res, 1, 2, "next");
}

Test(reader, long_line_cut_on_a_character_boundary)
{
	/* 2-byte characters from offset 1: the bound falls inside one. */
	size_t n = READER_MAX_LINE;
	char *buf = malloc(n + 16);
	cr_assert_not_null(buf);
	buf[0] = 'x';
	for (size_t i = 1; i + 1 < n + 10; i += 2)
		memcpy(buf + i, "\xC3\xA9", 2);
	size_t len = 1 + ((n + 10 - 1) / 2) * 2;
	buf[len] = '\n';
	struct result *res = read_bytes(buf, len + 1);
	free(buf);
	cr_assert_eq(res->n, 1);
	cr_expect_eq(res->lines[0].too_long, 1);
	cr_expect_eq(res->lines[0].cp1252, 0, "still UTF-8 after the cut");
	cr_expect_eq(res->lines[0].len, READER_MAX_LINE - 1, "the cut character is left out");
	remove_tmp();

	/* A Windows-1252 line: every byte is a character, decoded. */
	res = read_long(READER_MAX_LINE + 100, "\n", "\xE9");
	cr_expect_eq(res->lines[0].too_long, 1);
	cr_expect_eq(res->lines[0].cp1252, 1);
	cr_expect_eq(res->lines[0].len, 2 * READER_MAX_LINE);
	expect_line(res, 1, 2, "next");
}

Test(reader, many_long_lines_and_chunk_edges)
{
	/* Lines of every length around the read size, checked one by one. */
	static const size_t lens[] = { 1, 65535, 65536, 65537, 131072, 3, 200000, 0, 65534 };
	size_t nl = sizeof(lens) / sizeof(lens[0]), total = 0;
	for (size_t i = 0; i < nl; i++)
		total += lens[i] + 1;
	char *buf = malloc(total);
	cr_assert_not_null(buf);
	size_t off = 0;
	for (size_t i = 0; i < nl; i++) {
		memset(buf + off, 'a' + (int)i, lens[i]);
		off += lens[i];
		buf[off++] = '\n';
	}
	struct result *res = read_bytes(buf, total);

	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	cr_assert_eq(EVP_Digest(buf, total, md, &mdlen, EVP_sha256(), NULL), 1);
	char hex[65];
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	cr_expect_str_eq(res->sha, hex, "sha256 of every byte");
	free(buf);

	cr_assert_eq(res->n, nl - 1, "the empty line is skipped");
	size_t k = 0;
	for (size_t i = 0; i < nl; i++) {
		if (lens[i] == 0) {
			expect_skipped(res, 0, i + 1, i + 1);
			continue;
		}
		const struct got *g = &res->lines[k++];
		cr_expect_eq(g->line, i + 1);
		cr_expect_eq(g->too_long, lens[i] > READER_MAX_LINE, "line %zu", i + 1);
		size_t want = lens[i] > READER_MAX_LINE ? READER_MAX_LINE : lens[i];
		cr_expect_eq(g->len, want, "line %zu", i + 1);
		cr_expect_eq(g->text[0], 'a' + (int)i);
		cr_expect_eq(g->text[g->len - 1], 'a' + (int)i);
	}
}

Test(reader, sha256_of_the_file)
{
	struct result *res = READ_STR("a;b\n");
	cr_expect_str_eq(res->sha,
			 "9a8be2eb1604c06722f17a9bbdb1160123efa0dcf87979013ead941593977af2");
}

/* The writer of the FIFO: a 1 GiB line, then "S2;after". NULL when all was
 * written, else what failed. */
static void *fifo_writer(void *arg)
{
	const char *path = arg;
	static char block[1 << 20];
	memset(block, 'x', sizeof(block));
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return "open";
	for (int i = 0; i < 1024; i++) {
		size_t off = 0;
		while (off < sizeof(block)) {
			ssize_t w = write(fd, block + off, sizeof(block) - off);
			if (w <= 0) {
				close(fd);
				return "write";
			}
			off += (size_t)w;
		}
	}
	int ok = write(fd, "\nS2;after\n", 10) == 10;
	close(fd);
	return ok ? NULL : "write";
}

/* A 1 GiB line through a FIFO (written by a thread of the test): read with
 * bounded memory, code 01, and the next line still comes with its number. */
Test(reader, one_gib_line_bounded_memory, .timeout = 120)
{
	char dir[] = "/tmp/aij-test-reader-fifo-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/week", dir);
	cr_assert_eq(mkfifo(path, 0600), 0, "mkfifo: %s", strerror(errno));

	pthread_t writer;
	cr_assert_eq(pthread_create(&writer, NULL, fifo_writer, path), 0);

	struct result res;
	read_all(path, &res);
	void *failed;
	cr_assert_eq(pthread_join(writer, &failed), 0);
	cr_expect_null(failed, "writer failed: %s", failed ? (const char *)failed : "");
	unlink(path);
	rmdir(dir);

	cr_assert_eq(res.n, 2);
	cr_expect_eq(res.lines[0].too_long, 1);
	cr_expect_eq(res.lines[0].len, READER_MAX_LINE);
	expect_line(&res, 1, 2, "S2;after");

	struct rusage ru;
	cr_assert_eq(getrusage(RUSAGE_SELF, &ru), 0);
	/* ru_maxrss is in KiB; sanitizer builds carry their own overhead. */
	cr_expect_lt(ru.ru_maxrss, 256 * 1024, "peak RSS %ld KiB", ru.ru_maxrss);
	result_release(&res);
}

Test(reader, missing_file)
{
	char err[256] = "";
	struct reader *r = reader_open("/nonexistent/week.txt", err, sizeof(err));
	cr_expect_null(r);
	cr_expect_str_eq(err, "cannot open '/nonexistent/week.txt': No such file or directory");
}

Test(reader, directory_is_not_a_file)
{
	char err[256] = "";
	struct reader *r = reader_open("/tmp", err, sizeof(err));
	cr_expect_null(r);
	cr_expect_str_eq(err, "cannot read '/tmp': Is a directory");
}

Test(reader, close_null)
{
	reader_close(NULL);
}
