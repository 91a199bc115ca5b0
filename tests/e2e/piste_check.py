#!/usr/bin/env python3
"""What the editions service shows of a report's evidence (issue 18),
checked against what the reporter published (OUT/reports/<ml>.csv,
OUT/evidence/<ml>.json), independently of the service's C code:

  piste_check.py pick OUT
      the ML whose report has the most candidate dossiers of its own ML and
      of other MLs (both at least one), on stdout
  piste_check.py json OUT ML BODY VIEWER
      GET /editions/<ml>.json against the CSV and the evidence, redacted
      for VIEWER (an ML code, or NATIONAL)
  piste_check.py hidden OUT ML FILE...
      no dossier id of another ML than ML's candidates in any FILE (an
      .xlsx is read whole, unzipped); prints how many ids were looked for
  piste_check.py shown OUT ML FILE
      every dossier id of ML's own candidates is in FILE (a page)
  piste_check.py xlsx OUT ML XLSX VIEWER SAVED_CSV
      the report's sheet: the CSV's 7 columns, then « Piste » and
      « Semaines en échec » as the evidence says; SAVED_CSV: the sheet as
      Excel saves it as « CSV (séparateur : point-virgule) » (Windows-1252)
  piste_check.py weeks PAGE OUT ML MIN
      the rows of the page (its « # ») are exactly the report's rows that
      failed MIN weeks in a row or more
  piste_check.py synth DIR ML ROWS
      a report of ROWS rows and its evidence (weeks 1, 2, 3, 4 in turn,
      codes 05 and 02/05/04 in turn) written into DIR, with summary.json
"""
import json
import os
import re
import sys
import zipfile
import xml.etree.ElementTree as ET

HEADER = ("Identifiant SIGMA;Code Pôle Emploi;Nom de naissance;Prénom;Date de naissance;"
          "Commune INSEE de résidence;Codes retour")


def fail(why):
    print(f"FAIL: {why}", file=sys.stderr)
    sys.exit(1)


def csv_rows(out, ml):
    with open(os.path.join(out, "reports", ml + ".csv"), encoding="utf-8-sig", newline="") as f:
        lines = f.read().split("\r\n")
    if lines[0] != HEADER or lines[-1] != "":
        fail(f"{ml}.csv is not a report of SPEC §6")
    return [line.split(";") for line in lines[1:-1]]


def evidence(out, ml):
    with open(os.path.join(out, "evidence", ml + ".json"), encoding="utf-8") as f:
        return json.load(f)


def french_date(iso):
    return f"{iso[8:10]}/{iso[5:7]}/{iso[0:4]}"


def pick(out):
    best = None
    for name in sorted(os.listdir(os.path.join(out, "evidence"))):
        ml = name[:-5]
        if ml == "_national":
            continue
        cands = [c for r in evidence(out, ml)["rows"] for c in r["evidence"]]
        own = sum(c["ml_code"] == ml for c in cands)
        other = len(cands) - own
        if own and other and (best is None or min(own, other) > best[0]):
            best = (min(own, other), ml)
    if not best:
        fail("no report with candidates of its ML and of others")
    print(best[1])


