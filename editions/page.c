#include "page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "referential.h"

/* Above this size a report is not embedded in its page for download. */
#define EDITIONS_EMBED_MAX (2 * 1024 * 1024)
/* The chart by ML shows that many MLs, the largest reports first. */
#define EDITIONS_CHART_MLS 20

static const char *const editions_labels[11] = {
	NULL,
	"Nombre de colonnes incorrect",
	"Le numéro Pôle Emploi donne plusieurs dossiers",
	"Le numéro Pôle Emploi donne un dossier, mais le nom de naissance diffère",
	"Nom, prénom et date de naissance donnent plusieurs dossiers",
	"Aucun dossier trouvé",
	"Dates incorrectes",
	"Champ obligatoire manquant",
	"Code INSEE de résidence inconnu",
	"Motif de sortie manquant ou inconnu",
	"Erreur technique",
};

static const char *const editions_actions[11] = {
	NULL,
	"Rien à faire côté ML : Pôle Emploi doit corriger la ligne.",
	"Contacter Pôle Emploi avec le numéro PE.",
	"Vérifier et corriger le nom de naissance dans le dossier.",
	"Saisir le numéro PE dans le dossier.",
	"Rien à faire tant que le jeune ne s'est pas présenté à la ML.",
	"Rien à faire côté ML : Pôle Emploi doit corriger la ligne.",
	"Rien à faire côté ML : Pôle Emploi doit corriger la ligne.",
	"Le code INSEE est erroné : Pôle Emploi doit le corriger.",
	"Le motif de sortie doit être ajouté dans i-milo ou corrigé par Pôle Emploi.",
	"Erreur technique : la ligne sera reprise ; prévenir l'équipe nationale si elle persiste.",
};

const char *editions_code_label(int code)
{
	return code >= 1 && code <= 10 ? editions_labels[code] : NULL;
}

const char *editions_code_action(int code)
{
	return code >= 1 && code <= 10 ? editions_actions[code] : NULL;
}

static void html_n(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n && s[i]; i++) {
		switch (s[i]) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(s[i], f);
		}
	}
}

static void html(FILE *f, const char *s)
{
	html_n(f, s ? s : "", s ? strlen(s) : 0);
}

/* Percent-encodes s for a URL query value. */
static void url_value(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' ||
		    *p == '~')
			fputc(*p, f);
		else
			fprintf(f, "%%%02X", *p);
	}
}

/* A link to path, carrying the page's token when it came in the URL. */
static void href(FILE *f, const struct editions_page *p, const char *path)
{
	fputs(" href=\"", f);
	html(f, path);
	if (p->token) {
		fputs("?token=", f);
		url_value(f, p->token);
	}
	fputc('"', f);
}

