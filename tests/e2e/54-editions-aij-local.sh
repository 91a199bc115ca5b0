#!/usr/bin/env bash
# deploy/aij-local --serve ADDR:PORT --users FILE on the sample week: the
# editions service (aij-editions) comes up, serves the run's reports once it
# is written (with the demo users of data/sample/users.csv: their tokens and
# their passwords), shows a dossier's integrated dispositifs from the run's
# Redis, and keeps serving after the run until stopped; then aij-local exits
# 0 and stops everything it started.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/editions-lib.sh"

port=$(free_port)
ed_url=http://127.0.0.1:$port
out=$t/out
deploy/aij-local --dispositifs data/sample/week.csv --dossiers data/sample/dossiers.csv \
	--coverage data/sample/coverage.csv --out "$out" --run-id 2026-W48 \
	--serve "127.0.0.1:$port" --users data/sample/users.csv >"$t/stdout" 2>"$t/stderr" &
local_pid=$!
e2e_pids+=($local_pid)

for _ in $(seq 600); do
	grep -q '^editions: ' "$t/stdout" 2>/dev/null && break
	kill -0 "$local_pid" 2>/dev/null || break
	sleep 0.1
done
grep -q '^editions: ' "$t/stdout" || { cat "$t/stderr" >&2; fail "aij-local --serve did not reach the serving stage"; }
grep -q 'run 2026-W48 published: ' "$t/stdout" || fail "no run summary on stdout: $(cat "$t/stdout")"
kill -0 "$local_pid" 2>/dev/null || fail "aij-local exited after the run instead of serving"

# The demo tokens of data/sample/users.md.
ed_expect 200 GET /editions demo-grandparis-agent
python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["editions"]; assert [x["ml_code"] for x in e] == ["ML200054781"] and e[0]["run_id"] == "2026-W48", e' "$t/body" ||
	fail "the Grand Paris agent's list: $(cat "$t/body")"
ed_expect 200 GET /editions/ML200054781 demo-grandparis-agent
cmp -s "$t/body" "$out/reports/ML200054781.csv" || fail "the download is not the run's report"
ed_expect 403 GET /editions/ML200054781 demo-pontchateau-agent
ed_expect 200 GET /editions/ML200000438.html demo-pontchateau-agent
ed_expect 200 GET /editions demo-national-admin
n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["editions"]))' "$t/body")
want=$(ls "$out/reports" | wc -l)
[ "$n" = "$want" ] || fail "the national list has $n reports, the run wrote $want"

# A dossier that got a dispositif in this run, from the run's own Redis.
dossier=$(awk -F';' 'NR == 2 { print $2 }' "$out/integrated.csv")
ed_expect 200 GET "/dossiers/$dossier/dispositifs" demo-national-admin
grep -q '"run_id": "2026-W48"' "$t/body" || fail "dispositifs of $dossier: $(cat "$t/body")"
grep -q "editions: http://127.0.0.1:$port/ (log in" "$t/stdout" || fail "aij-local does not say where to log in: $(cat "$t/stdout")"
grep -q 'token=' "$t/stdout" && fail "aij-local still shows a ?token= link"

# In a browser: the demo password logs in; the pages in French, times in Paris.
ed_login agent.grandparis demo-grandparis-agent
ed_cexpect 200 GET /editions.html agent.grandparis
ed_french
grep -q 'Mission Locale Métropole du Grand Paris' "$t/body" || fail "the agent's list page"
ed_cexpect 200 GET /editions/ML200054781.html agent.grandparis
grep -q 'Lire les codes retour' "$t/body" || fail "the report page"
ed_cexpect 200 GET /editions/ML200054781.xlsx agent.grandparis
[ "$(head -c 2 "$t/body")" = PK ] || fail "the XLSX"
ed_login admin.national demo-national-admin
ed_cexpect 200 GET "/dossiers/$dossier.html" admin.national
grep -q '2026-W48' "$t/body" || fail "the dossier page of $dossier"
# The reporter's DIR/attached/<ml>.csv (team contract) read by the portal:
# the dossier's page gives the step of integrated.csv; the ML's page lists
# as many dispositifs as the file has rows.
step=$(awk -F';' 'NR == 2 { print $3 }' "$out/integrated.csv")
case "$step" in 1) label='1 · n° PE cotraitance' ;; 2) label='2 · n° PE complément' ;; *) label='3 · identité' ;; esac
grep -qF "$label" "$t/body" || fail "the dossier page of $dossier does not give step $step"
[ -d "$out/attached" ] || fail "the reporter wrote no attached/ folder"
for f in "$out"/attached/*.csv; do
	ml=$(basename "$f" .csv)
	n=$(($(wc -l <"$f") - 1))
	ed_cexpect 200 GET "/dispositifs/$ml.html" admin.national
	grep -q "$n dispositif" "$t/body" || fail "/dispositifs/$ml.html does not count the $n rows of $f"
done

# Stopping aij-local stops the service, exit 0 (the run had completed).
kill -TERM "$local_pid"
rc=0
wait "$local_pid" || rc=$?
[ "$rc" -eq 0 ] || fail "aij-local exited with $rc when stopped while serving"
curl -s -m 2 "$ed_url/healthz" >/dev/null && fail "the editions service still answers after aij-local stopped"
true
