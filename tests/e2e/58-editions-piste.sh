#!/usr/bin/env bash
# Editions service, issue 18: the « Piste » and « Semaines en échec » of a
# report, from what the reporter published (evidence/<ml>.json,
# weeks.json) for a generated week with near misses run three weeks in a
# row (editions-lib.sh ed_three_weeks), checked by tests/e2e/piste_check.py:
#   - GET /editions/<ml>.json: one row per CSV row, in its order, the
#     evidence's line, codes, candidates and weeks; the same rights as the
#     CSV (Bearer or session);
#   - privacy: an ML user sees no other ML's dossier id in the page, the
#     XLSX nor the JSON (« un dossier d'une autre Mission Locale (ML...) »
#     instead), and every id of its own; a national user sees them all;
#   - the XLSX has the two columns, text cells; saved as CSV by Excel it is
#     accepted back as the report, unchanged; the CSV stays SPEC §6;
#   - the filter of lines failing 3 weeks or more, with the code filter and
#     the pages (a report of 1203 rows);
#   - the national summary counts lines by weeks in a row (weeks.json);
#   - a report replaced by an upload shows no piste (and says why); a run
#     published before the evidence existed neither (and says so).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/editions-lib.sh"

out=$t/out
users=$t/users.csv
ed_three_weeks "$out"
ml=$(python3 tests/e2e/piste_check.py pick "$out") || fail "no ML to look at"
echo "looking at $ml"
ed_user "$users" agent tok-agent "$ml" consulter_edition,telecharger_rapports,gerer_editions 'mot de passe agent'
ed_user "$users" lecteur tok-lecteur "$ml" consulter_edition
ed_user "$users" nat tok-nat NATIONAL consulter_edition,telecharger_rapports 'mot de passe nat'
ed_start "$out" "$users" --coverage "$t/pweek/0/coverage.csv"
check() {
	python3 tests/e2e/piste_check.py "$@" || fail "piste_check.py $1 (files in $t)"
}

# --- the JSON -------------------------------------------------------------------
ed_expect 200 GET "/editions/$ml.json" tok-agent
grep -qi '^Content-Type: application/json' "$t/headers" || fail "the JSON's Content-Type"
cp "$t/body" "$t/agent.json"
check json "$out" "$ml" "$t/agent.json" "$ml"
ed_expect 200 GET "/editions/$ml.json" tok-nat
cp "$t/body" "$t/nat.json"
check json "$out" "$ml" "$t/nat.json" NATIONAL
ed_expect 200 GET /editions/_national.json tok-nat
cp "$t/body" "$t/national-report.json"
check json "$out" _national "$t/national-report.json" NATIONAL
# The same rights as the CSV: the right to download, the ML's own report.
ed_expect 403 GET "/editions/$ml.json" tok-lecteur
ed_expect 403 GET /editions/_national.json tok-agent
ed_expect 401 GET "/editions/$ml.json" ""
ed_expect 404 GET /editions/ML000000000.json tok-nat
ed_expect 405 PUT "/editions/$ml.json" tok-agent --data-binary x
ed_login agent 'mot de passe agent'
ed_cexpect 200 GET "/editions/$ml.json" agent
cmp -s "$t/body" "$t/agent.json" || fail "the JSON by session differs from the JSON by token"