static const char editions_css[] =
	"*{box-sizing:border-box}"
	"body{font-family:'DejaVu Sans',Arial,Helvetica,sans-serif;margin:0;"
	"color:#1e1e1e;background:#f4f5f7;font-size:15px;line-height:1.45}"
	"header{background:#000091;color:#fff;padding:14px 28px}"
	"header h1{margin:0;font-size:22px}header p{margin:4px 0 0;opacity:.9}"
	"main{max-width:1240px;margin:0 auto;padding:18px 28px 40px}"
	"section{background:#fff;border:1px solid #dde;border-radius:6px;"
	"padding:14px 18px;margin:0 0 18px}"
	"h2{font-size:18px;margin:0 0 10px;color:#000091}"
	"table{border-collapse:collapse;width:100%}"
	"th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e5e5ee;"
	"vertical-align:top}"
	"th{background:#eef0fa;font-weight:600;font-size:14px}"
	"tbody tr:nth-child(even){background:#fafafe}"
	"td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
	".code{display:inline-block;min-width:2.2em;text-align:center;"
	"font-weight:700;border-radius:4px;padding:0 5px;margin:1px 2px 1px 0;"
	"color:#fff;background:#6a6af4}"
	".c1,.c6,.c7,.c8{background:#b34000}.c9{background:#8d533e}"
	".c2,.c3,.c4{background:#000091}.c5{background:#666}.c10{background:#ce0500}"
	".muted{color:#666;font-size:13px}"
	".kpis{display:flex;gap:14px;flex-wrap:wrap;margin-bottom:12px}"
	".kpi{flex:1 1 150px;border:1px solid #dde;border-radius:6px;padding:8px 12px}"
	".kpi b{display:block;font-size:24px}"
	".bar{display:flex;align-items:center;gap:8px;margin:3px 0}"
	".bar .l{flex:0 0 420px;overflow:hidden;text-overflow:ellipsis;"
	"white-space:nowrap;font-size:14px}"
	".bar .t{flex:1 1 auto;background:#eef0fa;height:18px;border-radius:3px}"
	".bar .f{height:18px;border-radius:3px;background:#6a6af4}"
	".bar .f.ok{background:#18753c}.bar .f.ko{background:#ce0500}"
	".bar .v{flex:0 0 70px;text-align:right;font-variant-numeric:tabular-nums}"
	".btn{display:inline-block;background:#000091;color:#fff;padding:7px 14px;"
	"border-radius:4px;text-decoration:none;font-weight:600}"
	"a{color:#000091}"
	"ul.acts{margin:0;padding-left:18px}"
	"td.codes{white-space:nowrap}"
	".top{display:flex;justify-content:space-between;align-items:center;"
	"gap:12px;margin:0 0 14px}"
	"code{background:#f0f0f4;padding:1px 4px}";

static void page_head(FILE *f, const char *title)
{
	fputs("<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\">"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	      "<meta name=\"referrer\" content=\"no-referrer\"><title>", f);
	html(f, title);
	fprintf(f, "</title><style>%s</style></head><body>\n", editions_css);
}

static void page_banner(FILE *f, const char *title, const char *sub)
{
	fputs("<header><h1>", f);
	html(f, title);
	fputs("</h1>", f);
	if (sub) {
		fputs("<p>", f);
		html(f, sub);
		fputs("</p>", f);
	}
	fputs("</header>\n<main>\n", f);
}

/* Closes the memstream and hands its buffer over, or NULL. */
static char *page_finish(FILE *f, char **buf, size_t *len, size_t *len_out)
{
	fputs("</main></body></html>\n", f);
	int bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		free(*buf);
		return NULL;
	}
	*len_out = *len;
	return *buf;
}

static const char *ml_display(const struct editions_page *p, const char *code)
{
	if (strcmp(code, EDITIONS_NATIONAL_REPORT) == 0)
		return "Rapport national";
	const char *name = p->ref ? ref_ml_name(p->ref, code) : NULL;
	return name ? name : code;
}

static void fmt_time(time_t t, char *buf, size_t size)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, size, "%d/%m/%Y %H:%M UTC", &tm);
}

/* One horizontal bar: label, a filled share of max, the value. */
static void bar(FILE *f, const char *label, const char *link_path,
		const struct editions_page *p, long long value, long long max,
		const char *cls)
{
	double pct = max > 0 ? 100.0 * (double)value / (double)max : 0;
	if (value > 0 && pct < 0.5)
		pct = 0.5;
	fputs("<div class=\"bar\"><span class=\"l\" title=\"", f);
	html(f, label);
	fputs("\">", f);
	if (link_path) {
		fputs("<a", f);
		href(f, p, link_path);
		fputc('>', f);
	}
	html(f, label);
	if (link_path)
		fputs("</a>", f);
	fprintf(f, "</span><span class=\"t\"><span class=\"f %s\" style=\"display:block;"
		"width:%.1f%%\"></span></span><span class=\"v\">%lld</span></div>\n",
		cls ? cls : "", pct, value);
}

