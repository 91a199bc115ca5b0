#!/usr/bin/env bash
# A run whose lines never get an outcome (matchers that do nothing): the
# reporter gives up after the stall timeout naming the missing lines,
# aij-local exits 3, and the previous run's outputs stay as they were.
. "$(dirname "$0")/lib.sh"

gen "$t/week" --lines 20 --seed 16 --header
run_local "$t/week" 2026-W40 "$t/out"
cp -a "$t/out" "$t/before"

# The same programs, but matchers that take records and never answer.
mkdir -p "$t/bin"
for p in aij-broker aij-indexer aij-ingest aij-reporter; do
	ln -s "$AIJ_BIN/$p" "$t/bin/$p"
done
printf '#!/bin/sh\nexec sleep 600\n' >"$t/bin/aij-matcher"
chmod +x "$t/bin/aij-matcher"

rc=0
AIJ_BIN=$t/bin AIJ_STALL_TIMEOUT=3 deploy/aij-local --dispositifs "$t/week/week.csv" \
	--dossiers "$t/week/dossiers.csv" --coverage "$t/week/coverage.csv" \
	--run-id 2026-W41 --out "$t/out" >"$t/stdout" 2>"$t/stderr" || rc=$?
[ "$rc" -eq 3 ] || { cat "$t/stderr" >&2; fail "aij-local exited with $rc, expected 3"; }
records=$(grep -c . "$t/week/cases.csv")
records=$((records - 1))
grep -qF "run 2026-W41 incomplete: $records of $records lines have no outcome: lines 2, 3, 4," "$t/stderr" ||
	{ cat "$t/stderr" >&2; fail "the missing lines are not named"; }
grep -qF "run 2026-W41 did not complete" "$t/stderr" || fail "no closing message"
same_outputs "$t/before" "$t/out"
