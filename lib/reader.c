#include "reader.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define READER_CHUNK (64 * 1024)
/* A decoded character is at most 3 bytes per input byte (cp1252 0x80 → €,
 * NUL → U+FFFD). */
#define READER_TEXT_SIZE (3 * READER_MAX_LINE + 1)

struct reader {
	int fd;
	char *path;
	EVP_MD_CTX *sha;
	int eof;
	int started;       /* the BOM check was done */
	int header_seen;   /* the first non-blank line was seen */

	unsigned char chunk[READER_CHUNK];
	size_t pos, end;

	/* The line being read: its first READER_MAX_LINE + 1 bytes (one more
	 * for a CR before the LF), how many bytes it has in all, and whether
	 * every byte so far is a space or a tab. */
	unsigned char raw[READER_MAX_LINE + 1];
	size_t stored;
	uint64_t total;
	unsigned char last_byte;
	int blank;
	int blank_crs;     /* CRs seen while blank: only a final one is a line end */

	uint64_t line;
	char text[READER_TEXT_SIZE];

	struct reader_range *skipped;
	size_t nskipped, skipped_cap;
};

/* Windows-1252 0x80..0x9F; 0 marks the five undefined bytes. 0xA0..0xFF are
 * the same code points as Latin-1. */
static const uint16_t reader_cp1252[32] = {
	0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,
	0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,
};

struct reader *reader_open(const char *path, char *errstr, size_t errstr_size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(errstr, errstr_size, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(errstr, errstr_size, "cannot read '%s': %s", path, strerror(EISDIR));
		close(fd);
		return NULL;
	}
	struct reader *r = calloc(1, sizeof(*r));
	if (r) {
		r->path = strdup(path);
		r->sha = EVP_MD_CTX_new();
	}
	if (!r || !r->path || !r->sha ||
	    EVP_DigestInit_ex(r->sha, EVP_sha256(), NULL) != 1) {
		snprintf(errstr, errstr_size, "cannot read '%s': out of memory", path);
		close(fd);
		if (r) {
			EVP_MD_CTX_free(r->sha);
			free(r->path);
			free(r);
		}
		return NULL;
	}
	r->fd = fd;
	r->blank = 1;
	return r;
}

void reader_close(struct reader *r)
{
	if (!r)
		return;
	close(r->fd);
	EVP_MD_CTX_free(r->sha);
	free(r->skipped);
	free(r->path);
	free(r);
}

/* Appends to the chunk what read() gives. Returns the number of bytes added
 * (0 at the end of the file) or -1. */
static ssize_t reader_fill(struct reader *r, char *errstr, size_t errstr_size)
{
	if (r->pos == r->end)
		r->pos = r->end = 0;
	for (;;) {
		ssize_t n = read(r->fd, r->chunk + r->end, READER_CHUNK - r->end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(errstr, errstr_size, "cannot read '%s': %s", r->path,
				 strerror(errno));
			return -1;
		}
		if (n == 0)
			r->eof = 1;
		else
			EVP_DigestUpdate(r->sha, r->chunk + r->end, (size_t)n);
		r->end += (size_t)n;
		return n;
	}
}

/* Skips a UTF-8 byte order mark at the very start of the file, which a short
 * first read() may split. */
static int reader_start(struct reader *r, char *errstr, size_t errstr_size)
{
	static const unsigned char bom[3] = { 0xEF, 0xBB, 0xBF };

	while (!r->eof && r->end - r->pos < sizeof(bom)) {
		if (reader_fill(r, errstr, errstr_size) < 0)
			return -1;
	}
	if (r->end - r->pos >= sizeof(bom) && memcmp(r->chunk + r->pos, bom, sizeof(bom)) == 0)
		r->pos += sizeof(bom);
	r->started = 1;
	return 0;
}

/* Adds bytes of the current line: kept up to the bound, counted always. */
static void reader_take(struct reader *r, const unsigned char *p, size_t n)
{
	if (n == 0)
		return;
	size_t room = sizeof(r->raw) - r->stored;
	memcpy(r->raw + r->stored, p, n < room ? n : room);
	r->stored += n < room ? n : room;
	for (size_t i = 0; r->blank && i < n; i++) {
		r->blank = p[i] == ' ' || p[i] == '\t' || p[i] == '\r';
		r->blank_crs += p[i] == '\r';
	}
	r->total += n;
	r->last_byte = p[n - 1];
}

/* Length of the valid UTF-8 at p, strictly (no overlong forms, surrogates or
 * code points past U+10FFFF). When allow_cut is set, a sequence that the end
 * of the buffer interrupts counts as the end of the text, not as an error.
 * Returns n when all is valid, else (size_t)-1. */
static size_t reader_utf8_valid(const unsigned char *p, size_t n, int allow_cut)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = p[i];
		size_t len;
		uint32_t v, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			len = 2, v = c & 0x1F, min = 0x80;
		} else if (c >= 0xE0 && c <= 0xEF) {
			len = 3, v = c & 0x0F, min = 0x800;
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 4, v = c & 0x07, min = 0x10000;
		} else {
			return (size_t)-1;
		}
		size_t k = 1;
		for (; k < len && i + k < n; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return (size_t)-1;
			v = (v << 6) | (p[i + k] & 0x3F);
		}
		if (k < len)
			return allow_cut ? i : (size_t)-1;
		if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
			return (size_t)-1;
		i += len;
	}
	return n;
}

static size_t reader_put_cp(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	out[0] = (char)(0xE0 | (cp >> 12));
	out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[2] = (char)(0x80 | (cp & 0x3F));
	return 3;
}

