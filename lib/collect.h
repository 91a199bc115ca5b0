/* What the reporter gathers for one run: the manifest, and each record's
 * outcome counted once (by seq), in compact form. Knows when the run is
 * complete and which lines are still missing. No Kafka here: the consumer
 * feeds decoded messages in. */
#ifndef AIJ_COLLECT_H
#define AIJ_COLLECT_H

#include <stddef.h>
#include <stdint.h>

#include "aij.pb-c.h"
#include "record.h"

/* The fields of a failed line that its report row needs (SPEC §6), then
 * those that make its dispositif's identity with COL_SIGMA. */
enum collect_col {
	COL_SIGMA, COL_PE, COL_NOM, COL_PRENOM, COL_DATE_NAISSANCE, COL_INSEE,
	COL_CODES, /* the codes joined by '/', e.g. "05/05/05" */
	COL_COUNT, /* the report's columns: the above */
	COL_TYPE = COL_COUNT, /* type_dispositif */
	COL_DATE_DEBUT,
	COL_KEPT
};

struct collect_failed {
	uint64_t line;
	uint64_t seq;
	size_t off;         /* COL_KEPT strings in a row in the arena, then
			       4 for each candidate of its evidence */
	uint32_t code_mask; /* bit c set when code c (1..31) is among the codes */
	uint32_t n_evidence; /* candidates kept (Outcome's Failed.evidence) */
};

/* One candidate of a failed line's evidence (collect_failed_evidence()). */
struct collect_candidate {
	const char *dossier_id, *ml_code, *value;
	unsigned step, code;    /* the step that found it, its code */
	unsigned differs;       /* enum evidence_field bits (lib/evidence.h) */
};

/* One integrated line, as collect_integrated_walk() hands it over. The
 * strings are owned by the collect, valid during the call. */
struct collect_integrated {
	uint64_t line;
	uint64_t seq;
	uint32_t step;
	const char *dossier;
	const char *ml_code;                 /* the dossier's ML ("" unknown) */
	const char *fields[RECORD_FIELDS];   /* the dispositif, as the file gave it */
};

/* Where the integrated lines wait for the end of the run (NULL: the
 * defaults). */
struct collect_spill_conf {
	const char *dir;   /* folder of the temporary file; NULL: $TMPDIR, else /tmp */
	size_t chunk_rows; /* lines sorted in memory, then written as one run; 0: 65536 */
};

struct spill; /* spill.h: the temporary file and the pending chunk */

struct collect {
	char *run_id;
	char *attempt;          /* the attempt collected; NULL: the first seen */
	/* When set, an attempt it says is decided already (the run history) is
	 * never the one taken up. */
	int (*skip)(const char *attempt, void *arg);
	void *skip_arg;

	int have_manifest;
	int accept;             /* the manifest's: publish over the guards */
	char replay_of[256];    /* the manifest's: a replay of that attempt */
	int64_t created_at;     /* the manifest's */
	uint64_t records;       /* the manifest's record count */
	uint64_t last_line;
	Aij__LineRange *skipped; /* copy of the manifest's skipped ranges */
	size_t n_skipped;
	char sha256[65];
	char source_name[256];

	uint8_t *seen;          /* bitmap by seq */
	uint64_t seen_bits;     /* bits allocated */
	uint64_t received;      /* distinct seqs received, any value */
	uint64_t in_range;      /* distinct seqs received below records */
	uint64_t ignored;       /* outcomes dropped: out of range or malformed */

	struct collect_failed *failed;
	size_t n_failed, cap_failed;
	/* The integrated lines are not kept in memory (a national week has a
	 * million): they go to an unlinked temporary file in sorted runs, read
	 * back merged in line order by collect_integrated_walk(). */
	struct spill *spill;
	size_t n_integrated;          /* after collect_finish(): below records */
	uint64_t integrated_by_step[4]; /* likewise; [0]: a step outside 1..3 */