def check_json(out, ml, body, viewer):
    with open(body, encoding="utf-8") as f:
        got = json.load(f)
    ev = evidence(out, ml)
    rows = csv_rows(out, ml)
    if list(got) != ["run_id", "ml_code", "evidence_state", "rows"]:
        fail(f"JSON keys {list(got)}")
    if got["run_id"] != ev["run_id"] or got["ml_code"] != ml or got["evidence_state"] != "ok":
        fail(f"JSON head {got['run_id']} {got['ml_code']} {got['evidence_state']}")
    if len(got["rows"]) != len(rows) or len(rows) != len(ev["rows"]):
        fail(f"JSON rows {len(got['rows'])}, CSV {len(rows)}, evidence {len(ev['rows'])}")
    for k, (g, csv, e) in enumerate(zip(got["rows"], rows, ev["rows"])):
        if list(g) != ["line", "codes", "evidence", "weeks_rejected", "first_rejected"]:
            fail(f"row {k + 1}: keys {list(g)}")
        if g["codes"] != csv[6] or g["line"] != e["line"]:
            fail(f"row {k + 1}: codes {g['codes']} line {g['line']}, CSV {csv[6]}, "
                 f"evidence line {e['line']}")
        if (g["weeks_rejected"], g["first_rejected"]) != (e["weeks_rejected"], e["first_rejected"]):
            fail(f"row {k + 1}: weeks {g['weeks_rejected']} {g['first_rejected']}")
        want = []
        for c in e["evidence"]:
            w = {"dossier_id": c["dossier_id"], "ml_code": c["ml_code"], "code": c["code"],
                 "step": c["step"], "differs": c["differs"], "value": c["value"]}
            if viewer != "NATIONAL" and c["ml_code"] != viewer:
                del w["dossier_id"]
            want.append(w)
        if g["evidence"] != want:
            fail(f"row {k + 1}: evidence {g['evidence']}, want {want}")


def file_text(path):
    if path.endswith(".xlsx"):
        z = zipfile.ZipFile(path)
        return "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def hidden(out, ml, files):
    ids = {c["dossier_id"] for r in evidence(out, ml)["rows"] for c in r["evidence"]
           if c["ml_code"] != ml}
    if not ids:
        fail(f"{ml}: no candidate of another ML to hide")
    for path in files:
        text = file_text(path)
        for i in ids:
            if re.search(r"(?<![0-9A-Za-z])" + re.escape(i) + r"(?![0-9A-Za-z])", text):
                fail(f"{path} shows {i}, a dossier of another ML than {ml}")
        if not path.endswith(".json") and "autre Mission Locale" not in text:
            fail(f"{path} does not say « d'une autre Mission Locale »")
    print(len(ids))


def shown(out, ml, path):
    text = file_text(path)
    ids = {c["dossier_id"] for r in evidence(out, ml)["rows"] for c in r["evidence"]
           if c["ml_code"] == ml}
    for i in ids:
        if i not in text:
            fail(f"{path} does not show {i}, a dossier of {ml}")