# --- the page -------------------------------------------------------------------
ed_cexpect 200 GET "/editions/$ml.html" agent
cp "$t/body" "$t/agent.html"
grep -q '<th>Piste</th><th>Semaines en échec</th>' "$t/agent.html" || fail "the page has no Piste column"
grep -q 'Lire la piste' "$t/agent.html" || fail "the page does not say how to read a piste"
n_hidden=$(check hidden "$out" "$ml" "$t/agent.html" "$t/agent.json")
echo "$n_hidden dossiers of other MLs hidden from $ml"
check shown "$out" "$ml" "$t/agent.html"
ed_expect 200 GET "/editions/$ml.html" tok-nat
cp "$t/body" "$t/nat.html"
python3 - "$out" "$ml" "$t/nat.html" <<'PY' || fail "the national page lacks an id"
import json, re, sys
ev = json.load(open(f"{sys.argv[1]}/evidence/{sys.argv[2]}.json"))
page = open(sys.argv[3], encoding="utf-8").read()
text = re.sub(r"<[^>]*>", "", page)
for r in ev["rows"]:
    for c in r["evidence"]:
        if c["ml_code"] != sys.argv[2]:  # the ML beside another ML's dossier
            assert f'{c["dossier_id"]} ({c["ml_code"]})' in text, c
        assert f'href="/dossiers/{c["dossier_id"]}.html"' in page, c
PY
grep -q "autre Mission Locale" "$t/nat.html" && fail "a national user is told of « another ML »"

# --- the XLSX and the CSV ---------------------------------------------------------
ed_expect 200 GET "/editions/$ml.xlsx" tok-agent
cp "$t/body" "$t/agent.xlsx"
check xlsx "$out" "$ml" "$t/agent.xlsx" "$ml" "$t/saved-agent.csv"
check hidden "$out" "$ml" "$t/agent.xlsx" >/dev/null
ed_expect 200 GET "/editions/$ml.xlsx" tok-nat
cp "$t/body" "$t/nat.xlsx"
check xlsx "$out" "$ml" "$t/nat.xlsx" NATIONAL "$t/saved-nat.csv"
ed_expect 200 GET "/editions/$ml" tok-agent
cmp -s "$t/body" "$out/reports/$ml.csv" || fail "the CSV is not the report's bytes"
[ "$(head -n 1 "$t/body" | tr -cd ';' | wc -c)" -eq 6 ] || fail "the CSV's header is not SPEC §6's"
[ "$(awk -F';' 'NF != 7' "$t/body" | wc -l)" -eq 0 ] || fail "a CSV row without 7 fields"

# --- the national summary: lines by weeks in a row ----------------------------------
ed_expect 200 GET /editions.html tok-nat
python3 - "$out/weeks.json" "$t/body" <<'PY' || fail "the national summary's weeks"
import json, re, sys
w = json.load(open(sys.argv[1]))
page = open(sys.argv[2], encoding="utf-8").read()
sec = page.split("Lignes en échec par semaines d'affilée", 1)[1]
bars = dict(re.findall(r'title="(\d+) semaines?">.*?<span class="v">(\d+)</span>', sec, re.S))
want = {k: str(v) for k, v in w["by_weeks_rejected"].items()}
assert bars == want, (bars, want)
old = sum(v for k, v in w["by_weeks_rejected"].items() if int(k) >= 3)
assert f"En échec depuis 3 semaines ou plus<b>{old}</b>" in sec, old
PY
ed_expect 200 GET /editions.html tok-agent
grep -q "semaines d'affilée" "$t/body" && fail "an ML user sees the national summary"

# --- the 3+ weeks filter ------------------------------------------------------------
ed_expect 200 GET "/editions/$ml.html?semaines=3" tok-agent
n3=$(check weeks "$t/body" "$out" "$ml" 3)
[ "$n3" -gt 0 ] || fail "no row of $ml failing 3 weeks or more"
grep -q '<option value="3" selected>' "$t/body" || fail "the filter is not shown as chosen"
ed_expect 200 GET "/editions/$ml.html?semaines=2" tok-agent
n2=$(check weeks "$t/body" "$out" "$ml" 2)
ed_expect 200 GET "/editions/$ml.html" tok-agent
nall=$(check weeks "$t/body" "$out" "$ml" 1)
[ "$nall" -gt "$n3" ] || fail "every row of $ml fails 3 weeks or more: the filter filters nothing"
echo "$ml: $nall rows, $n2 failing 2 weeks or more, $n3 failing 3 or more"