static long long json_ll(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

struct ml_count {
	const char *code;
	long long rows;
};

static int ml_count_cmp(const void *a, const void *b)
{
	const struct ml_count *x = a, *y = b;
	if (x->rows != y->rows)
		return x->rows < y->rows ? 1 : -1;
	return strcmp(x->code, y->code);
}

/* The run's summary for national users: figures, outcomes by code, by ML. */
static void page_summary(FILE *f, const struct editions_page *p)
{
	const json_t *s = p->summary;
	if (!s || !json_is_object(s)) {
		fputs("<section><h2>Synthèse de l'intégration</h2><p class=\"muted\">"
		      "Pas de synthèse (summary.json) pour cette intégration.</p></section>\n", f);
		return;
	}
	long long lines = json_ll(s, "lines"), integ = json_ll(s, "integrated");
	long long failed = json_ll(s, "failed");
	json_t *steps = json_object_get(s, "by_step");
	fputs("<section id=\"synthese\"><h2>Synthèse de l'intégration", f);
	if (p->run_id) {
		fputs(" ", f);
		html(f, p->run_id);
	}
	fputs("</h2>\n<div class=\"kpis\">", f);
	fprintf(f, "<div class=\"kpi\">Lignes reçues<b>%lld</b></div>", lines);
	fprintf(f, "<div class=\"kpi\">Intégrées<b>%lld</b></div>", integ);
	fprintf(f, "<div class=\"kpi\">En échec<b>%lld</b></div>", failed);
	fprintf(f, "<div class=\"kpi\">Intégrées par étape<b>%lld / %lld / %lld</b>"
		"<span class=\"muted\">1 n° PE cotraitance · 2 n° PE complément · "
		"3 identité</span></div>",
		json_ll(steps, "1"), json_ll(steps, "2"), json_ll(steps, "3"));
	fputs("</div>\n<h3>Résultat des lignes</h3>\n", f);
	bar(f, "Intégrées", NULL, p, integ, lines, "ok");
	bar(f, "En échec", NULL, p, failed, lines, "ko");

	fputs("<h3>Lignes en échec par code retour</h3>\n", f);
	json_t *by_code = json_object_get(s, "by_code");
	long long max = 0;
	for (int c = 1; c <= 10; c++) {
		char key[12];
		snprintf(key, sizeof(key), "%02d", c);
		long long v = json_ll(by_code, key);
		if (v > max)
			max = v;
	}
	for (int c = 1; c <= 10; c++) {
		char key[12], label[160];
		snprintf(key, sizeof(key), "%02d", c);
		snprintf(label, sizeof(label), "%s %s", key, editions_labels[c]);
		bar(f, label, NULL, p, json_ll(by_code, key), max, NULL);
	}

	json_t *reports = json_object_get(s, "reports");
	size_t n = json_is_object(reports) ? json_object_size(reports) : 0;
	fputs("<h3>Lignes par rapport (Mission Locale)</h3>\n", f);
	if (n == 0) {
		fputs("<p class=\"muted\">Aucun rapport pour cette intégration.</p>", f);
	} else {
		struct ml_count *mls = calloc(n, sizeof(*mls));
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
			qsort(mls, k, sizeof(*mls), ml_count_cmp);
			long long rest = 0;
			for (size_t i = 0; i < k; i++) {
				if (i >= EDITIONS_CHART_MLS) {
					rest += mls[i].rows;
					continue;
				}
				char label[300], path[100];
				snprintf(label, sizeof(label), "%s (%s)",
					 ml_display(p, mls[i].code), mls[i].code);
				snprintf(path, sizeof(path), "/editions/%s.html", mls[i].code);
				bar(f, label, editions_code_valid(mls[i].code) ? path : NULL,
				    p, mls[i].rows, mls[0].rows, NULL);
			}
			if (k > EDITIONS_CHART_MLS)
				fprintf(f, "<p class=\"muted\">et %zu autres rapports : %lld lignes.</p>",
					k - EDITIONS_CHART_MLS, rest);
			free(mls);
		}
	}
	fputs("<p class=\"muted\">Chiffres de l'intégration ; un rapport remplacé ou "
	      "supprimé depuis n'y est pas reflété.</p></section>\n", f);
}

