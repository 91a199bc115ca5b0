#!/usr/bin/env bash
# A small `make bench` (20k lines, 40k dossiers): the harness runs end to end,
# and the product (1 and 2 matchers), the in-memory reference, the SQL
# batch and the PostgreSQL batch write the same outputs, which are also the
# oracle's; the PostgreSQL batch also on the crafted Windows-1252 week. No
# time checked.
. "$(dirname "$0")/lib.sh"

[ -x "$AIJ_BIN/aij-bench-inmem" ] || fail "'$AIJ_BIN/aij-bench-inmem' not built (make all)"
BENCH_DIR=$t/bench BENCH_LINES=20000 BENCH_DOSSIERS=40000 BENCH_SEED=7 \
	bench/run >"$t/bench.out" 2>&1 || { cat "$t/bench.out" >&2; fail "bench/run exited with $?"; }
grep -q 'outputs agree: product (matchers: 1 2), in-memory, SQL batch, PostgreSQL batch' "$t/bench.out" ||
	fail "bench/run did not say that the outputs agree"
for k in "product, 1 matcher(s), whole job" "product, 2 matcher(s), week only" \
	"in-memory reference (C)" "SQL batch (sqlite3)" "SQL batch (PostgreSQL)" \
	"whole job / PostgreSQL batch" "redis commands per record"; do
	grep -qF "$k" "$t/bench/results.txt" || fail "no '$k' in results.txt"
done
data=$t/bench/data-20000-40000-7
[ "$(grep -c . "$data/week.csv")" -ge 19990 ] || fail "the generated week is short"
[ "$(($(wc -l <"$data/dossiers.csv") - 1))" -eq 40000 ] || fail "not 40000 dossiers"
# (the evidence's first_rejected: the date of the product's run)
today=$(python3 -c 'import json, sys; print([e for e in json.load(open(sys.argv[1]))
	if e["kind"] == "dispositifs"][-1]["started_at"][:10])' "$t/bench/product-m2-r1/runs.json")
python3 tests/e2e/oracle.py --dispositifs "$data/week.csv" --dossiers "$data/dossiers.csv" \
	--coverage "$data/coverage.csv" --run-id bench --out "$t/expected" --today "$today" ||
	fail "oracle.py"
same_outputs "$t/expected" "$t/bench/product-m2-r1"
# the evidence of issue 18, at scale: the oracle's, byte for byte
diff -r "$t/expected/evidence" "$t/bench/product-m2-r1/evidence" >&2 || fail "evidence/ differs"
diff -u "$t/expected/weeks.json" "$t/bench/product-m2-r1/weeks.json" >&2 || fail "weeks.json differs"
grep -rq '"differs": \[\]' "$t/bench/product-m2-r1/evidence" || fail "no 02 or 04 evidence at scale"
grep -rq '"date_naissance"' "$t/bench/product-m2-r1/evidence" || fail "no near date at scale"
same_outputs "$t/expected" "$t/bench/sql-r1"
same_outputs "$t/expected" "$t/bench/pg-r1"
# the PostgreSQL batch on the crafted week (every rule's edge cases, a line
# over 64 KiB), in Windows-1252 with CRLF and a header: the oracle's outputs
gen "$t/crafted" --lines 100 --seed 12 --encoding cp1252 --crlf --header
oracle "$t/crafted" bench "$t/crafted-expected"
bench/baselines/pg-batch --dispositifs "$t/crafted/week.csv" --dossiers "$t/crafted/dossiers.csv" \
	--coverage "$t/crafted/coverage.csv" --out "$t/crafted-pg" --run-id bench ||
	fail "pg-batch on the crafted week exited with $?"
same_outputs "$t/crafted-expected" "$t/crafted-pg"
# the PostgreSQL batch's throw-away cluster is stopped and removed
cluster=$(sed -n 's/.*(cluster in \([^ ,]*\),.*/\1/p' "$t/bench.out")
[ -n "$cluster" ] || fail "bench/run did not say where the PostgreSQL cluster was"
[ ! -e "$cluster" ] || fail "the PostgreSQL cluster '$cluster' is still there"
! pgrep -f "postgres -D $cluster/" >/dev/null || fail "a postgres still runs on '$cluster'"

# bench/redis-floor on the same data: the product's script and the plain
# commands each integrate, step by step, what the product integrated.
BENCH_DIR=$t/bench BENCH_LINES=20000 BENCH_DOSSIERS=40000 BENCH_SEED=7 BENCH_RUNS=1 \
	bench/redis-floor >"$t/floor.out" 2>&1 || { cat "$t/floor.out" >&2; fail "bench/redis-floor exited with $?"; }
grep -q 'both modes agree' "$t/bench/redis-floor.txt" || fail "redis-floor.txt does not say the modes agree"
for mode in script commands; do
	python3 - "$t/bench/product-m2-r1/summary.json" "$t/bench/redis-floor/$mode-r1.txt" <<'PY' ||
import json, sys
summary = json.load(open(sys.argv[1]))
line = next(l for l in open(sys.argv[2]) if l.startswith("mode="))
got = dict(kv.split("=", 1) for kv in line.split())
want = {"integrated": summary["integrated"], **{f"step{s}": n for s, n in summary["by_step"].items()}}
bad = {k: (got.get(k), v) for k, v in want.items() if int(got.get(k, -1)) != v}
sys.exit(f"{sys.argv[2]}: (replay, product) differ: {bad}" if bad else 0)
PY
		fail "aij-bench-redis --mode $mode does not integrate what the product did"
done
