/* The reports: the list (JSON and page, searchable and sortable for the
 * national team), each report as CSV (its exact bytes), XLSX and a page
 * (paginated, filtered by code, the codes explained, and in the national
 * report why each line is there), and their replacement and deletion (API:
 * PUT and DELETE; browser: forms with a confirmation step). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "attached.h"
#include "history.h"
#include "http.h"
#include "log.h"
#include "normalize.h"
#include "piste.h"
#include "referential.h"
#include "report_format.h"
#include "route.h"
#include "store.h"
#include "xlsx.h"

/* The chart by ML shows that many MLs, the largest reports first. */
#define REPORTS_CHART_MLS 20

/* --- small things --------------------------------------------------------- */

/* The download's file name, "_Rapport intégration AIJ - <ML> - <run>.<ext>",
 * as the two parameters of Content-Disposition: filename= in ASCII for old
 * clients, filename*= in UTF-8 (RFC 6266, RFC 5987). */
static void reports_disposition(const char *ml_code, const char *run_id, const char *ext,
				char *header, size_t header_size)
{
	char run[64];
	const char *ml = strcmp(ml_code, REPORT_NATIONAL) == 0 ? "national" : ml_code;
	size_t k = 0;
	/* A run id is shown only when it is made of plain characters. */
	for (const char *s = run_id ? run_id : "inconnue"; *s && k + 1 < sizeof(run); s++)
		run[k++] = ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
			    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.')
				   ? *s : '_';
	run[k] = '\0';
	snprintf(header, header_size,
		 "attachment; filename=\"_Rapport integration AIJ - %s - %s.%s\"; "
		 "filename*=UTF-8''_Rapport%%20int%%C3%%A9gration%%20AIJ%%20-%%20%s%%20-%%20%s.%s",
		 ml, run, ext, ml, run, ext);
}

/* The advice for a report opened in a spreadsheet, on the report's page
 * and the replace page: the CSV opened in Excel or LibreOffice loses its
 * zeros (05, 08249) and turns codes into dates, which an upload then
 * refuses; the XLSX keeps every cell as text. The Excel download is a link
 * for a user who may download. */
static void reports_spreadsheet_tip(struct page *p, const struct request *rq)
{
	page_raw(p, "<p class=\"muted tip\">Pour ouvrir ou corriger le rapport dans un "
		 "tableur (Excel, LibreOffice), prenez ");
	if (rq->user.rights & RIGHT_TELECHARGER) {
		page_raw(p, "le <a href=\"/editions/");
		page_url(p, rq->arg);
		page_raw(p, ".xlsx\">téléchargement Excel</a>");
	} else {
		page_raw(p, "le téléchargement Excel");
	}
	page_raw(p, " : le CSV ouvert dans un tableur perd les zéros des codes retour et "
		 "des codes INSEE (05 devient 5, 08249 devient 8249) et change des codes en "
		 "dates. Pour le renvoyer (« Remplacer »), enregistrez-le ensuite en CSV "
		 "(séparateur « ; », UTF-8).</p>\n");
}

/* N(s) of SPEC §4, for searching: "Pontchâteau" finds "PONTCHATEAU". */
static void reports_norm(const char *s, char *out, size_t size)
{
	name_normalize(s ? s : "", out, size);
}

/* 1 when the normalised query nq (non-empty) is in s normalised. */
static int reports_matches(const char *nq, const char *s)
{
	char ns[512];
	reports_norm(s, ns, sizeof(ns));
	return strstr(ns, nq) != NULL;
}

/* A page number from the query, 1 when absent or not one. */
static size_t reports_page_arg(const struct request *rq)
{
	const char *s = http_arg(rq, "page");
	char *end;
	unsigned long v = s ? strtoul(s, &end, 10) : 0;
	return s && *s && !*end && v >= 1 ? (size_t)v : 1;
}

/* --- the list ------------------------------------------------------------- */

struct reports_sort {
	const struct editions *e;
	int by;   /* 0 name, 1 code, 2 rows, 3 date */
	int desc;
};

static int reports_entry_cmp(const void *a, const void *b, void *arg)
{
	const struct store_entry *x = a, *y = b;
	const struct reports_sort *s = arg;
	/* The national report stays first, whatever the order. */
	int xn = strcmp(x->ml_code, REPORT_NATIONAL) == 0;
	int yn = strcmp(y->ml_code, REPORT_NATIONAL) == 0;
	if (xn != yn)
		return yn - xn;
	int c = 0;
	switch (s->by) {
	case 0:
		c = strcasecmp(editions_ml_name(s->e, x->ml_code),
			       editions_ml_name(s->e, y->ml_code));
		break;
	case 2:
		c = x->rows < y->rows ? -1 : x->rows > y->rows;
		break;
	case 3:
		c = x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
		break;
	}
	if (c == 0)
		c = strcmp(x->ml_code, y->ml_code);
	return s->desc ? -c : c;
}

/* A column title that sorts the list by it (the other way when it is the
 * current order). */
static void reports_sort_link(struct page *p, const char *title, const char *key,
			      const char *tri, int desc, const char *q, const char *cls)
{
	int current = strcmp(tri, key) == 0;
	page_printf(p, "<th%s><a href=\"/editions.html?tri=%s&amp;ordre=%s", cls, key,
		    current && !desc ? "desc" : "asc");
	if (q && *q) {
		page_raw(p, "&amp;q=");
		page_url(p, q);
	}
	page_raw(p, "\">");
	page_esc(p, title);
	if (current)
		page_raw(p, desc ? " ▼" : " ▲");
	page_raw(p, "</a></th>");
}