# With the code filter and the pages: a report of 1203 rows, weeks 1-4 in turn.
synth=$t/synth
mkdir -p "$synth"
check synth "$synth" "$ml" 1203
ed_stop
ed_start "$synth" "$users"
ed_expect 200 GET "/editions/$ml.html?semaines=3" tok-agent
grep -q 'Lignes 1 à 500 sur 601 (filtrées) — page 1 sur 2' "$t/body" || fail "3+ weeks, page 1: $(grep -o 'Lignes [^<]*' "$t/body" | head -1)"
grep -q "href=\"/editions/$ml.html?page=2&amp;semaines=3#lignes\">Page suivante" "$t/body" ||
	fail "the next page's link loses the filter"
ed_expect 200 GET "/editions/$ml.html?semaines=3&page=2" tok-agent
grep -q 'Lignes 501 à 601 sur 601 (filtrées) — page 2 sur 2' "$t/body" || fail "3+ weeks, page 2"
python3 - "$t/body" <<'PY' || fail "3+ weeks, page 2: the rows"
import re, sys
body = open(sys.argv[1], encoding="utf-8").read().split('<table class="rows">')[1]
rows = [int(n) for n in re.findall(r'<tr(?: class="old")?><td class="n">(\d+)</td>', body)]
want = [k + 1 for k in range(1203) if 1 + k % 4 >= 3][500:]
assert rows == want, (rows[:5], want[:5])
PY
# Code 02 is on the odd rows: 300 of them fail 3 weeks or more (a page 2
# asked for is page 1, the last).
ed_expect 200 GET "/editions/$ml.html?semaines=3&code=02&page=2" tok-agent
grep -q 'Lignes 1 à 300 sur 300 (filtrées) — page 1 sur 1' "$t/body" ||
	fail "3+ weeks and code 02: $(grep -o 'Lignes [0-9][^<]*' "$t/body" | head -1)"
python3 - "$t/body" <<'PY' || fail "3+ weeks and code 02: the rows"
import re, sys
body = open(sys.argv[1], encoding="utf-8").read().split('<table class="rows">')[1]
rows = [int(n) for n in re.findall(r'<tr(?: class="old")?><td class="n">(\d+)</td>', body)]
assert rows == [k + 1 for k in range(1203) if k % 2 == 1 and 1 + k % 4 >= 3], rows[:5]
PY
# Every row has a 05: with it, the same 601 rows, and the pages keep both.
ed_expect 200 GET "/editions/$ml.html?semaines=3&code=05" tok-agent
grep -q "href=\"/editions/$ml.html?page=2&amp;code=05&amp;semaines=3#lignes\">Page suivante" "$t/body" ||
	fail "the next page's link loses a filter"
grep -q 'Aucune ligne avec ce filtre' "$t/body" && fail "rows expected"
# Another ML's dossiers in the synthetic report: hidden, and grouped.
grep -q 'F3<' "$t/body" && fail "the synthetic report shows another ML's dossier"
grep -qF "2 dossiers ont ce n° PE en cotraitance : <a href=\"/dossiers/E3.html\">E3</a> et un dossier d'une autre Mission Locale (ML999)" "$t/body" ||
	fail "a 02's dossiers: $(grep -o '2 dossiers ont[^/]*' "$t/body" | head -1)"
ed_stop

