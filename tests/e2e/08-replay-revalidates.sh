#!/usr/bin/env bash
# A replay validates its lines again against the current referentials: three
# lines of the sample week end with an exit reason "12" that motifs.csv does
# not have (code 09, unless an earlier rule fails); an administrator adds it; the week replayed from Kafka
# (aij-ingest --replay, same run id) is published with those lines looked up
# like any other, exactly as the oracle says with the new motifs, replacing
# the first publication (a corrected week, said at WARN). The long-running
# reporter (--follow) decides both.
. "$(dirname "$0")/lib.sh"

mkdir -p "$t/week"
cp data/sample/dossiers.csv data/sample/coverage.csv "$t/week/"
changed=$(python3 - data/sample/week.csv "$t/week/week.csv" <<'PY'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
done = []
for i, l in enumerate(lines):
    f = l.split(";")
    if len(f) == 12 and f[10] and f[11] in ("01", "02") and len(done) < 3:
        f[11] = "12"
        lines[i] = ";".join(f)
        done.append(str(i + 1))
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(lines))
print(" ".join(done))
PY
)
[ "$(wc -w <<<"$changed")" -eq 3 ] || fail "cannot give three lines the exit reason 12"
cp data/motifs.csv "$t/motifs-new.csv"
echo "12;Motif ajouté par l'administrateur" >>"$t/motifs-new.csv"

start_redis
start_local_broker
"$AIJ_BIN/aij-indexer" --dossiers "$t/week/dossiers.csv" --redis "$redis_addr" >"$t/indexer.log" 2>&1 ||
	fail "aij-indexer"
"$AIJ_BIN/aij-matcher" --brokers "$brokers" --redis "$redis_addr" >"$t/matcher.log" 2>&1 &
e2e_pids+=($!)
"$AIJ_BIN/aij-reporter" --follow --brokers "$brokers" --out "$t/out" --redis "$redis_addr" \
	--coverage "$t/week/coverage.csv" --stall-timeout 60 >"$t/reporter.log" 2>&1 &
reporter_pid=$!
e2e_pids+=($!)

published() { # published N: until runs.json has N published weeks
	[ "$(grep -c '"status": "published"' "$t/out/runs.json" 2>/dev/null)" -ge "$1" ]
}

"$AIJ_BIN/aij-ingest" --brokers "$brokers" --run-id 2026-W20 --file "$t/week/week.csv" \
	>"$t/ingest.log" 2>&1 || fail "aij-ingest (see $t/ingest.log)"
wait_until 60 "the first run published (see $t/reporter.log)" published 1
python3 tests/e2e/oracle.py --dispositifs "$t/week/week.csv" --dossiers "$t/week/dossiers.csv" \
	--coverage "$t/week/coverage.csv" --run-id 2026-W20 --out "$t/exp1" >/dev/null || fail "oracle"
same_outputs "$t/exp1" "$t/out"

# The administrator adds the motif; the week is replayed, validated again.
"$AIJ_BIN/aij-ingest" --brokers "$brokers" --replay 2026-W20 --run-id 2026-W20 \
	--motifs "$t/motifs-new.csv" >"$t/replay.log" 2>&1 || fail "aij-ingest --replay (see $t/replay.log)"
grep -q "validating them again" "$t/replay.log" || fail "the replay does not say it validates again"
wait_until 60 "the replay published (see $t/reporter.log)" published 2
python3 tests/e2e/oracle.py --dispositifs "$t/week/week.csv" --dossiers "$t/week/dossiers.csv" \
	--coverage "$t/week/coverage.csv" --motifs "$t/motifs-new.csv" --run-id 2026-W20 \
	--out "$t/exp2" >/dev/null || fail "oracle (new motifs)"
same_outputs "$t/exp2" "$t/out"
python3 - "$t/exp1/summary.json" "$t/exp2/summary.json" <<'PY' || fail "the replay did not change the 09 lines"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert b["by_code"].get("09", 0) < a["by_code"].get("09", 0), (a["by_code"], b["by_code"])
PY
grep -q "run 2026-W20 replaces the published run 2026-W20 .*(a replay)" "$t/reporter.log" ||
	fail "no WARN that the replay replaces the published week"
kill -0 "$reporter_pid" || fail "the reporter stopped"
echo "lines $changed: 09 in the first run, validated again by the replay"