/* Splits a report row (without its CRLF) into its 7 fields, pointing into a
 * copy in buf. Returns the number of fields. */
static size_t row_split(char *row, char *field[EDITIONS_REPORT_COLUMNS])
{
	size_t n = 0;
	char *s = row;
	for (;;) {
		char *sep = strchr(s, ';');
		if (sep)
			*sep = '\0';
		if (n < EDITIONS_REPORT_COLUMNS)
			field[n] = s;
		n++;
		if (!sep)
			break;
		s = sep + 1;
	}
	for (size_t i = n; i < EDITIONS_REPORT_COLUMNS; i++)
		field[i] = "";
	return n;
}

/* Bit c of the mask for each code c in "05/05/04". */
static unsigned codes_mask(const char *codes)
{
	unsigned mask = 0;
	for (const char *s = codes; *s;) {
		char *end;
		long c = strtol(s, &end, 10);
		if (end == s)
			break;
		if (c >= 1 && c <= 10)
			mask |= 1u << c;
		s = *end == '/' ? end + 1 : end;
		if (*end != '/' && *end)
			break;
	}
	return mask;
}

static void codes_badges(FILE *f, const char *codes)
{
	for (const char *s = codes; *s;) {
		const char *slash = strchr(s, '/');
		size_t n = slash ? (size_t)(slash - s) : strlen(s);
		int c = atoi(s);
		fprintf(f, "<span class=\"code c%d\" title=\"", c);
		html(f, editions_code_label(c));
		fputs("\">", f);
		html_n(f, s, n);
		fputs("</span>", f);
		s = slash ? slash + 1 : s + n;
	}
}

/* The link back and the download button, at the top of the page. */
static void page_download(FILE *f, const struct editions_page *p,
			  const char *data, size_t len, const char *download_name)
{
	fputs("<p class=\"top\"><a", f);
	href(f, p, "/editions.html");
	fputs(">← Toutes mes éditions</a>", f);
	if (!(p->user->rights & EDITIONS_TELECHARGER)) {
		fputs("<span class=\"muted\">Le téléchargement demande le droit « Télécharger "
		      "les rapports ».</span></p>\n", f);
		return;
	}
	if (len <= EDITIONS_EMBED_MAX) {
		/* The file rides inside the page: a browser cannot send the
		 * Authorization header that /editions/<ml> needs. */
		unsigned char *b64 = malloc(4 * ((len + 2) / 3) + 1);
		if (b64) {
			EVP_EncodeBlock(b64, (const unsigned char *)data, (int)len);
			fputs("<a class=\"btn\" download=\"", f);
			html(f, download_name);
			fprintf(f, "\" href=\"data:text/csv;charset=utf-8;base64,%s\">", b64);
			fputs("Télécharger le rapport (CSV)</a>", f);
			free(b64);
		}
	}
	fputs("</p>\n", f);
}

/* How a script downloads the report. */
static void page_script_hint(FILE *f, const struct editions_page *p,
			     const struct editions_entry *info)
{
	if (!(p->user->rights & EDITIONS_TELECHARGER))
		return;
	fputs("<p class=\"muted\">Pour un script : <code>curl -OJ -H 'Authorization: "
	      "Bearer &lt;jeton&gt;' http://&lt;serveur&gt;/editions/", f);
	html(f, info->ml_code);
	fputs("</code></p>\n", f);
}

