#include "piste.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evidence.h"
#include "normalize.h"

#define PISTE_NAME_MAX 256 /* a name normalised for a comparison */
#define PISTE_READ_MAX (1024L * 1024 * 1024) /* far above any evidence file */

/* --- reading ---------------------------------------------------------------- */

/* Opens dir/sub/name and reads it as JSON; name itself is not followed if
 * a link unless follow (DIR/weeks.json is one, to current/weeks.json; the
 * files of DIR/evidence are not). Returns 0 with *root, 1 when absent, -1
 * with errstr. */
static int piste_read_json(const char *dir, const char *sub, const char *name, int follow,
			   json_t **root, char *errstr, size_t errstr_size)
{
	char folder[4096];
	*root = NULL;
	if (snprintf(folder, sizeof(folder), "%s%s%s", dir, sub ? "/" : "", sub ? sub : "") >=
	    (int)sizeof(folder)) {
		snprintf(errstr, errstr_size, "the folder '%s' is too long a name", dir);
		return -1;
	}
	int dirfd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		if (errno == ENOENT)
			return 1;
		snprintf(errstr, errstr_size, "cannot open '%s': %s", folder, strerror(errno));
		return -1;
	}
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	int e = errno;
	close(dirfd);
	if (fd < 0) {
		if (e == ENOENT)
			return 1;
		snprintf(errstr, errstr_size, "cannot open '%s/%s': %s", folder, name,
			 strerror(e));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(errstr, errstr_size, "'%s/%s' is not a file", folder, name);
		close(fd);
		return -1;
	}
	/* Read whole, then parsed: jansson's json_loadfd() reads a byte a
	 * system call (seconds for a national report's evidence). */
	if (st.st_size > PISTE_READ_MAX) {
		snprintf(errstr, errstr_size, "'%s/%s' is too large (%lld bytes)", folder, name,
			 (long long)st.st_size);
		close(fd);
		return -1;
	}
	size_t size = (size_t)st.st_size, got = 0;
	char *buf = malloc(size ? size : 1);
	if (!buf) {
		snprintf(errstr, errstr_size, "out of memory reading '%s/%s'", folder, name);
		close(fd);
		return -1;
	}
	while (got < size) {
		ssize_t r = read(fd, buf + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(errstr, errstr_size, "cannot read '%s/%s': %s", folder, name,
				 r < 0 ? strerror(errno) : "shorter than it was");
			free(buf);
			close(fd);
			return -1;
		}
		got += (size_t)r;
	}
	close(fd);
	json_error_t jerr;
	*root = json_loadb(buf, got, 0, &jerr);
	free(buf);
	if (!*root) {
		snprintf(errstr, errstr_size, "cannot read '%s/%s': line %d: %s", folder, name,
			 jerr.line, jerr.text);
		return -1;
	}
	return 0;
}

/* 1 when s is "YYYY-MM-DD" (digits and dashes in place). */
static int piste_iso_date(const char *s)
{
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return 0;
	return 1;
}

/* The string of key in obj, or NULL when it is not one. */
static const char *piste_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* One candidate of row k, checked, into c. Returns 0, or -1 with why. */
static int piste_candidate_read(const json_t *j, struct piste_candidate *c,
				char *why, size_t why_size)
{
	const char *code = piste_str(j, "code");
	json_t *step = json_object_get(j, "step");
	json_t *differs = json_object_get(j, "differs");
	c->dossier_id = piste_str(j, "dossier_id");
	c->ml_code = piste_str(j, "ml_code");
	c->value = piste_str(j, "value");
	if (!json_is_object(j) || !c->dossier_id || !*c->dossier_id || !c->ml_code ||
	    !c->value || !code || !json_is_integer(step) || !json_is_array(differs)) {
		snprintf(why, why_size, "a candidate without dossier_id, ml_code, value, code, "
			 "step or differs");
		return -1;
	}
	if (strlen(code) != 2 || code[0] != '0' || code[1] < '2' || code[1] > '5') {
		snprintf(why, why_size, "a candidate's code '%s' is not 02 to 05", code);
		return -1;
	}
	c->code = (unsigned)(code[1] - '0');
	json_int_t s = json_integer_value(step);
	if (s < 1 || s > 3) {
		snprintf(why, why_size, "a candidate's step %lld is not 1 to 3", (long long)s);
		return -1;
	}
	c->step = (unsigned)s;
	c->differs = 0;
	size_t i;
	json_t *f;
	json_array_foreach(differs, i, f) {
		const char *name = json_string_value(f);
		unsigned bit = 0;
		for (unsigned b = EVIDENCE_DATE; b <= EVIDENCE_PRENOM; b <<= 1)
			if (name && strcmp(name, evidence_field_name(b)) == 0)
				bit = b;
		if (!bit) {
			snprintf(why, why_size, "a candidate differs by '%s', not a field",
				 name ? name : "(not a string)");
			return -1;
		}
		c->differs |= bit;
	}
	return 0;
}

