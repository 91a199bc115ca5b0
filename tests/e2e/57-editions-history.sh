#!/usr/bin/env bash
# Editions service, the run history (DIR/runs.json, the unattended service's
# contract): none yet -> "no history yet"; GET /historique.html and GET /runs
# for national users only (others: 403, in French); the banner on every page
# while the latest run of a kind was held or failed and no later one of the
# same kind was published; gone once one is; times shown in Europe/Paris.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/editions-lib.sh"

dir=$t/out
users=$t/users.csv
ed_run "$dir" 2026-W48
ed_user "$users" nat tok-nat NATIONAL consulter_edition,telecharger_rapports nat-secret
ed_user "$users" ml tok-ml "$ML_A" consulter_edition,telecharger_rapports ml-secret
ed_start "$dir" "$users"
ed_login nat nat-secret
ed_login ml ml-secret

# No runs.json yet.
ed_cexpect 200 GET /historique.html nat
ed_french
grep -q "Pas encore d'historique" "$t/body" || fail "no history: $(head -c 400 "$t/body")"
ed_expect 200 GET /runs tok-nat
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j == {"runs": [], "held": []}, j' "$t/body" ||
	fail "/runs without history: $(cat "$t/body")"
ed_cexpect 403 GET /historique.html ml
ed_french
grep -q "réservée à l'équipe nationale" "$t/body" || fail "403 does not say why"
ed_expect 403 GET /runs tok-ml
grep -q "réservée à l'équipe nationale" "$t/body" || fail "403 of /runs: $(cat "$t/body")"
ed_cexpect 200 GET /editions.html ml
grep -q 'class="banner"' "$t/body" && fail "a banner without history"

# entry KIND RUN STATUS REASON STARTED FINISHED [extra JSON members]
entry() {
	printf '{"kind": "%s", "run_id": "%s", "attempt": "%s#%04x", "source": "%s", "sha256": "00",
	  "status": "%s", "reason": "%s", "lines": 20, "integrated": 14, "failed": 6,
	  "dossiers": 0, "malformed": 0, "accepted": false, "started_at": "%s",
	  "finished_at": "%s", "unknown_key": {"ignored": true}%s}' \
		"$1" "$2" "$2" "$RANDOM" "week-${2#*-W}.csv" "$3" "$4" "$5" "$6" "${7:-}"
}
runs() {
	local IFS=,
	echo "[$*]" >"$dir/runs.json.tmp"
	mv "$dir/runs.json.tmp" "$dir/runs.json"
}
W48=$(entry dispositifs 2026-W48 published "" 2026-11-29T02:00:03+01:00 2026-11-29T02:01:10+01:00)
W49H=$(entry dispositifs 2026-W49 held "le fichier est celui de la semaine 2026-W48 (même SHA-256)" \
	2026-12-06T02:00:03+01:00 2026-12-06T02:01:10+01:00)
W49R=$(entry dispositifs 2026-W49 running "" 2026-12-06T09:00:00+01:00 "")
W49P=$(entry dispositifs 2026-W49 published "" 2026-12-06T09:00:00+01:00 2026-12-06T09:02:00+01:00 ', "accepted": true')
D17F=$(entry dossiers 17 failed "l'export n'a pas d'en-tête" 2026-07-01T01:00:00+02:00 2026-07-01T01:00:05+02:00)
D18=$(entry dossiers 18 published "" 2026-07-08T01:00:00+02:00 2026-07-08T01:02:00+02:00)

# Held, then a run still going: the banner, on every page, for everybody.
runs "$W48" "$W49H" "$W49R"
for page in /editions.html "/editions/$ML_A.html" /historique.html; do
	ed_cexpect 200 GET "$page" nat
	grep -q 'class="banner"' "$t/body" || fail "no banner on $page"
	grep -q 'La dernière intégration des dispositifs (2026-W49, fichier week-49.csv, 06/12/2026 à 02:01) a été retenue : le fichier est celui de la semaine 2026-W48 (même SHA-256).' "$t/body" ||
		fail "the banner on $page: $(grep -o 'class="banner"[^<]*' "$t/body")"
done
ed_cexpect 200 GET "/editions/$ML_A.html" ml
grep -q 'class="banner"' "$t/body" || fail "no banner for an ML user"
ed_cexpect 404 GET /editions/ML999.html nat
grep -q 'class="banner"' "$t/body" || fail "no banner on an error page"
# The history, newest first, times in Europe/Paris (a summer one too).
runs "$D17F" "$D18" "$W48" "$W49H" "$W49R"
ed_cexpect 200 GET /historique.html nat
python3 - "$t/body" <<'PY' || fail "the history page"
import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
body = html.split("<tbody>")[1]
rows = re.findall(r"<tr>(.*?)</tr>", body)
assert len(rows) == 5, len(rows)
status = [re.sub(r"<[^>]+>", "", re.findall(r"<td>(.*?)</td>", r)[5]) for r in rows]
assert status == ["en cours", "retenue", "publiée", "publiée", "en échec"], status
assert "06/12/2026 à 09:00" in rows[0] and "01/07/2026 à 01:00" in rows[4], rows[4]
assert "l'export n'a pas d'en-tête" in rows[4]
PY
ed_expect 200 GET /runs tok-nat
python3 - "$t/body" <<'PY' || fail "/runs: $(cat "$t/body")"
import json, sys
j = json.load(open(sys.argv[1]))
assert [r["status"] for r in j["runs"]] == ["failed", "published", "published", "held", "running"], j
assert [h["run_id"] for h in j["held"]] == ["2026-W49"], j["held"]
assert j["runs"][0]["unknown_key"] == {"ignored": True}
PY

# Published at last (over the guard): no banner.
runs "$W48" "$W49H" "$W49P"
ed_cexpect 200 GET /editions.html ml
grep -q 'class="banner"' "$t/body" && fail "a banner after the run was published"
ed_cexpect 200 GET /historique.html nat
grep -q 'publiée malgré une garde' "$t/body" || fail "the accepted run is not said so"
# A failed load of the dossiers, not followed by a published one: its banner.
runs "$W48" "$D18" "$D17F"
ed_cexpect 200 GET /editions.html ml
grep -q "Le dernier chargement des dossiers (week-17.csv, 01/07/2026 à 01:00) a échoué : l'export n'a pas d'en-tête." "$t/body" ||
	fail "the dossiers' banner: $(grep -o 'class="banner"[^<]*' "$t/body")"
# An unreadable runs.json: the pages still work, the history says so.
echo '{"not": "an array"}' >"$dir/runs.json"
ed_cexpect 200 GET /editions.html ml
ed_cexpect 500 GET /historique.html nat
ed_french
grep -q "runs.json' is not a JSON array" "$t/editions.log" || fail "the bad runs.json is not logged"
ed_stop
