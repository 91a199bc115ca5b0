/* The run history for the national team: GET /historique.html (a page,
 * newest first) and GET /runs (JSON), from DIR/runs.json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "runs.h"

/* runs.json (empty: no history yet), or NULL after queuing a failure. */
static json_t *history_read(struct editions *e, struct request *rq, enum MHD_Result *res)
{
	char errstr[600];
	json_t *runs = runs_load(e->dir, errstr, sizeof(errstr));
	if (!runs) {
		log_error("editions: %s", errstr);
		*res = http_fail(e, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "l'historique des intégrations est illisible");
	}
	return runs;
}

enum MHD_Result history_json(struct editions *e, struct request *rq)
{
	enum MHD_Result res = MHD_NO;
	json_t *runs = history_read(e, rq, &res);
	if (!runs)
		return res;
	json_t *held = json_array();
	const json_t *h[2];
	size_t n = runs_held(runs, h);
	for (size_t i = 0; i < n; i++)
		json_array_append(held, (json_t *)h[i]);
	json_t *j = json_pack("{s:o, s:o}", "runs", runs, "held", held);
	http_log(rq, MHD_HTTP_OK, NULL);
	return http_json(rq, MHD_HTTP_OK, j);
}

/* A number of an entry, or "—" when it has none. */
static void history_num(struct page *p, const json_t *entry, const char *key)
{
	json_t *v = json_object_get(entry, key);
	if (json_is_integer(v))
		page_printf(p, "<td class=\"n\">%lld</td>", (long long)json_integer_value(v));
	else
		page_raw(p, "<td class=\"n muted\">—</td>");
}

enum MHD_Result history_page(struct editions *e, struct request *rq)
{
	enum MHD_Result res = MHD_NO;
	json_t *runs = history_read(e, rq, &res);
	if (!runs)
		return res;
	char held[1200];
	struct page_frame fr;
	http_frame(e, rq, &fr, "Historique des intégrations", "Chaque essai, le plus récent "
		   "en premier", NAV_HISTORY, held, sizeof(held));
	struct page p;
	if (page_begin(&p, &fr) < 0) {
		json_decref(runs);
		return MHD_NO;
	}
	page_raw(&p, "<section><h2>Intégrations et chargements des dossiers</h2>");
	if (json_array_size(runs) == 0) {
		page_raw(&p, "<p>Pas encore d'historique : aucune intégration n'a été enregistrée "
			 "depuis la mise en service de l'historique.</p>");
	} else {
		page_raw(&p, "<table><thead><tr><th>Début</th><th>Fin</th><th>Quoi</th>"
			 "<th>Intégration</th><th>Fichier</th><th>État</th><th>Raison</th>"
			 "<th class=\"n\">Lignes</th><th class=\"n\">Intégrées</th>"
			 "<th class=\"n\">En échec</th><th class=\"n\">Dossiers</th>"
			 "<th class=\"n\">Rejetés</th></tr></thead><tbody>\n");
		for (size_t i = json_array_size(runs); i-- > 0;) {
			const json_t *r = json_array_get(runs, i);
			if (!json_is_object(r))
				continue;
			char start[64], end[64];
			runs_time(runs_str(r, "started_at"), start, sizeof(start));
			runs_time(runs_str(r, "finished_at"), end, sizeof(end));
			int dossiers = strcmp(runs_str(r, "kind"), "dossiers") == 0;
			const char *status = runs_str(r, "status");
			page_raw(&p, "<tr><td>");
			page_esc(&p, start);
			page_raw(&p, "</td><td>");
			page_esc(&p, end);
			page_raw(&p, dossiers ? "</td><td>Dossiers</td><td>" : "</td><td>Dispositifs"
				 "</td><td>");
			page_esc(&p, runs_str(r, "run_id"));
			page_raw(&p, "<br><span class=\"muted\">");
			page_esc(&p, runs_str(r, "attempt"));
			page_raw(&p, "</span></td><td>");
			page_esc(&p, runs_str(r, "source"));
			page_raw(&p, "</td><td>");
			int bad = strcmp(status, "held") == 0 || strcmp(status, "failed") == 0;
			if (bad)
				page_raw(&p, "<b class=\"ko\">");
			page_esc(&p, runs_status_label(status));
			if (bad)
				page_raw(&p, "</b>");
			if (json_is_true(json_object_get(r, "accepted")))
				page_raw(&p, " <span class=\"muted\">(publiée malgré une garde, "
					 "--accept)</span>");
			page_raw(&p, "</td><td>");
			page_esc(&p, runs_reason(r));
			if (*runs_str(r, "guard")) {
				page_raw(&p, " <span class=\"muted\">(garde ");
				page_esc(&p, runs_str(r, "guard"));
				page_raw(&p, ")</span>");
			}
			page_raw(&p, "</td>");
			if (dossiers) {
				page_raw(&p, "<td class=\"n muted\">—</td><td class=\"n muted\">—</td>"
					 "<td class=\"n muted\">—</td>");
				history_num(&p, r, "dossiers");
				history_num(&p, r, "malformed");
			} else {
				history_num(&p, r, "lines");
				history_num(&p, r, "integrated");
				history_num(&p, r, "failed");
				page_raw(&p, "<td class=\"n muted\">—</td><td class=\"n muted\">—</td>");
			}
			page_raw(&p, "</tr>\n");
		}
		page_raw(&p, "</tbody></table><p class=\"muted\">Une intégration « retenue » n'a "
			 "rien publié : un garde-fou l'a arrêtée (la raison le dit) ; les rapports "
			 "restent ceux de la dernière intégration publiée.</p>");
	}
	page_raw(&p, "</section>\n");
	json_decref(runs);
	size_t len = 0;
	char *html = page_end(&p, &len);
	http_log(rq, MHD_HTTP_OK, NULL);
	return http_page(rq, MHD_HTTP_OK, html, len);
}