static long long reports_json_ll(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

/* One horizontal bar: label, a filled share of max, the value. */
static void reports_bar(struct page *p, const char *label, const char *link,
			long long value, long long max, const char *cls)
{
	double pct = max > 0 ? 100.0 * (double)value / (double)max : 0;
	if (value > 0 && pct < 0.5)
		pct = 0.5;
	page_raw(p, "<div class=\"bar\"><span class=\"l\" title=\"");
	page_esc(p, label);
	page_raw(p, "\">");
	if (link) {
		page_raw(p, "<a href=\"");
		page_esc(p, link);
		page_raw(p, "\">");
	}
	page_esc(p, label);
	if (link)
		page_raw(p, "</a>");
	page_printf(p, "</span><span class=\"t\"><span class=\"f %s\" style=\"display:block;"
		    "width:%.1f%%\"></span></span><span class=\"v\">%lld</span></div>\n",
		    cls ? cls : "", pct, value);
}

struct reports_ml_count {
	const char *code;
	long long rows;
};

static int reports_ml_count_cmp(const void *a, const void *b)
{
	const struct reports_ml_count *x = a, *y = b;
	if (x->rows != y->rows)
		return x->rows < y->rows ? 1 : -1;
	return strcmp(x->code, y->code);
}

/* The failed lines by weeks in a row (DIR/weeks.json), for national users. */
static void reports_summary_weeks(struct page *p, const struct editions *e,
				  const char *run_id)
{
	struct piste_weeks w;
	char errstr[600];
	int rc = piste_weeks_load(e->dir, &w, errstr, sizeof(errstr));
	page_raw(p, "<h3 id=\"semaines\">Lignes en échec par semaines d'affilée</h3>\n");
	if (rc != 0) {
		if (rc < 0)
			log_error("editions: %s", errstr);
		page_raw(p, rc < 0 ? "<p class=\"muted\">Le décompte des semaines en échec "
				     "(weeks.json) n'a pas pu être lu.</p>\n"
				   : "<p class=\"muted\">Pas de décompte des semaines en échec : "
				     "cette intégration a été publiée avant qu'il existe.</p>\n");
		return;
	}
	if (run_id && *w.run_id && strcmp(run_id, w.run_id) != 0)
		log_warn("editions: weeks.json is of run '%s', summary.json of '%s'", w.run_id,
			 run_id);
	long long old = piste_weeks_at_least(&w, PISTE_OLD_WEEKS), max = 0;
	page_printf(p, "<div class=\"kpis\"><div class=\"kpi\">En échec depuis %d semaines "
		    "ou plus<b>%lld</b><span class=\"muted\">sur %lld lignes en échec</span>"
		    "</div></div>\n", PISTE_OLD_WEEKS, old, w.failed);
	for (size_t i = 0; i < w.n; i++)
		if (w.by[i].lines > max)
			max = w.by[i].lines;
	for (size_t i = 0; i < w.n; i++) {
		char label[64];
		snprintf(label, sizeof(label), "%u semaine%s", w.by[i].weeks,
			 w.by[i].weeks > 1 ? "s" : "");
		reports_bar(p, label, NULL, w.by[i].lines, max,
			    w.by[i].weeks >= PISTE_OLD_WEEKS ? "ko" : NULL);
	}
	if (!w.n)
		page_raw(p, "<p class=\"muted\">Aucune ligne en échec.</p>\n");
	page_raw(p, "<p class=\"muted\">Chaque ligne en échec comptée une fois, par le "
		 "nombre d'intégrations publiées d'affilée où son dispositif a échoué, "
		 "celle-ci comprise.</p>\n");
	piste_weeks_release(&w);
}

/* The run's summary for national users: figures, outcomes by code, by ML. */
static void reports_summary(struct page *p, const struct editions *e,
			    const json_t *s, const char *run_id)
{
	if (!s) {
		page_raw(p, "<section><h2>Synthèse de l'intégration</h2><p class=\"muted\">"
			 "Pas de synthèse (summary.json) pour cette intégration.</p></section>\n");
		return;
	}
	long long lines = reports_json_ll(s, "lines"), integ = reports_json_ll(s, "integrated");
	long long failed = reports_json_ll(s, "failed");
	json_t *steps = json_object_get(s, "by_step");
	page_raw(p, "<section id=\"synthese\"><h2>Synthèse de l'intégration");
	if (run_id) {
		page_raw(p, " ");
		page_esc(p, run_id);
	}
	page_raw(p, "</h2>\n<div class=\"kpis\">");
	page_printf(p, "<div class=\"kpi\">Lignes reçues<b>%lld</b></div>", lines);
	page_printf(p, "<div class=\"kpi\">Intégrées<b>%lld</b></div>", integ);
	page_printf(p, "<div class=\"kpi\">En échec<b>%lld</b></div>", failed);
	page_printf(p, "<div class=\"kpi\">Intégrées par recherche<b>%lld / %lld / %lld</b>"
		    "<span class=\"muted\">1 n° PE cotraitance · 2 n° PE complément · "
		    "3 identité</span></div>",
		    reports_json_ll(steps, "1"), reports_json_ll(steps, "2"),
		    reports_json_ll(steps, "3"));
	page_raw(p, "</div>\n<h3>Résultat des lignes</h3>\n");
	reports_bar(p, "Intégrées", NULL, integ, lines, "ok");
	reports_bar(p, "En échec", NULL, failed, lines, "ko");

	page_raw(p, "<h3>Lignes en échec par code retour</h3>\n");
	json_t *by_code = json_object_get(s, "by_code");
	long long max = 0;
	for (unsigned c = 1; c <= 10; c++) {
		char key[12];
		snprintf(key, sizeof(key), "%02u", c);
		long long v = reports_json_ll(by_code, key);
		if (v > max)
			max = v;
	}
	for (unsigned c = 1; c <= 10; c++) {
		char key[12], label[160];
		snprintf(key, sizeof(key), "%02u", c);
		snprintf(label, sizeof(label), "%s %s", key, page_code_label(c));
		reports_bar(p, label, NULL, reports_json_ll(by_code, key), max, NULL);
	}

	reports_summary_weeks(p, e, run_id);

	json_t *reports = json_object_get(s, "reports");
	size_t n = json_is_object(reports) ? json_object_size(reports) : 0;
	page_raw(p, "<h3>Lignes par rapport (Mission Locale)</h3>\n");
	if (n == 0) {
		page_raw(p, "<p class=\"muted\">Aucun rapport pour cette intégration.</p>");
	} else {
		struct reports_ml_count *mls = calloc(n, sizeof(*mls));
		size_t k = 0;
		const char *key;
		json_t *v;
		json_object_foreach(reports, key, v) {
			if (mls && k < n) {
				mls[k].code = key;
				mls[k].rows = json_is_integer(v) ? (long long)json_integer_value(v) : 0;
				k++;
			}
		}
		if (mls) {
			qsort(mls, k, sizeof(*mls), reports_ml_count_cmp);
			long long rest = 0;
			for (size_t i = 0; i < k; i++) {
				if (i >= REPORTS_CHART_MLS) {
					rest += mls[i].rows;
					continue;
				}
				char label[300], link[100];
				snprintf(label, sizeof(label), "%s (%s)",
					 editions_ml_name(e, mls[i].code), mls[i].code);
				snprintf(link, sizeof(link), "/editions/%s.html", mls[i].code);
				reports_bar(p, label, report_name_valid(mls[i].code) ? link : NULL,
					    mls[i].rows, mls[0].rows, NULL);
			}
			if (k > REPORTS_CHART_MLS)
				page_printf(p, "<p class=\"muted\">et %zu autres rapports : %lld "
					    "lignes.</p>", k - REPORTS_CHART_MLS, rest);
			free(mls);
		}
	}
	page_raw(p, "<p class=\"muted\">Chiffres de l'intégration ; un rapport remplacé ou "
		 "supprimé depuis n'y est pas reflété.</p></section>\n");
}

/* The dispositifs integrated by the latest run, per ML, on the list page. */
static void reports_list_attached(struct page *p, struct editions *e,
				  const struct request *rq, const char *nq)
{
	char **codes = NULL;
	size_t *rows = NULL;
	char errstr[512];
	long n = attached_list(e->dir, &codes, &rows, errstr, sizeof(errstr));
	if (n < 0)
		log_error("editions: %s", errstr);
	page_raw(p, "<section id=\"dispositifs\"><h2>Dispositifs intégrés par la dernière "
		 "intégration</h2>");
	char sub[4096];
	snprintf(sub, sizeof(sub), "%s/" ATTACHED_DIR, e->dir);
	if (n <= 0 && access(sub, F_OK) != 0) {
		page_raw(p, "<p class=\"muted\">La liste des dispositifs intégrés n'est pas "
			 "encore publiée pour la dernière intégration.</p></section>\n");
		attached_list_free(codes, rows, n > 0 ? (size_t)n : 0);
		return;
	}
	if (!rq->user.national) {
		size_t count = 0;
		for (long i = 0; i < n; i++)
			if (strcmp(codes[i], rq->user.structure) == 0)
				count = rows[i];
		page_printf(p, "<p><a class=\"btn light\" href=\"/dispositifs/");
		page_url(p, rq->user.structure);
		page_printf(p, ".html\">Voir les %zu dispositif%s intégré%s</a></p>", count,
			    count > 1 ? "s" : "", count > 1 ? "s" : "");
	} else {
		page_raw(p, "<table><thead><tr><th>Mission Locale</th><th>Code</th>"
			 "<th class=\"n\">Dispositifs</th></tr></thead><tbody>\n");
		size_t shown = 0;
		for (long i = 0; i < n; i++) {
			const char *name = editions_ml_name(e, codes[i]);
			if (nq && *nq && !reports_matches(nq, name) && !reports_matches(nq, codes[i]))
				continue;
			shown++;
			page_raw(p, "<tr><td><a href=\"/dispositifs/");
			page_url(p, codes[i]);
			page_raw(p, ".html\">");
			page_esc(p, name);
			page_raw(p, "</a></td><td>");
			page_esc(p, codes[i]);
			page_printf(p, "</td><td class=\"n\">%zu</td></tr>\n", rows[i]);
		}
		if (!shown)
			page_raw(p, "<tr><td colspan=\"3\" class=\"muted\">Aucune Mission Locale."
				 "</td></tr>");
		page_raw(p, "</tbody></table>");
	}
	page_raw(p, "</section>\n");
	attached_list_free(codes, rows, n > 0 ? (size_t)n : 0);
}

static enum MHD_Result reports_list_page(struct editions *e, struct request *rq,
					 struct store_entry *entries, size_t n,
					 const json_t *summary, const char *run_id)
{
	const char *q = rq->user.national ? http_arg(rq, "q") : NULL;
	const char *tri = http_arg(rq, "tri");
	const char *ordre = http_arg(rq, "ordre");
	char nq[256] = "";
	if (q)
		reports_norm(q, nq, sizeof(nq));
	/* Search and order, for the national team. */
	size_t kept = n;
	if (rq->user.national) {
		if (*nq) {
			kept = 0;
			for (size_t i = 0; i < n; i++)
				if (reports_matches(nq, editions_ml_name(e, entries[i].ml_code)) ||
				    reports_matches(nq, entries[i].ml_code))
					entries[kept++] = entries[i];
		}
		int by = !tri ? 1 : strcmp(tri, "nom") == 0 ? 0 : strcmp(tri, "lignes") == 0 ? 2
			 : strcmp(tri, "date") == 0 ? 3 : 1;
		struct reports_sort order = { e, by, ordre && strcmp(ordre, "desc") == 0 };
		qsort_r(entries, kept, sizeof(*entries), reports_entry_cmp, &order);
	}
	char sub[300], held[1200];
	snprintf(sub, sizeof(sub), "%s · %s · intégration %s", rq->user.login,
		 rq->user.national ? "équipe nationale" : editions_ml_name(e, rq->user.structure),
		 run_id ? run_id : "inconnue");
	struct page_frame fr;
	http_frame(e, rq, &fr, "Éditions — _Rapport intégration AIJ", sub, NAV_REPORTS,
		   held, sizeof(held));
	struct page p;
	if (page_begin(&p, &fr) < 0)
		return MHD_NO;
	page_raw(&p, "<section><h2>Rapports de la dernière intégration</h2>");
	const char *key = !tri ? "code" : tri;
	int desc = ordre && strcmp(ordre, "desc") == 0;
	if (rq->user.national) {
		page_raw(&p, "<form class=\"inline\" method=\"get\" action=\"/editions.html\" "
			 "role=\"search\"><label for=\"q\">Rechercher une Mission Locale</label>"
			 "<input type=\"search\" id=\"q\" name=\"q\" placeholder=\"nom ou code\" "
			 "value=\"");
		page_esc(&p, q);
		page_raw(&p, "\">");
		if (tri)
			page_hidden(&p, "tri", tri);
		if (ordre)
			page_hidden(&p, "ordre", ordre);
		page_raw(&p, "<button class=\"btn\" type=\"submit\">Rechercher</button>");
		if (q && *q)
			page_raw(&p, "<a href=\"/editions.html\">Tout afficher</a>");
		page_printf(&p, "<span class=\"muted\">%zu rapport%s", kept, kept > 1 ? "s" : "");
		if (kept != n)
			page_printf(&p, " sur %zu", n);
		page_raw(&p, "</span></form><p></p>");
	}
	if (kept == 0) {
		page_raw(&p, n == 0 ? "<p>Aucun rapport : pas de ligne en échec pour vous cette "
				      "semaine, ou le rapport a été supprimé.</p>"
				    : "<p>Aucun rapport ne correspond à la recherche.</p>");
	} else {
		page_raw(&p, "<table><thead><tr>");
		if (rq->user.national) {
			reports_sort_link(&p, "Rapport", "nom", key, desc, q, "");
			reports_sort_link(&p, "Code", "code", key, desc, q, "");
			reports_sort_link(&p, "Lignes", "lignes", key, desc, q, " class=\"n\"");
			reports_sort_link(&p, "Fichier du", "date", key, desc, q, "");
		} else {
			page_raw(&p, "<th>Rapport</th><th>Code</th><th class=\"n\">Lignes</th>"
				 "<th>Fichier du</th>");
		}
		page_raw(&p, "<th>Télécharger</th></tr></thead><tbody>\n");
		for (size_t i = 0; i < kept; i++) {
			char when[64];
			page_time(entries[i].mtime, when, sizeof(when));
			page_raw(&p, "<tr><td><a href=\"/editions/");
			page_url(&p, entries[i].ml_code);
			page_raw(&p, ".html\">");
			page_esc(&p, editions_ml_name(e, entries[i].ml_code));
			page_raw(&p, "</a></td><td>");
			page_esc(&p, entries[i].ml_code);
			page_printf(&p, "</td><td class=\"n\">%zu</td><td>%s</td><td>",
				    entries[i].rows, when);
			if (rq->user.rights & RIGHT_TELECHARGER) {
				page_raw(&p, "<a href=\"/editions/");
				page_url(&p, entries[i].ml_code);
				page_raw(&p, "\">CSV</a> · <a href=\"/editions/");
				page_url(&p, entries[i].ml_code);
				page_raw(&p, ".xlsx\">Excel</a>");
			} else {
				page_raw(&p, "<span class=\"muted\">—</span>");
			}
			page_raw(&p, "</td></tr>\n");
		}
		page_raw(&p, "</tbody></table>");
	}
	page_raw(&p, "</section>\n");
	reports_list_attached(&p, e, rq, nq);
	page_raw(&p, "<section><h2>Consulter un dossier</h2><form class=\"inline\" "
		 "method=\"get\" action=\"/dossiers\"><label for=\"id\">Identifiant du "
		 "dossier</label><input type=\"text\" id=\"id\" name=\"id\" required>"
		 "<button class=\"btn\" type=\"submit\">Voir ses dispositifs</button></form>"
		 "</section>\n");
	if (rq->user.national)
		reports_summary(&p, e, summary, run_id);
	size_t len = 0;
	char *html = page_end(&p, &len);
	http_log(rq, MHD_HTTP_OK, NULL);
	return http_page(rq, MHD_HTTP_OK, html, len);
}

enum MHD_Result reports_list(struct editions *e, struct request *rq)
{
	struct store_entry *entries = NULL;
	size_t n = 0;
	char errstr[512];
	if (store_list(e->dir, &entries, &n, errstr, sizeof(errstr)) < 0) {
		log_error("editions: %s", errstr);
		return http_fail(e, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "impossible de lire la liste des rapports");
	}
	size_t kept = 0;
	for (size_t i = 0; i < n; i++)
		if (user_sees(&rq->user, entries[i].ml_code))
			entries[kept++] = entries[i];
	json_t *summary = editions_summary(e);
	const char *run_id = editions_run_id(summary);
	enum MHD_Result r;
	if (rq->route == R_LIST_PAGE) {
		r = reports_list_page(e, rq, entries, kept, summary, run_id);
		free(entries);
		json_decref(summary);
		return r;
	}
	json_t *list = json_array();
	for (size_t i = 0; i < kept; i++) {
		const struct store_entry *en = &entries[i];
		char when[40], csv[100], xlsx[100], html[100], pistes[100];
		history_time(en->mtime, when, sizeof(when));
		snprintf(csv, sizeof(csv), "/editions/%s", en->ml_code);
		snprintf(xlsx, sizeof(xlsx), "/editions/%s.xlsx", en->ml_code);
		snprintf(html, sizeof(html), "/editions/%s.html", en->ml_code);
		snprintf(pistes, sizeof(pistes), "/editions/%s.json", en->ml_code);
		const char *name = editions_ml_name(e, en->ml_code);
		json_array_append_new(list, json_pack(
			"{s:s, s:o, s:o, s:s, s:I, s:I, s:{s:s, s:s, s:s, s:s}}",
			"ml_code", en->ml_code,
			"ml_name", strcmp(name, en->ml_code) ? json_string(name) : json_null(),
			"run_id", run_id ? json_string(run_id) : json_null(),
			"date", when,
			"rows", (json_int_t)en->rows,
			"size", (json_int_t)en->size,
			"links", "csv", csv, "xlsx", xlsx, "html", html, "json", pistes));
	}
	json_t *j = json_pack("{s:o, s:s, s:s, s:o}",
			      "run_id", run_id ? json_string(run_id) : json_null(),
			      "user", rq->user.login, "structure", rq->user.structure,
			      "editions", list);
	free(entries);
	json_decref(summary);
	http_log(rq, MHD_HTTP_OK, NULL);
	return http_json(rq, MHD_HTTP_OK, j);
}

/* --- one report ------------------------------------------------------------- */

/* Why a line of the national report is there (SPEC §5), into buf: the
 * reporter's rule (route_reason()), by the referential loaded now, in
 * words, with what was not loaded to tell. */
static void reports_why(const struct editions *e, const struct report_row *row,
			char *buf, size_t size)
{
	const char *insee = row->field[REPORT_COL_INSEE];
	const char *covered_pc = NULL, *covered_by = NULL;
	enum route_reason why = route_reason(e->ref, insee, row->codes.mask,
					     &covered_pc, &covered_by);
	if (why == ROUTE_MALFORMED) {
		snprintf(buf, size, "Ligne mal formée (code 01) : pas de commune exploitable.");
		return;
	}
	if (why == ROUTE_UNKNOWN_INSEE) {
		snprintf(buf, size, "Code INSEE « %s » inconnu (code 08) : pas de commune "
			 "exploitable.", insee);
		return;
	}
	if (!e->has_communes) {
		snprintf(buf, size, "Référentiel des communes non chargé : impossible de dire "
			 "pourquoi.");
		return;
	}
	const char *commune = ref_commune_name(e->ref, insee);
	if (why == ROUTE_NO_COMMUNE) {
		snprintf(buf, size, "Commune « %s » absente du référentiel des communes.", insee);
		return;
	}
	if (why == ROUTE_NO_POSTCODE) {
		snprintf(buf, size, "La commune %s (%s) n'a pas de code postal : aucune Mission "
			 "Locale ne peut la couvrir.", commune ? commune : "", insee);
		return;
	}
	if (!e->has_coverage) {
		snprintf(buf, size, "Couverture des Missions Locales non chargée : impossible de "
			 "dire quel code postal n'est couvert par aucune.");
		return;
	}
	if (why == ROUTE_COVERED) {
		snprintf(buf, size, "Code postal %s (%s) couvert aujourd'hui par %s : la "
			 "couverture des Missions Locales a changé depuis l'intégration.",
			 covered_pc, commune ? commune : insee,
			 editions_ml_name(e, covered_by));
		return;
	}
	/* ROUTE_UNCOVERED: its postal codes, none of which a zone holds. */
	const char *const *pcs = NULL;
	size_t npc = ref_commune_postcodes(e->ref, insee, &pcs);
	size_t len = 0;
	int w = snprintf(buf, size, "Code postal ");
	len = w > 0 ? (size_t)w : 0;
	for (size_t i = 0; i < npc && i < 4 && len < size; i++) {
		w = snprintf(buf + len, size - len, "%s%s", i ? (i + 1 == npc ? " et " : ", ") : "",
			     pcs[i]);
		len += w > 0 ? (size_t)w : 0;
	}
	if (npc > 4 && len < size) {
		w = snprintf(buf + len, size - len, "…");
		len += w > 0 ? (size_t)w : 0;
	}
	if (len < size)
		snprintf(buf + len, size - len, " (%s) : aucune Mission Locale ne %s couvre.",
			 commune ? commune : insee, npc > 1 ? "les" : "le");
}

/* The evidence of the report r of rq (issue 18) into p, checked against r:
 * PISTE_OK (piste_release() p), or why there is none to show (p empty). */
static enum piste_state reports_piste(struct editions *e, const struct request *rq,
				      const struct report *r, const char *run_id,
				      struct piste *p)
{
	char errstr[600], why[300];
	int rc = piste_load(e->dir, rq->arg, p, errstr, sizeof(errstr));
	if (rc == 1)
		return PISTE_ABSENT;
	if (rc < 0) {
		log_error("editions: %s", errstr);
		return PISTE_UNREADABLE;
	}
	if (!piste_matches(p, r, run_id, why, sizeof(why))) {
		log_debug("editions: the evidence of '%s' does not describe its report (%s): "
			  "no piste shown", rq->arg, why);
		piste_release(p);
		return PISTE_REPLACED;
	}
	return PISTE_OK;
}

/* Who reads: the ML whose dossier ids may be shown, NULL for every one. */
static const char *reports_viewer(const struct request *rq)
{
	return rq->user.national ? NULL : rq->user.structure;
}

/* The report's sheet: its columns, then « Piste » and « Semaines en échec »
 * when the evidence is there. */
struct reports_sheet {
	const struct report *r;
	char **piste;   /* each row's leads, or NULL: no such columns */
	char (*weeks)[48];
};

static const char *reports_xlsx_cell(void *arg, size_t row, size_t col)
{
	const struct reports_sheet *sh = arg;
	if (col < REPORT_COLUMNS)
		return sh->r->row[row].field[col];
	return col == REPORT_COLUMNS ? sh->piste[row] : sh->weeks[row];
}

/* The legend sheet: code, label, what to do. */
static const char *reports_xlsx_legend(void *arg, size_t row, size_t col)
{
	static const char *const codes[10] = { "01", "02", "03", "04", "05",
					       "06", "07", "08", "09", "10" };
	(void)arg;
	return col == 0 ? codes[row] : col == 1 ? page_code_label((unsigned)row + 1)
					       : page_code_action((unsigned)row + 1);
}

/* Frees the n texts of the sheet. */
static void reports_sheet_release(struct reports_sheet *sh, size_t n)
{
	for (size_t i = 0; sh->piste && i < n; i++)
		free(sh->piste[i]);
	free(sh->piste);
	free(sh->weeks);
}

static enum MHD_Result reports_xlsx(struct editions *e, struct request *rq,
				    const char *data, size_t len, const char *run_id)
{
	struct report r;
	char errstr[512];
	if (report_parse(data, len, &r, errstr, sizeof(errstr)) < 0) {
		log_error("editions: %s", errstr);
		return http_fail(e, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "impossible de préparer le fichier Excel");
	}
	struct piste pst;
	struct reports_sheet sh = { &r, NULL, NULL };
	int oom = 0;
	if (reports_piste(e, rq, &r, run_id, &pst) == PISTE_OK) {
		/* Each cell is asked for twice (widths, then the row): made once. */
		sh.piste = calloc(r.n ? r.n : 1, sizeof(*sh.piste));
		sh.weeks = calloc(r.n ? r.n : 1, sizeof(*sh.weeks));
		oom = !sh.piste || !sh.weeks;
		for (size_t i = 0; !oom && i < r.n; i++) {
			/* No ';', '"' nor line end in it: saved as CSV, the
			 * sheet goes back as an upload (lib/report_format.h). */
			sh.piste[i] = piste_text(&pst.row[i], &r.row[i], reports_viewer(rq),
						 rq->arg, " · ");
			oom = !sh.piste[i];
			piste_weeks_text(&pst.row[i], sh.weeks[i], sizeof(sh.weeks[i]));
		}
		piste_release(&pst);
	}
	const char *titles[REPORT_XLSX_COLUMNS];
	for (size_t c = 0; c < REPORT_COLUMNS; c++)
		titles[c] = report_column_titles[c];
	titles[REPORT_COLUMNS] = REPORT_TITLE_PISTE;
	titles[REPORT_COLUMNS + 1] = REPORT_TITLE_WEEKS;
	static const char *const legend_titles[3] = { "Code retour", "Signification",
						      "Que faire" };
	/* A piste is a sentence or more: read in its cell, wrapped. */
	static const unsigned char wrap[REPORT_XLSX_COLUMNS] = { [REPORT_COLUMNS] = 1 };
	struct xlsx_table tables[2] = {
		{ "Rapport", titles, sh.piste ? REPORT_XLSX_COLUMNS : REPORT_COLUMNS, r.n,
		  reports_xlsx_cell, &sh, wrap },
		{ "Codes retour", legend_titles, 3, 10, reports_xlsx_legend, NULL },
	};
	size_t out_len = 0;
	char *out = NULL;
	if (!oom)
		out = xlsx_build(tables, 2, &out_len, errstr, sizeof(errstr));
	else
		snprintf(errstr, sizeof(errstr), "out of memory putting %zu leads into words", r.n);
	reports_sheet_release(&sh, r.n);
	report_release(&r);
	if (!out) {
		log_error("editions: %s", errstr);
		return http_fail(e, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "impossible de préparer le fichier Excel");
	}
	char disposition[600];
	reports_disposition(rq->arg, run_id, "xlsx", disposition, sizeof(disposition));
	http_log(rq, MHD_HTTP_OK, NULL);
	return http_reply(rq, MHD_HTTP_OK,
			  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
			  out, out_len, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disposition, NULL);
}

/* GET /editions/<ml>.json: each row's evidence, redacted for the reader. */
static enum MHD_Result reports_json(struct editions *e, struct request *rq,
				    const char *data, size_t len, const char *run_id)
{
	struct report r;
	char errstr[512];
	if (report_parse(data, len, &r, errstr, sizeof(errstr)) < 0) {
		log_error("editions: %s", errstr);
		return http_fail(e, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "impossible de lire le rapport");
	}
	struct piste pst;
	enum piste_state state = reports_piste(e, rq, &r, run_id, &pst);
	json_t *j = piste_json(state == PISTE_OK ? &pst : NULL, state, &r, rq->arg,
			       reports_viewer(rq), run_id);
	if (state == PISTE_OK)
		piste_release(&pst);
	report_release(&r);
	if (!j)
		return http_fail(e, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "mémoire insuffisante pour les pistes du rapport");
	http_log(rq, MHD_HTTP_OK, NULL);
	return http_json(rq, MHD_HTTP_OK, j);
}

/* What the report page shows: rows with a code, failing for weeks or more
 * (0: any). */
struct reports_filter {
	unsigned code;
	unsigned weeks;
};

static int reports_kept(const struct report_row *row, const struct piste_row *pr,
			const struct reports_filter *f)
{
	if (f->code && !(row->codes.mask & (1u << f->code)))
		return 0;
	return !f->weeks || (pr && pr->weeks >= f->weeks);
}

/* The link to page n of the report with the filter f. */
static void reports_page_link(struct page *p, const char *ml, size_t n,
			      const struct reports_filter *f, const char *text)
{
	page_raw(p, "<a href=\"/editions/");
	page_url(p, ml);
	page_printf(p, ".html?page=%zu", n);
	if (f->code)
		page_printf(p, "&amp;code=%02u", f->code);
	if (f->weeks)
		page_printf(p, "&amp;semaines=%u", f->weeks);
	page_raw(p, "#lignes\">");
	page_esc(p, text);
	page_raw(p, "</a>");
}

/* "Lignes 501 à 1 000 sur 50 107" and the links to the other pages. */
static void reports_pager(struct page *p, const char *ml, size_t page, size_t pages,
			  size_t first, size_t last, size_t total,
			  const struct reports_filter *f)
{
	page_raw(p, "<div class=\"pages\">");
	if (page > 1)
		reports_page_link(p, ml, page - 1, f, "← Page précédente");
	if (total)
		page_printf(p, "<span>Lignes %zu à %zu sur %zu%s — page %zu sur %zu</span>",
			    first, last, total, f->code || f->weeks ? " (filtrées)" : "", page,
			    pages);
	if (page < pages)
		reports_page_link(p, ml, page + 1, f, "Page suivante →");
	page_raw(p, "</div>\n");
}

/* The page's sink of piste_describe(): a list, each dossier id a link to
 * its page, each ML code with its name as a tooltip, the dossier's value
 * in bold. */
struct reports_lead {
	struct page *p;
	const struct editions *e;
	int open;
};

static void reports_lead_open(struct reports_lead *l)
{
	if (!l->open)
		page_raw(l->p, "<li>");
	l->open = 1;
}

static void reports_lead_text(void *arg, const char *s)
{
	struct reports_lead *l = arg;
	reports_lead_open(l);
	page_esc(l->p, s);
}

static void reports_lead_dossier(void *arg, const char *id)
{
	struct reports_lead *l = arg;
	reports_lead_open(l);
	page_raw(l->p, "<a href=\"/dossiers/");
	page_url(l->p, id);
	page_raw(l->p, ".html\">");
	page_esc(l->p, id);
	page_raw(l->p, "</a>");
}

static void reports_lead_ml(void *arg, const char *code)
{
	struct reports_lead *l = arg;
	reports_lead_open(l);
	const char *name = editions_ml_name(l->e, code);
	if (strcmp(name, code) != 0) {
		page_raw(l->p, "<span class=\"ml\" title=\"");
		page_esc(l->p, name);
		page_raw(l->p, "\">");
		page_esc(l->p, code);
		page_raw(l->p, "</span>");
	} else {
		page_esc(l->p, code);
	}
}

static void reports_lead_value(void *arg, const char *s)
{
	struct reports_lead *l = arg;
	reports_lead_open(l);
	page_raw(l->p, "<b>");
	page_esc(l->p, s);
	page_raw(l->p, "</b>");
}

static void reports_lead_end(void *arg)
{
	struct reports_lead *l = arg;
	page_raw(l->p, "</li>");
	l->open = 0;
}

/* The two cells of a row's evidence. */
static void reports_piste_cells(struct page *p, const struct editions *e,
				const struct piste_row *pr, const struct report_row *row,
				const char *viewer, const char *report_ml)
{
	struct reports_lead l = { p, e, 0 };
	struct piste_sink sink = { reports_lead_text, reports_lead_dossier, reports_lead_ml,
				   reports_lead_value, reports_lead_end, &l };
	page_raw(p, "<td class=\"piste\">");
	if (pr->n_cand) {
		page_raw(p, "<ul class=\"piste\">");
		piste_describe(pr, row, viewer, report_ml, &sink);
		page_raw(p, "</ul>");
	} else {
		page_raw(p, "<span class=\"muted\">—</span>");
	}
	/* "3", then "depuis le 15/11/2026" under it (piste_load() checked the
	 * date's form). */
	page_printf(p, "</td><td class=\"weeks\"><span class=\"wk%s\">%u</span> "
		    "<span class=\"since\">depuis le %.2s/%.2s/%.4s</span></td>",
		    pr->weeks >= PISTE_OLD_WEEKS ? " old" : "", pr->weeks, pr->first + 8,
		    pr->first + 5, pr->first);
}

/* Why the report page shows no piste, when it does not. */
static void reports_piste_notice(struct page *p, enum piste_state state, const char *run_id)
{
	switch (state) {
	case PISTE_OK:
		return;
	case PISTE_ABSENT:
		page_raw(p, "<p class=\"notice\">Pas de piste ni de semaines en échec pour ce "
			 "rapport : l'intégration ");
		page_esc(p, run_id ? run_id : "qui l'a produit");
		page_raw(p, " a été publiée avant qu'elles existent. Elles apparaîtront avec la "
			 "prochaine intégration.</p>\n");
		return;
	case PISTE_REPLACED:
		page_raw(p, "<p class=\"notice\">Ce rapport a été remplacé depuis l'intégration : "
			 "ses lignes ne sont plus celles qu'elle a examinées. Les pistes et les "
			 "semaines en échec ne sont donc pas affichées (elles pourraient désigner "
			 "le dossier d'un autre jeune).</p>\n");
		return;
	case PISTE_UNREADABLE:
		page_raw(p, "<p class=\"notice\">Les pistes de ce rapport n'ont pas pu être lues "
			 "(le journal du service dit pourquoi) : elles ne sont pas affichées.</p>\n");
		return;
	}
}

/* How to read the « Piste » and « Semaines en échec » columns. */
static void reports_piste_legend(struct page *p, int national_reader)
{
	page_raw(p, "<p class=\"legend\"><b>Lire la piste.</b> Pour une ligne qu'aucune "
		 "recherche n'a intégrée, la piste nomme les dossiers qui lui ressemblent et "
		 "ce qui diffère&nbsp;: « date de naissance 12/03/2005 au lieu de 13/03/2005 » "
		 "= le dossier a le 12/03/2005, la ligne le 13/03/2005. Les noms et prénoms y "
		 "sont écrits comme la recherche les compare&nbsp;: en majuscules, sans "
		 "accents, espaces, tirets ni apostrophes (« Le Goff-Hénaff » : LEGOFFHENAFF). ");
	if (!national_reader)
		page_raw(p, "Un dossier d'une autre Mission Locale est désigné par le code de "
			 "celle-ci, sans son identifiant. ");
	page_printf(p, "<b>Semaines en échec</b>&nbsp;: le nombre d'intégrations d'affilée "
		    "où la ligne a échoué, celle-ci comprise, et la date de la première "
		    "(<span class=\"wk old\">%d</span> : depuis %d semaines ou plus).</p>\n",
		    PISTE_OLD_WEEKS, PISTE_OLD_WEEKS);
}

static enum MHD_Result reports_page(struct editions *e, struct request *rq,
				    const struct store_entry *info, const char *data,
				    size_t len, const json_t *summary, const char *run_id)
{
	struct report r;
	char errstr[512];
	if (report_parse(data, len, &r, errstr, sizeof(errstr)) < 0) {
		log_error("editions: %s", errstr);
		return http_fail(e, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "impossible de lire le rapport");
	}
	struct piste pst;
	enum piste_state state = reports_piste(e, rq, &r, run_id, &pst);
	int has_piste = state == PISTE_OK;
	const char *viewer = reports_viewer(rq);
	int national = strcmp(rq->arg, REPORT_NATIONAL) == 0;
	size_t count[11] = { 0 }, old = 0;
	for (size_t i = 0; i < r.n; i++) {
		for (unsigned c = 1; c <= 10; c++)
			count[c] += (r.row[i].codes.mask >> c) & 1;
		old += has_piste && pst.row[i].weeks >= PISTE_OLD_WEEKS;
	}
	/* The filter, then the page of the filtered rows. */
	struct reports_filter f = { 0, 0 };
	const char *code_arg = http_arg(rq, "code");
	if (code_arg && strlen(code_arg) == 2 && code_arg[0] >= '0' && code_arg[0] <= '1' &&
	    code_arg[1] >= '0' && code_arg[1] <= '9') {
		f.code = (unsigned)(code_arg[0] - '0') * 10 + (unsigned)(code_arg[1] - '0');
		if (f.code < 1 || f.code > 10)
			f.code = 0;
	}
	const char *weeks_arg = http_arg(rq, "semaines");
	if (has_piste && weeks_arg && strlen(weeks_arg) == 1 && weeks_arg[0] >= '2' &&
	    weeks_arg[0] <= '9')
		f.weeks = (unsigned)(weeks_arg[0] - '0');
	size_t total = 0;
	for (size_t i = 0; i < r.n; i++)
		total += reports_kept(&r.row[i], has_piste ? &pst.row[i] : NULL, &f);
	size_t pages = total ? (total + EDITIONS_PAGE_ROWS - 1) / EDITIONS_PAGE_ROWS : 1;
	size_t page = reports_page_arg(rq);
	if (page > pages)
		page = pages;
	size_t first = (page - 1) * EDITIONS_PAGE_ROWS; /* in the filtered rows */

	char title[400], sub[400], when[64], held[1200];
	const char *who = editions_ml_name(e, rq->arg);
	snprintf(title, sizeof(title), "_Rapport intégration AIJ — %s", who);
	page_time(info->mtime, when, sizeof(when));
	snprintf(sub, sizeof(sub), "%s%s · intégration %s · fichier du %s · %zu ligne%s",
		 national ? "" : "Mission Locale ", national ? "Rapport national" : rq->arg,
		 run_id ? run_id : "inconnue", when, r.n, r.n > 1 ? "s" : "");
	struct page_frame fr;
	http_frame(e, rq, &fr, title, sub, NAV_REPORTS, held, sizeof(held));
	struct page p;
	if (page_begin(&p, &fr) < 0) {
		if (has_piste)
			piste_release(&pst);
		report_release(&r);
		return MHD_NO;
	}
	/* Always at the top: back, downloads, management. */
	page_raw(&p, "<div class=\"bar-top\"><a href=\"/editions.html\">← Tous les "
		 "rapports</a><span class=\"grow\"></span>");
	if (rq->user.rights & RIGHT_TELECHARGER) {
		page_raw(&p, "<a class=\"btn\" href=\"/editions/");
		page_url(&p, rq->arg);
		page_raw(&p, "\">Télécharger (CSV)</a><a class=\"btn\" href=\"/editions/");
		page_url(&p, rq->arg);
		page_raw(&p, ".xlsx\">Télécharger (Excel)</a>");
	} else {
		page_raw(&p, "<span class=\"muted\">Le téléchargement demande le droit « "
			 "Télécharger les rapports ».</span>");
	}
	if (rq->user.rights & RIGHT_GERER) {
		page_raw(&p, "<a class=\"btn light\" href=\"/editions/");
		page_url(&p, rq->arg);
		page_raw(&p, "/remplacer\">Remplacer</a><a class=\"btn light\" href=\"/editions/");
		page_url(&p, rq->arg);
		page_raw(&p, "/supprimer\">Supprimer</a>");
	}
	page_raw(&p, "</div>\n");
	if (rq->user.rights & (RIGHT_TELECHARGER | RIGHT_GERER))
		reports_spreadsheet_tip(&p, rq);

	page_raw(&p, "<section><h2>Lignes par code retour</h2><table><thead><tr><th>Code</th>"
		 "<th>Signification</th><th class=\"n\">Lignes</th><th>Que faire</th>"
		 "</tr></thead><tbody>\n");
	int any = 0;
	for (unsigned c = 1; c <= 10; c++) {
		if (!count[c])
			continue;
		any = 1;
		page_printf(&p, "<tr><td><span class=\"code c%u\">%02u</span></td><td>", c, c);
		page_esc(&p, page_code_label(c));
		page_printf(&p, "</td><td class=\"n\">%zu</td><td>", count[c]);
		page_esc(&p, page_code_action(c));
		page_raw(&p, " ");
		struct reports_filter by_code = { c, 0 };
		reports_page_link(&p, rq->arg, 1, &by_code, "Voir ces lignes");
		page_raw(&p, "</td></tr>\n");
	}
	if (!any)
		page_raw(&p, "<tr><td colspan=\"4\" class=\"muted\">Aucune ligne.</td></tr>");
	page_raw(&p, "</tbody></table><p class=\"muted\">Une ligne peut avoir plusieurs codes "
		 "(un par recherche tentée) : elle est comptée pour chacun.</p>");
	if (has_piste) {
		page_printf(&p, "<p class=\"weeks-sum\"><span class=\"wk%s\">%zu</span> ligne%s "
			    "en échec depuis %d semaines ou plus.", old ? " old" : "", old,
			    old > 1 ? "s" : "", PISTE_OLD_WEEKS);
		if (old) {
			struct reports_filter by_weeks = { 0, PISTE_OLD_WEEKS };
			page_raw(&p, " ");
			reports_page_link(&p, rq->arg, 1, &by_weeks, "Voir ces lignes");
		}
		page_raw(&p, "</p>");
	}
	page_codes_legend(&p);
	if (national)
		page_raw(&p, "<p class=\"legend\"><b>Pourquoi ces lignes sont au national.</b> "
			 "Une ligne en échec va au rapport de chaque Mission Locale dont la zone "
			 "couvre un code postal de la commune du jeune. Elle arrive ici quand elle "
			 "n'a pas de commune exploitable (code 01 ou 08) ou qu'aucune Mission Locale "
			 "ne couvre ses codes postaux : la colonne « Pourquoi ici » le dit pour "
			 "chaque ligne.</p>");
	page_raw(&p, "</section>\n");

	page_raw(&p, "<section id=\"lignes\"><h2>Les lignes du rapport</h2>"
		 "<form class=\"inline\" method=\"get\" action=\"/editions/");
	page_url(&p, rq->arg);
	page_raw(&p, ".html#lignes\"><label for=\"code\">Filtrer par code</label>"
		 "<select id=\"code\" name=\"code\"><option value=\"\">Tous les codes</option>");
	for (unsigned c = 1; c <= 10; c++) {
		if (!count[c])
			continue;
		page_printf(&p, "<option value=\"%02u\"%s>%02u — ", c,
			    c == f.code ? " selected" : "", c);
		page_esc(&p, page_code_label(c));
		page_printf(&p, " (%zu)</option>", count[c]);
	}
	page_raw(&p, "</select>");
	if (has_piste) {
		page_raw(&p, "<label for=\"semaines\">Semaines en échec</label><select "
			 "id=\"semaines\" name=\"semaines\"><option value=\"\">toutes</option>");
		for (unsigned w = 2; w <= PISTE_OLD_WEEKS; w++) {
			size_t n = 0;
			for (size_t i = 0; i < r.n; i++)
				n += pst.row[i].weeks >= w;
			page_printf(&p, "<option value=\"%u\"%s>%u ou plus (%zu)</option>",
				    w, w == f.weeks ? " selected" : "", w, n);
		}
		page_raw(&p, "</select>");
	}
	page_raw(&p, "<button class=\"btn\" type=\"submit\">Filtrer</button>");
	if (f.code || f.weeks) {
		page_raw(&p, "<a href=\"/editions/");
		page_url(&p, rq->arg);
		page_raw(&p, ".html#lignes\">Toutes les lignes</a>");
	}
	page_raw(&p, "</form>\n");
	reports_piste_notice(&p, state, run_id);
	if (has_piste)
		reports_piste_legend(&p, viewer == NULL);
	size_t shown_last = first + EDITIONS_PAGE_ROWS < total ? first + EDITIONS_PAGE_ROWS : total;
	reports_pager(&p, rq->arg, page, pages, total ? first + 1 : 0, shown_last, total, &f);
	page_raw(&p, "<table class=\"rows\"><thead><tr><th class=\"n\">#</th>"
		 "<th>Identifiant SIGMA</th><th>Code Pôle Emploi</th><th>Nom de naissance</th>"
		 "<th>Prénom</th><th>Date de naissance</th><th>Commune de résidence</th>"
		 "<th>Codes retour, détail et que faire</th>");
	if (has_piste)
		page_raw(&p, "<th>Piste</th><th>Semaines en échec</th>");
	if (national)
		page_raw(&p, "<th>Pourquoi ici</th>");
	page_raw(&p, "</tr></thead><tbody>\n");
	size_t k = 0; /* filtered rows seen */
	for (size_t i = 0; i < r.n && k < first + EDITIONS_PAGE_ROWS; i++) {
		const struct report_row *row = &r.row[i];
		const struct piste_row *pr = has_piste ? &pst.row[i] : NULL;
		if (!reports_kept(row, pr, &f))
			continue;
		if (k++ < first)
			continue;
		page_printf(&p, "<tr%s><td class=\"n\">%zu</td>",
			    pr && pr->weeks >= PISTE_OLD_WEEKS ? " class=\"old\"" : "", i + 1);
		for (int c = 0; c < REPORT_COL_INSEE; c++) {
			page_raw(&p, "<td>");
			page_esc(&p, row->field[c]);
			page_raw(&p, "</td>");
		}
		page_raw(&p, "<td>");
		page_esc(&p, row->field[REPORT_COL_INSEE]);
		const char *commune = e->has_communes && *row->field[REPORT_COL_INSEE]
			? ref_commune_name(e->ref, row->field[REPORT_COL_INSEE]) : NULL;
		if (commune) {
			page_raw(&p, " <span class=\"muted\">");
			page_esc(&p, commune);
			page_raw(&p, "</span>");
		}
		/* The codes, what each means and what to do, in one cell: the
		 * row keeps its width for the piste. */
		page_raw(&p, "</td><td class=\"codes\"><div class=\"badges\">");
		page_code_badges(&p, row->codes.code, row->codes.n, row->field[REPORT_COL_CODES]);
		page_raw(&p, "</div><ul class=\"steps\">");
		for (size_t c = 0; c < row->codes.n; c++) {
			unsigned step = page_code_step(row->codes.code, row->codes.n, c);
			page_raw(&p, "<li>");
			if (step)
				page_printf(&p, "<b>%u · %s</b> : ", step, page_step_short(step));
			else
				page_raw(&p, "<b>Contrôle de la ligne</b> : ");
			page_printf(&p, "%02u ", row->codes.code[c]);
			page_esc(&p, page_code_label(row->codes.code[c]));
			page_raw(&p, "</li>");
		}
		page_raw(&p, "</ul><ul class=\"acts\">");
		const char *said[REPORT_CODES_MAX] = { NULL };
		size_t n_said = 0;
		for (size_t c = 0; c < row->codes.n; c++) {
			const char *act = page_code_action(row->codes.code[c]);
			int dup = 0;
			for (size_t s = 0; s < n_said; s++)
				dup |= said[s] == act;
			if (dup || !act)
				continue;
			said[n_said++] = act;
			page_raw(&p, "<li>");
			page_esc(&p, act);
			page_raw(&p, "</li>");
		}
		page_raw(&p, "</ul></td>");
		if (pr)
			reports_piste_cells(&p, e, pr, row, viewer, rq->arg);
		if (national) {
			char why[600];
			reports_why(e, row, why, sizeof(why));
			page_raw(&p, "<td>");
			page_esc(&p, why);
			page_raw(&p, "</td>");
		}
		page_raw(&p, "</tr>\n");
	}
	if (total == 0)
		page_printf(&p, "<tr><td colspan=\"%d\" class=\"muted\">%s</td></tr>",
			    8 + national + 2 * has_piste,
			    r.n ? "Aucune ligne avec ce filtre." : "Le rapport n'a aucune ligne.");
	page_raw(&p, "</tbody></table>\n");
	reports_pager(&p, rq->arg, page, pages, total ? first + 1 : 0, shown_last, total, &f);
	page_raw(&p, "</section>\n");
	if (has_piste)
		piste_release(&pst);
	report_release(&r);
	if (rq->user.rights & RIGHT_TELECHARGER) {
		page_raw(&p, "<p class=\"muted\">Pour un programme : <code>curl -OJ -H "
			 "'Authorization: Bearer &lt;jeton&gt;' https://&lt;serveur&gt;/editions/");
		page_esc(&p, rq->arg);
		page_raw(&p, "</code> ; ses pistes en JSON : <code>/editions/");
		page_esc(&p, rq->arg);
		page_raw(&p, ".json</code></p>\n");
	}
	if (rq->user.national)
		reports_summary(&p, e, summary, run_id);
	size_t hlen = 0;
	char *html = page_end(&p, &hlen);
	http_log(rq, MHD_HTTP_OK, NULL);
	return http_page(rq, MHD_HTTP_OK, html, hlen);
}

/* Reads the report of the request; on none or an error, queues the failure
 * (*res) and returns NULL. */
static char *reports_read(struct editions *e, struct request *rq, size_t *len,
			  struct store_entry *info, enum MHD_Result *res)
{
	char *data = NULL;
	char errstr[512];
	int r = store_read(e->dir, rq->arg, &data, len, info, errstr, sizeof(errstr));
	if (r < 0) {
		log_error("editions: %s", errstr);
		*res = http_fail(e, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "impossible de lire le rapport");
		return NULL;
	}
	if (r == 1) {
		*res = http_fail(e, rq, MHD_HTTP_NOT_FOUND,
				 "pas de rapport « %s » pour la dernière intégration (aucune "
				 "ligne en échec cette semaine, ou rapport supprimé)", rq->arg);
		return NULL;
	}
	return data;
}

enum MHD_Result reports_get(struct editions *e, struct request *rq)
{
	size_t len = 0;
	struct store_entry info;
	enum MHD_Result res = MHD_NO;
	char *data = reports_read(e, rq, &len, &info, &res);
	if (!data)
		return res;
	json_t *summary = editions_summary(e);
	const char *run_id = editions_run_id(summary);
	if (rq->route == R_REPORT_PAGE) {
		res = reports_page(e, rq, &info, data, len, summary, run_id);
		free(data);
	} else if (rq->route == R_REPORT_XLSX) {
		res = reports_xlsx(e, rq, data, len, run_id);
		free(data);
	} else if (rq->route == R_REPORT_JSON) {
		res = reports_json(e, rq, data, len, run_id);
		free(data);
	} else {
		char disposition[600], modified[64];
		reports_disposition(rq->arg, run_id, "csv", disposition, sizeof(disposition));
		struct tm tm;
		gmtime_r(&info.mtime, &tm);
		strftime(modified, sizeof(modified), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		http_log(rq, MHD_HTTP_OK, NULL);
		res = http_reply(rq, MHD_HTTP_OK, "text/csv; charset=utf-8", data, len,
				 MHD_HTTP_HEADER_CONTENT_DISPOSITION, disposition,
				 MHD_HTTP_HEADER_LAST_MODIFIED, modified, NULL);
	}
	json_decref(summary);
	return res;
}

/* --- replacing and deleting ------------------------------------------------------ */

enum MHD_Result reports_put(struct editions *e, struct request *rq)
{
	char errstr[1024];
	size_t out_len = 0;
	struct report_normalized what;
	char *out = report_normalize(rq->body ? rq->body : "", rq->len, &out_len, &what,
				     errstr, sizeof(errstr));
	if (!out)
		return http_fail(e, rq, MHD_HTTP_UNPROCESSABLE_CONTENT,
				 "ce fichier n'est pas un rapport : %s ; rien n'a changé", errstr);
	int r = store_replace(e->dir, rq->arg, out, out_len, errstr, sizeof(errstr));
	free(out);
	if (r < 0) {
		log_error("editions: %s", errstr);
		return http_fail(e, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "impossible de remplacer le rapport ; rien n'a changé");
	}
	if (r == 1)
		return http_fail(e, rq, MHD_HTTP_NOT_FOUND,
				 "pas de rapport « %s » pour la dernière intégration", rq->arg);
	http_log(rq, MHD_HTTP_OK, "replaced");
	return http_json(rq, MHD_HTTP_OK,
			 json_pack("{s:s, s:b, s:I, s:I, s:b}", "ml_code", rq->arg,
				   "replaced", 1, "rows", (json_int_t)what.rows,
				   "size", (json_int_t)out_len,
				   "converted", what.windows_1252 || !what.had_bom || what.lf ||
						what.blank || what.xlsx_columns || what.quoted));
}

enum MHD_Result reports_delete(struct editions *e, struct request *rq)
{
	char errstr[512];
	int r = store_delete(e->dir, rq->arg, errstr, sizeof(errstr));
	if (r < 0) {
		log_error("editions: %s", errstr);
		return http_fail(e, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "impossible de supprimer le rapport");
	}
	if (r == 1)
		return http_fail(e, rq, MHD_HTTP_NOT_FOUND,
				 "pas de rapport « %s » pour la dernière intégration", rq->arg);
	http_log(rq, MHD_HTTP_OK, "deleted");
	return http_json(rq, MHD_HTTP_OK,
			 json_pack("{s:s, s:b}", "ml_code", rq->arg, "deleted", 1));
}

/* The start of a management page: frame and heading. */
static int reports_manage_begin(struct editions *e, struct request *rq, struct page *p,
				const char *what, char *held, size_t held_size)
{
	char title[300];
	snprintf(title, sizeof(title), "%s — %s", what, editions_ml_name(e, rq->arg));
	struct page_frame fr;
	http_frame(e, rq, &fr, title, "_Rapport intégration AIJ", NAV_REPORTS, held, held_size);
	if (page_begin(p, &fr) < 0)
		return -1;
	page_raw(p, "<div class=\"bar-top\"><a href=\"/editions/");
	page_url(p, rq->arg);
	page_raw(p, ".html\">← Retour au rapport</a></div>\n");
	return 0;
}

/* The upload form, with error (may be NULL) above it. */
static enum MHD_Result reports_upload_form(struct editions *e, struct request *rq,
					   const struct store_entry *info, unsigned status,
					   const char *error)
{
	char held[1200], when[64];
	struct page p;
	if (reports_manage_begin(e, rq, &p, "Remplacer le rapport", held, sizeof(held)) < 0)
		return MHD_NO;
	page_time(info->mtime, when, sizeof(when));
	page_raw(&p, "<section><h2>Remplacer le rapport</h2>");
	if (error) {
		page_raw(&p, "<p class=\"error\" role=\"alert\">Fichier refusé : ");
		page_esc(&p, error);
		page_raw(&p, ". Rien n'a changé.</p>");
	}
	page_printf(&p, "<p>Le rapport actuel a %zu ligne%s (fichier du %s). Choisissez le "
		    "fichier qui le remplacera&nbsp;: le rapport corrigé, enregistré en CSV "
		    "(séparateur point-virgule), avec la même première ligne d'en-tête et les "
		    "7 colonnes (ou les 9 du fichier Excel : « Piste » et « Semaines en échec » "
		    "sont retirées). Un fichier enregistré par Excel (Windows-1252, sans BOM) "
		    "ou par LibreOffice (champs entre guillemets) est accepté et converti.</p>",
		    info->rows, info->rows > 1 ? "s" : "", when);
	reports_spreadsheet_tip(&p, rq);
	page_raw(&p, "<form method=\"post\" enctype=\"multipart/form-data\" action=\"/editions/");
	page_url(&p, rq->arg);
	page_raw(&p, "/remplacer\">");
	page_hidden(&p, EDITIONS_CSRF_FIELD, rq->session.csrf);
	page_hidden(&p, "etape", "verifier");
	page_raw(&p, "<p><label for=\"fichier\">Fichier (CSV)</label> <input type=\"file\" "
		 "id=\"fichier\" name=\"fichier\" accept=\".csv,text/csv\" required></p>"
		 "<p><button class=\"btn\" type=\"submit\">Vérifier le fichier</button> "
		 "<span class=\"muted\">Rien ne change avant votre confirmation.</span></p>"
		 "</form></section>\n");
	size_t len = 0;
	char *html = page_end(&p, &len);
	if (status == MHD_HTTP_OK)
		http_log(rq, status, NULL);
	return http_page(rq, status, html, len);
}

/* The confirmation of an upload kept in the session. */
static enum MHD_Result reports_upload_confirm(struct editions *e, struct request *rq,
					      const struct store_entry *info,
					      const char *filename,
					      const struct report_normalized *what)
{
	char held[1200], when[64];
	struct page p;
	if (reports_manage_begin(e, rq, &p, "Remplacer le rapport", held, sizeof(held)) < 0)
		return MHD_NO;
	page_time(info->mtime, when, sizeof(when));
	page_raw(&p, "<section><h2>Confirmer le remplacement</h2><p>Le fichier « ");
	page_esc(&p, filename && *filename ? filename : "sans nom");
	page_printf(&p, " » est un rapport valide de <b>%zu ligne%s</b>.</p><ul>", what->rows,
		    what->rows > 1 ? "s" : "");
	if (what->windows_1252)
		page_raw(&p, "<li>Encodage Windows-1252 (Excel) : converti en UTF-8.</li>");
	if (!what->had_bom)
		page_raw(&p, "<li>Marque d'ordre des octets (BOM) UTF-8 ajoutée.</li>");
	if (what->lf)
		page_raw(&p, "<li>Fins de ligne converties en CRLF.</li>");
	if (what->xlsx_columns)
		page_raw(&p, "<li>Colonnes « Piste » et « Semaines en échec » du fichier Excel "
			 "retirées : le rapport garde ses 7 colonnes.</li>");
	if (what->quoted)
		page_raw(&p, "<li>Guillemets autour des champs retirés.</li>");
	if (what->blank)
		page_printf(&p, "<li>%zu ligne%s vide%s retirée%s.</li>", what->blank,
			    what->blank > 1 ? "s" : "", what->blank > 1 ? "s" : "",
			    what->blank > 1 ? "s" : "");
	page_printf(&p, "</ul><p>Il remplacera le rapport actuel de %s (%zu ligne%s, fichier "
		    "du %s). Le remplacement est définitif pour la semaine : la prochaine "
		    "intégration remplacera tous les rapports.</p>",
		    editions_ml_name(e, rq->arg), info->rows, info->rows > 1 ? "s" : "", when);
	page_raw(&p, "<form method=\"post\" action=\"/editions/");
	page_url(&p, rq->arg);
	page_raw(&p, "/remplacer\">");
	page_hidden(&p, EDITIONS_CSRF_FIELD, rq->session.csrf);
	page_hidden(&p, "etape", "confirmer");
	page_raw(&p, "<button class=\"btn\" type=\"submit\">Confirmer le remplacement</button> "
		 "<a class=\"btn light\" href=\"/editions/");
	page_url(&p, rq->arg);
	page_raw(&p, ".html\">Annuler</a></form></section>\n");
	size_t len = 0;
	char *html = page_end(&p, &len);
	http_log(rq, MHD_HTTP_OK, "upload checked, awaiting confirmation");
	return http_page(rq, MHD_HTTP_OK, html, len);
}

/* Forms post with the session: a program uses PUT and DELETE. */
static enum MHD_Result reports_form_needs_session(struct editions *e, struct request *rq)
{
	return http_fail(e, rq, MHD_HTTP_FORBIDDEN,
			 "ce formulaire s'utilise dans le navigateur, après connexion (un "
			 "programme utilise PUT ou DELETE /editions/%s)", rq->arg);
}

enum MHD_Result reports_replace_form(struct editions *e, struct request *rq)
{
	size_t len = 0;
	struct store_entry info;
	enum MHD_Result res = MHD_NO;
	char *data = reports_read(e, rq, &len, &info, &res);
	if (!data)
		return res;
	free(data);
	if (!http_is(rq, "POST")) {
		if (rq->auth != AUTH_SESSION)
			return reports_form_needs_session(e, rq);
		return reports_upload_form(e, rq, &info, MHD_HTTP_OK, NULL);
	}
	if (rq->auth != AUTH_SESSION)
		return reports_form_needs_session(e, rq);
	char errstr[1024];
	const char *step = form_value(rq->form, "etape", NULL);
	if (step && strcmp(step, "confirmer") == 0) {
		size_t plen = 0;
		char *pending = session_pending_take(e->sessions, rq->sid, rq->arg, &plen);
		if (!pending)
			return http_fail(e, rq, 409, "aucun fichier n'attend de confirmation pour "
					 "ce rapport (déjà remplacé, ou session expirée) : "
					 "recommencez le remplacement");
		size_t rows = 0;
		for (size_t i = 0; i < plen; i++)
			rows += pending[i] == '\n';
		rows = rows ? rows - 1 : 0;
		int r = store_replace(e->dir, rq->arg, pending, plen, errstr, sizeof(errstr));
		free(pending);
		if (r < 0) {
			log_error("editions: %s", errstr);
			return http_fail(e, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
					 "impossible de remplacer le rapport ; rien n'a changé");
		}
		if (r == 1)
			return http_fail(e, rq, MHD_HTTP_NOT_FOUND, "le rapport « %s » a été "
					 "supprimé entre-temps : rien n'a changé", rq->arg);
		char msg[300], where[200];
		snprintf(msg, sizeof(msg), "Le rapport de %s a été remplacé : %zu ligne%s.",
			 editions_ml_name(e, rq->arg), rows, rows > 1 ? "s" : "");
		session_flash(e->sessions, rq->sid, msg);
		snprintf(where, sizeof(where), "/editions/%s.html", rq->arg);
		http_log(rq, MHD_HTTP_SEE_OTHER, "replaced");
		return http_redirect(rq, where, NULL);
	}
	size_t flen = 0;
	const char *file = form_value(rq->form, "fichier", &flen);
	if (!file || flen == 0)
		return reports_upload_form(e, rq, &info, MHD_HTTP_UNPROCESSABLE_CONTENT,
					   "aucun fichier choisi, ou fichier vide");
	struct report_normalized what;
	size_t out_len = 0;
	char *out = report_normalize(file, flen, &out_len, &what, errstr, sizeof(errstr));
	if (!out) {
		http_log(rq, MHD_HTTP_UNPROCESSABLE_CONTENT, errstr);
		return reports_upload_form(e, rq, &info, MHD_HTTP_UNPROCESSABLE_CONTENT, errstr);
	}
	int r = session_pending_put(e->sessions, rq->sid, rq->arg, out, out_len, what.rows);
	if (r != 0)
		return http_fail(e, rq, MHD_HTTP_SERVICE_UNAVAILABLE,
				 "trop de remplacements attendent leur confirmation : "
				 "réessayez dans quelques minutes");
	return reports_upload_confirm(e, rq, &info, form_filename(rq->form, "fichier"), &what);
}

enum MHD_Result reports_delete_form(struct editions *e, struct request *rq)
{
	size_t len = 0;
	struct store_entry info;
	enum MHD_Result res = MHD_NO;
	char *data = reports_read(e, rq, &len, &info, &res);
	if (!data)
		return res;
	free(data);
	if (rq->auth != AUTH_SESSION)
		return reports_form_needs_session(e, rq);
	const char *confirm = http_is(rq, "POST") ? form_value(rq->form, "confirmer", NULL)
						  : NULL;
	if (confirm && strcmp(confirm, "oui") == 0) {
		char errstr[512];
		int r = store_delete(e->dir, rq->arg, errstr, sizeof(errstr));
		if (r < 0) {
			log_error("editions: %s", errstr);
			return http_fail(e, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
					 "impossible de supprimer le rapport");
		}
		if (r == 1)
			return http_fail(e, rq, MHD_HTTP_NOT_FOUND,
					 "pas de rapport « %s » pour la dernière intégration", rq->arg);
		char msg[300];
		snprintf(msg, sizeof(msg), "Le rapport de %s a été supprimé.",
			 editions_ml_name(e, rq->arg));
		session_flash(e->sessions, rq->sid, msg);
		http_log(rq, MHD_HTTP_SEE_OTHER, "deleted");
		return http_redirect(rq, "/editions.html", NULL);
	}
	char held[1200], when[64];
	struct page p;
	if (reports_manage_begin(e, rq, &p, "Supprimer le rapport", held, sizeof(held)) < 0)
		return MHD_NO;
	page_time(info.mtime, when, sizeof(when));
	page_printf(&p, "<section><h2>Supprimer le rapport ?</h2><p>Le rapport de %s a %zu "
		    "ligne%s (fichier du %s). Une fois supprimé, il n'est plus visible ni "
		    "téléchargeable jusqu'à la prochaine intégration, qui remplacera tous les "
		    "rapports. La suppression est définitive pour la semaine.</p>",
		    editions_ml_name(e, rq->arg), info.rows, info.rows > 1 ? "s" : "", when);
	page_raw(&p, "<form method=\"post\" action=\"/editions/");
	page_url(&p, rq->arg);
	page_raw(&p, "/supprimer\">");
	page_hidden(&p, EDITIONS_CSRF_FIELD, rq->session.csrf);
	page_hidden(&p, "confirmer", "oui");
	page_raw(&p, "<button class=\"btn danger\" type=\"submit\">Supprimer le rapport</button> "
		 "<a class=\"btn light\" href=\"/editions/");
	page_url(&p, rq->arg);
	page_raw(&p, ".html\">Annuler</a></form></section>\n");
	size_t hlen = 0;
	char *html = page_end(&p, &hlen);
	http_log(rq, MHD_HTTP_OK, NULL);
	return http_page(rq, MHD_HTTP_OK, html, hlen);
}
