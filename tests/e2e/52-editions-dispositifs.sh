#!/usr/bin/env bash
# Editions service, the dispositifs on the portal: GET
# /dossiers/<id>/dispositifs (JSON) and /dossiers/<id>.html (the page), read
# from Redis (aij:dispositifs:<id>), scoped by the dossier's ML from the
# current index generation (loaded here by the real aij-indexer): an ML user
# sees its own dossiers only, others get a 403 in French. The page says
# which run and which look-up step attached each dispositif (the step from
# DIR/attached/<ml>.csv of the latest run; "—" for an older run) and the exit
# reason's label. Then the page of the dispositifs the latest run attached for
# an ML (DIR/attached/<ml>.csv: a fixture here, as the reporter will write
# it), searchable by dossier id or name, and its XLSX.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/editions-lib.sh"

start_redis
cat >"$t/dossiers.csv" <<EOF2
dossier_id;ml_code;nom_naissance;prenom;date_naissance;pe_cotraitance;pe_complement
D1;$ML_A;LE GOFF;Anaïs;01/02/2003;1234567A;
D2;$ML_B;MARTIN;Paul;02/03/2004;;
D3;$ML_A;PETIT;Léa;03/04/2004;;
EOF2
"$AIJ_BIN/aij-indexer" --dossiers "$t/dossiers.csv" --redis "$redis_addr" >"$t/indexer.log" 2>&1 ||
	fail "aij-indexer: $(cat "$t/indexer.log")"
# The dispositifs as the matcher attaches them (lib/dispositif.h): j1 and
# j2 in the compact form, j0 as JSON, as earlier versions stored them.
j1='1;3;2026-W48;S1;011;1234567A;LE GOFF;Anaïs;01/02/2003;75101;AIJ;05/01/2026;;;'
j0='{"identifiant_sigma":"S0","code_regional":"011","identifiant_pe":"1234567A","nom_naissance":"LE GOFF","prenom":"Anaïs","date_naissance":"01/02/2003","code_insee_residence":"75101","type_dispositif":"AIJ","date_debut":"01/06/2025","date_fin_prevue":"01/12/2025","date_fin_reelle":"01/12/2025","motif_sortie":"01","run_id":"2026-W47","line":9}'
j2='1;4;2026-W48;S2;052;;MARTIN;Paul;02/03/2004;44130;AIJ;05/01/2026;;;'
redis-cli -p "$redis_port" HSET aij:dispositifs:D1 "S1;AIJ;05/01/2026" "$j1" "S0;AIJ;01/06/2025" "$j0" >/dev/null
redis-cli -p "$redis_port" HSET aij:dispositifs:D2 "S2;AIJ;05/01/2026" "$j2" >/dev/null
redis-cli -p "$redis_port" HSET aij:dispositifs:D8 "S8;AIJ;05/01/2026" "$j2" >/dev/null # not in the index

dir=$t/out
users=$t/users.csv
ed_run "$dir" 2026-W48
ed_user "$users" ml-a tok-a "$ML_A" consulter_edition pw-a
ed_user "$users" ml-a-dl tok-a-dl "$ML_A" telecharger_rapports,gerer_editions pw-a-dl
ed_user "$users" ml-b tok-b "$ML_B" consulter_edition,telecharger_rapports pw-b
ed_user "$users" nat tok-nat NATIONAL consulter_edition,telecharger_rapports pw-nat
# What the latest run (2026-W48) attached for ML_A (team contract).
mkdir -p "$dir/attached"
{
	echo "line;dossier_id;step;identifiant_sigma;identifiant_pe;nom_naissance;prenom;date_naissance;code_insee_residence;type_dispositif;date_debut;date_fin_prevue;date_fin_reelle;motif_sortie"
	echo "3;D1;1;S1;1234567A;LE GOFF;Anaïs;01/02/2003;75101;AIJ;05/01/2026;;;"
	echo "7;D3;3;S3;;PETIT;Léa;03/04/2004;94028;AIJ;06/01/2026;06/07/2026;01/03/2026;01"
	echo "12;D3;2;S4;7654321B;PETIT;Léa;03/04/2004;94028;AIJ;07/01/2026;;;"
	echo "15;D5;3;S5;;MARTIN;Éloïse;05/05/2005;08249;AIJ;08/01/2026;;;"
} >"$dir/attached/$ML_A.csv"
ed_coverage "$t/coverage.csv"
ed_start "$dir" "$users" --redis "$redis_addr" --coverage "$t/coverage.csv"