/* Row k of the rows' array into p->row[k], its candidates from *next on. */
static int piste_row_read(const json_t *j, struct piste *p, size_t k, size_t *next,
			  char *why, size_t why_size)
{
	struct piste_row *r = &p->row[k];
	json_t *line = json_object_get(j, "line");
	json_t *weeks = json_object_get(j, "weeks_rejected");
	json_t *ev = json_object_get(j, "evidence");
	r->codes = piste_str(j, "codes");
	r->first = piste_str(j, "first_rejected");
	if (!json_is_object(j) || !json_is_integer(line) || json_integer_value(line) < 1 ||
	    !r->codes || !json_is_array(ev) || !json_is_integer(weeks) ||
	    json_integer_value(weeks) < 1 || !r->first || !piste_iso_date(r->first)) {
		snprintf(why, why_size, "not a row: line >= 1, codes, evidence, "
			 "weeks_rejected >= 1 and first_rejected YYYY-MM-DD expected");
		return -1;
	}
	r->line = (uint64_t)json_integer_value(line);
	r->weeks = json_integer_value(weeks) > 1000000 ? 1000000
						       : (unsigned)json_integer_value(weeks);
	r->cand = &p->cand[*next];
	r->n_cand = json_array_size(ev);
	for (size_t i = 0; i < r->n_cand; i++)
		if (piste_candidate_read(json_array_get(ev, i), &r->cand[i], why, why_size) < 0)
			return -1;
	*next += r->n_cand;
	return 0;
}

int piste_load(const char *dir, const char *ml_code, struct piste *p,
	       char *errstr, size_t errstr_size)
{
	memset(p, 0, sizeof(*p));
	char name[REPORT_NAME_MAX + 8];
	snprintf(name, sizeof(name), "%s.json", ml_code);
	json_t *root = NULL;
	int r = piste_read_json(dir, PISTE_DIR, name, 0, &root, errstr, errstr_size);
	if (r != 0)
		return r;
	json_t *rows = json_object_get(root, "rows");
	json_t *run = json_object_get(root, "run_id");
	if (!json_is_object(root) || !json_is_array(rows) || (run && !json_is_string(run))) {
		snprintf(errstr, errstr_size, "'%s/" PISTE_DIR "/%s' is not an evidence file: "
			 "no rows", dir, name);
		json_decref(root);
		return -1;
	}
	size_t n = json_array_size(rows), n_cand = 0;
	for (size_t i = 0; i < n; i++)
		n_cand += json_array_size(json_object_get(json_array_get(rows, i), "evidence"));
	p->root = root;
	p->run_id = run ? json_string_value(run) : "";
	p->row = calloc(n ? n : 1, sizeof(*p->row));
	p->cand = calloc(n_cand ? n_cand : 1, sizeof(*p->cand));
	if (!p->row || !p->cand) {
		snprintf(errstr, errstr_size, "out of memory reading '%s/" PISTE_DIR "/%s'",
			 dir, name);
		piste_release(p);
		return -1;
	}
	p->n = n;
	size_t next = 0;
	for (size_t i = 0; i < n; i++) {
		char why[200];
		if (piste_row_read(json_array_get(rows, i), p, i, &next, why, sizeof(why)) < 0) {
			snprintf(errstr, errstr_size, "'%s/" PISTE_DIR "/%s': row %zu: %s", dir,
				 name, i + 1, why);
			piste_release(p);
			return -1;
		}
	}
	return 0;
}

