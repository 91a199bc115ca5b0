#include "spill.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "array.h"

/* The integrated lines (spill): a chunk of them is kept in memory, sorted by
 * line when full and appended to the temporary file as one run; the runs are
 * merged when the run is written. Memory: one chunk, then one read buffer a
 * run (64k lines a chunk: ~3 MiB, and 16 runs for a million lines). */
#define SPILL_CHUNK_ROWS 65536
/* Nothing bounds a line's blob: a chunk is written out at this too. */
#define SPILL_CHUNK_BYTES ((size_t)4 << 20)
#define SPILL_WRITE_BUF ((size_t)64 << 10)
/* The merge's read buffers, all runs together, and per run. */
#define SPILL_READ_BUDGET ((size_t)4 << 20)
#define SPILL_READ_MIN ((size_t)4 << 10)
#define SPILL_READ_MAX ((size_t)64 << 10)
/* A row in the file: line, seq (u64), step, length of the blob (u32), then
 * the blob; native byte order (the file lives as long as the process). */
#define SPILL_HEAD 24

struct spill_row {
	uint64_t line, seq;
	size_t off;      /* the blob in blobs */
	uint32_t len;
	uint32_t step;
};

struct spill_run {
	off_t start, end; /* bytes of the file */
};

struct spill {
	int fd;               /* unlinked: the space goes with the last close */
	char *dir;            /* where it is, for the messages */
	size_t chunk_rows;
	struct spill_row *rows; /* the chunk not written yet */
	size_t n_rows, cap_rows;
	char *blobs;
	size_t blobs_len, blobs_cap;
	char *wbuf;           /* SPILL_WRITE_BUF bytes */
	size_t wlen;
	off_t file_len;
	struct spill_run *runs;
	size_t n_runs, cap_runs;
	uint64_t count;       /* every integrated line taken, in range or not */
	uint64_t by_step[4];
};

void spill_free(struct spill *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->dir);
	free(s->rows);
	free(s->blobs);
	free(s->wbuf);
	free(s->runs);
	free(s);
}

/* A file without a name in dir: O_TMPFILE, else (a filesystem without it)
 * mkstemp then unlink. Returns the descriptor or -1 (errstr). */
static int spill_create(const char *dir, char *errstr, size_t errstr_size)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) {
		char path[4200];
		snprintf(path, sizeof(path), "%s/.aij-reporter-XXXXXX", dir);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0) {
			unlink(path);
			return fd;
		}
	}
	snprintf(errstr, errstr_size, "cannot create a temporary file in '%s': %s",
		 dir, strerror(errno));
	return -1;
}

/* Free with spill_free(). */
struct spill *spill_open(const char *dir, size_t chunk_rows,
			 char *errstr, size_t errstr_size)
{
	if (!dir || !*dir)
		dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	struct spill *s = calloc(1, sizeof(*s));
	if (!s || !(s->dir = strdup(dir)) || !(s->wbuf = malloc(SPILL_WRITE_BUF))) {
		snprintf(errstr, errstr_size, "out of memory");
		if (s)
			s->fd = -1;
		spill_free(s);
		return NULL;
	}
	s->chunk_rows = chunk_rows ? chunk_rows : SPILL_CHUNK_ROWS;
	s->fd = spill_create(dir, errstr, errstr_size);
	if (s->fd < 0) {
		spill_free(s);
		return NULL;
	}
	return s;
}

static void spill_write_error(const struct spill *s, int err,
			      char *errstr, size_t errstr_size)
{
	snprintf(errstr, errstr_size, "cannot write the temporary file of the "
		 "integrated lines in '%s': %s", s->dir, strerror(err));
}

/* Writes len bytes at the end of the file. */
static int spill_write_all(struct spill *s, const char *p, size_t len,
			   char *errstr, size_t errstr_size)
{
	while (len > 0) {
		ssize_t n = pwrite(s->fd, p, len, s->file_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			spill_write_error(s, n < 0 ? errno : ENOSPC, errstr, errstr_size);
			return -1;
		}
		p += n;
		len -= (size_t)n;
		s->file_len += n;
	}
	return 0;
}

static int spill_flush(struct spill *s, char *errstr, size_t errstr_size)
{
	int rc = spill_write_all(s, s->wbuf, s->wlen, errstr, errstr_size);
	s->wlen = 0;
	return rc;
}

/* Buffered append to the file. */
static int spill_write(struct spill *s, const void *p, size_t len,
		       char *errstr, size_t errstr_size)
{
	if (s->wlen + len > SPILL_WRITE_BUF && spill_flush(s, errstr, errstr_size))
		return -1;
	if (len > SPILL_WRITE_BUF)
		return spill_write_all(s, p, len, errstr, errstr_size);
	memcpy(s->wbuf + s->wlen, p, len);
	s->wlen += len;
	return 0;
}

