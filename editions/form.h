/* The body of a POST from a form: application/x-www-form-urlencoded (log-in,
 * confirmations) or multipart/form-data (a report's upload), the latter
 * through libmicrohttpd's post processor. At most FORM_FIELDS fields; a
 * field's value is kept whole, up to the bound given. */
#ifndef AIJ_EDITIONS_FORM_H
#define AIJ_EDITIONS_FORM_H

#include <stddef.h>

#include <microhttpd.h>

#define FORM_FIELDS 16
#define FORM_URLENCODED_MAX (64 * 1024)

struct form;

/* A form for the body of the request on c, each value at most value_max
 * bytes (a request without Content-Type is read as urlencoded). NULL when
 * the request's Content-Type is not a form's, or out of memory. Free with
 * form_free(). */
struct form *form_new(struct MHD_Connection *c, size_t value_max);

/* Takes the next n bytes of the body. Returns 0, or -1 when the body is
 * malformed or holds too much (form_too_large() tells which). */
int form_feed(struct form *f, const char *data, size_t n);

/* The body is complete. Returns 0, or -1 when it is malformed. */
int form_finish(struct form *f);

/* 1 when a value passed its bound (or the fields their number). */
int form_too_large(const struct form *f);

/* The value of the first field named key (NUL-terminated, owned by f) with
 * *len (may be NULL), or NULL when there is none. */
const char *form_value(const struct form *f, const char *key, size_t *len);

/* The file name sent with field key (multipart), or NULL. */
const char *form_filename(const struct form *f, const char *key);

/* Frees f, wiping the values (a password is one); NULL is fine. */
void form_free(struct form *f);

#endif
