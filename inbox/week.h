/* Running a week: a file of dispositifs taken from INBOX/dispositifs/ is
 * published to Kafka by aij-ingest as one attempt of a run; the reporter
 * (aij-reporter --follow, another process) decides it and records its
 * verdict in DIR/runs.json, which decides where the file goes: archive/
 * once published (or the same file published before: not run again),
 * held/ when a guard held it, the inbox again when it should run again
 * (technical errors, a run that stalled) or aij-ingest failed. */
#ifndef AIJ_INBOX_WEEK_H
#define AIJ_INBOX_WEEK_H

#include "inbox.h"
#include "note.h"
#include "scan.h"

/* Runs the complete week f of INBOX/dispositifs/ (n its note), or resumes
 * its attempt whose records were all published before a restart, waits
 * for the verdict and files it by it. A stop meanwhile leaves it in the
 * inbox (with its attempt state: attempt.h). */
void week_take(struct inbox *in, const struct scan_file *f, struct note *n);

#endif
