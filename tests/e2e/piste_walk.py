#!/usr/bin/env python3
"""The « Piste » and « Semaines en échec » columns in headless Chromium
(tests/e2e/59-editions-piste-page.sh prepares the service and runs this):

  an ML adviser: log in -> the list -> the ML's report (the two columns,
  no other ML's dossier id) -> the lines failing 3 weeks or more (the
  filter) -> a dossier of a piste;
  the national team: the same report (every id, with its ML) -> the
  national report -> the summary by weeks in a row.

    piste_walk.py URL SHOTS_DIR WORK_DIR OUT ML

OUT is the reporter's folder the service serves (its evidence files say
what each page must show). A screenshot of each step in SHOTS_DIR; every
check failing exits 1 with what was wrong and where.
"""
import json
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser  # noqa: E402
from walk import Shots, fail, has, lacks, submit_login  # noqa: E402

url, shots, work, out, ml = sys.argv[1:6]
shot = Shots(shots, work)


def login(b, who, password, where):
    b.goto(url + "/editions.html")
    submit_login(b, who, password, where)


def rows_shown(b):
    """The # of each row of the table of lines, and the text of its Piste and
    Semaines en échec cells, from the browser's DOM."""
    return b.eval("[...document.querySelectorAll('table.rows tbody tr')].map(tr => {"
                  " const td = [...tr.children];"
                  " const p = tr.querySelector('td.piste'), w = tr.querySelector('td.weeks');"
                  " return [td[0].textContent, p ? p.innerText : null, w ? w.innerText : null]; })")


def columns(b):
    return b.eval("[...document.querySelectorAll('table.rows thead th')].map(t => t.textContent)")


def cell_visible(b, selector):
    """The cell's box lies inside the window's width: nothing cut off."""
    return b.eval(f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                  " if (!e) return null; const r = e.getBoundingClientRect();"
                  " return r.left >= 0 && r.right <= window.innerWidth; })()")


ev = json.load(open(os.path.join(out, "evidence", ml + ".json")))["rows"]
others = {c["dossier_id"] for r in ev for c in r["evidence"] if c["ml_code"] != ml}
own = {c["dossier_id"] for r in ev for c in r["evidence"] if c["ml_code"] == ml}
if not others or not own:
    fail(f"{ml}: its evidence needs dossiers of its ML and of others")
log = os.path.join(work, "chromium.log")

# --- an ML adviser ------------------------------------------------------------
with Browser(tempfile.mkdtemp(dir=work), log) as b:
    login(b, "agent", "Été-2026 agent", "agent")
    b.goto(f"{url}/editions/{ml}.html")
    cols = columns(b)
    if cols[8:10] != ["Piste", "Semaines en échec"]:
        fail(f"report: the columns are {cols}")
    has(b, "Lire la piste.", "report")
    rows = rows_shown(b)
    if [int(r[0]) for r in rows] != list(range(1, len(ev) + 1)):
        fail(f"report: rows {[r[0] for r in rows]}")
    for (num, piste, weeks), e in zip(rows, ev):
        want = str(e["weeks_rejected"])
        first = "/".join(reversed(e["first_rejected"].split("-")))
        if weeks.split() != [want, "depuis", "le", first]:
            fail(f"report row {num}: weeks '{weeks}', want '{want} depuis le {first}'")
        for c in e["evidence"]:
            if c["ml_code"] == ml and c["dossier_id"] not in piste:
                fail(f"report row {num}: no {c['dossier_id']} in '{piste}'")
            if c["ml_code"] != ml and f"autre Mission Locale ({c['ml_code']})" not in piste:
                fail(f"report row {num}: nothing of {c['ml_code']} in '{piste}'")
        if not e["evidence"] and piste != "—":
            fail(f"report row {num}: a piste '{piste}' without evidence")
    html = b.html()
    for i in others:
        if re.search(r"(?<![0-9A-Za-z])" + re.escape(i) + r"(?![0-9A-Za-z])", html):
            fail(f"report: {i}, a dossier of another ML, is in the page")
    for cell in ("td.codes", "td.piste", "td.weeks"):
        if not cell_visible(b, "table.rows " + cell):
            fail(f"report: the column of {cell} goes past the window")
    if b.eval("document.documentElement.scrollWidth") > 1280:
        fail("report: the page is wider than the window")
    n_old = sum(r["weeks_rejected"] >= 3 for r in ev)
    has(b, f"{n_old} ligne{'s' if n_old > 1 else ''} en échec depuis 3 semaines ou plus",
        "report (the count of old lines)")
    shot(b, "agent-report-top")
    b.eval("document.querySelector('#lignes').scrollIntoView()")
    shot(b, "agent-report")

    b.eval("document.querySelector('#semaines').value = '3'")
    b.click("#lignes form button")
    want = [str(k + 1) for k, r in enumerate(ev) if r["weeks_rejected"] >= 3]
    got = [r[0] for r in rows_shown(b)]
    if got != want or not want:
        fail(f"3+ weeks: rows {got}, want {want}")
    has(b, "(filtrées)", "3+ weeks")
    b.eval("document.querySelector('#lignes').scrollIntoView()")
    shot(b, "agent-report-3-weeks")

    dossier = sorted(own)[0]
    b.goto(f"{url}/editions/{ml}.html")
    b.click_link(dossier)
    has(b, f"Dossier {dossier}", "a dossier of a piste")
    shot(b, "agent-dossier-of-a-piste")

# --- the national team ----------------------------------------------------------
with Browser(tempfile.mkdtemp(dir=work), log) as b:
    login(b, "admin", "Été-2026 admin", "admin")
    b.goto(f"{url}/editions/{ml}.html")
    for i in others | own:
        has(b, i, "the report, for the national team")
    lacks(b, "autre Mission Locale (", "the report, for the national team")
    b.eval("document.querySelector('#lignes').scrollIntoView()")
    shot(b, "admin-report")

    b.goto(f"{url}/editions/_national.html")
    if columns(b)[8:10] != ["Piste", "Semaines en échec"]:
        fail(f"national report: the columns are {columns(b)}")
    has(b, "Pourquoi ici", "national report")
    kinds = ["date de naissance", "nom de naissance", "prénom", "ont ce n° PE", "même n° PE",
             "ont ces nom, prénom et date de naissance"]
    text = b.text()
    missing = [k for k in kinds if k not in text]
    if len(missing) > 3:
        fail(f"national report: few kinds of piste ({missing} missing)")
    b.eval("document.querySelector('#lignes').scrollIntoView()")
    shot(b, "admin-national-report")

    b.goto(url + "/editions.html")
    has(b, "Lignes en échec par semaines d'affilée", "national summary")
    has(b, "En échec depuis 3 semaines ou plus", "national summary")
    b.eval("document.querySelector('#semaines').scrollIntoView()")
    shot(b, "admin-summary-weeks")

print(f"{shot.taken} screenshots in {shots}")
