#!/usr/bin/env bash
# Editions service, GET /dossiers/<id>/dispositifs: the dispositifs
# integrated into a dossier, read from Redis (aij:dispositifs:<id>), scoped
# by the dossier's ML from the current index generation (loaded here by the
# real aij-indexer). An ML user sees its own dossiers only.
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
ed_user "$users" ml-a tok-a "$ML_A" consulter_edition
ed_user "$users" ml-a-dl tok-a-dl "$ML_A" telecharger_rapports,gerer_editions
ed_user "$users" ml-b tok-b "$ML_B" consulter_edition,telecharger_rapports
ed_user "$users" nat tok-nat NATIONAL consulter_edition
ed_start "$dir" "$users" --redis "$redis_addr"

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
ed_expect 404 GET /dossiers/..%2fD1/dispositifs tok-nat
ed_expect 400 GET /dossiers/%2e%2e/dispositifs tok-nat
ed_expect 400 GET "/dossiers/D1%00/dispositifs" tok-nat
ed_expect 404 GET /dossiers/D1 tok-nat
ed_expect 405 DELETE /dossiers/D1/dispositifs tok-nat

# Redis gone: 503, a clear error, and the service stays up.
redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
sleep 0.5
ed_expect 503 GET /dossiers/D1/dispositifs tok-a
ed_expect 200 GET /editions tok-a