void piste_release(struct piste *p)
{
	if (!p)
		return;
	json_decref(p->root);
	free(p->row);
	free(p->cand);
	memset(p, 0, sizeof(*p));
}

/* --- what a line holds ------------------------------------------------------- */

/* The line's value of field (one enum evidence_field bit) as the cascade
 * compares it: N() of a name, the date as it is; into buf. */
static const char *piste_line_value(const struct report_row *rr, unsigned field,
				    char *buf, size_t size)
{
	switch (field) {
	case EVIDENCE_DATE:
		return rr->field[REPORT_COL_NAISSANCE];
	case EVIDENCE_NOM:
		name_normalize(rr->field[REPORT_COL_NOM], buf, size);
		return buf;
	case EVIDENCE_PRENOM:
		name_normalize(rr->field[REPORT_COL_PRENOM], buf, size);
		return buf;
	}
	return "";
}

int piste_matches(const struct piste *p, const struct report *r, const char *run_id,
		  char *why, size_t why_size)
{
	if (run_id && *p->run_id && strcmp(run_id, p->run_id) != 0) {
		snprintf(why, why_size, "the evidence is of run '%s', the reports of '%s'",
			 p->run_id, run_id);
		return 0;
	}
	if (p->n != r->n) {
		snprintf(why, why_size, "the evidence has %zu rows, the report %zu", p->n, r->n);
		return 0;
	}
	for (size_t i = 0; i < p->n; i++) {
		const struct piste_row *pr = &p->row[i];
		const struct report_row *rr = &r->row[i];
		if (strcmp(pr->codes, rr->field[REPORT_COL_CODES]) != 0) {
			snprintf(why, why_size, "row %zu: codes '%s' in the evidence, '%s' in "
				 "the report", i + 1, pr->codes, rr->field[REPORT_COL_CODES]);
			return 0;
		}
		for (size_t k = 0; k < pr->n_cand; k++) {
			for (unsigned b = EVIDENCE_DATE; b <= EVIDENCE_PRENOM; b <<= 1) {
				char buf[PISTE_NAME_MAX];
				if ((pr->cand[k].differs & b) &&
				    strcmp(piste_line_value(rr, b, buf, sizeof(buf)),
					   pr->cand[k].value) == 0) {
					snprintf(why, why_size, "row %zu: the line holds the %s "
						 "its dossier is said to differ by", i + 1,
						 evidence_field_name(b));
					return 0;
				}
			}
		}
	}
	return 1;
}

int piste_visible(const struct piste_candidate *c, const char *viewer_ml)
{
	return !viewer_ml || strcmp(c->ml_code, viewer_ml) == 0;
}

/* --- the words --------------------------------------------------------------- */

static const char *piste_field_words(unsigned field)
{
	switch (field) {
	case EVIDENCE_DATE: return "date de naissance";
	case EVIDENCE_NOM: return "nom de naissance";
	case EVIDENCE_PRENOM: return "prénom";
	}
	return "?";
}

/* What the dossiers of a 02 or a 04 share with the line. */
static const char *piste_shared_words(const struct piste_candidate *c)
{
	if (c->code == 4)
		return "ces nom, prénom et date de naissance";
	return c->step == 1 ? "ce n° PE en cotraitance" : "ce n° PE en complément";
}

static void piste_say(const struct piste_sink *s, const char *text)
{
	s->text(s->arg, text);
}

/* A dossier the reader may see: its id, and for a national reader its ML
 * when it is not the report's. */
static void piste_say_dossier(const struct piste_sink *s, const struct piste_candidate *c,
			      const char *viewer_ml, const char *report_ml)
{
	s->dossier(s->arg, c->dossier_id);
	if (!viewer_ml && strcmp(c->ml_code, report_ml) != 0) {
		piste_say(s, " (");
		s->ml(s->arg, c->ml_code);
		piste_say(s, ")");
	}
}

/* The dossiers of a 02 or a 04 (group[0..n-1]): those the reader may see by
 * id, then the others as their MLs. */
