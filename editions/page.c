#include "page.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const page_labels[11] = {
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

static const char *const page_actions[11] = {
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
	"Aucune action possible côté ML.",
};

static const char *const page_steps[4] = {
	NULL,
	"n° PE (dossier de cotraitance)",
	"n° PE (complément du dossier)",
	"identité (nom de naissance, prénom, date de naissance)",
};

static const char *const page_steps_short[4] = {
	NULL, "n° PE cotraitance", "n° PE complément", "identité",
};

const char *page_step_short(unsigned step)
{
	return step >= 1 && step <= 3 ? page_steps_short[step] : NULL;
}

const char *page_code_label(unsigned code)
{
	return code >= 1 && code <= 10 ? page_labels[code] : NULL;
}

const char *page_code_action(unsigned code)
{
	return code >= 1 && code <= 10 ? page_actions[code] : NULL;
}

const char *page_step_label(unsigned step)
{
	return step >= 1 && step <= 3 ? page_steps[step] : NULL;
}

unsigned page_code_step(const unsigned *codes, size_t n, size_t i)
{
	if (n == 3)
		return (unsigned)i + 1;
	if (n == 1 && (codes[0] == 4 || codes[0] == 5))
		return 3;
	return 0;
}

void page_escn(struct page *p, const char *s, size_t n)
{
	for (size_t i = 0; s && i < n && s[i]; i++) {
		switch (s[i]) {
		case '&': fputs("&amp;", p->f); break;
		case '<': fputs("&lt;", p->f); break;
		case '>': fputs("&gt;", p->f); break;
		case '"': fputs("&quot;", p->f); break; /* attributes are in "" */
		default: fputc(s[i], p->f);
		}
	}
}

void page_esc(struct page *p, const char *s)
{
	page_escn(p, s, s ? strlen(s) : 0);
}

void page_raw(struct page *p, const char *s)
{
	fputs(s, p->f);
}

void page_printf(struct page *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(p->f, fmt, ap);
	va_end(ap);
}

void page_url(struct page *p, const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; c && *c; c++) {
		if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
		    (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.' ||
		    *c == '~')
			fputc(*c, p->f);
		else
			fprintf(p->f, "%%%02X", *c);
	}
}

void page_hidden(struct page *p, const char *name, const char *value)
{
	page_raw(p, "<input type=\"hidden\" name=\"");
	page_esc(p, name);
	page_raw(p, "\" value=\"");
	page_esc(p, value);
	page_raw(p, "\">");
}

void page_time(time_t t, char *buf, size_t size)
{
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, size, "%d/%m/%Y à %H:%M", &tm);
}

void page_code_badges(struct page *p, const unsigned *codes, size_t n, const char *raw)
{
	if (n == 0) {
		page_raw(p, "<span class=\"code bad\">");
		page_esc(p, raw);
		page_raw(p, "</span>");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned step = page_code_step(codes, n, i);
		page_printf(p, "<span class=\"code c%u\" title=\"", codes[i]);
		if (step)
			page_printf(p, "Recherche %u, %s : ", step, page_step_label(step));
		page_esc(p, page_code_label(codes[i]));
		page_printf(p, "\">%02u</span>", codes[i]);
		if (i + 1 < n)
			page_raw(p, "<span class=\"sep\">/</span>");
	}
}

void page_codes_legend(struct page *p)
{
	page_raw(p, "<p class=\"legend\"><b>Lire les codes retour.</b> Une ligne rejetée "
		 "avant toute recherche (codes 01, 06, 07, 08, 09) ou en erreur technique "
		 "(10) a un seul code. Sinon chaque code est le résultat d'une recherche du "
		 "dossier, dans l'ordre&nbsp;: <b>1</b>&nbsp;— n° Pôle Emploi dans le dossier "
		 "de cotraitance&nbsp;; <b>2</b>&nbsp;— n° Pôle Emploi dans le complément du "
		 "dossier&nbsp;; <b>3</b>&nbsp;— identité (nom de naissance, prénom, date de "
		 "naissance). Sans n° Pôle Emploi sur la ligne, seule la recherche 3 est "
		 "faite&nbsp;: un seul code. Exemple&nbsp;: <code>05/05/04</code> = aucun "
		 "dossier avec ce n° PE en cotraitance, aucun en complément, plusieurs dossiers "
		 "avec cette identité.</p>\n");
}