ed_expect 200 GET /dossiers/D1/dispositifs tok-a
python3 - "$t/body" "$ML_A" <<'PY' || fail "D1 for its ML: $(cat "$t/body")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["dossier_id"] == "D1" and j["ml_code"] == sys.argv[2], j
d = j["dispositifs"]
assert [x["identity"] for x in d] == ["S0;AIJ;01/06/2025", "S1;AIJ;05/01/2026"], d
assert d[1]["identifiant_sigma"] == "S1" and d[1]["prenom"] == "Anaïs" and d[1]["line"] == 3, d
assert d[1]["nom_naissance"] == "LE GOFF" and d[1]["date_fin_prevue"] == "" and d[1]["run_id"] == "2026-W48", d
assert d[0]["identifiant_sigma"] == "S0" and d[0]["line"] == 9, d
assert d[0]["motif_sortie"] == "01" and d[0]["run_id"] == "2026-W47", d
PY
grep -qi '^Content-Type: application/json' "$t/headers" || fail "dispositifs Content-Type"
ed_expect 200 GET /dossiers/D3/dispositifs tok-a
grep -q '"dispositifs": \[\]' "$t/body" || fail "D3 has no dispositif: $(cat "$t/body")"
ed_expect 403 GET /dossiers/D2/dispositifs tok-a
ed_expect 404 GET /dossiers/D9/dispositifs tok-a
ed_expect 404 GET /dossiers/D8/dispositifs tok-a
ed_expect 200 GET /dossiers/D2/dispositifs tok-b
ed_expect 403 GET /dossiers/D1/dispositifs tok-b
ed_expect 403 GET /dossiers/D1/dispositifs tok-a-dl
ed_expect 200 GET /dossiers/D2/dispositifs tok-nat
grep -q '"ml_code": "'"$ML_B"'"' "$t/body" || fail "national view of D2: $(cat "$t/body")"
ed_expect 200 GET /dossiers/D8/dispositifs tok-nat
grep -q '"ml_code": null' "$t/body" || fail "a dossier outside the index has no ML: $(cat "$t/body")"
ed_expect 404 GET /dossiers/D9/dispositifs tok-nat
ed_expect 401 GET /dossiers/D1/dispositifs ""
ed_expect 401 GET "/dossiers/D1/dispositifs?token=tok-a" ""
ed_expect 403 GET /dossiers/D2/dispositifs tok-a
grep -q 'autre Mission Locale' "$t/body" || fail "the 403 does not say why, in French: $(cat "$t/body")"
ed_expect 400 GET /dossiers/..%2fD1/dispositifs tok-nat
ed_expect 400 GET /dossiers/%2e%2e/dispositifs tok-nat
ed_expect 400 GET "/dossiers/D1%00/dispositifs" tok-nat
ed_expect 404 GET /dossiers/D1 tok-nat
ed_expect 405 DELETE /dossiers/D1/dispositifs tok-nat

# The dossier's page.
ed_login ml-a pw-a
ed_login ml-b pw-b
ed_login nat pw-nat
ed_cexpect 200 GET /dossiers/D1.html ml-a
ed_french
python3 - "$t/body" <<'PY' || fail "the page of D1: $(cat "$t/body")"
import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
rows = re.findall(r"<tr>(.*?)</tr>", html.split("<tbody>")[1])
cells = [re.findall(r"<td>(.*?)</td>", r) for r in rows]
strip = lambda s: re.sub(r"<[^>]+>", "", s)
# S0 (an older run, with an exit reason), then S1 (the latest, step 1).
assert [strip(c[0]) for c in cells] == ["S0", "S1"], cells
s0, s1 = cells
assert strip(s0[1]) == "AIJ" and strip(s0[2]) == "01/06/2025" and strip(s0[4]) == "01/12/2025", s0
assert strip(s0[5]) == "01 — Entrée en emploi durable (CDI ou CDD de 6 mois et plus)", s0
assert strip(s0[6]) == "2026-W47 (ligne 9)" and strip(s0[7]) == "—", s0
assert strip(s1[6]) == "2026-W48 (ligne 3)" and strip(s1[7]) == "1 · n° PE cotraitance", s1
assert strip(s1[5]) == "—" and strip(s1[3]) == "—", s1
assert "Anaïs" in html and 'lang="fr"' in html
PY
ed_cexpect 200 GET /dossiers/D3.html ml-a
grep -q "Aucun dispositif n'est attaché à ce dossier." "$t/body" || fail "D3's page: $(head -c 300 "$t/body")"
ed_cexpect 403 GET /dossiers/D2.html ml-a -H 'Accept: text/html'
ed_french
grep -q 'Erreur 403' "$t/body" || fail "403 page"
grep -q 'appartient à une autre Mission Locale' "$t/body" || fail "403 page does not say why"
ed_cexpect 404 GET /dossiers/D9.html ml-a
ed_french
grep -q 'Erreur 404' "$t/body" || fail "404 page"
ed_cexpect 200 GET /dossiers/D2.html ml-b
ed_cexpect 200 GET /dossiers/D2.html nat
grep -q "Pontchâteau" "$t/body" || fail "the national view of D2 does not name its ML"
ed_cexpect 200 GET /dossiers/D8.html nat
grep -q "absent de l'index" "$t/body" || fail "D8 is outside the index: $(head -c 300 "$t/body")"
# The form "Consulter un dossier" goes to the page.
ed_cexpect 303 GET "/dossiers?id=%20D1%20" ml-a
grep -qi '^Location: /dossiers/D1.html' "$t/headers" || fail "/dossiers?id=: $(cat "$t/headers")"
ed_cexpect 400 GET "/dossiers?id=..%2F" ml-a
ed_french

