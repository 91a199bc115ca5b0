#!/usr/bin/env python3
"""The editions service in headless Chromium, as its users go through it
(tests/e2e/53-editions-page.sh prepares the service and runs this):

  an ML adviser: log in -> the list -> the report -> its page 2 -> a filter
  by code -> the dispositifs of the ML -> a dossier -> replace the report
  (upload, confirmation) -> another ML's report (403) -> log out;
  the national team: log in -> search the list -> the national report (why
  each line is there) -> the run history (a held run: the banner).

    editions_walk.py URL SHOTS_DIR WORK_DIR ML_A ML_B

A screenshot of each step in SHOTS_DIR; every check failing exits 1 with
what was wrong and where.
"""
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser  # noqa: E402
from walk import Shots, fail, has, lacks, submit_login  # noqa: E402

url, shots, work, ml_a, ml_b = sys.argv[1:6]
shot = Shots(shots, work)


def french(b, where):
    lang = b.eval("document.documentElement.lang")
    if lang != "fr":
        fail(f"{where}: lang is '{lang}'")
    for english in ("this needs", "not allowed", "no such", "missing token", "unknown token"):
        lacks(b, english, where)


def upload(b, selector, path):
    doc = b.call("DOM.getDocument")
    node = b.call("DOM.querySelector", {"nodeId": doc["root"]["nodeId"], "selector": selector})
    if not node.get("nodeId"):
        fail(f"no {selector} on {b.url()}")
    b.call("DOM.setFileInputFiles", {"files": [path], "nodeId": node["nodeId"]})


def login(b, who, password, where):
    b.goto(url + "/editions.html")
    french(b, where)
    has(b, "Se connecter", where)
    shot(b, f"{where}-login")
    submit_login(b, who, password, where)


log = os.path.join(work, "chromium.log")

# --- an ML adviser ------------------------------------------------------------
with Browser(tempfile.mkdtemp(dir=work), log) as b:
    login(b, "agent", "Été-2026 agent", "agent")
    french(b, "list")
    has(b, "Rapports de la dernière intégration", "list")
    has(b, "Mission Locale Métropole du Grand Paris", "list")
    lacks(b, "Rapport national", "list")
    lacks(b, "Rechercher une Mission Locale", "list")  # the search is the national team's
    has(b, "a été retenue", "list (the banner of the held run)")
    shot(b, "agent-list")

    b.click_link("Mission Locale Métropole du Grand Paris")
    french(b, "report")
    has(b, "Lignes 1 à 500 sur 1203", "report page 1")
    has(b, "Télécharger (CSV)", "report page 1")
    has(b, "Télécharger (Excel)", "report page 1")
    has(b, "Lire les codes retour.", "report page 1")
    has(b, "n° Pôle Emploi dans le complément du dossier", "report page 1")
    has(b, "Aucune action possible côté ML.", "report page 1 (code 10)")
    lacks(b, "sera reprise", "report page 1 (code 10)")
    lacks(b, "Pourquoi ici", "report page 1")
    # The counts per code, from the report itself.
    counts = dict(re.findall(r'<span class="code c\d+">(\d\d)</span></td><td>[^<]*</td>'
                             r'<td class="n">(\d+)</td>', b.html()))
    want = {"02": "200", "03": "201", "04": "201", "05": "803", "09": "200", "10": "200"}
    if counts != want:
        fail(f"report page 1: counts per code {counts}, want {want}")
    links = b.eval("[...document.querySelectorAll('a.btn')].map(a => a.getAttribute('href'))")
    if f"/editions/{ml_a}" not in links or f"/editions/{ml_a}.xlsx" not in links:
        fail(f"report page 1: download links {links}")
    shot(b, "agent-report-page1")

    b.click_link("Page suivante")
    has(b, "Lignes 501 à 1000 sur 1203 — page 2 sur 3", "report page 2")
    first = b.eval("document.querySelector('#lignes tbody tr td').textContent")
    if first != "501":
        fail(f"report page 2 starts at row {first}")
    has(b, "4100000501", "report page 2")
    lacks(b, "4100000500", "report page 2")
    has(b, "Télécharger (CSV)", "report page 2 (the links are always there)")
    b.eval("document.querySelector('#lignes').scrollIntoView()")
    shot(b, "agent-report-page2")

    b.eval("document.querySelector('#code').value = '03'")
    b.click("#lignes form button")
    has(b, "Lignes 1 à 201 sur 201 (filtrées)", "filter by code 03")
    codes = b.eval("[...document.querySelectorAll('#lignes tbody td.codes')].map(t => t.textContent)")
    if not codes or any("03" not in c for c in codes):
        fail(f"filter by code 03 shows {set(codes)}")
    has(b, "1 · n° PE cotraitance : 03", "filter by code 03 (positions)")
    b.eval("document.querySelector('#lignes').scrollIntoView()")
    shot(b, "agent-report-code03")

    b.click_link("Dispositifs intégrés")
    french(b, "dispositifs")
    has(b, "2 dispositifs", "dispositifs of the ML")
    shot(b, "agent-dispositifs")
    b.click_link("D1")
    french(b, "dossier")
    has(b, "Dossier D1", "dossier")
    has(b, "1 · n° PE cotraitance", "dossier (the step of the latest run)")
    has(b, "2026-W47 (ligne 9)", "dossier (an older run)")
    has(b, "Entrée en emploi durable", "dossier (the exit reason's label)")
    shot(b, "agent-dossier")

    # Replacing the report: a file saved by Excel (Windows-1252, no BOM).
    b.goto(f"{url}/editions/{ml_a}.html")
    b.click_link("Remplacer")
    has(b, "Choisissez le fichier", "replace")
    upload(b, "#fichier", os.path.join(work, "excel.csv"))
    b.click("main form button[type=submit]")
    has(b, "Confirmer le remplacement", "replace (confirmation)")
    has(b, "Windows-1252", "replace (confirmation)")
    shot(b, "agent-replace-confirm")
    b.click("main form button[type=submit]")
    has(b, "a été remplacé : 2 lignes", "replace (done)")
    has(b, "Lignes 1 à 2 sur 2", "replace (done)")
    shot(b, "agent-replaced")

    b.goto(f"{url}/editions/{ml_b}.html")
    french(b, "403")
    has(b, "Erreur 403", "another ML's report")
    has(b, "n'est pas votre Mission Locale", "another ML's report")
    shot(b, "agent-forbidden")

    b.click("header form button")
    has(b, "Vous êtes déconnecté.", "log-out")
    b.goto(f"{url}/editions/{ml_a}.html")
    has(b, "Se connecter", "after log-out")