char *editions_page_report(const struct editions_page *p,
			   const struct editions_entry *info, const char *data,
			   size_t len, const char *download_name, size_t *len_out)
{
	char *buf = NULL;
	size_t blen = 0;
	FILE *f = open_memstream(&buf, &blen);
	if (!f)
		return NULL;
	char title[400], sub[400], when[64];
	const char *who = ml_display(p, info->ml_code);
	snprintf(title, sizeof(title), "_Rapport intégration AIJ — %s", who);
	fmt_time(info->mtime, when, sizeof(when));
	snprintf(sub, sizeof(sub), "%s%s · intégration %s · fichier du %s · %zu ligne%s",
		 strcmp(info->ml_code, EDITIONS_NATIONAL_REPORT) == 0 ? "" : "Mission Locale ",
		 info->ml_code, p->run_id ? p->run_id : "inconnue", when, info->rows,
		 info->rows > 1 ? "s" : "");
	page_head(f, title);
	page_banner(f, title, sub);

	page_download(f, p, data, len, download_name);

	/* Rows and counts, from the report's own bytes. */
	size_t count[11] = { 0 };
	char *copy = malloc(len + 1);
	if (copy) {
		memcpy(copy, data, len);
		copy[len] = '\0';
	}
	char *body = copy;
	if (body && strncmp(body, "\xef\xbb\xbf", 3) == 0)
		body += 3;
	char *rows_start = body ? strstr(body, "\r\n") : NULL;
	rows_start = rows_start ? rows_start + 2 : NULL;

	for (char *r = rows_start; r && *r;) {
		char *end = strstr(r, "\r\n");
		size_t n = end ? (size_t)(end - r) : strlen(r);
		char save = r[n];
		r[n] = '\0';
		char *field[EDITIONS_REPORT_COLUMNS];
		char *tmp = strdup(r);
		if (tmp) {
			row_split(tmp, field);
			unsigned mask = codes_mask(field[6]);
			for (int c = 1; c <= 10; c++)
				if (mask & (1u << c))
					count[c]++;
			free(tmp);
		}
		r[n] = save;
		r = end ? end + 2 : r + n;
	}

	fputs("<section><h2>Lignes par code retour</h2><table><thead><tr><th>Code</th>"
	      "<th>Signification</th><th class=\"n\">Lignes</th><th>Que faire</th>"
	      "</tr></thead><tbody>\n", f);
	int any = 0;
	for (int c = 1; c <= 10; c++) {
		if (!count[c])
			continue;
		any = 1;
		fprintf(f, "<tr><td><span class=\"code c%d\">%02d</span></td><td>", c, c);
		html(f, editions_labels[c]);
		fprintf(f, "</td><td class=\"n\">%zu</td><td>", count[c]);
		html(f, editions_actions[c]);
		fputs("</td></tr>\n", f);
	}
	if (!any)
		fputs("<tr><td colspan=\"4\" class=\"muted\">Aucune ligne.</td></tr>", f);
	fputs("</tbody></table><p class=\"muted\">Une ligne peut avoir plusieurs codes "
	      "(un par étape de recherche tentée) : elle est comptée pour chacun.</p>"
	      "</section>\n", f);

	fputs("<section><h2>Les lignes du rapport</h2><table><thead><tr>"
	      "<th class=\"n\">#</th><th>Identifiant SIGMA</th><th>Code Pôle Emploi</th>"
	      "<th>Nom de naissance</th><th>Prénom</th><th>Date de naissance</th>"
	      "<th>Commune de résidence</th><th>Codes retour</th><th>Que faire</th>"
	      "</tr></thead><tbody>\n", f);
	size_t rowno = 0;
	for (char *r = rows_start; r && *r;) {
		char *end = strstr(r, "\r\n");
		size_t n = end ? (size_t)(end - r) : strlen(r);
		r[n] = '\0';
		char *field[EDITIONS_REPORT_COLUMNS];
		row_split(r, field);
		rowno++;
		fprintf(f, "<tr><td class=\"n\">%zu</td>", rowno);
		for (int i = 0; i < 5; i++) {
			fputs("<td>", f);
			html(f, field[i]);
			fputs("</td>", f);
		}
		fputs("<td>", f);
		html(f, field[5]);
		const char *commune = p->ref && *field[5] ? ref_commune_name(p->ref, field[5]) : NULL;
		if (commune) {
			fputs(" <span class=\"muted\">", f);
			html(f, commune);
			fputs("</span>", f);
		}
		fputs("</td><td class=\"codes\">", f);
		codes_badges(f, field[6]);
		fputs("</td><td><ul class=\"acts\">", f);
		unsigned mask = codes_mask(field[6]);
		const char *said[11] = { NULL };
		size_t n_said = 0;
		for (int c = 1; c <= 10; c++) {
			if (!(mask & (1u << c)))
				continue;
			int dup = 0;
			for (size_t k = 0; k < n_said; k++)
				dup |= said[k] == editions_actions[c];
			if (dup)
				continue;
			said[n_said++] = editions_actions[c];
			fputs("<li>", f);
			html(f, editions_actions[c]);
			fputs("</li>", f);
		}
		fputs("</ul></td></tr>\n", f);
		r = end ? end + 2 : r + n;
	}
	if (rowno == 0)
		fputs("<tr><td colspan=\"9\" class=\"muted\">Le rapport n'a aucune ligne.</td></tr>", f);
	fputs("</tbody></table></section>\n", f);
	free(copy);
	page_script_hint(f, p, info);

	if (p->user->national)
		page_summary(f, p);
	return page_finish(f, &buf, &blen, len_out);
}