# The dispositifs the latest run attached for ML_A.
ed_cexpect 200 GET "/dispositifs/$ML_A.html" ml-a
ed_french
for d in D1 D3 D5; do grep -q "href=\"/dossiers/$d.html\"" "$t/body" || fail "no link to $d"; done
grep -q '4 dispositifs' "$t/body" || fail "not 4 dispositifs: $(grep -o '[0-9]* dispositif[s]*' "$t/body" | head -3)"
grep -q '2 · n° PE complément' "$t/body" || fail "the step of S4"
grep -q '01 — Entrée en emploi durable' "$t/body" || fail "the exit reason of S3"
ed_cexpect 200 GET "/dispositifs/$ML_A.html?q=leA%20petit" ml-a
grep -q '2 dispositifs sur 4' "$t/body" || fail "search by name 'leA petit'"
grep -q 'D5' "$t/body" && fail "search by name found D5"
ed_cexpect 200 GET "/dispositifs/$ML_A.html?q=eloise" ml-a
grep -q '1 dispositif sur 4' "$t/body" || fail "search by name without accents"
ed_cexpect 200 GET "/dispositifs/$ML_A.html?q=d1" ml-a
grep -q '1 dispositif sur 4' "$t/body" || fail "search by dossier id"
ed_cexpect 403 GET "/dispositifs/$ML_A.html" ml-b
ed_french
ed_cexpect 200 GET "/dispositifs/$ML_B.html" ml-b
grep -q "aucun dispositif" "$t/body" || fail "ML_B has none: $(head -c 300 "$t/body")"
ed_cexpect 200 GET "/dispositifs/$ML_A.html" nat
ed_cexpect 200 GET /editions.html nat
grep -q "href=\"/dispositifs/$ML_A.html\"" "$t/body" || fail "the national list does not link the ML's dispositifs"
ed_cexpect 403 GET "/dispositifs/$ML_A.xlsx" ml-a
ed_cexpect 200 GET "/dispositifs/$ML_A.xlsx" nat
python3 - "$t/body" <<'PY' || fail "the XLSX of the dispositifs"
import re, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
sheet = z.read("xl/worksheets/sheet1.xml").decode()
cells = re.findall(r"<c [^>]*?(?:/>|>.*?</c>)", sheet)
assert len(cells) == 5 * 14, len(cells)
for c in cells:
    assert 't="inlineStr"' in c or 't="s"' in c or ("<v>" not in c and "<is>" not in c), c
assert "<t>08249</t>" in sheet and "<t>01</t>" in sheet and "<t>Éloïse</t>" in sheet
PY
rm -rf "$dir/attached"
ed_cexpect 200 GET "/dispositifs/$ML_A.html" ml-a
grep -q "pas encore publiée" "$t/body" || fail "no attached/ folder: $(head -c 300 "$t/body")"

# Redis gone: 503, a clear error, and the service stays up.
redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
sleep 0.5
ed_expect 503 GET /dossiers/D1/dispositifs tok-a
grep -q 'injoignable' "$t/body" || fail "503 does not say why: $(cat "$t/body")"
ed_cexpect 503 GET /dossiers/D1.html ml-a
ed_french
ed_expect 200 GET /editions tok-a
ed_stop