# --- a replaced report, a run before the evidence --------------------------------------
ed_start "$out" "$users" --coverage "$t/pweek/0/coverage.csv"
# The XLSX saved as CSV by Excel is accepted back: the same report.
ed_expect 200 PUT "/editions/$ml" tok-agent --data-binary "@$t/saved-agent.csv"
grep -q '"converted": true' "$t/body" || fail "the XLSX's CSV was not converted: $(cat "$t/body")"
ed_expect 200 GET "/editions/$ml" tok-agent
python3 - "$t/body" "$out/evidence/$ml.json" <<'PY' || fail "the report saved from the XLSX"
import json, sys
data = open(sys.argv[1], "rb").read()
assert data.startswith(b"\xef\xbb\xbf") and data.endswith(b"\r\n"), data[:20]
rows = data.decode("utf-8-sig").split("\r\n")[1:-1]
assert all(len(r.split(";")) == 7 for r in rows), rows[:2]
assert [r.split(";")[6] for r in rows] == [e["codes"] for e in json.load(open(sys.argv[2]))["rows"]]
PY
# Re-saved as it was, it still matches its evidence: the pistes stay.
ed_expect 200 GET "/editions/$ml.json" tok-agent
grep -q '"evidence_state": "ok"' "$t/body" || fail "the same report uploaded again lost its pistes"
# One row less: the pistes would point at the wrong lines.
python3 - "$out/reports/$ml.csv" "$t/fewer.csv" <<'PY'
import sys
data = open(sys.argv[1], "rb").read().split(b"\r\n")
open(sys.argv[2], "wb").write(b"\r\n".join(data[:1] + data[2:]))
PY
ed_expect 200 PUT "/editions/$ml" tok-agent --data-binary "@$t/fewer.csv"
ed_expect 200 GET "/editions/$ml.json" tok-agent
python3 - "$t/body" "$nall" <<'PY' || fail "the JSON of a replaced report"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["evidence_state"] == "replaced", j["evidence_state"]
assert len(j["rows"]) == int(sys.argv[2]) - 1, len(j["rows"])
assert all(r["evidence"] == [] and r["line"] is None and r["weeks_rejected"] is None
           for r in j["rows"]), j["rows"][:2]
PY
ed_expect 200 GET "/editions/$ml.html" tok-agent
grep -q 'Ce rapport a été remplacé depuis l' "$t/body" || fail "the page does not say the report was replaced"
grep -q '<th>Piste</th>' "$t/body" && fail "a replaced report shows pistes"
ed_expect 200 GET "/editions/$ml.xlsx" tok-agent
python3 - "$t/body" <<'PY' || fail "the XLSX of a replaced report has the piste columns"
import sys, zipfile
assert "Piste" not in zipfile.ZipFile(sys.argv[1]).read("xl/worksheets/sheet1.xml").decode()
PY
ed_stop

# A run published before the evidence existed (no evidence/, no weeks.json).
old=$t/old
ed_run "$old" 2026-W47
ed_start "$old" "$users"
ed_expect 200 GET "/editions/$ML_A.json" tok-nat
python3 - "$t/body" <<'PY' || fail "the JSON of a run without evidence"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["evidence_state"] == "absent" and j["run_id"] == "2026-W47", j
assert [r["codes"] for r in j["rows"]] == ["05", "03/03/05", "09"], j["rows"]
assert all(r["evidence"] == [] and r["weeks_rejected"] is None for r in j["rows"]), j["rows"]
PY
ed_expect 200 GET "/editions/$ML_A.html" tok-nat
grep -q 'Pas de piste ni de semaines en échec pour ce rapport' "$t/body" ||
	fail "the page does not say there is no evidence"
grep -q '<th>Piste</th>' "$t/body" && fail "pistes shown without evidence"
ed_expect 200 GET /editions.html tok-nat
grep -q "Pas de décompte des semaines en échec" "$t/body" || fail "the summary does not say weeks.json is absent"
# A damaged evidence file: no piste, said on the page and in the log.
mkdir -p "$old/evidence"
echo '{"rows": [' >"$old/evidence/$ML_A.json"
ed_expect 200 GET "/editions/$ML_A.html" tok-nat
grep -q "n'ont pas pu être lues" "$t/body" || fail "a damaged evidence file is not said"
ed_expect 200 GET "/editions/$ML_A.json" tok-nat
grep -q '"evidence_state": "unreadable"' "$t/body" || fail "a damaged evidence file in the JSON"
grep -q "ERROR.*cannot read '.*evidence/$ML_A.json'" "$t/editions.log" || fail "a damaged evidence file is not logged"
ed_stop
