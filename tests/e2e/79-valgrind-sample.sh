#!/usr/bin/env bash
# The sample week with aij-indexer, aij-ingest, one aij-matcher and
# aij-reporter --once under valgrind (memcheck): no invalid access, no use of
# uninitialised memory, no definite leak (exit code 99 of valgrind otherwise);
# the outputs equal the oracle's. The broker and Redis run natively.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults-lib.sh"

command -v valgrind >/dev/null || fail "valgrind is not installed (make deps)"
vg=(valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite
	--errors-for-leak-kinds=definite)
# vg_check NAME RC: valgrind's verdict on one program.
vg_check() {
	ls "$t/logs/vg-$1".* >/dev/null 2>&1 || fail "$1 did not run under valgrind"
	if [ "$2" -ne 0 ]; then
		cat "$t/logs/vg-$1".* >&2 2>/dev/null || true
		fail "$1 under valgrind exited with $2"
	fi
	if grep -q "ERROR SUMMARY: [1-9]\|definitely lost: [1-9]\|Invalid \|uninitialised" "$t/logs/vg-$1".* 2>/dev/null; then
		cat "$t/logs/vg-$1".* >&2
		fail "valgrind found errors in $1"
	fi
}

week=data/sample
python3 tests/e2e/oracle.py --dispositifs $week/week.csv --dossiers $week/dossiers.csv \
	--coverage $week/coverage.csv --run-id VG79 --out "$t/expected" || fail "oracle.py"
start_broker 1
start_redis

rc=0
"${vg[@]}" --log-file="$t/logs/vg-indexer.%p" "$AIJ_BIN/aij-indexer" --dossiers $week/dossiers.csv --redis "$redis_addr" \
	2>"$t/logs/indexer.log" || rc=$?
vg_check indexer "$rc"

"${vg[@]}" --log-file="$t/logs/vg-matcher.%p" "$AIJ_BIN/aij-matcher" --brokers "$brokers" --redis "$redis_addr" 2>"$t/logs/matcher.log" &
matcher_pids+=($!)
"${vg[@]}" --log-file="$t/logs/vg-reporter.%p" "$AIJ_BIN/aij-reporter" --once --brokers "$brokers" --run-id VG79 --out "$t/out" \
	--coverage $week/coverage.csv --redis "$redis_addr" --stall-timeout 120 2>"$t/logs/reporter.log" &
reporter_pid=$!

rc=0
"${vg[@]}" --log-file="$t/logs/vg-ingest.%p" "$AIJ_BIN/aij-ingest" --file $week/week.csv --brokers "$brokers" --run-id VG79 \
	2>"$t/logs/ingest.log" || rc=$?
vg_check ingest "$rc"
wait_reporter
vg_check reporter "$reporter_rc"
same_outputs "$t/expected" "$t/out"

# The matcher: a clean stop on SIGTERM, then valgrind's verdict.
for pid in "${matcher_pids[@]}"; do
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	vg_check matcher "$rc"
done
matcher_pids=()