static void piste_say_group(const struct piste_sink *s, const struct piste_candidate *g,
			    size_t n, int truncated, const char *viewer_ml,
			    const char *report_ml)
{
	char buf[160];
	if (n >= 2) {
		snprintf(buf, sizeof(buf), "%s%zu dossiers ont %s : ",
			 truncated ? "Au moins " : "", n, piste_shared_words(&g[0]));
		piste_say(s, buf);
	} else {
		/* The others are listed at an earlier step already. */
		snprintf(buf, sizeof(buf), "Un autre dossier a aussi %s : ",
			 piste_shared_words(&g[0]));
		piste_say(s, buf);
	}
	size_t shown = 0, hidden = 0;
	for (size_t i = 0; i < n; i++) {
		if (!piste_visible(&g[i], viewer_ml)) {
			hidden++;
			continue;
		}
		if (shown++)
			piste_say(s, ", ");
		piste_say_dossier(s, &g[i], viewer_ml, report_ml);
	}
	if (!hidden)
		return;
	if (shown)
		piste_say(s, " et ");
	/* The other MLs, each once, in order. */
	int several_mls = 0;
	const char *first_ml = NULL;
	for (size_t i = 0; i < n; i++) {
		if (piste_visible(&g[i], viewer_ml))
			continue;
		if (!first_ml)
			first_ml = g[i].ml_code;
		else if (strcmp(first_ml, g[i].ml_code) != 0)
			several_mls = 1;
	}
	if (hidden == 1)
		piste_say(s, "un dossier d'une autre Mission Locale (");
	else {
		snprintf(buf, sizeof(buf), "%zu dossiers %s (", hidden,
			 several_mls ? "d'autres Missions Locales" : "d'une autre Mission Locale");
		piste_say(s, buf);
	}
	size_t said = 0;
	for (size_t i = 0; i < n; i++) {
		if (piste_visible(&g[i], viewer_ml))
			continue;
		int dup = 0;
		for (size_t j = 0; j < i; j++)
			dup |= !piste_visible(&g[j], viewer_ml) &&
			       strcmp(g[j].ml_code, g[i].ml_code) == 0;
		if (dup)
			continue;
		if (said++)
			piste_say(s, ", ");
		s->ml(s->arg, g[i].ml_code);
	}
	piste_say(s, ")");
}

/* A dossier that differs by a field (a 03, a near 05). */
static void piste_say_one(const struct piste_sink *s, const struct piste_candidate *c,
			  const struct report_row *rr, const char *viewer_ml,
			  const char *report_ml)
{
	if (piste_visible(c, viewer_ml)) {
		piste_say(s, "Dossier ");
		piste_say_dossier(s, c, viewer_ml, report_ml);
	} else {
		piste_say(s, "Un dossier d'une autre Mission Locale (");
		s->ml(s->arg, c->ml_code);
		piste_say(s, ")");
	}
	if (c->code == 3)
		piste_say(s, c->step == 1 ? ", même n° PE en cotraitance"
					  : ", même n° PE en complément");
	piste_say(s, " : ");
	int said = 0;
	for (unsigned b = EVIDENCE_DATE; b <= EVIDENCE_PRENOM; b <<= 1) {
		if (!(c->differs & b))
			continue;
		char buf[PISTE_NAME_MAX];
		const char *line = piste_line_value(rr, b, buf, sizeof(buf));
		if (said++)
			piste_say(s, " et ");
		piste_say(s, piste_field_words(b));
		piste_say(s, " ");
		/* One field differs: value is its value in the dossier. */
		if (*c->value)
			s->value(s->arg, c->value);
		else
			piste_say(s, "vide");
		if (*line) {
			piste_say(s, " au lieu de ");
			piste_say(s, line);
		}
	}
}

size_t piste_describe(const struct piste_row *pr, const struct report_row *rr,
		      const char *viewer_ml, const char *report_ml,
		      const struct piste_sink *sink)
{
	size_t leads = 0;
	for (size_t i = 0; i < pr->n_cand;) {
		const struct piste_candidate *c = &pr->cand[i];
		if (c->differs) {
			piste_say_one(sink, c, rr, viewer_ml, report_ml);
			i++;
		} else {
			size_t n = 1;
			while (i + n < pr->n_cand && !pr->cand[i + n].differs &&
			       pr->cand[i + n].code == c->code && pr->cand[i + n].step == c->step)
				n++;
			/* A step lists EVIDENCE_SEVERAL at most; the row EVIDENCE_MAX. */
			int truncated = n >= EVIDENCE_SEVERAL ||
					(pr->n_cand >= EVIDENCE_MAX && i + n == pr->n_cand);
			piste_say_group(sink, c, n, truncated, viewer_ml, report_ml);
			i += n;
		}
		sink->end(sink->arg);
		leads++;
	}
	return leads;
}