static int spill_cmp_row(const void *a, const void *b)
{
	const struct spill_row *x = a, *y = b;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Sorts the chunk and appends it to the file as one run; the chunk is then
 * empty. */
static int spill_write_chunk(struct spill *s, char *errstr,
			     size_t errstr_size)
{
	if (s->n_rows == 0)
		return 0;
	struct spill_run *runs = array_grow(s->runs, &s->cap_runs, s->n_runs + 1,
					    sizeof(*runs), 1024);
	if (!runs) {
		snprintf(errstr, errstr_size, "out of memory");
		return -1;
	}
	s->runs = runs;
	qsort(s->rows, s->n_rows, sizeof(*s->rows), spill_cmp_row);
	off_t start = s->file_len;
	for (size_t i = 0; i < s->n_rows; i++) {
		const struct spill_row *r = &s->rows[i];
		char head[SPILL_HEAD];
		memcpy(head, &r->line, 8);
		memcpy(head + 8, &r->seq, 8);
		memcpy(head + 16, &r->step, 4);
		memcpy(head + 20, &r->len, 4);
		if (spill_write(s, head, sizeof(head), errstr, errstr_size) ||
		    spill_write(s, s->blobs + r->off, r->len, errstr, errstr_size))
			return -1;
	}
	if (spill_flush(s, errstr, errstr_size))
		return -1;
	s->runs[s->n_runs].start = start;
	s->runs[s->n_runs].end = s->file_len;
	s->n_runs++;
	s->n_rows = 0;
	s->blobs_len = 0;
	return 0;
}

int spill_add(struct spill *s, uint64_t line, uint64_t seq, uint32_t step,
	      const void *blob, size_t len, char *errstr, size_t errstr_size)
{
	if (len > UINT32_MAX / 2) {
		snprintf(errstr, errstr_size, "outcome of line %llu too long (%zu bytes)",
			 (unsigned long long)line, len);
		return -1;
	}
	struct spill_row *rows = array_grow(s->rows, &s->cap_rows, s->n_rows + 1,
					    sizeof(*rows), 1024);
	if (!rows)
		goto oom;
	s->rows = rows;
	char *blobs = array_grow(s->blobs, &s->blobs_cap, s->blobs_len + len + 1, 1, 65536);
	if (!blobs)
		goto oom;
	s->blobs = blobs;
	struct spill_row *r = &s->rows[s->n_rows++];
	r->line = line;
	r->seq = seq;
	r->step = step;
	r->off = s->blobs_len;
	r->len = (uint32_t)len;
	if (len)
		memcpy(s->blobs + s->blobs_len, blob, len);
	s->blobs_len += len;
	s->count++;
	s->by_step[step >= 1 && step <= 3 ? step : 0]++;
	if (s->n_rows >= s->chunk_rows || s->blobs_len >= SPILL_CHUNK_BYTES)
		return spill_write_chunk(s, errstr, errstr_size);
	return 0;
oom:
	snprintf(errstr, errstr_size, "out of memory keeping the outcome of line %llu",
		 (unsigned long long)line);
	return -1;
}

/* Reads one run back, a buffer at a time. */
struct spill_reader {
	int fd;
	off_t off, end;       /* the next byte of the file to read; the run's end */
	char *buf;
	size_t cap, pos, len; /* buf[pos..len) is read, not used yet */
	struct spill_line row;
};

static void spill_read_error(const struct spill *s, const char *why,
			     char *errstr, size_t errstr_size)
{
	snprintf(errstr, errstr_size, "cannot read the temporary file of the "
		 "integrated lines in '%s' back: %s", s->dir, why);
}

/* Makes need bytes available at buf + pos. */
static int spill_reader_fill(const struct spill *s, struct spill_reader *r,
			     size_t need, char *errstr, size_t errstr_size)
{
	if (r->len - r->pos >= need)
		return 0;
	memmove(r->buf, r->buf + r->pos, r->len - r->pos);
	r->len -= r->pos;
	r->pos = 0;
	if (need > r->cap) {
		char *buf = realloc(r->buf, need);
		if (!buf) {
			snprintf(errstr, errstr_size, "out of memory");
			return -1;
		}
		r->buf = buf;
		r->cap = need;
	}
	while (r->len < need) {
		size_t want = r->cap - r->len;
		if ((off_t)want > r->end - r->off)
			want = (size_t)(r->end - r->off);
		if (want == 0) {
			spill_read_error(s, "shorter than written", errstr, errstr_size);
			return -1;
		}
		ssize_t n = pread(r->fd, r->buf + r->len, want, r->off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			spill_read_error(s, n < 0 ? strerror(errno) : "shorter than written",
					 errstr, errstr_size);
			return -1;
		}
		r->len += (size_t)n;
		r->off += n;
	}
	return 0;
}

/* The run's next row into r->row. Returns 1, 0 at the run's end, -1 (errstr). */
static int spill_reader_next(const struct spill *s, struct spill_reader *r,
			     char *errstr, size_t errstr_size)
{
	if (r->pos == r->len && r->off == r->end)
		return 0;
	if (spill_reader_fill(s, r, SPILL_HEAD, errstr, errstr_size))
		return -1;
	const char *head = r->buf + r->pos;
	uint32_t len;
	memcpy(&r->row.line, head, 8);
	memcpy(&r->row.seq, head + 8, 8);
	memcpy(&r->row.step, head + 16, 4);
	memcpy(&len, head + 20, 4);
	if (len > UINT32_MAX / 2) {
		spill_read_error(s, "a row is damaged", errstr, errstr_size);
		return -1;
	}
	if (spill_reader_fill(s, r, SPILL_HEAD + (size_t)len, errstr, errstr_size))
		return -1;
	r->row.blob = r->buf + r->pos + SPILL_HEAD;
	r->row.blob_len = len;
	r->pos += SPILL_HEAD + (size_t)len;
	return 1;
}

static int spill_reader_less(const struct spill_reader *a,
			     const struct spill_reader *b)
{
	if (a->row.line != b->row.line)
		return a->row.line < b->row.line;
	return a->row.seq < b->row.seq;
}

/* Restores the heap order below heap[i] (a min-heap on line, seq). */
static void spill_heap_down(struct spill_reader **heap, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && spill_reader_less(heap[l], heap[m]))
			m = l;
		if (l + 1 < n && spill_reader_less(heap[l + 1], heap[m]))
			m = l + 1;
		if (m == i)
			return;
		struct spill_reader *t = heap[i];
		heap[i] = heap[m];
		heap[m] = t;
		i = m;
	}
}

