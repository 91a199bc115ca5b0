/* The inbox service: watches INBOX/dossiers/ and INBOX/dispositifs/, takes
 * each complete file in turn (the export first, then the weeks, oldest
 * first), runs aij-indexer or aij-ingest on it, waits for the verdict and
 * files it into INBOX/archive/<kind>/ or INBOX/held/<kind>/ (filing.h),
 * until SIGTERM. docs/operations.md ("The inbox") describes what an
 * operator sees.
 *
 * The loop is service.c: it chooses the next file (complete: scan.h; due:
 * schedule.h; Redis ready: probe.h). export.c takes an export (the index
 * load step, and its reload into an empty Redis), week.c a week (aij-ingest,
 * then the reporter's verdict: verdict.h; its attempt state: attempt.h);
 * inbox.c files them into archive/ or held/ (filing.h moves them); note.h
 * is what the loop remembers of each file. */
#ifndef AIJ_INBOX_SERVICE_H
#define AIJ_INBOX_SERVICE_H

#include <stddef.h>

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

/* Creates INBOX's folders, then runs until signals_stop. Returns 0 on a
 * stop, -1 with errstr when it cannot start (a folder it cannot create). */
int service_run(const struct inbox_conf *c, char *errstr, size_t errstr_size);

#endif
