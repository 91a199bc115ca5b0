#!/usr/bin/env bash
# Editions service in headless Chromium, driven over the DevTools protocol
# (tests/e2e/cdp.py, python3 alone): an ML adviser logs in, goes from the list
# to the report, to its page 2, filters by a code, goes to the ML's
# dispositifs and to a dossier, replaces the report with a file saved by
# Excel (confirming it), meets another ML's report (403) and logs out; the
# national team searches and sorts the list, reads why each line is in the
# national report and the run history with a held run. Each step's
# screenshot is kept in $BUILD/test-logs/53-editions-page/ (look at them),
# each page checked from the browser's own DOM (tests/e2e/editions_walk.py).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/editions-lib.sh"

command -v chromium >/dev/null || fail "chromium is not installed (make deps installs it)"
shots=$repo/${BUILD:-build}/test-logs/$test_name
rm -rf "$shots"
mkdir -p "$shots"

dir=$t/out
users=$t/users.csv
ed_run "$dir" 2026-W48
ed_coverage "$t/coverage.csv"
# A report of 1203 lines (3 pages) for ML_A, the codes in turn.
python3 - "$dir/reports/$ML_A.csv" "$ed_header" <<'PY'
import sys
codes = ["05", "03/03/05", "05/05/04", "09", "02/05/05", "10"]
names = [("Garnier", "Chloé"), ("Lacroix", "Hugo"), ("Girard", "Aurélien"), ("Le Goff", "Anaïs")]
rows = []
for i in range(1203):
    nom, prenom = names[i % 4]
    pe = "" if codes[i % 6] in ("05", "09", "10") else f"{5032518 + i}C"
    rows.append(f"{4100000001 + i};{pe};{nom};{prenom};{1 + i % 28:02d}/05/2004;94028;{codes[i % 6]}")
open(sys.argv[1], "wb").write(("\ufeff" + "\r\n".join([sys.argv[2]] + rows) + "\r\n").encode())
PY
ed_report "$dir/reports/_national.csv" \
	"4100000002;;Martin;Paul;02/03/2004;99999;08" \
	"4100000003;;Petit;Léa;03/04/2004;;01" \
	"4100000004;;Hodge;Kevin;04/05/2004;97801;05"
# What the reporter publishes besides: the dispositifs it attached for ML_A,
# the run history (2026-W49 held: the banner).
mkdir -p "$dir/attached"
{
	echo "line;dossier_id;step;identifiant_sigma;identifiant_pe;nom_naissance;prenom;date_naissance;code_insee_residence;type_dispositif;date_debut;date_fin_prevue;date_fin_reelle;motif_sortie"
	echo "3;D1;1;S1;1234567A;LE GOFF;Anaïs;01/02/2003;75101;AIJ;05/01/2026;;;"
	echo "8;D3;3;S3;;PETIT;Léa;03/04/2004;94028;AIJ;06/01/2026;;;"
} >"$dir/attached/$ML_A.csv"
cat >"$dir/runs.json" <<'JSON'
[
 {"kind": "dossiers", "run_id": "17", "attempt": "17#a1", "source": "dossiers.csv", "sha256": "ab",
  "status": "published", "reason": "", "lines": 0, "integrated": 0, "failed": 0, "dossiers": 120000,
  "malformed": 3, "accepted": false, "started_at": "2026-11-22T01:00:00+01:00", "finished_at": "2026-11-22T01:02:00+01:00"},
 {"kind": "dispositifs", "run_id": "2026-W48", "attempt": "2026-W48#3f9c2a1b", "source": "week-48.csv", "sha256": "cd",
  "status": "published", "reason": "", "lines": 20, "integrated": 14, "failed": 6, "dossiers": 0, "malformed": 0,
  "accepted": false, "started_at": "2026-11-29T02:00:03+01:00", "finished_at": "2026-11-29T02:01:10+01:00"},
 {"kind": "dispositifs", "run_id": "2026-W49", "attempt": "2026-W49#77aa0c12", "source": "week-49.csv", "sha256": "ef",
  "status": "held", "reason": "le nombre de lignes a baissé de 62 % par rapport à la semaine 2026-W48",
  "lines": 7, "integrated": 0, "failed": 0, "dossiers": 0, "malformed": 0, "accepted": false,
  "started_at": "2026-12-06T02:00:03+01:00", "finished_at": "2026-12-06T02:01:10+01:00"}
]
JSON
# The dossier D1 in the index, its dispositifs in Redis.
start_redis
cat >"$t/dossiers.csv" <<EOF2
dossier_id;ml_code;nom_naissance;prenom;date_naissance;pe_cotraitance;pe_complement
D1;$ML_A;LE GOFF;Anaïs;01/02/2003;1234567A;
D3;$ML_A;PETIT;Léa;03/04/2004;;
EOF2
"$AIJ_BIN/aij-indexer" --dossiers "$t/dossiers.csv" --redis "$redis_addr" >"$t/indexer.log" 2>&1 ||
	fail "aij-indexer: $(cat "$t/indexer.log")"
redis-cli -p "$redis_port" HSET aij:dispositifs:D1 \
	"S1;AIJ;05/01/2026" '1;3;2026-W48;S1;011;1234567A;LE GOFF;Anaïs;01/02/2003;75101;AIJ;05/01/2026;;;' \
	"S0;AIJ;01/06/2025" '1;9;2026-W47;S0;011;1234567A;LE GOFF;Anaïs;01/02/2003;75101;AIJ;01/06/2025;01/12/2025;01/12/2025;01' >/dev/null
# The report re-saved by Excel: Windows-1252, no BOM.
python3 - "$t/excel.csv" "$ed_header" <<'PY'
import sys
rows = ["4100052174;;Garnier;Chloé;22/11/2001;75101;05", "4100000009;1234567A;LEFÈVRE;Zoé;01/02/2003;94028;05/05/04"]
open(sys.argv[1], "wb").write(("\r\n".join([sys.argv[2]] + rows) + "\r\n").encode("cp1252"))
PY

ed_user "$users" agent "" "$ML_A" consulter_edition,telecharger_rapports,gerer_editions 'Été-2026 agent'
ed_user "$users" admin "" NATIONAL consulter_edition,telecharger_rapports,gerer_editions 'Été-2026 admin'
ed_start "$dir" "$users" --coverage "$t/coverage.csv" --redis "$redis_addr"

python3 tests/e2e/editions_walk.py "$ed_url" "$shots" "$t" "$ML_A" "$ML_B" ||
	fail "the walk in Chromium (screenshots in $shots, pages in $t, log $t/chromium.log)"
# The page's HTML is self-contained: no script, no external resource.
ed_login agent 'Été-2026 agent'
ed_creq GET "/editions/$ML_A.html" agent >/dev/null
grep -qiE '<script|<link|<img|<iframe|src=|url\(' "$t/body" && fail "the page loads something"
grep -qi "^Content-Security-Policy: default-src 'none'" "$t/headers" || fail "no Content-Security-Policy"
echo "screenshots in $shots"
ed_stop