static const char page_css[] =
	"*{box-sizing:border-box}"
	"body{font-family:'DejaVu Sans',Arial,Helvetica,sans-serif;margin:0;"
	"color:#1e1e1e;background:#f4f5f7;font-size:15px;line-height:1.45}"
	"header{background:#000091;color:#fff;padding:12px 28px;display:flex;"
	"justify-content:space-between;align-items:center;gap:16px;flex-wrap:wrap}"
	"header h1{margin:0;font-size:21px}header p{margin:3px 0 0;opacity:.9}"
	".who{display:flex;align-items:center;gap:10px;font-size:14px}"
	".who form{margin:0}"
	".who button{background:#fff;color:#000091;border:0;border-radius:4px;"
	"padding:5px 10px;font-weight:600;cursor:pointer}"
	"nav{background:#e3e3fd;padding:0 28px;display:flex;gap:4px;flex-wrap:wrap}"
	"nav a{display:inline-block;padding:8px 14px;color:#000091;text-decoration:none;"
	"font-weight:600}nav a.on{background:#fff;border-radius:6px 6px 0 0}"
	"main{max-width:1280px;margin:0 auto;padding:18px 28px 40px}"
	"section{background:#fff;border:1px solid #dde;border-radius:6px;"
	"padding:14px 18px;margin:0 0 18px}"
	"h2{font-size:18px;margin:0 0 10px;color:#000091}h3{font-size:16px}"
	"table{border-collapse:collapse;width:100%}"
	"th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e5e5ee;"
	"vertical-align:top}"
	"th{background:#eef0fa;font-weight:600;font-size:14px}"
	"th a{color:#000091;text-decoration:none}"
	"tbody tr:nth-child(even){background:#fafafe}"
	"td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
	".code{display:inline-block;min-width:2.2em;text-align:center;"
	"font-weight:700;border-radius:4px;padding:0 5px;margin:1px 0;"
	"color:#fff;background:#6a6af4}.sep{color:#999;padding:0 1px}"
	".c1,.c6,.c7,.c8{background:#b34000}.c9{background:#8d533e}"
	".c2,.c3,.c4{background:#000091}.c5{background:#666}.c10{background:#ce0500}"
	".code.bad{background:#fff;color:#ce0500;border:1px solid #ce0500}"
	".muted{color:#666;font-size:13px}b.ko{color:#ce0500}"
	".legend{background:#f5f5fe;border-left:4px solid #6a6af4;padding:8px 12px;"
	"font-size:14px}"
	".banner{background:#ffe9e6;border:1px solid #ce0500;color:#1e1e1e;"
	"padding:10px 14px;border-radius:6px;margin:0 0 18px}"
	".flash{background:#b8fec9;border:1px solid #18753c;padding:10px 14px;"
	"border-radius:6px;margin:0 0 18px}"
	".error{background:#ffe9e6;border:1px solid #ce0500;padding:10px 14px;"
	"border-radius:6px}"
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
	".btn,button.btn{display:inline-block;background:#000091;color:#fff;"
	"padding:7px 14px;border-radius:4px;text-decoration:none;font-weight:600;"
	"border:0;font-size:15px;cursor:pointer;font-family:inherit}"
	".btn.light{background:#fff;color:#000091;border:1px solid #000091}"
	".btn.danger{background:#ce0500}"
	"a{color:#000091}"
	"ul.acts{margin:0;padding-left:18px}ul.steps{margin:0;padding-left:0;"
	"list-style:none;font-size:13px}"
	".badges{white-space:nowrap}td.codes{min-width:200px}"
	".bar-top{display:flex;flex-wrap:wrap;gap:10px;align-items:center;margin:0 0 14px}"
	".bar-top .grow{flex:1 1 auto}"
	"form.inline{display:flex;gap:8px;align-items:center;flex-wrap:wrap;margin:0}"
	"input[type=text],input[type=search],input[type=password],select{"
	"font-size:15px;padding:6px 8px;border:1px solid #888;border-radius:4px;"
	"font-family:inherit}"
	"label{font-weight:600}"
	".login{max-width:420px;margin:40px auto}"
	".login label{display:block;margin:12px 0 4px}"
	".login input{width:100%}"
	".pages{display:flex;gap:12px;align-items:center;margin:12px 0}"
	"code{background:#f0f0f4;padding:1px 4px}"
	".notice{background:#fff4e5;border-left:4px solid #b34000;padding:8px 12px;"
	"font-size:14px}"
	"table.rows{font-size:14px}table.rows th,table.rows td{padding:6px 6px}"
	"ul.piste{margin:0;padding-left:14px;font-size:13px}ul.piste li{margin:0 0 4px}"
	"td.piste{width:27%}td.weeks{font-size:13px;width:90px}"
	"td.weeks .since{display:block;color:#666}span.ml{border-bottom:1px dotted #666}"
	"ul.acts{font-size:13px}"
	".wk{display:inline-block;min-width:1.8em;text-align:center;font-weight:700;"
	"border-radius:10px;padding:0 6px;background:#eef0fa;color:#000091}"
	".wk.old{background:#ce0500;color:#fff}";

