/* The inbox service: watches INBOX/dossiers/ and INBOX/dispositifs/, takes
 * each complete file in turn (the export first, then the weeks, oldest
 * first), runs aij-indexer or aij-ingest on it, waits for the verdict and
 * files it into INBOX/archive/<kind>/ or INBOX/held/<kind>/ (filing.h),
 * until SIGTERM. docs/operations.md ("The inbox") describes what an
 * operator sees. */
#ifndef AIJ_INBOX_SERVICE_H
#define AIJ_INBOX_SERVICE_H

#include <stddef.h>

#include <jansson.h>

#include "schedule.h"

struct inbox_conf {
	const char *watch;    /* INBOX */
	const char *out;      /* DIR: runs.json, what the reporter publishes */
	const char *redis;    /* host:port */
	const char *brokers;
	const char *communes;
	const char *motifs;
	const char *run_id;   /* NULL: the ISO week when a file is taken */
	const char *bin;      /* the folder of aij-indexer and aij-ingest */
	long settle_s;
	int new_broker;       /* Kafka holds nothing from before this start */
	int scheduled;        /* whether schedule is set */
	struct schedule schedule;
};

/* The kinds of files, and their folder names under INBOX/, archive/, held/. */
enum inbox_kind { KIND_DOSSIERS, KIND_DISPOSITIFS };

/* "retenu / held (GUARD): <French> / <English>": the line of a .reason
 * file for guard and the verdict's reasons (runs.json's reason_fr and
 * reason; without a French one, a French phrase for the guard). Line ends
 * become spaces. */
void service_reason_line(const char *guard, const char *reason_fr, const char *reason,
			 char *out, size_t size);

/* How many of the last week entries of the run history h with this sha256,
 * counted from the end and stopping at the first one that differs, have
 * this status and guard: the attempts of one file that ended so in a row. */
unsigned service_week_trailing(const json_t *h, const char *sha256, const char *status,
			       const char *guard);

/* Creates INBOX's folders, then runs until signals_stop. Returns 0 on a
 * stop, -1 with errstr when it cannot start (a folder it cannot create). */
int service_run(const struct inbox_conf *c, char *errstr, size_t errstr_size);

#endif
