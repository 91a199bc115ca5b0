/* The dispositifs on the portal: those attached to one dossier, from Redis
 * (GET /dossiers/<id>/dispositifs as JSON, /dossiers/<id>.html as a page),
 * and those the latest run integrated for one ML, from
 * DIR/attached/<ml>.csv (/dispositifs/<ml>.html, searchable, and .xlsx). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "attached.h"
#include "dispositif.h"
#include "http.h"
#include "index_keys.h"
#include "index_lookup.h"
#include "log.h"
#include "normalize.h"
#include "redis.h"
#include "referential.h"
#include "xlsx.h"

#define DOSSIERS_REDIS_TIMEOUT_MS 2000

/* A dossier as the index and its attachments tell it. */
struct dossier_view {
	char ml[128];    /* its ML in the current index, or "" */
	json_t *items;   /* the dispositifs (JSON of dispositif_decode()) by identity */
};

static int dossiers_strcmp_p(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Reads the dossier rq->arg from Redis, checking that the user may see it.
 * Returns 0 with v filled (json_decref(v->items)), or the status of the
 * failure with msg. */
static unsigned dossiers_fetch(struct editions *e, struct request *rq,
			       struct dossier_view *v, char *msg, size_t msg_size)
{
	memset(v, 0, sizeof(*v));
	if (!e->redis) {
		snprintf(msg, msg_size, "l'index des dossiers n'est pas configuré (--redis)");
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	}
	char errstr[512];
	redisContext *rc = redis_connect(e->redis, DOSSIERS_REDIS_TIMEOUT_MS, errstr,
					 sizeof(errstr));
	if (!rc) {
		log_error("editions: %s", errstr);
		snprintf(msg, msg_size, "l'index des dossiers est injoignable : réessayez "
			 "plus tard");
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	}
	unsigned status = 0;
	int found = index_lookup_ml(rc, rq->arg, v->ml, sizeof(v->ml), errstr, sizeof(errstr));
	if (found < 0 && rc->err) {
		log_error("editions: %s", errstr);
		snprintf(msg, msg_size, "l'index des dossiers est injoignable : réessayez "
			 "plus tard");
		status = MHD_HTTP_SERVICE_UNAVAILABLE;
		goto out;
	}
	/* No index loaded yet: no dossier has a known ML. */
	if (found != 1)
		v->ml[0] = '\0';
	if (!rq->user.national && strcmp(v->ml, rq->user.structure) != 0) {
		if (v->ml[0]) {
			snprintf(msg, msg_size, "le dossier « %s » appartient à une autre "
				 "Mission Locale que la vôtre (%s)", rq->arg, rq->user.structure);
			status = MHD_HTTP_FORBIDDEN;
		} else {
			snprintf(msg, msg_size, "pas de dossier « %s » dans l'index des dossiers",
				 rq->arg);
			status = MHD_HTTP_NOT_FOUND;
		}
		goto out;
	}
	char dispositifs[INDEX_KEY_DISPOSITIFS_SIZE];
	index_key_dispositifs(dispositifs, rq->arg);
	redisReply *h = redisCommand(rc, "HGETALL %s", dispositifs);
	if (!h || h->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(h);
		snprintf(msg, msg_size, "l'index des dossiers est injoignable : réessayez "
			 "plus tard");
		status = MHD_HTTP_SERVICE_UNAVAILABLE;
		goto out;
	}
	/* Sorted by identity so that the answer does not depend on Redis. */
	json_t *by_id = json_object();
	for (size_t i = 0; i + 1 < h->elements; i += 2) {
		const char *field = h->element[i]->str, *value = h->element[i + 1]->str;
		if (!field || !value)
			continue;
		json_t *d = dispositif_decode(value);
		if (!d)
			d = json_pack("{s:s}", "raw", value);
		json_object_set_new(d, "identity", json_string(field));
		json_object_set_new(by_id, field, d);
	}
	freeReplyObject(h);
	if (!v->ml[0] && json_object_size(by_id) == 0) {
		json_decref(by_id);
		snprintf(msg, msg_size, "pas de dossier « %s »", rq->arg);
		status = MHD_HTTP_NOT_FOUND;
		goto out;
	}
	v->items = json_array();
	const char **keys = calloc(json_object_size(by_id) + 1, sizeof(*keys));
	size_t nk = 0;
	const char *key;
	json_t *val;
	json_object_foreach(by_id, key, val) {
		if (keys)
			keys[nk++] = key;
	}
	if (keys) {
		qsort(keys, nk, sizeof(*keys), dossiers_strcmp_p);
		for (size_t i = 0; i < nk; i++)
			json_array_append(v->items, json_object_get(by_id, keys[i]));
	}
	free(keys);
	json_decref(by_id);
out:
	redisFree(rc);
	return status;
}

enum MHD_Result dossiers_json(struct editions *e, struct request *rq)
{
	struct dossier_view v;
	char msg[300];
	unsigned status = dossiers_fetch(e, rq, &v, msg, sizeof(msg));
	if (status)
		return http_fail(e, rq, status, "%s", msg);
	json_t *j = json_pack("{s:s, s:o, s:o}", "dossier_id", rq->arg,
			      "ml_code", v.ml[0] ? json_string(v.ml) : json_null(),
			      "dispositifs", v.items);
	http_log(rq, MHD_HTTP_OK, NULL);
	return http_json(rq, MHD_HTTP_OK, j);
}

static const char *dossiers_str(const json_t *d, const char *key)
{
	const char *s = json_string_value(json_object_get(d, key));
	return s ? s : "";
}

/* A cell: s, or a dash when empty. */
static void dossiers_cell(struct page *p, const char *s)
{
	page_raw(p, "<td>");
	if (s && *s)
		page_esc(p, s);
	else
		page_raw(p, "<span class=\"muted\">—</span>");
	page_raw(p, "</td>");
}

/* The exit reason: its code and its label from the motifs file. */
static void dossiers_motif(struct page *p, const struct editions *e, const char *code)
{
	page_raw(p, "<td>");
	if (!*code) {
		page_raw(p, "<span class=\"muted\">—</span></td>");
		return;
	}
	page_esc(p, code);
	const char *label = ref_motif_label(e->ref, code);
	if (label) {
		page_raw(p, " — ");
		page_esc(p, label);
	}
	page_raw(p, "</td>");
}

enum MHD_Result dossiers_page(struct editions *e, struct request *rq)
{
	struct dossier_view v;
	char msg[300];
	unsigned status = dossiers_fetch(e, rq, &v, msg, sizeof(msg));
	if (status)
		return http_fail(e, rq, status, "%s", msg);
	/* The step of each dispositif of the latest run, from the file of the
	 * dossier's ML. */
	json_t *summary = editions_summary(e);
	const char *latest = editions_run_id(summary);
	struct attached att = { 0 };
	int have_att = 0;
	if (v.ml[0] && latest && report_name_valid(v.ml)) {
		char errstr[512];
		int r = attached_load(e->dir, v.ml, &att, NULL, errstr, sizeof(errstr));
		if (r < 0)
			log_warn("editions: %s", errstr);
		have_att = r == 0;
	}
	char title[200], sub[300], held[1200];
	snprintf(title, sizeof(title), "Dossier %s", rq->arg);
	if (v.ml[0])
		snprintf(sub, sizeof(sub), "%s (%s)", editions_ml_name(e, v.ml), v.ml);
	else
		snprintf(sub, sizeof(sub), "Dossier absent de l'index des dossiers en service");
	struct page_frame fr;
	http_frame(e, rq, &fr, title, sub, NAV_DISPOSITIFS, held, sizeof(held));
	struct page p;
	if (page_begin(&p, &fr) < 0) {
		attached_release(&att);
		json_decref(summary);
		json_decref(v.items);
		return MHD_NO;
	}
	size_t n = json_array_size(v.items);
	page_raw(&p, "<div class=\"bar-top\">");
	if (v.ml[0] && report_name_valid(v.ml)) {
		page_raw(&p, "<a href=\"/dispositifs/");
		page_url(&p, v.ml);
		page_raw(&p, ".html\">← Dispositifs intégrés de la Mission Locale</a>");
	} else {
		page_raw(&p, "<a href=\"/editions.html\">← Rapports</a>");
	}
	page_raw(&p, "</div>\n<section><h2>Dispositifs attachés au dossier</h2>");
	if (n > 0) {
		const json_t *d0 = json_array_get(v.items, n - 1);
		page_raw(&p, "<p>Jeune : <b>");
		page_esc(&p, dossiers_str(d0, "nom_naissance"));
		page_raw(&p, " ");
		page_esc(&p, dossiers_str(d0, "prenom"));
		page_raw(&p, "</b>, né(e) le ");
		page_esc(&p, dossiers_str(d0, "date_naissance"));
		if (*dossiers_str(d0, "identifiant_pe")) {
			page_raw(&p, " · n° Pôle Emploi ");
			page_esc(&p, dossiers_str(d0, "identifiant_pe"));
		}
		page_raw(&p, " <span class=\"muted\">(tel que le fichier de Pôle Emploi "
			 "l'écrit)</span></p>");
		page_raw(&p, "<table><thead><tr><th>Identifiant SIGMA</th><th>Type</th>"
			 "<th>Début</th><th>Fin prévue</th><th>Fin réelle</th>"
			 "<th>Motif de sortie</th><th>Intégration</th><th>Recherche</th>"
			 "</tr></thead><tbody>\n");
		size_t i;
		json_t *d;
		json_array_foreach(v.items, i, d) {
			page_raw(&p, "<tr>");
			dossiers_cell(&p, dossiers_str(d, "identifiant_sigma"));
			dossiers_cell(&p, dossiers_str(d, "type_dispositif"));
			dossiers_cell(&p, dossiers_str(d, "date_debut"));
			dossiers_cell(&p, dossiers_str(d, "date_fin_prevue"));
			dossiers_cell(&p, dossiers_str(d, "date_fin_reelle"));
			dossiers_motif(&p, e, dossiers_str(d, "motif_sortie"));
			const char *run = dossiers_str(d, "run_id");
			json_int_t line = json_integer_value(json_object_get(d, "line"));
			page_raw(&p, "<td>");
			page_esc(&p, *run ? run : "—");
			if (line > 0)
				page_printf(&p, " <span class=\"muted\">(ligne %lld)</span>",
					    (long long)line);
			page_raw(&p, "</td><td>");
			unsigned step = 0;
			if (have_att && latest && strcmp(run, latest) == 0) {
				for (size_t k = 0; k < att.n; k++) {
					if (att.row[k].line == (uint64_t)line &&
					    strcmp(att.row[k].field[ATT_DOSSIER], rq->arg) == 0) {
						step = att.row[k].step;
						break;
					}
				}
			}
			if (step)
				page_printf(&p, "%u · %s", step, page_step_short(step));
			else
				page_raw(&p, "<span class=\"muted\" title=\"Intégré par une "
					 "intégration plus ancienne que la dernière\">—</span>");
			page_raw(&p, "</td></tr>\n");
		}
		page_raw(&p, "</tbody></table><p class=\"muted\">« Recherche » : celle qui a "
			 "trouvé le dossier (1 n° PE du dossier de cotraitance, 2 n° PE du "
			 "complément, 3 identité), connue pour les dispositifs de la dernière "
			 "intégration ; « — » pour ceux d'une intégration plus ancienne.</p>");
	} else {
		page_raw(&p, "<p>Aucun dispositif n'est attaché à ce dossier.</p>");
	}
	page_raw(&p, "</section>\n");
	attached_release(&att);
	json_decref(summary);
	json_decref(v.items);
	size_t len = 0;
	char *html = page_end(&p, &len);
	http_log(rq, MHD_HTTP_OK, NULL);
	return http_page(rq, MHD_HTTP_OK, html, len);
}

enum MHD_Result dossiers_find(struct editions *e, struct request *rq)
{
	const char *id = http_arg(rq, "id");
	char buf[INDEX_ID_MAX];
	size_t n = 0;
	/* Spaces around a pasted id do not count. */
	while (id && (*id == ' ' || *id == '\t'))
		id++;
	if (id) {
		n = strlen(id);
		while (n > 0 && (id[n - 1] == ' ' || id[n - 1] == '\t'))
			n--;
	}
	int ok = id && n > 0 && n < sizeof(buf);
	if (ok) {
		memcpy(buf, id, n);
		buf[n] = '\0';
		for (size_t i = 0; i < n && ok; i++) {
			char c = buf[i];
			ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
		}
		ok = ok && strcmp(buf, ".") != 0 && strcmp(buf, "..") != 0;
	}
	if (!ok)
		return http_fail(e, rq, MHD_HTTP_BAD_REQUEST,
				 "identifiant de dossier incorrect : de 1 à %d caractères parmi "
				 "A-Z a-z 0-9 _ - .", EDITIONS_DOSSIER_MAX);
	char where[INDEX_ID_MAX + 32];
	snprintf(where, sizeof(where), "/dossiers/%s.html", buf);
	http_log(rq, MHD_HTTP_SEE_OTHER, NULL);
	return http_redirect(rq, where, NULL);
}

/* --- the dispositifs of an ML's latest run ----------------------------------- */

static const char *const attached_titles[ATTACHED_COLUMNS] = {
	"Ligne", "Dossier", "Recherche", "Identifiant SIGMA", "Code Pôle Emploi",
	"Nom de naissance", "Prénom", "Date de naissance", "Commune INSEE de résidence",
	"Type de dispositif", "Date de début", "Date de fin prévue", "Date de fin réelle",
	"Motif de sortie",
};

/* 1 when row matches the search: nq (N() of the query) in N(nom), N(prenom),
 * N(nom prenom) or N(prenom nom), or the query in the dossier id. */
static int attached_matches(const struct attached_row *row, const char *q, const char *nq)
{
	if (strcasestr(row->field[ATT_DOSSIER], q))
		return 1;
	if (!*nq)
		return 0;
	char both[512], n[512];
	snprintf(both, sizeof(both), "%s %s", row->field[ATT_NOM], row->field[ATT_PRENOM]);
	name_normalize(both, n, sizeof(n));
	if (strstr(n, nq))
		return 1;
	snprintf(both, sizeof(both), "%s %s", row->field[ATT_PRENOM], row->field[ATT_NOM]);
	name_normalize(both, n, sizeof(n));
	return strstr(n, nq) != NULL;
}

enum MHD_Result attached_page(struct editions *e, struct request *rq)
{
	struct attached att;
	int no_folder = 0;
	char errstr[512];
	int r = attached_load(e->dir, rq->arg, &att, &no_folder, errstr, sizeof(errstr));
	if (r < 0) {
		log_error("editions: %s", errstr);
		return http_fail(e, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "impossible de lire les dispositifs intégrés");
	}
	json_t *summary = editions_summary(e);
	const char *run_id = editions_run_id(summary);
	const char *q = http_arg(rq, "q");
	char nq[256] = "";
	if (q)
		name_normalize(q, nq, sizeof(nq));
	size_t *match = calloc(att.n + 1, sizeof(*match));
	size_t total = 0;
	for (size_t i = 0; match && i < att.n; i++)
		if (!q || !*q || attached_matches(&att.row[i], q, nq))
			match[total++] = i;
	size_t pages = total ? (total + EDITIONS_PAGE_ROWS - 1) / EDITIONS_PAGE_ROWS : 1;
	const char *ps = http_arg(rq, "page");
	size_t page = ps ? (size_t)strtoul(ps, NULL, 10) : 1;
	if (page < 1)
		page = 1;
	if (page > pages)
		page = pages;
	size_t first = (page - 1) * EDITIONS_PAGE_ROWS;
	size_t last = first + EDITIONS_PAGE_ROWS < total ? first + EDITIONS_PAGE_ROWS : total;

	char title[300], sub[300], held[1200];
	snprintf(title, sizeof(title), "Dispositifs intégrés — %s", editions_ml_name(e, rq->arg));
	snprintf(sub, sizeof(sub), "Mission Locale %s · intégration %s", rq->arg,
		 run_id ? run_id : "inconnue");
	struct page_frame fr;
	http_frame(e, rq, &fr, title, sub, NAV_DISPOSITIFS, held, sizeof(held));
	struct page p;
	if (!match || page_begin(&p, &fr) < 0) {
		free(match);
		attached_release(&att);
		json_decref(summary);
		return MHD_NO;
	}
	page_raw(&p, "<div class=\"bar-top\"><a href=\"/editions.html\">← Rapports</a>"
		 "<span class=\"grow\"></span>");
	if (r == 0 && (rq->user.rights & RIGHT_TELECHARGER)) {
		page_raw(&p, "<a class=\"btn\" href=\"/dispositifs/");
		page_url(&p, rq->arg);
		page_raw(&p, ".xlsx\">Télécharger (Excel)</a>");
	}
	page_raw(&p, "</div>\n<section><h2>Dispositifs intégrés par la dernière "
		 "intégration</h2>");
	if (r == 1) {
		page_raw(&p, no_folder
			     ? "<p>La liste des dispositifs intégrés n'est pas encore publiée pour "
			       "la dernière intégration.</p>"
			     : "<p>La dernière intégration n'a attaché aucun dispositif aux "
			       "dossiers de cette Mission Locale.</p>");
	} else {
		page_raw(&p, "<form class=\"inline\" method=\"get\" action=\"/dispositifs/");
		page_url(&p, rq->arg);
		page_raw(&p, ".html\" role=\"search\"><label for=\"q\">Rechercher</label>"
			 "<input type=\"search\" id=\"q\" name=\"q\" placeholder=\"n° de dossier ou "
			 "nom\" value=\"");
		page_esc(&p, q);
		page_raw(&p, "\"><button class=\"btn\" type=\"submit\">Rechercher</button>");
		if (q && *q) {
			page_raw(&p, "<a href=\"/dispositifs/");
			page_url(&p, rq->arg);
			page_raw(&p, ".html\">Tout afficher</a>");
		}
		page_printf(&p, "<span class=\"muted\">%zu dispositif%s", total, total > 1 ? "s" : "");
		if (total != att.n)
			page_printf(&p, " sur %zu", att.n);
		page_raw(&p, "</span></form>\n");
		if (pages > 1)
			page_printf(&p, "<div class=\"pages\"><span>Dispositifs %zu à %zu sur %zu — "
				    "page %zu sur %zu</span></div>", first + 1, last, total, page, pages);
		page_raw(&p, "<table><thead><tr><th>Dossier</th><th>Nom de naissance</th>"
			 "<th>Prénom</th><th>Date de naissance</th><th>Identifiant SIGMA</th>"
			 "<th>Type</th><th>Début</th><th>Fin prévue</th><th>Fin réelle</th>"
			 "<th>Motif de sortie</th><th>Recherche</th><th class=\"n\">Ligne</th>"
			 "</tr></thead><tbody>\n");
		for (size_t k = first; k < last; k++) {
			const struct attached_row *row = &att.row[match[k]];
			page_raw(&p, "<tr><td><a href=\"/dossiers/");
			page_url(&p, row->field[ATT_DOSSIER]);
			page_raw(&p, ".html\">");
			page_esc(&p, row->field[ATT_DOSSIER]);
			page_raw(&p, "</a></td>");
			dossiers_cell(&p, row->field[ATT_NOM]);
			dossiers_cell(&p, row->field[ATT_PRENOM]);
			dossiers_cell(&p, row->field[ATT_NAISSANCE]);
			dossiers_cell(&p, row->field[ATT_SIGMA]);
			dossiers_cell(&p, row->field[ATT_TYPE]);
			dossiers_cell(&p, row->field[ATT_DEBUT]);
			dossiers_cell(&p, row->field[ATT_FIN_PREVUE]);
			dossiers_cell(&p, row->field[ATT_FIN_REELLE]);
			dossiers_motif(&p, e, row->field[ATT_MOTIF]);
			page_raw(&p, "<td>");
			if (row->step)
				page_printf(&p, "%u · %s", row->step, page_step_short(row->step));
			else
				page_esc(&p, row->field[ATT_STEP]);
			page_raw(&p, "</td><td class=\"n\">");
			page_esc(&p, row->field[ATT_LINE]);
			page_raw(&p, "</td></tr>\n");
		}
		if (total == 0)
			page_raw(&p, "<tr><td colspan=\"12\" class=\"muted\">Aucun dispositif ne "
				 "correspond à la recherche.</td></tr>");
		page_raw(&p, "</tbody></table>");
		if (pages > 1) {
			page_raw(&p, "<div class=\"pages\">");
			for (size_t k = 1; k <= pages; k++) {
				if (k == page) {
					page_printf(&p, "<b>%zu</b>", k);
					continue;
				}
				page_raw(&p, "<a href=\"/dispositifs/");
				page_url(&p, rq->arg);
				page_printf(&p, ".html?page=%zu", k);
				if (q && *q) {
					page_raw(&p, "&amp;q=");
					page_url(&p, q);
				}
				page_printf(&p, "\">%zu</a>", k);
			}
			page_raw(&p, "</div>");
		}
		if (att.malformed)
			page_printf(&p, "<p class=\"muted\">%zu ligne%s illisible%s du fichier "
				    "ignorée%s.</p>", att.malformed, att.malformed > 1 ? "s" : "",
				    att.malformed > 1 ? "s" : "", att.malformed > 1 ? "s" : "");
	}
	page_raw(&p, "</section>\n");
	free(match);
	attached_release(&att);
	json_decref(summary);
	size_t len = 0;
	char *html = page_end(&p, &len);
	http_log(rq, MHD_HTTP_OK, NULL);
	return http_page(rq, MHD_HTTP_OK, html, len);
}

/* One cell of the attached sheet, for xlsx_build(). */
static const char *attached_xlsx_cell(void *arg, size_t row, size_t col)
{
	const struct attached *att = arg;
	return att->row[row].field[col];
}

enum MHD_Result attached_xlsx(struct editions *e, struct request *rq)
{
	struct attached att;
	char errstr[512];
	int r = attached_load(e->dir, rq->arg, &att, NULL, errstr, sizeof(errstr));
	if (r < 0) {
		log_error("editions: %s", errstr);
		return http_fail(e, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "impossible de lire les dispositifs intégrés");
	}
	if (r == 1)
		return http_fail(e, rq, MHD_HTTP_NOT_FOUND, "pas de dispositif intégré pour "
				 "« %s » par la dernière intégration", rq->arg);
	struct xlsx_table t = { "Dispositifs intégrés", attached_titles, ATTACHED_COLUMNS,
				att.n, attached_xlsx_cell, &att };
	size_t len = 0;
	char *out = xlsx_build(&t, 1, &len, errstr, sizeof(errstr));
	attached_release(&att);
	if (!out) {
		log_error("editions: %s", errstr);
		return http_fail(e, rq, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "impossible de préparer le fichier Excel");
	}
	json_t *summary = editions_summary(e);
	const char *run = editions_run_id(summary);
	char disposition[800];
	snprintf(disposition, sizeof(disposition),
		 "attachment; filename=\"Dispositifs integres AIJ - %s - %s.xlsx\"; "
		 "filename*=UTF-8''Dispositifs%%20int%%C3%%A9gr%%C3%%A9s%%20AIJ%%20-%%20%s%%20-%%20%s.xlsx",
		 rq->arg, run && report_name_valid(run) ? run : "inconnue", rq->arg,
		 run && report_name_valid(run) ? run : "inconnue");
	json_decref(summary);
	http_log(rq, MHD_HTTP_OK, NULL);
	return http_reply(rq, MHD_HTTP_OK,
			  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
			  out, len, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disposition, NULL);
}