# --- the national team ----------------------------------------------------------
with Browser(tempfile.mkdtemp(dir=work), log) as b:
    login(b, "admin", "Été-2026 admin", "admin")
    has(b, "Rapport national", "national list")
    has(b, "Synthèse de l'intégration", "national list")
    b.fill("#q", "pontchateau")
    b.click("form[role=search] button")
    has(b, "1 rapport sur 3", "search 'pontchateau'")
    has(b, "Pontchâteau", "search 'pontchateau'")
    lacks(b, "Métropole du Grand Paris</a>", "search 'pontchateau'")
    shot(b, "admin-search")
    b.goto(url + "/editions.html?tri=lignes&ordre=desc")
    names = b.eval("[...document.querySelectorAll('section table tbody tr td:nth-child(2)')]"
                   ".map(t => t.textContent)")
    if names[:3] != ["_national", ml_a, ml_b]:
        fail(f"sorted by rows, descending: {names[:3]}")
    shot(b, "admin-list", full=True)

    b.goto(url + "/editions/_national.html")
    has(b, "Pourquoi ici", "national report")
    has(b, "Code INSEE « 99999 » inconnu (code 08) : pas de commune exploitable.", "national report")
    has(b, "Ligne mal formée (code 01)", "national report")
    has(b, "Code postal 97150 (Saint-Martin) : aucune Mission Locale ne le couvre.", "national report")
    shot(b, "admin-national", full=True)

    b.click_link("Historique des intégrations")
    french(b, "history")
    has(b, "retenue", "history")
    has(b, "le nombre de lignes a baissé de 62 %", "history")
    has(b, "week-49.csv", "history")
    has(b, "06/12/2026 à 02:01", "history (Europe/Paris)")
    shot(b, "admin-history", full=True)

print(f"{shot.taken} screenshots in {shots}")