def xlsx_rows(path):
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    z = zipfile.ZipFile(path)
    shared = []
    if "xl/sharedStrings.xml" in z.namelist():
        root = ET.fromstring(z.read("xl/sharedStrings.xml"))
        shared = ["".join(t.text or "" for t in si.iter(f"{{{ns['m']}}}t"))
                  for si in root.findall("m:si", ns)]
    root = ET.fromstring(z.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in root.find("m:sheetData", ns).findall("m:row", ns):
        cells = []
        for c in row.findall("m:c", ns):
            t = c.get("t")
            if t == "inlineStr":
                cells.append("".join(x.text or "" for x in c.iter(f"{{{ns['m']}}}t")))
            elif t == "s":
                cells.append(shared[int(c.find("m:v", ns).text)])
            else:
                if c.find("m:v", ns) is not None:
                    fail(f"a cell that is not text: {ET.tostring(c)}")
                cells.append("")
        rows.append(cells)
    return rows


def check_xlsx(out, ml, path, viewer, saved):
    rows = xlsx_rows(path)
    csv = csv_rows(out, ml)
    ev = evidence(out, ml)["rows"]
    if rows[0] != HEADER.split(";") + ["Piste", "Semaines en échec"]:
        fail(f"XLSX header {rows[0]}")
    if len(rows) - 1 != len(csv):
        fail(f"XLSX rows {len(rows) - 1}, CSV {len(csv)}")
    for k, (x, c, e) in enumerate(zip(rows[1:], csv, ev)):
        if x[:7] != c:
            fail(f"XLSX row {k + 1}: {x[:7]}, CSV {c}")
        weeks = f"{e['weeks_rejected']} (depuis le {french_date(e['first_rejected'])})"
        if x[8] != weeks:
            fail(f"XLSX row {k + 1}: weeks '{x[8]}', want '{weeks}'")
        piste = x[7]
        if any(ch in piste for ch in ';"\r\n'):
            fail(f"XLSX row {k + 1}: the piste would not survive a CSV: {piste!r}")
        if bool(piste) != bool(e["evidence"]):
            fail(f"XLSX row {k + 1}: piste '{piste}' for evidence {e['evidence']}")
        for cand in e["evidence"]:
            if viewer == "NATIONAL" or cand["ml_code"] == viewer:
                if cand["dossier_id"] not in piste:
                    fail(f"XLSX row {k + 1}: no {cand['dossier_id']} in '{piste}'")
            elif cand["ml_code"] not in piste or "autre Mission Locale" not in piste:
                fail(f"XLSX row {k + 1}: nothing of {cand['ml_code']} in '{piste}'")
            if cand["differs"]:
                word = {"date_naissance": "date de naissance", "nom_naissance": "nom de naissance",
                        "prenom": "prénom"}[cand["differs"][0]]
                if f"{word} {cand['value']} au lieu de " not in piste:
                    fail(f"XLSX row {k + 1}: '{word} {cand['value']} au lieu de' not in '{piste}'")
    # As Excel saves it: Windows-1252, CRLF, no quoting needed.
    with open(saved, "wb") as f:
        f.write("".join(";".join(r) + "\r\n" for r in rows).encode("cp1252"))


def page_rows(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    body = text.split('<table class="rows">', 1)[1].split("</table>", 1)[0]
    return [int(n) for n in re.findall(r'<tr(?: class="old")?><td class="n">(\d+)</td>', body)]


def weeks(page, out, ml, least):
    got = page_rows(page)
    want = [k + 1 for k, r in enumerate(evidence(out, ml)["rows"])
            if r["weeks_rejected"] >= least][:500]
    if got != want:
        fail(f"rows failing {least}+ weeks: page {got}, want {want}")
    print(len(want))


def synth(d, ml, n):
    os.makedirs(os.path.join(d, "reports"), exist_ok=True)
    os.makedirs(os.path.join(d, "evidence"), exist_ok=True)
    rows, ev = [], []
    for i in range(n):
        codes = "05" if i % 2 == 0 else "02/05/04"
        rows.append(f"{4100000001 + i};{'' if codes == '05' else f'{5000000 + i}A'};Martin;Léa;"
                    f"13/03/2005;75101;{codes}")
        cand = ([{"code": "05", "differs": ["date_naissance"], "dossier_id": f"D{i}",
                  "ml_code": ml, "step": 3, "value": "12/03/2005"}] if codes == "05" else
                [{"code": "02", "differs": [], "dossier_id": f"E{i}", "ml_code": ml, "step": 1,
                  "value": ""},
                 {"code": "02", "differs": [], "dossier_id": f"F{i}", "ml_code": "ML999",
                  "step": 1, "value": ""}])
        ev.append({"codes": codes, "evidence": cand, "first_rejected": "2026-11-15",
                   "line": 2 * i + 3, "weeks_rejected": 1 + i % 4})
    with open(os.path.join(d, "reports", ml + ".csv"), "wb") as f:
        f.write(("\ufeff" + "\r\n".join([HEADER] + rows) + "\r\n").encode())
    with open(os.path.join(d, "evidence", ml + ".json"), "w", encoding="utf-8") as f:
        json.dump({"rows": ev, "run_id": "2026-W49"}, f, indent=2, sort_keys=True,
                  ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(d, "summary.json"), "w") as f:
        json.dump({"run_id": "2026-W49", "lines": n, "integrated": 0, "failed": n,
                   "by_code": {}, "by_step": {}, "reports": {ml: n}}, f)


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "pick":
        pick(*args)
    elif mode == "json":
        check_json(*args)
    elif mode == "hidden":
        hidden(args[0], args[1], args[2:])
    elif mode == "shown":
        shown(*args)
    elif mode == "xlsx":
        check_xlsx(*args)
    elif mode == "weeks":
        weeks(args[0], args[1], args[2], int(args[3]))
    elif mode == "synth":
        synth(args[0], args[1], int(args[2]))
    else:
        fail(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