int page_begin(struct page *p, const struct page_frame *fr)
{
	p->buf = NULL;
	p->len = 0;
	p->f = open_memstream(&p->buf, &p->len);
	if (!p->f)
		return -1;
	page_raw(p, "<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\">"
		 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		 "<meta name=\"referrer\" content=\"no-referrer\"><title>");
	page_esc(p, fr->title);
	page_raw(p, " — Éditions AIJ</title><style>");
	page_raw(p, page_css);
	page_raw(p, "</style></head><body>\n<header><div><h1>");
	page_esc(p, fr->title);
	page_raw(p, "</h1>");
	if (fr->subtitle) {
		page_raw(p, "<p>");
		page_esc(p, fr->subtitle);
		page_raw(p, "</p>");
	}
	page_raw(p, "</div>");
	if (fr->user) {
		page_raw(p, "<div class=\"who\"><span>");
		page_esc(p, fr->user->login);
		page_raw(p, " · ");
		page_esc(p, fr->user->national ? "national" : fr->user->structure);
		page_raw(p, "</span>");
		if (fr->csrf) {
			page_raw(p, "<form method=\"post\" action=\"/logout\">");
			page_hidden(p, "csrf", fr->csrf);
			page_raw(p, "<button type=\"submit\">Se déconnecter</button></form>");
		}
		page_raw(p, "</div>");
	}
	page_raw(p, "</header>\n");
	if (fr->user) {
		page_printf(p, "<nav><a href=\"/editions.html\"%s>Rapports</a>",
			    fr->nav == NAV_REPORTS ? " class=\"on\"" : "");
		if (fr->user->national) {
			page_printf(p, "<a href=\"/editions.html#dispositifs\"%s>Dispositifs "
				    "intégrés</a>", fr->nav == NAV_DISPOSITIFS ? " class=\"on\"" : "");
			page_printf(p, "<a href=\"/historique.html\"%s>Historique des "
				    "intégrations</a>", fr->nav == NAV_HISTORY ? " class=\"on\"" : "");
		} else {
			page_printf(p, "<a href=\"/dispositifs/");
			page_url(p, fr->user->structure);
			page_printf(p, ".html\"%s>Dispositifs intégrés</a>",
				    fr->nav == NAV_DISPOSITIFS ? " class=\"on\"" : "");
		}
		page_raw(p, "</nav>\n");
	}
	page_raw(p, "<main>\n");
	if (fr->held) {
		page_raw(p, "<div class=\"banner\" role=\"alert\">");
		page_esc(p, fr->held);
		page_raw(p, "</div>\n");
	}
	if (fr->flash && *fr->flash) {
		page_raw(p, "<div class=\"flash\" role=\"status\">");
		page_esc(p, fr->flash);
		page_raw(p, "</div>\n");
	}
	return 0;
}

char *page_end(struct page *p, size_t *len)
{
	page_raw(p, "</main></body></html>\n");
	int bad = ferror(p->f);
	if (fclose(p->f) != 0 || bad) {
		free(p->buf);
		p->buf = NULL;
		return NULL;
	}
	*len = p->len;
	char *out = p->buf;
	p->buf = NULL;
	return out;
}
