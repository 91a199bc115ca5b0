#!/usr/bin/env bash
# Replay after a correction, as the ops team does it: a week is reported by
# the long-running reporter (--follow); a dossier is then added to the export
# so that a line that failed with 05/05/05 now integrates; the index is
# reloaded (aij-indexer) and the week replayed from Kafka without its file
# (aij-ingest --replay) as a new run. The reporter writes the new run, which
# replaces the first's reports; every output equals the oracle's on the new
# export; in Redis each dispositif is there once, the replayed ones updated
# to the new run. A replay of a run that is not on Kafka fails (exit 2).
. "$(dirname "$0")/lib.sh"

gen "$t/week" --lines 300 --seed 64 --header
start_redis
start_local_broker

# The corrected export: a dossier for the first line that no step found.
mkdir -p "$t/fixed"
cp "$t/week/week.csv" "$t/week/coverage.csv" "$t/fixed/"
fixed_line=$(python3 - "$t/week" "$t/fixed" <<'PY'
import sys
src, dst = sys.argv[1], sys.argv[2]
cases = [l.rstrip("\n").split(";") for l in open(f"{src}/cases.csv", encoding="utf-8")][1:]
week = open(f"{src}/week.csv", encoding="utf-8").read().split("\n")
for line, _case, expect, _route in cases:
    if expect == "05/05/05":
        f = [x.strip() for x in week[int(line) - 1].split(";")]
        break
else:
    sys.exit("no 05/05/05 line")
dossiers = open(f"{src}/dossiers.csv", encoding="utf-8").read()
ml = dossiers.split("\n")[1].split(";")[1]
# The numéro PE in the dossier de cotraitance, the birth name as sent: step 1.
row = f"DFIXED0001;{ml};{f[3]};{f[4]};{f[5]};{f[2]};\n"
open(f"{dst}/dossiers.csv", "w", encoding="utf-8").write(dossiers.rstrip("\n") + "\n" + row)
print(line)
PY
) || fail "cannot build the corrected export"

python3 tests/e2e/oracle.py --dispositifs "$t/week/week.csv" --dossiers "$t/week/dossiers.csv" \
	--coverage "$t/week/coverage.csv" --run-id 2026-W30 --out "$t/exp1" >/dev/null || fail "oracle (first run)"
python3 tests/e2e/oracle.py --dispositifs "$t/fixed/week.csv" --dossiers "$t/fixed/dossiers.csv" \
	--coverage "$t/fixed/coverage.csv" --run-id 2026-W30-r1 --out "$t/exp2" >/dev/null || fail "oracle (replay)"
grep -q "^$fixed_line;DFIXED0001;1" "$t/exp2/integrated.csv" ||
	fail "the oracle does not integrate line $fixed_line with the new dossier"

"$AIJ_BIN/aij-indexer" --dossiers "$t/week/dossiers.csv" --redis "$redis_addr" >"$t/indexer-1.log" 2>&1 ||
	fail "aij-indexer (first export)"
for i in 1 2; do
	"$AIJ_BIN/aij-matcher" --brokers "$brokers" --redis "$redis_addr" >"$t/matcher-$i.log" 2>&1 &
	e2e_pids+=($!)
done
"$AIJ_BIN/aij-reporter" --follow --brokers "$brokers" --out "$t/out" \
	--coverage "$t/week/coverage.csv" --redis "$redis_addr" --stall-timeout 60 \
	>"$t/reporter.log" 2>&1 &
reporter_pid=$!
e2e_pids+=($!)

wait_run() {
	wait_log "$t/out/summary.json" "\"run_id\": \"$1\"" 60 \
		"run $1 written by the reporter (see $t/reporter.log)" "$reporter_pid"
}

"$AIJ_BIN/aij-ingest" --brokers "$brokers" --run-id 2026-W30 --file "$t/week/week.csv" \
	>"$t/ingest.log" 2>&1 || fail "aij-ingest (see $t/ingest.log)"
wait_run 2026-W30
same_outputs "$t/exp1" "$t/out"
grep -q "^$fixed_line;" "$t/out/integrated.csv" && fail "line $fixed_line integrated before the correction"

# The correction: reload the index, replay the week from Kafka.
"$AIJ_BIN/aij-indexer" --dossiers "$t/fixed/dossiers.csv" --redis "$redis_addr" >"$t/indexer-2.log" 2>&1 ||
	fail "aij-indexer (corrected export)"
"$AIJ_BIN/aij-ingest" --brokers "$brokers" --replay 2026-W30 --run-id 2026-W30-r1 \
	>"$t/replay.log" 2>&1 || fail "aij-ingest --replay exited with $? (see $t/replay.log)"
wait_run 2026-W30-r1
same_outputs "$t/exp2" "$t/out"
echo "line $fixed_line now integrated into DFIXED0001 at step 1"

# Redis: every dispositif integrated by either run, each once; the replayed
# ones carry the new run id.
python3 - "$t/week/week.csv" "$t/exp1/integrated.csv" "$t/exp2/integrated.csv" <<'PY' | LC_ALL=C sort -u >"$t/dispositifs.expected"
import sys
week = open(sys.argv[1], encoding="utf-8").read().split("\n")
for path in sys.argv[2:]:
    for row in open(path, encoding="utf-8").read().splitlines()[1:]:
        line, dossier, _step = row.split(";")
        f = [x.strip(" \t") for x in week[int(line) - 1].split(";")]
        print(f"{dossier} {f[0]};{f[7]};{f[8]}")
PY
redis-cli -p "$redis_port" --scan --pattern 'aij:dispositifs:*' | while read -r key; do
	redis-cli -p "$redis_port" hkeys "$key" | sed "s|^|${key#aij:dispositifs:} |"
done | LC_ALL=C sort >"$t/dispositifs.got"
diff -u "$t/dispositifs.expected" "$t/dispositifs.got" >&2 || fail "Redis dispositifs after the replay"
# Stored as "1;<line>;<run_id>;<fields>" (lib/dispositif.h).
redis-cli -p "$redis_port" hgetall aij:dispositifs:DFIXED0001 | grep -qE '^1;[0-9]+;2026-W30-r1;' ||
	fail "the new dispositif of DFIXED0001 does not carry the replay's run id"
old_runs=$(redis-cli -p "$redis_port" --scan --pattern 'aij:dispositifs:*' | while read -r key; do
	redis-cli -p "$redis_port" hvals "$key"; done | grep -cE '^1;[0-9]+;2026-W30;' || true)
[ "$old_runs" -eq 0 ] || fail "$old_runs dispositifs still carry the first run's id after the replay"

# A run that is not on Kafka cannot be replayed.
rc=0
"$AIJ_BIN/aij-ingest" --brokers "$brokers" --replay 2026-W99 --run-id 2026-W99-r1 >"$t/replay-none.log" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "replay of an unknown run exited with $rc, not 2"
grep -q "no manifest of run '2026-W99'" "$t/replay-none.log" || fail "replay of an unknown run: no clear message"
kill -0 "$reporter_pid" || fail "the reporter stopped"