size_t reader_decode_bytes(const unsigned char *in, size_t n, int allow_cut,
			   char *out, int *cp1252)
{
	size_t valid = reader_utf8_valid(in, n, allow_cut);
	size_t len = 0;
	int is_cp1252 = valid == (size_t)-1;
	if (!is_cp1252) {
		for (size_t i = 0; i < valid; i++) {
			if (in[i] == 0)
				len += reader_put_cp(out + len, 0xFFFD);
			else
				out[len++] = (char)in[i];
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			unsigned char c = in[i];
			uint32_t cp = c;
			if (c == 0)
				cp = 0xFFFD;
			else if (c >= 0x80 && c < 0xA0)
				cp = reader_cp1252[c - 0x80] ? reader_cp1252[c - 0x80] : 0xFFFD;
			len += reader_put_cp(out + len, cp);
		}
	}
	out[len] = '\0';
	if (cp1252)
		*cp1252 = is_cp1252;
	return len;
}

/* Turns the kept bytes of the current line into UTF-8 text in r->text. */
static void reader_decode(struct reader *r, struct reader_line *out)
{
	size_t n = r->stored;
	uint64_t content = r->total;

	/* A CR before the LF (or at the end of the file) ends the line too. */
	if (r->last_byte == '\r') {
		content--;
		if (n > content)
			n = (size_t)content;
	}
	out->too_long = content > READER_MAX_LINE;
	if (out->too_long)
		n = READER_MAX_LINE;
	out->len = reader_decode_bytes(r->raw, n, out->too_long, r->text, &out->cp1252);
	out->text = r->text;
}

static int reader_skip(struct reader *r, uint64_t line, char *errstr, size_t errstr_size)
{
	if (r->nskipped > 0 && r->skipped[r->nskipped - 1].last + 1 == line) {
		r->skipped[r->nskipped - 1].last = line;
		return 0;
	}
	if (r->nskipped == r->skipped_cap) {
		size_t cap = r->skipped_cap ? 2 * r->skipped_cap : 16;
		struct reader_range *s = realloc(r->skipped, cap * sizeof(*s));
		if (!s) {
			snprintf(errstr, errstr_size, "cannot read '%s': out of memory", r->path);
			return -1;
		}
		r->skipped = s;
		r->skipped_cap = cap;
	}
	r->skipped[r->nskipped].first = line;
	r->skipped[r->nskipped].last = line;
	r->nskipped++;
	return 0;
}

static int reader_is_header(const char *text)
{
	static const char name[] = "identifiant_sigma";
	const size_t len = sizeof(name) - 1;

	while (*text == ' ' || *text == '\t')
		text++;
	if (strncasecmp(text, name, len) != 0)
		return 0;
	text += len;
	while (*text == ' ' || *text == '\t')
		text++;
	return *text == ';' || *text == '\0';
}

/* Reads the next physical line into r->raw. Returns 1, 0 at the end of the
 * file, -1 on a read error. */
static int reader_line_read(struct reader *r, char *errstr, size_t errstr_size)
{
	r->stored = 0;
	r->total = 0;
	r->last_byte = 0;
	r->blank = 1;
	r->blank_crs = 0;
	for (;;) {
		if (r->pos == r->end) {
			if (r->eof)
				break;
			if (reader_fill(r, errstr, errstr_size) < 0)
				return -1;
			continue;
		}
		const unsigned char *p = r->chunk + r->pos;
		size_t avail = r->end - r->pos;
		const unsigned char *nl = memchr(p, '\n', avail);
		if (nl) {
			reader_take(r, p, (size_t)(nl - p));
			r->pos += (size_t)(nl - p) + 1;
			r->line++;
			return 1;
		}
		reader_take(r, p, avail);
		r->pos = r->end;
	}
	/* The last line of a file that does not end with a newline. */
	if (r->total == 0)
		return 0;
	r->line++;
	return 1;
}

int reader_next(struct reader *r, struct reader_line *out,
		char *errstr, size_t errstr_size)
{
	if (!r->started && reader_start(r, errstr, errstr_size) < 0)
		return -1;
	for (;;) {
		int rc = reader_line_read(r, errstr, errstr_size);
		if (rc <= 0)
			return rc;
		/* Blank: only spaces and tabs, before an optional CR line end. */
		if (r->blank && (r->blank_crs == 0 ||
				 (r->blank_crs == 1 && r->last_byte == '\r'))) {
			if (reader_skip(r, r->line, errstr, errstr_size) < 0)
				return -1;
			continue;
		}
		reader_decode(r, out);
		out->line = r->line;
		if (!r->header_seen) {
			r->header_seen = 1;
			if (reader_is_header(out->text)) {
				if (reader_skip(r, r->line, errstr, errstr_size) < 0)
					return -1;
				continue;
			}
		}
		return 1;
	}
}

const struct reader_range *reader_skipped(const struct reader *r, size_t *count)
{
	*count = r->nskipped;
	return r->skipped;
}

uint64_t reader_last_line(const struct reader *r)
{
	return r->line;
}

void reader_sha256(const struct reader *r, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_MD_CTX *copy = EVP_MD_CTX_new();

	/* Finalise a copy, so that reading can go on. */
	if (!copy || EVP_MD_CTX_copy_ex(copy, r->sha) != 1 ||
	    EVP_DigestFinal_ex(copy, md, &len) != 1)
		len = 0;
	EVP_MD_CTX_free(copy);
	for (unsigned int i = 0; i < len && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[len ? 64 : 0] = '\0';
}
