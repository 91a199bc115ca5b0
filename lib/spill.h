/* The reporter's external sort of the integrated lines (the "spill"). A
 * national week has about a million integrated lines and the reporter's
 * memory must grow with the failures only: the lines are sorted in memory a
 * chunk at a time, appended as runs to an unlinked temporary file, and read
 * back merged in (line, seq) order. Each line carries an opaque blob (the
 * collector puts the dossier, its ML and the dispositif's fields there). */
#ifndef AIJ_SPILL_H
#define AIJ_SPILL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct spill; /* spill.c: the temporary file and the pending chunk */

/* One integrated line, as spill_walk() hands it over. */
struct spill_line {
	uint64_t line;
	uint64_t seq;
	uint32_t step;
	const char *blob;    /* owned by the walk, valid during the call */
	size_t blob_len;
};

/* A spill whose temporary file is created (and unlinked) at once in dir
 * (NULL or "": $TMPDIR, else /tmp), chunk_rows lines sorted in memory a run
 * (0: 65536). Free with spill_free(). NULL on an error (errstr). */
struct spill *spill_open(const char *dir, size_t chunk_rows,
			 char *errstr, size_t errstr_size);

/* Closes the temporary file (its space back) and frees s. NULL is fine. */
void spill_free(struct spill *s);

/* Takes one integrated line (blob_len bytes of blob copied); a full chunk
 * is written out. Returns 0 or -1 (errstr: out of memory, the file cannot
 * be written). */
int spill_add(struct spill *s, uint64_t line, uint64_t seq, uint32_t step,
	      const void *blob, size_t blob_len, char *errstr, size_t errstr_size);

/* Writes the lines still in memory as a last run; call before spill_walk()
 * (again is harmless, more spill_add() may follow). Returns 0 or -1
 * (errstr). */
int spill_finish(struct spill *s, char *errstr, size_t errstr_size);

/* Every line taken so far; by_step (when not NULL) gets the count by step,
 * [0]: a step outside 1..3. */
uint64_t spill_count(const struct spill *s, uint64_t by_step[4]);

/* The temporary file of a spill, as it stands (for the tests). */
struct spill_stat {
	int fd;          /* its descriptor */
	off_t file_len;  /* bytes written to it */
	size_t n_runs;   /* sorted runs written to it */
};

/* Fills st with the state of s's temporary file. */
void spill_stat(const struct spill *s, struct spill_stat *st);

/* Called with each line in turn; returns 0 to go on, -1 to stop (having
 * filled errstr). */
typedef int (*spill_fn)(const struct spill_line *l, void *arg,
			char *errstr, size_t errstr_size);

/* Calls fn for every line of s (finished), in (line, seq) order, reading
 * them back from the temporary file. Returns 0, or -1 (errstr) when fn
 * stopped, s is not finished or the file could not be read. */
int spill_walk(const struct spill *s, spill_fn fn, void *arg,
	       char *errstr, size_t errstr_size);

#endif