int spill_finish(struct spill *s, char *errstr, size_t errstr_size)
{
	return spill_write_chunk(s, errstr, errstr_size);
}

uint64_t spill_count(const struct spill *s, uint64_t by_step[4])
{
	if (by_step)
		memcpy(by_step, s->by_step, sizeof(s->by_step));
	return s->count;
}

void spill_stat(const struct spill *s, struct spill_stat *st)
{
	st->fd = s->fd;
	st->file_len = s->file_len;
	st->n_runs = s->n_runs;
}

int spill_walk(const struct spill *s, spill_fn fn, void *arg,
	       char *errstr, size_t errstr_size)
{
	if (s->n_rows) {
		snprintf(errstr, errstr_size, "integrated lines not finished");
		return -1;
	}
	size_t n = s->n_runs, per = n ? SPILL_READ_BUDGET / n : 0;
	if (per < SPILL_READ_MIN)
		per = SPILL_READ_MIN;
	if (per > SPILL_READ_MAX)
		per = SPILL_READ_MAX;
	struct spill_reader *readers = calloc(n ? n : 1, sizeof(*readers));
	struct spill_reader **heap = calloc(n ? n : 1, sizeof(*heap));
	size_t live = 0;
	int rc = -1;
	if (!readers || !heap) {
		snprintf(errstr, errstr_size, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct spill_reader *r = &readers[i];
		r->fd = s->fd;
		r->off = s->runs[i].start;
		r->end = s->runs[i].end;
		r->cap = per;
		if (!(r->buf = malloc(per))) {
			snprintf(errstr, errstr_size, "out of memory");
			goto out;
		}
		int got = spill_reader_next(s, r, errstr, errstr_size);
		if (got < 0)
			goto out;
		if (got)
			heap[live++] = r;
	}
	for (size_t i = live / 2; i-- > 0;)
		spill_heap_down(heap, live, i);
	while (live > 0) {
		struct spill_reader *top = heap[0];
		if (fn(&top->row, arg, errstr, errstr_size))
			goto out;
		int got = spill_reader_next(s, top, errstr, errstr_size);
		if (got < 0)
			goto out;
		if (!got)
			heap[0] = heap[--live];
		spill_heap_down(heap, live, 0);
	}
	rc = 0;
out:
	for (size_t i = 0; readers && i < n; i++)
		free(readers[i].buf);
	free(readers);
	free(heap);
	return rc;
}