char *editions_page_index(const struct editions_page *p,
			  const struct editions_entry *entries, size_t n,
			  size_t *len_out)
{
	char *buf = NULL;
	size_t blen = 0;
	FILE *f = open_memstream(&buf, &blen);
	if (!f)
		return NULL;
	char sub[300];
	snprintf(sub, sizeof(sub), "%s · %s · intégration %s", p->user->login,
		 p->user->national ? "national" : ml_display(p, p->user->structure),
		 p->run_id ? p->run_id : "inconnue");
	page_head(f, "Éditions — _Rapport intégration AIJ");
	page_banner(f, "Éditions — _Rapport intégration AIJ", sub);
	fputs("<section><h2>Rapports de la dernière intégration</h2>", f);
	if (n == 0) {
		fputs("<p>Aucun rapport : pas de ligne en échec pour vous cette semaine, "
		      "ou le rapport a été supprimé.</p>", f);
	} else {
		fputs("<table><thead><tr><th>Rapport</th><th>Code</th><th class=\"n\">Lignes"
		      "</th><th>Fichier du</th></tr></thead><tbody>\n", f);
		for (size_t i = 0; i < n; i++) {
			char path[100], when[64];
			snprintf(path, sizeof(path), "/editions/%s.html", entries[i].ml_code);
			fmt_time(entries[i].mtime, when, sizeof(when));
			fputs("<tr><td><a", f);
			href(f, p, path);
			fputc('>', f);
			html(f, ml_display(p, entries[i].ml_code));
			fputs("</a></td><td>", f);
			html(f, entries[i].ml_code);
			fprintf(f, "</td><td class=\"n\">%zu</td><td>%s</td></tr>\n",
				entries[i].rows, when);
		}
		fputs("</tbody></table>", f);
	}
	fputs("</section>\n", f);
	if (p->user->national)
		page_summary(f, p);
	return page_finish(f, &buf, &blen, len_out);
}

char *editions_page_error(int status, const char *message, size_t *len_out)
{
	char *buf = NULL;
	size_t blen = 0;
	FILE *f = open_memstream(&buf, &blen);
	if (!f)
		return NULL;
	char title[64];
	snprintf(title, sizeof(title), "Erreur %d", status);
	page_head(f, title);
	page_banner(f, title, NULL);
	fputs("<section><p>", f);
	html(f, message);
	fputs("</p></section>\n", f);
	return page_finish(f, &buf, &blen, len_out);
}