/* piste_text()'s sink: a growing string; each lead ends with the
 * separator, the last one cut at the end. */
struct piste_buf {
	char *s;
	size_t len, cap;
	const char *sep;
	int oom;
};

static void piste_buf_add(void *arg, const char *s)
{
	struct piste_buf *b = arg;
	size_t n = strlen(s);
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 128;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *grown = realloc(b->s, cap);
		if (!grown) {
			b->oom = 1;
			return;
		}
		b->s = grown;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
}

static void piste_buf_end(void *arg)
{
	struct piste_buf *b = arg;
	piste_buf_add(b, b->sep);
}

char *piste_text(const struct piste_row *pr, const struct report_row *rr,
		 const char *viewer_ml, const char *report_ml, const char *sep)
{
	struct piste_buf b = { NULL, 0, 0, sep, 0 };
	struct piste_sink sink = { piste_buf_add, piste_buf_add, piste_buf_add, piste_buf_add,
				   piste_buf_end, &b };
	piste_buf_add(&b, "");
	if (piste_describe(pr, rr, viewer_ml, report_ml, &sink) > 0 && !b.oom)
		b.s[b.len - strlen(sep)] = '\0';
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

void piste_weeks_text(const struct piste_row *pr, char *buf, size_t size)
{
	const char *f = pr->first ? pr->first : "";
	if (pr->weeks == 0) {
		snprintf(buf, size, "%s", "");
		return;
	}
	if (strlen(f) == 10)
		snprintf(buf, size, "%u (depuis le %.2s/%.2s/%.4s)", pr->weeks, f + 8, f + 5, f);
	else
		snprintf(buf, size, "%u", pr->weeks);
}

/* --- the API's JSON ------------------------------------------------------------ */

static const char *piste_state_name(enum piste_state state)
{
	switch (state) {
	case PISTE_OK: return "ok";
	case PISTE_ABSENT: return "absent";
	case PISTE_REPLACED: return "replaced";
	case PISTE_UNREADABLE: return "unreadable";
	}
	return "unreadable";
}

/* One candidate as the viewer may see it: only the contract's keys. */
static json_t *piste_candidate_json(const struct piste_candidate *c, const char *viewer_ml)
{
	json_t *o = json_object();
	json_t *differs = json_array();
	if (!o || !differs) {
		json_decref(o);
		json_decref(differs);
		return NULL;
	}
	for (unsigned b = EVIDENCE_DATE; b <= EVIDENCE_PRENOM; b <<= 1)
		if (c->differs & b)
			json_array_append_new(differs, json_string(evidence_field_name(b)));
	char code[4];
	snprintf(code, sizeof(code), "%02u", c->code);
	if (piste_visible(c, viewer_ml))
		json_object_set_new(o, "dossier_id", json_string(c->dossier_id));
	json_object_set_new(o, "ml_code", json_string(c->ml_code));
	json_object_set_new(o, "code", json_string(code));
	json_object_set_new(o, "step", json_integer(c->step));
	json_object_set_new(o, "differs", differs);
	json_object_set_new(o, "value", json_string(c->value));
	return o;
}

json_t *piste_json(const struct piste *p, enum piste_state state, const struct report *r,
		   const char *ml_code, const char *viewer_ml, const char *run_id)
{
	int ok = state == PISTE_OK && p;
	if (ok && *p->run_id)
		run_id = p->run_id;
	json_t *rows = json_array();
	json_t *j = json_object();
	if (!rows || !j) {
		json_decref(rows);
		json_decref(j);
		return NULL;
	}
	json_object_set_new(j, "run_id", run_id ? json_string(run_id) : json_null());
	json_object_set_new(j, "ml_code", json_string(ml_code));
	json_object_set_new(j, "evidence_state", json_string(piste_state_name(ok ? PISTE_OK
									      : state)));
	json_object_set_new(j, "rows", rows);
	for (size_t i = 0; i < r->n; i++) {
		const struct piste_row *pr = ok && i < p->n ? &p->row[i] : NULL;
		json_t *row = json_object();
		json_t *ev = json_array();
		if (!row || !ev) {
			json_decref(row);
			json_decref(ev);
			json_decref(j);
			return NULL;
		}
		for (size_t k = 0; pr && k < pr->n_cand; k++) {
			json_t *c = piste_candidate_json(&pr->cand[k], viewer_ml);
			if (!c) {
				json_decref(row);
				json_decref(ev);
				json_decref(j);
				return NULL;
			}
			json_array_append_new(ev, c);
		}
		json_object_set_new(row, "line", pr ? json_integer((json_int_t)pr->line)
						    : json_null());
		json_object_set_new(row, "codes", json_string(r->row[i].field[REPORT_COL_CODES]));
		json_object_set_new(row, "evidence", ev);
		json_object_set_new(row, "weeks_rejected", pr ? json_integer(pr->weeks)
							      : json_null());
		json_object_set_new(row, "first_rejected", pr ? json_string(pr->first)
							      : json_null());
		json_array_append_new(rows, row);
	}
	return j;
}

/* --- weeks.json ------------------------------------------------------------------ */

static int piste_weeks_cmp(const void *a, const void *b)
{
	const unsigned *x = a, *y = b; /* the first member of each entry */
	return *x < *y ? -1 : *x > *y;
}

int piste_weeks_load(const char *dir, struct piste_weeks *w, char *errstr,
		     size_t errstr_size)
{
	memset(w, 0, sizeof(*w));
	json_t *root = NULL;
	int r = piste_read_json(dir, NULL, PISTE_WEEKS_FILE, 1, &root, errstr,
				 errstr_size);
	if (r != 0)
		return r;
	json_t *by = json_object_get(root, "by_weeks_rejected");
	json_t *failed = json_object_get(root, "failed");
	const char *run = piste_str(root, "run_id");
	if (!json_is_object(by) || !json_is_integer(failed)) {
		snprintf(errstr, errstr_size, "'%s/" PISTE_WEEKS_FILE "' is malformed: "
			 "by_weeks_rejected and failed expected", dir);
		json_decref(root);
		return -1;
	}
	snprintf(w->run_id, sizeof(w->run_id), "%s", run ? run : "");
	w->failed = (long long)json_integer_value(failed);
	size_t n = json_object_size(by);
	w->by = calloc(n ? n : 1, sizeof(*w->by));
	if (!w->by) {
		snprintf(errstr, errstr_size, "out of memory reading '%s/" PISTE_WEEKS_FILE "'",
			 dir);
		json_decref(root);
		return -1;
	}
	const char *key;
	json_t *v;
	json_object_foreach(by, key, v) {
		char *end;
		errno = 0;
		unsigned long weeks = strtoul(key, &end, 10);
		if (!*key || *end || errno || weeks < 1 || weeks > 1000000 ||
		    !json_is_integer(v) || json_integer_value(v) < 0) {
			snprintf(errstr, errstr_size, "'%s/" PISTE_WEEKS_FILE "' is malformed: "
				 "\"%s\" in by_weeks_rejected", dir, key);
			json_decref(root);
			piste_weeks_release(w);
			return -1;
		}
		w->by[w->n].weeks = (unsigned)weeks;
		w->by[w->n].lines = (long long)json_integer_value(v);
		w->n++;
	}
	qsort(w->by, w->n, sizeof(*w->by), piste_weeks_cmp);
	json_decref(root);
	return 0;
}

long long piste_weeks_at_least(const struct piste_weeks *w, unsigned weeks)
{
	long long sum = 0;
	for (size_t i = 0; i < w->n; i++)
		if (w->by[i].weeks >= weeks)
			sum += w->by[i].lines;
	return sum;
}

void piste_weeks_release(struct piste_weeks *w)
{
	if (!w)
		return;
	free(w->by);
	memset(w, 0, sizeof(*w));
}