	char *arena;            /* the failed lines' strings, NUL-terminated */
	size_t arena_len, arena_cap;

	/* Messages of the records topic that were not Records, as the matchers
	 * reported them (Outcome.source, code 10): "topic[partition]@offset",
	 * each once, malloc'ed. */
	char **poison;
	size_t n_poison, cap_poison;
};

/* Starts collecting for run_id and its attempt attempt (both copied;
 * attempt NULL or "": the attempt of the first message taken), with the
 * integrated lines' temporary file created (and unlinked) at once in
 * conf->dir. Release with collect_release(), also after a failure. Returns
 * 0 or -1 (errstr). */
int collect_init(struct collect *c, const char *run_id, const char *attempt,
		 const struct collect_spill_conf *conf,
		 char *errstr, size_t errstr_size);

/* Whether a message of run_id and attempt belongs to the attempt c
 * collects (messages of an older producer have no attempt: ""). Takes the
 * attempt when c has none yet, unless c->skip says it was decided. Returns
 * 1 or 0; -1 out of memory. */
int collect_takes(struct collect *c, const char *run_id, const char *attempt);

/* Frees what c holds, its temporary file closed (its space back); c may then
 * be initialised again. A zeroed c is fine. */
void collect_release(struct collect *c);

/* Takes the run's manifest (a later one replaces an earlier one).
 * Returns 1 when it changed what is expected, 0 when it was known already,
 * -1 on an error (errstr: out of memory). */
int collect_manifest(struct collect *c, const Aij__Manifest *m,
		     char *errstr, size_t errstr_size);

/* Takes one outcome of the run (an outcome with a source is a poison
 * message: kept in c->poison, logged, not a line). Returns 1 when it was new, 0 when its seq
 * was already received or it was ignored (logged), -1 on an error (errstr:
 * out of memory, the temporary file cannot be written). */
int collect_outcome(struct collect *c, const Aij__Outcome *o,
		    char *errstr, size_t errstr_size);

/* 1 when the manifest is in and every seq 0..records-1 has its outcome. */
int collect_complete(const struct collect *c);

/* Number of records still without an outcome (0 while no manifest). */
uint64_t collect_missing_count(const struct collect *c);

/* Fills lines with up to max line numbers of records without an outcome,
 * in increasing order (the lines are found from the manifest's skipped
 * ranges). Returns how many were written. */
size_t collect_missing_lines(const struct collect *c, uint64_t *lines,
			     size_t max);

/* Drops outcomes whose seq is beyond the manifest's count, sorts the failed
 * lines by line number, writes the integrated lines still in memory as a last
 * run and sets n_integrated and integrated_by_step. Call once complete (again
 * is harmless). Returns 0 or -1 (errstr: the temporary file cannot be
 * written or read). */
int collect_finish(struct collect *c, char *errstr, size_t errstr_size);

/* The column col of a failed line (owned by c, valid until the next
 * collect_outcome()). */
const char *collect_failed_col(const struct collect *c,
			       const struct collect_failed *f,
			       enum collect_col col);

/* The k-th candidate (k < f->n_evidence) of a failed line's evidence into
 * *out (strings owned by c, valid until the next collect_outcome()). */
void collect_failed_evidence(const struct collect *c, const struct collect_failed *f,
			     uint32_t k, struct collect_candidate *out);

/* Called with each integrated line in turn; returns 0 to go on, -1 to stop
 * (having filled errstr). */
typedef int (*collect_integrated_fn)(const struct collect_integrated *in,
				     void *arg, char *errstr, size_t errstr_size);

/* Calls fn for every integrated line of c (finished) below the manifest's
 * count, in line order (seq order for one line), reading them back from the
 * temporary file. Returns 0, or -1 (errstr) when fn stopped or the file
 * could not be read. */
int collect_integrated_walk(const struct collect *c, collect_integrated_fn fn,
			    void *arg, char *errstr, size_t errstr_size);

#endif
