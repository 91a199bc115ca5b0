/* The index load step: a dossier export taken from INBOX/dossiers/ is
 * loaded into Redis by aij-indexer, whose verdict (exit status, and its
 * runs.json entry) decides where the file goes: archive/ once loaded,
 * held/ when a guard held it or it cannot be read, the inbox again when
 * aij-indexer failed (tried again later). And when Redis answers without
 * an index (restarted empty), the reload of the last export loaded, from
 * archive/dossiers/, so that weeks do not wait for an operator. */
#ifndef AIJ_INBOX_EXPORT_H
#define AIJ_INBOX_EXPORT_H

#include "inbox.h"
#include "note.h"
#include "scan.h"

/* Loads the complete export f of INBOX/dossiers/ (n its note) and files it
 * by the verdict. A stop meanwhile leaves it in the inbox, the index in use
 * unchanged. */
void export_take(struct inbox *in, const struct scan_file *f, struct note *n);

/* Redis answers without an index: reloads the last export loaded (its file
 * in archive/dossiers/), at most once per back-off after a failure.
 * Returns 1 when it ran aij-indexer (or tried), 0 when not (too early, or
 * nothing to reload from: said once). */
int export_reload(struct inbox *in);

#endif
