#include "form.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

struct form_field {
	char *key;
	char *value;
	size_t len, cap;
	char *filename;
};

struct form {
	struct form_field field[FORM_FIELDS];
	size_t n;
	size_t value_max;
	int too_large, malformed;
	struct MHD_PostProcessor *pp; /* multipart; NULL: urlencoded in raw */
	char *raw;
	size_t raw_len;
};

/* The field named key, added when absent (filename may be NULL). */
static struct form_field *form_field_get(struct form *f, const char *key,
					 const char *filename)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->field[i].key, key) == 0)
			return &f->field[i];
	if (f->n == FORM_FIELDS) {
		f->too_large = 1;
		return NULL;
	}
	struct form_field *fd = &f->field[f->n];
	memset(fd, 0, sizeof(*fd));
	fd->key = strdup(key);
	fd->filename = filename ? strdup(filename) : NULL;
	if (!fd->key) {
		free(fd->filename);
		return NULL;
	}
	f->n++;
	return fd;
}

/* Appends n bytes to fd's value. Returns 0 or -1. */
static int form_append(struct form *f, struct form_field *fd, const char *data, size_t n)
{
	if (fd->len + n > f->value_max) {
		f->too_large = 1;
		return -1;
	}
	if (fd->len + n + 1 > fd->cap) {
		size_t cap = fd->cap ? fd->cap : 256;
		while (cap < fd->len + n + 1)
			cap *= 2;
		char *grown = realloc(fd->value, cap);
		if (!grown)
			return -1;
		fd->value = grown;
		fd->cap = cap;
	}
	memcpy(fd->value + fd->len, data, n);
	fd->len += n;
	fd->value[fd->len] = '\0';
	return 0;
}

static enum MHD_Result form_iterate(void *cls, enum MHD_ValueKind kind, const char *key,
				    const char *filename, const char *content_type,
				    const char *transfer_encoding, const char *data,
				    uint64_t off, size_t size)
{
	(void)kind;
	(void)content_type;
	(void)transfer_encoding;
	(void)off;
	struct form *f = cls;
	struct form_field *fd = form_field_get(f, key, filename);
	if (!fd)
		return MHD_NO;
	if (!fd->value && form_append(f, fd, "", 0) < 0)
		return MHD_NO;
	return size == 0 || form_append(f, fd, data, size) == 0 ? MHD_YES : MHD_NO;
}

struct form *form_new(struct MHD_Connection *c, size_t value_max)
{
	const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_CONTENT_TYPE);
	/* No type (an empty POST, say): read as the simplest form. */
	int urlencoded = !type || strncasecmp(type, "application/x-www-form-urlencoded", 33) == 0;
	int multipart = type && strncasecmp(type, "multipart/form-data", 19) == 0;
	if (!urlencoded && !multipart)
		return NULL;
	struct form *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->value_max = value_max;
	if (multipart) {
		f->pp = MHD_create_post_processor(c, 64 * 1024, form_iterate, f);
		if (!f->pp) {
			free(f);
			return NULL;
		}
	}
	return f;
}

int form_feed(struct form *f, const char *data, size_t n)
{
	if (f->too_large || f->malformed)
		return -1;
	if (f->pp) {
		if (MHD_post_process(f->pp, data, n) != MHD_YES) {
			f->malformed = !f->too_large;
			return -1;
		}
		return 0;
	}
	if (f->raw_len + n > FORM_URLENCODED_MAX) {
		f->too_large = 1;
		return -1;
	}
	char *grown = realloc(f->raw, f->raw_len + n + 1);
	if (!grown)
		return -1;
	f->raw = grown;
	memcpy(f->raw + f->raw_len, data, n);
	f->raw_len += n;
	f->raw[f->raw_len] = '\0';
	return 0;
}

static int form_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes '+' and %XX of s in place; returns the decoded length, or
 * (size_t)-1 for a malformed escape. */
static size_t form_unescape(char *s, size_t n)
{
	size_t w = 0;
	for (size_t r = 0; r < n; r++) {
		if (s[r] == '+') {
			s[w++] = ' ';
		} else if (s[r] == '%') {
			if (r + 2 >= n)
				return (size_t)-1;
			int hi = form_hex(s[r + 1]);
			int lo = form_hex(s[r + 2]);
			if (hi < 0 || lo < 0)
				return (size_t)-1;
			s[w++] = (char)(hi * 16 + lo);
			r += 2;
		} else {
			s[w++] = s[r];
		}
	}
	return w;
}

int form_finish(struct form *f)
{
	if (f->too_large || f->malformed)
		return -1;
	if (f->pp || !f->raw)
		return 0;
	char *p = f->raw, *end = f->raw + f->raw_len;
	while (p < end) {
		char *amp = memchr(p, '&', (size_t)(end - p));
		char *stop = amp ? amp : end;
		char *eq = memchr(p, '=', (size_t)(stop - p));
		char *key = p;
		size_t klen = (size_t)((eq ? eq : stop) - p);
		char *val = eq ? eq + 1 : stop;
		size_t vlen = eq ? (size_t)(stop - val) : 0;
		p = amp ? amp + 1 : end;
		if (klen == 0)
			continue;
		klen = form_unescape(key, klen);
		vlen = vlen ? form_unescape(val, vlen) : 0;
		if (klen == (size_t)-1 || vlen == (size_t)-1 || memchr(key, '\0', klen)) {
			f->malformed = 1;
			return -1;
		}
		key[klen] = '\0';
		struct form_field *fd = form_field_get(f, key, NULL);
		if (!fd || (!fd->value && form_append(f, fd, "", 0) < 0) ||
		    form_append(f, fd, val, vlen) < 0)
			return -1;
	}
	return 0;
}

int form_too_large(const struct form *f)
{
	return f->too_large;
}

const char *form_value(const struct form *f, const char *key, size_t *len)
{
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->field[i].key, key) == 0) {
			if (len)
				*len = f->field[i].len;
			return f->field[i].value ? f->field[i].value : "";
		}
	}
	return NULL;
}

const char *form_filename(const struct form *f, const char *key)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->field[i].key, key) == 0)
			return f->field[i].filename;
	return NULL;
}

void form_free(struct form *f)
{
	if (!f)
		return;
	if (f->pp)
		MHD_destroy_post_processor(f->pp);
	for (size_t i = 0; i < f->n; i++) {
		if (f->field[i].value)
			OPENSSL_cleanse(f->field[i].value, f->field[i].cap);
		free(f->field[i].value);
		free(f->field[i].key);
		free(f->field[i].filename);
	}
	if (f->raw)
		OPENSSL_cleanse(f->raw, f->raw_len);
	free(f->raw);
	free(f);
}
