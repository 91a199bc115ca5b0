#!/usr/bin/env bash
# A generated week (every code, code combination, step, name variant and
# routing case, plus random lines) through deploy/aij-local: every output
# file equals what tests/e2e/oracle.py computes independently.
. "$(dirname "$0")/lib.sh"

gen "$t/week" --lines 400 --seed 11 --header
oracle "$t/week" 2026-W48 "$t/expected"
run_local "$t/week" 2026-W48 "$t/out"
same_outputs "$t/expected" "$t/out"

# The test is only as good as the week: make sure it holds what it should.
grep -q '"_national"' "$t/out/summary.json" || fail "no national report"
for code in 01 02 03 04 05 06 07 08 09; do
	grep -q "\"$code\":" "$t/out/summary.json" || fail "no line with code $code"
done
for combo in "05/05/05" "02/05/04" "03/03/05"; do
	grep -rqF ";$combo"$'\r' "$t/out/reports" || fail "no line with codes $combo"
done
