#include "index_keys.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "normalize.h"

static int index_blank(char c)
{
	return c == ' ' || c == '\t';
}

size_t index_key_pe(const char *pe, char *out, size_t out_size)
{
	if (out_size == 0)
		return 0;
	while (index_blank(*pe))
		pe++;
	size_t len = strlen(pe);
	while (len > 0 && index_blank(pe[len - 1]))
		len--;
	if (len > out_size - 1)
		len = out_size - 1;
	for (size_t i = 0; i < len; i++)
		out[i] = (char)toupper((unsigned char)pe[i]);
	out[len] = '\0';
	return len;
}

size_t index_key_ident(const char *nom, const char *prenom, const char *date,
		       char *out, size_t out_size)
{
	/* N(s) is never longer than s: size the parts from the inputs. */
	size_t need = strlen(nom) + strlen(prenom) + strlen(date) + 3;
	if (out_size < need) {
		if (out_size)
			out[0] = '\0';
		return 0;
	}
	size_t n = name_normalize(nom, out, out_size);
	out[n++] = '|';
	n += name_normalize(prenom, out + n, out_size - n);
	out[n++] = '|';
	while (index_blank(*date))
		date++;
	size_t dl = strlen(date);
	while (dl > 0 && index_blank(date[dl - 1]))
		dl--;
	memcpy(out + n, date, dl);
	n += dl;
	out[n] = '\0';
	return n;
}

uint32_t index_key_hash_more(uint32_t h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

uint32_t index_key_hash(const char *s, size_t len)
{
	return index_key_hash_more(INDEX_KEY_HASH_START, s, len);
}

int index_key_bucket(char *out, size_t size, const char *gen, const char *table,
		     unsigned digits, uint32_t b)
{
	return snprintf(out, size, INDEX_KEY_PREFIX "%s:%s:%0*x", gen, table, (int)digits, b);
}

void index_key_bucket_of(char *out, size_t size, const char *gen, const char *table,
			 unsigned digits, const char *field)
{
	uint32_t mask = digits >= 8 ? 0xffffffffu : (1u << (4 * digits)) - 1;
	index_key_bucket(out, size, gen, table, digits,
			 index_key_hash(field, strlen(field)) & mask);
}

int index_key_meta(char *out, size_t size, const char *gen)
{
	return snprintf(out, size, INDEX_KEY_PREFIX "%s:" INDEX_META, gen);
}

size_t index_key_dispositifs(char *out, const char *dossier_id)
{
	const size_t prefix = sizeof(INDEX_KEY_DISPOSITIFS) - 1;
	size_t len = strlen(dossier_id);
	if (len >= INDEX_ID_MAX)
		len = INDEX_ID_MAX - 1;
	memcpy(out, INDEX_KEY_DISPOSITIFS, prefix);
	memcpy(out + prefix, dossier_id, len);
	out[prefix + len] = '\0';
	return prefix + len;
}
