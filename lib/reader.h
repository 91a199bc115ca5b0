/* Streaming reader of the week's dispositifs file (SPEC §2.1).
 *
 * Memory is bounded by the line limit, whatever the file's size. Each line is
 * decoded on its own: kept as is when it is valid UTF-8, else decoded from
 * Windows-1252, so a file that mixes both loses nothing. NUL bytes become
 * U+FFFD so that every line is a proper C string. */
#ifndef AIJ_READER_H
#define AIJ_READER_H

#include <stddef.h>
#include <stdint.h>

#define READER_MAX_LINE (64 * 1024) /* longer lines are code 01 (SPEC §3) */

struct reader;

struct reader_line {
	uint64_t line;   /* 1-based physical line number in the file */
	const char *text; /* the line in UTF-8, NUL-terminated, without its line
			     end; owned by the reader, valid until the next call */
	size_t len;
	int too_long;    /* the line exceeded READER_MAX_LINE bytes: text holds
			    its first bytes only (cut on a character boundary),
			    the rest was skipped without being kept */
	int cp1252;      /* the line was not valid UTF-8 and was decoded */
};

struct reader_range {
	uint64_t first, last; /* inclusive physical line numbers */
};

/* Opens path for reading. Returns NULL with errstr set ("cannot open 'x':
 * No such file or directory") on failure. Free with reader_close(). */
struct reader *reader_open(const char *path, char *errstr, size_t errstr_size);

/* Reads the next record line: skips the BOM, blank lines (empty or only
 * spaces and tabs) and the optional header (the first non-blank line whose
 * first trimmed field is "identifiant_sigma", any case).
 * Returns 1 with *out filled, 0 at the end of the file, -1 on a read error
 * (errstr). */
int reader_next(struct reader *r, struct reader_line *out,
		char *errstr, size_t errstr_size);

/* The lines skipped so far (header and blank lines), merged into ranges in
 * increasing order; owned by the reader. */
const struct reader_range *reader_skipped(const struct reader *r, size_t *count);

/* The last physical line number read so far (0 for an empty file). */
uint64_t reader_last_line(const struct reader *r);

/* Hex SHA-256 of every byte read so far (of the whole file once reader_next
 * returned 0). hex must hold 65 bytes. */
void reader_sha256(const struct reader *r, char hex[65]);

/* Decodes the n bytes at in as reader_next() decodes a line: kept as they
 * are when they are valid UTF-8, else decoded from Windows-1252 (the five
 * bytes it leaves undefined become U+FFFD); NUL bytes become U+FFFD. With
 * allow_cut, a UTF-8 sequence that the end of the bytes interrupts is
 * dropped instead of making them Windows-1252 (a line cut at the bound).
 * out must hold 3 * n + 1 bytes: it gets the text, NUL-terminated. Returns
 * its length; *cp1252 (may be NULL) is set when the bytes were not UTF-8. */
size_t reader_decode_bytes(const unsigned char *in, size_t n, int allow_cut,
			   char *out, int *cp1252);

/* Closes the file and frees the reader; NULL is fine. */
void reader_close(struct reader *r);

#endif
