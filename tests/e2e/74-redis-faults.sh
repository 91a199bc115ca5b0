#!/usr/bin/env bash
# Redis faults on real processes (broker, redis-server, indexer, 2 matchers,
# reporter, ingest):
#  1. Redis stopped during the run, restarted with its data once the
#     matchers are retrying:
#     the matchers retry, then the run completes with the oracle's reports;
#  2. Redis gone for longer than the retry budget (--redis-retry-ms 1500):
#     every line that passed validation gets code 10, more than 1 %: the
#     reporter holds the run (exit 4), nothing is published or attached,
#     runs.json says why;
#  3. the same outage, the week ingested with --accept: published anyway,
#     each code 10 line reported like the others, summary.json's by_code
#     says "10";
#  4. Redis back: the held week replayed from Kafka is published, exact.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults-lib.sh"

redis_stop() {
	kill -TERM "$redis_pid"
	wait "$redis_pid" 2>/dev/null || true
}

gen "$t/week" --lines 300 --seed 74 --no-long-line
oracle "$t/week" R74a "$t/expected-a"
start_broker 1
redis_port=$(free_port)
redis_addr=127.0.0.1:$redis_port
redis_at "$redis_port"
load_index "$t/week"
redis-cli -p "$redis_port" save >/dev/null || fail "redis SAVE"

# 1. Down while the records come, back once the matchers are retrying
#    (within the 30 s default budget).
start_matchers 2 --batch 50
start_reporter "$t/week" R74a "$t/out-a" 60
redis_stop
run_ingest "$t/week" R74a
[ "$ingest_rc" -eq 0 ] || fail "ingest exited with $ingest_rc"
wait_until 25 "the matchers to retry Redis ('redis: .*retry' in $t/logs/matcher-*.log)" \
	grep -q "redis: .*retry" "$t"/logs/matcher-*.log
redis_at "$redis_port"
wait_reporter
[ "$reporter_rc" -eq 0 ] || fail "the reporter exited with $reporter_rc"
same_outputs "$t/expected-a" "$t/out-a"
grep -q "redis is back after" "$t"/logs/matcher-*.log || fail "the matchers never saw Redis back"
! grep -q "redis still failing" "$t"/logs/matcher-*.log || fail "code 10 within the retry budget"
echo "matchers' view of the outage:"
grep -h "redis" "$t"/logs/matcher-*.log | cut -c1-200 | head -n 6 || true
for pid in "${matcher_pids[@]}"; do kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; done
matcher_pids=()
redis_stop

# 2. Redis gone for good, a 1.5 s retry budget: held.
start_matchers 2 --batch 50 --redis-retry-ms 1500
start_reporter "$t/week" R74b "$t/out-b" 60
run_ingest "$t/week" R74b
[ "$ingest_rc" -eq 0 ] || fail "ingest exited with $ingest_rc"
wait_reporter
[ "$reporter_rc" -eq 4 ] || fail "the reporter exited with $reporter_rc, not 4 (held)"
grep -q "run R74b held: .*% of the lines have code 10" "$t/logs/reporter-R74b.log" ||
	fail "the reporter does not say why it held the run"
[ ! -e "$t/out-b/summary.json" ] && [ ! -e "$t/out-b/reports" ] || fail "a held run published files"
python3 - "$t/out-b/runs.json" <<'PY' || fail "runs.json does not record the held run"
import json, sys
h = json.load(open(sys.argv[1]))
assert [(e["run_id"], e["status"], e["guard"]) for e in h] == [("R74b", "held", "technical")], h
PY
grep -q "redis still failing" "$t"/logs/matcher-*.log || fail "no ERROR line for the code 10 batches"
grep -q "the next batches get one attempt each" "$t"/logs/matcher-*.log ||
	fail "the matchers waited the whole budget batch after batch"

# 3. The same outage, published over the guard (--accept).
start_reporter "$t/week" R74c "$t/out-c" 60
run_ingest "$t/week" R74c --accept
[ "$ingest_rc" -eq 0 ] || fail "ingest exited with $ingest_rc"
wait_reporter
[ "$reporter_rc" -eq 0 ] || fail "the reporter exited with $reporter_rc (--accept)"
grep -q "published over the guard 'technical' (--accept)" "$t/logs/reporter-R74c.log" ||
	fail "the reporter does not say it published over a guard"
python3 - "$t/expected-a/summary.json" "$t/out-c" <<'PY' || fail "code 10 not given, reported or counted as it should"
import csv, glob, json, os, sys
exp = json.load(open(sys.argv[1]))
out = sys.argv[2]
got = json.load(open(os.path.join(out, "summary.json")))
validation = ("01", "06", "07", "08", "09")
invalid = sum(exp["by_code"].get(c, 0) for c in validation)
print("expected:", exp["by_code"], "got:", got["by_code"])
assert got["lines"] == exp["lines"], (got["lines"], exp["lines"])
assert got["integrated"] == 0 and got["failed"] == exp["lines"], got
assert got["by_code"].get("10") == exp["lines"] - invalid, (got["by_code"], exp["lines"] - invalid)
for c in validation:
    assert got["by_code"].get(c, 0) == exp["by_code"].get(c, 0), c
# Every line is in a report, with code 10 or its validation code.
rows = 0
for path in glob.glob(os.path.join(out, "reports", "*.csv")):
    with open(path, encoding="utf-8-sig") as f:
        for row in csv.reader(f, delimiter=";"):
            if row[0] == "Identifiant SIGMA":
                continue
            rows += 1
            assert row[-1] in ("10",) + validation, (path, row)
assert rows >= got["lines"], (rows, got["lines"])
h = json.load(open(os.path.join(out, "runs.json")))
assert [(e["status"], e["guard"], e["accepted"]) for e in h] == [("published", "technical", True)], h
PY

# 4. Redis back (its data saved before the outage): the held week, read back
#    from Kafka, published exactly.
redis_at "$redis_port"
oracle "$t/week" R74b "$t/expected-b"
start_reporter "$t/week" R74b "$t/out-b" 60
"$AIJ_BIN/aij-ingest" --brokers "$brokers" --replay R74b --run-id R74b \
	2>"$t/logs/replay-R74b.log" || fail "aij-ingest --replay exited with $?"
wait_reporter
[ "$reporter_rc" -eq 0 ] || fail "the reporter exited with $reporter_rc on the replay"
same_outputs "$t/expected-b" "$t/out-b"
python3 - "$t/out-b/runs.json" <<'PY' || fail "runs.json after the replay"
import json, sys
h = json.load(open(sys.argv[1]))
assert [(e["status"], e["guard"]) for e in h] == [("held", "technical"), ("published", "")], h
PY
echo "held with code 10, published with --accept, then exact once Redis was back"
