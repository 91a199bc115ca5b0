#!/usr/bin/env bash
# A held week alerts (issue 14 §2): the long-running reporter (--follow
# --metrics) publishes a good week, then holds a broken one (40 % of its
# lines on an unknown commune, code 08: the validation guard). While the
# broken week is the last one, GET /healthz says "degraded: week <id> held:
# <reason>" and /metrics has aij_reporter_degraded{reason="..."} 1, the
# published files are those of the good week; the next good week is
# published and both say all is well again.
. "$(dirname "$0")/lib.sh"

gen "$t/week" --lines 2000 --seed 69 --no-long-line
start_redis
start_local_broker
"$AIJ_BIN/aij-indexer" --dossiers "$t/week/dossiers.csv" --redis "$redis_addr" >"$t/indexer.log" 2>&1 ||
	fail "aij-indexer"
"$AIJ_BIN/aij-matcher" --brokers "$brokers" --redis "$redis_addr" >"$t/matcher.log" 2>&1 &
e2e_pids+=($!)
http_port=$(free_port)
"$AIJ_BIN/aij-reporter" --follow --brokers "$brokers" --out "$t/out" --metrics "127.0.0.1:$http_port" \
	--coverage "$t/week/coverage.csv" --redis "$redis_addr" >"$t/reporter.log" 2>&1 &
reporter_pid=$!
e2e_pids+=($!)
url=http://127.0.0.1:$http_port
wait_until 10 "the reporter to serve /healthz (see $t/reporter.log)" curl -sf -o /dev/null "$url/healthz"

# ingest RUN FILE: one week through the pipeline, decided by the reporter.
ingest() {
	"$AIJ_BIN/aij-ingest" --brokers "$brokers" --run-id "$1" --file "$2" >"$t/ingest-$1.log" 2>&1 ||
		fail "aij-ingest run $1 (see $t/ingest-$1.log)"
	wait_log "$t/out/runs.json" "\"run_id\": \"$1\"" 60 \
		"run $1 decided by the reporter (see $t/reporter.log)" "$reporter_pid"
}
healthz() { curl -sf "$url/healthz"; }
gauge() { curl -sf "$url/metrics" | grep '^aij_reporter_degraded{'; }

ingest 2026-W10 "$t/week/week.csv"
[ "$(healthz)" = ok ] || fail "/healthz after a published week: '$(healthz)'"
gauge | grep -q '} 0$' || fail "/metrics after a published week: '$(gauge)'"
sums=$(cd "$t/out" && cat reports/*.csv integrated.csv summary.json | sha256sum)

# The broken week: code_insee_residence (7th field) of 2 lines in 5 unknown.
awk -F';' -v OFS=';' 'NR > 1 && NR % 5 < 2 { $7 = "00000" } { print }' "$t/week/week.csv" >"$t/broken.csv"
ingest 2026-W11 "$t/broken.csv"
grep -q "ERROR reporter\[[0-9]*\] .*held" "$t/reporter.log" || fail "no ERROR line for the held week"
body=$(healthz)
[[ "$body" == "degraded: week 2026-W11 held: "* ]] || fail "/healthz while a week is held: '$body'"
gauge | grep -q '^aij_reporter_degraded{reason="week 2026-W11 held: .*"} 1$' ||
	fail "/metrics while a week is held: '$(gauge)'"
[ "$(cd "$t/out" && cat reports/*.csv integrated.csv summary.json | sha256sum)" = "$sums" ] ||
	fail "the published files changed for a held week"

# A good week again: published, all is well.
cp "$t/week/week.csv" "$t/week-12.csv"
echo >>"$t/week-12.csv"
ingest 2026-W12 "$t/week-12.csv"
grep -q '"run_id": "2026-W12"' "$t/out/summary.json" || fail "week 2026-W12 not published"
[ "$(healthz)" = ok ] || fail "/healthz after the next published week: '$(healthz)'"
gauge | grep -q '} 0$' || fail "/metrics after the next published week: '$(gauge)'"
echo "held week: /healthz '$body'"
