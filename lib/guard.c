#include "guard.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "history.h"

static double guard_pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void guard_set(struct guard_verdict *v, enum guard_status status,
		      const char *guard)
{
	v->status = status;
	v->guard = guard;
}

/* A guard broke: hold, or publish with a note when accepted. */
static void guard_broken(struct guard_verdict *v, int accept, const char *guard)
{
	if (!accept) {
		guard_set(v, GUARD_HOLD, guard);
		return;
	}
	guard_set(v, GUARD_PUBLISH, guard);
	v->accepted = 1;
	snprintf(v->note, sizeof(v->note), "published over the guard '%s' (--accept): %.400s",
		 guard, v->reason);
}

int guard_iso_week(const char *run_id, long *week)
{
	const char *p = run_id;
	for (int i = 0; i < 4; i++)
		if (!isdigit((unsigned char)p[i]))
			return -1;
	if (p[4] != '-' || p[5] != 'W' || !isdigit((unsigned char)p[6]) ||
	    !isdigit((unsigned char)p[7]) || isdigit((unsigned char)p[8]))
		return -1;
	long year = (p[0] - '0') * 1000 + (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
	long w = (p[6] - '0') * 10 + (p[7] - '0');
	if (w < 1 || w > 53)
		return -1;
	*week = year * 100 + w;
	return 0;
}

/* The newest published week of the history (by ISO week), or NULL. */
static const json_t *guard_newest_week(const json_t *h, long *newest)
{
	const json_t *found = NULL;
	for (size_t i = 0; i < json_array_size(h); i++) {
		const json_t *e = json_array_get(h, i);
		long wk;
		if (strcmp(history_str(e, "kind"), HISTORY_KIND_WEEK) != 0 ||
		    strcmp(history_str(e, "status"), HISTORY_PUBLISHED) != 0 ||
		    guard_iso_week(history_str(e, "run_id"), &wk) != 0)
			continue;
		if (!found || wk > *newest) {
			found = e;
			*newest = wk;
		}
	}
	return found;
}

void guard_week_decide(const struct guard_week *w, const struct guard_limits *l,
		       struct guard_verdict *v)
{
	memset(v, 0, sizeof(*v));
	guard_set(v, GUARD_PUBLISH, "");
	const int replay = w->replay_of && *w->replay_of;

	const json_t *same = w->history && w->sha256 && *w->sha256
			     ? history_published_sha(w->history, w->sha256) : NULL;
	if (same && !replay && !w->accept) {
		snprintf(v->reason, sizeof(v->reason), "already integrated as run %s "
			 "(the same file, sha256 %.12s...)", history_str(same, "run_id"),
			 w->sha256);
		snprintf(v->reason_fr, sizeof(v->reason_fr), "fichier déjà intégré : run "
			 "%s (même empreinte sha256 %.12s...)", history_str(same, "run_id"),
			 w->sha256);
		guard_set(v, GUARD_SKIP, GUARD_ALREADY);
		return;
	}

	long week, newest = 0;
	const json_t *top = w->history ? guard_newest_week(w->history, &newest) : NULL;
	if (top && guard_iso_week(w->run_id, &week) == 0 && week < newest) {
		snprintf(v->reason, sizeof(v->reason), "%s %s is older than the newest "
			 "published run %s: publishing it would replace that week's reports "
			 "(--accept to publish it anyway)", replay ? "replay of week" : "week",
			 w->run_id, history_str(top, "run_id"));
		snprintf(v->reason_fr, sizeof(v->reason_fr), "la semaine %s est plus "
			 "ancienne que la dernière publiée (%s) : elle en remplacerait les "
			 "rapports", w->run_id, history_str(top, "run_id"));
		guard_broken(v, w->accept, GUARD_OLDER);
		if (!w->accept)
			return;
	}

	double columns = guard_pct(w->columns, w->lines);
	double invalid = guard_pct(w->invalid, w->lines);
	double technical = guard_pct(w->technical, w->lines);
	const char *guard = NULL;
	if (columns > l->max_columns_pct) {
		guard = GUARD_FORMAT;
		snprintf(v->reason, sizeof(v->reason), "%.1f%% of the lines have code 01 "
			 "(limit %g%%): a column added or moved, another separator or "
			 "date format?", columns, l->max_columns_pct);
		snprintf(v->reason_fr, sizeof(v->reason_fr), "%.1f %% des lignes en code 01 "
			 "(seuil %g %%) : colonne ajoutée ou déplacée, autre séparateur ?",
			 columns, l->max_columns_pct);
	} else if (invalid > l->max_invalid_pct) {
		guard = GUARD_VALIDATION;
		snprintf(v->reason, sizeof(v->reason), "%.1f%% of the lines fail "
			 "validation, codes 01 06 07 08 09 (limit %g%%)", invalid,
			 l->max_invalid_pct);
		snprintf(v->reason_fr, sizeof(v->reason_fr), "%.1f %% des lignes en échec "
			 "de validation, codes 01 06 07 08 09 (seuil %g %%)", invalid,
			 l->max_invalid_pct);
	} else if (technical > l->max_technical_pct) {
		guard = GUARD_TECHNICAL;
		snprintf(v->reason, sizeof(v->reason), "%.1f%% of the lines have code 10, "
			 "a technical error: Redis unreachable beyond the matchers' retry "
			 "budget (limit %g%%)", technical, l->max_technical_pct);
		snprintf(v->reason_fr, sizeof(v->reason_fr), "%.1f %% des lignes en code 10 "
			 "(erreur technique : Redis injoignable) (seuil %g %%)", technical,
			 l->max_technical_pct);
	}
	if (guard) {
		guard_broken(v, w->accept, guard);
		return;
	}
	if (v->accepted)
		return; /* older, accepted: its note stands */

	guard_set(v, GUARD_PUBLISH, "");
	for (size_t i = json_array_size(w->history); i-- > 0;) {
		const json_t *e = json_array_get(w->history, i);
		if (strcmp(history_str(e, "kind"), HISTORY_KIND_WEEK) == 0 &&
		    strcmp(history_str(e, "status"), HISTORY_PUBLISHED) == 0 &&
		    strcmp(history_str(e, "run_id"), w->run_id) == 0) {
			snprintf(v->note, sizeof(v->note), "run %s replaces the published "
				 "run %s of '%s' (sha256 %.12s...): a corrected week%s",
				 w->run_id, history_str(e, "run_id"), history_str(e, "source"),
				 history_str(e, "sha256"), replay ? " (a replay)" : "");
			break;
		}
	}
}

void guard_export_decide(const struct guard_export *e, const struct guard_limits *l,
			 struct guard_verdict *v)
{
	memset(v, 0, sizeof(*v));
	guard_set(v, GUARD_PUBLISH, "");
	double malformed = guard_pct(e->malformed, e->rows);
	const char *guard = NULL;
	if (e->rows == 0) {
		guard = GUARD_DOSSIERS_EMPTY;
		snprintf(v->reason, sizeof(v->reason), "the export has no data row "
			 "(its header only)");
		snprintf(v->reason_fr, sizeof(v->reason_fr), "l'export ne contient "
			 "aucun dossier (l'en-tête seul)");
	} else if (malformed > l->max_malformed_pct) {
		guard = GUARD_DOSSIERS_MALFORMED;
		snprintf(v->reason, sizeof(v->reason), "%.1f%% of the export's rows are "
			 "malformed (%llu of %llu; limit %g%%): another date format or "
			 "column order?", malformed, (unsigned long long)e->malformed,
			 (unsigned long long)e->rows, l->max_malformed_pct);
		snprintf(v->reason_fr, sizeof(v->reason_fr), "%.1f %% des lignes de "
			 "l'export sont mal formées (%llu sur %llu ; seuil %g %%) : autre "
			 "format de date, colonnes déplacées ?", malformed,
			 (unsigned long long)e->malformed, (unsigned long long)e->rows,
			 l->max_malformed_pct);
	} else if (e->baseline > 0 &&
		   guard_pct(e->loaded, e->baseline) < l->min_dossiers_pct) {
		guard = GUARD_DOSSIERS_SHRUNK;
		snprintf(v->reason, sizeof(v->reason), "the export has %llu dossiers, "
			 "%.1f%% of the %llu of %s (at least %g%%): a partial export?",
			 (unsigned long long)e->loaded, guard_pct(e->loaded, e->baseline),
			 (unsigned long long)e->baseline, e->baseline_what,
			 l->min_dossiers_pct);
		snprintf(v->reason_fr, sizeof(v->reason_fr), "l'export contient %llu "
			 "dossiers, %.1f %% des %llu en service (au moins %g %%) : export "
			 "partiel ?", (unsigned long long)e->loaded,
			 guard_pct(e->loaded, e->baseline), (unsigned long long)e->baseline,
			 l->min_dossiers_pct);
	}
	if (guard)
		guard_broken(v, e->accept, guard);
}
