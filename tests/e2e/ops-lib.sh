# Shared by the operations tests 6*-*.sh (sourced after lib.sh): a big
# generated week on the local broker and a real Redis, matchers started and
# stopped by the test while the run goes on, the reporter (--once) compared
# with the oracle.

# ops_setup LINES SEED: the week in $t/week, its expected outputs (oracle, in
# the background: ops_expected waits), Redis, the broker, the index loaded.
ops_setup() {
	local lines=$1 seed=$2
	gen "$t/week" --lines "$lines" --seed "$seed" --header --no-long-line
	python3 tests/e2e/oracle.py --dispositifs "$t/week/week.csv" --dossiers "$t/week/dossiers.csv" \
		--coverage "$t/week/coverage.csv" --run-id "${ops_run_id:-2026-W20}" --out "$t/expected" \
		--check-cases "$t/week/cases.csv" >"$t/oracle.log" 2>&1 &
	oracle_pid=$!
	start_redis
	"$AIJ_BIN/aij-broker" --ready-file "$t/broker.addr" >/dev/null 2>"$t/broker.log" &
	e2e_pids+=($!)
	wait_until 10 "aij-broker to start (its ready file $t/broker.addr)" test -s "$t/broker.addr"
	brokers=$(cat "$t/broker.addr")
	"$AIJ_BIN/aij-indexer" --dossiers "$t/week/dossiers.csv" --redis "$redis_addr" \
		>"$t/indexer.log" 2>&1 || fail "aij-indexer (see $t/indexer.log)"
}

# ops_expected: waits for the oracle.
ops_expected() {
	wait "$oracle_pid" || fail "oracle.py (see $t/oracle.log)"
}

# Matchers are slowed down by small batches (a Redis call, 100 outcomes
# and a commit each) so that the run lasts long
# enough for the changes to happen while it goes on. At debug level they log
# each batch: the run's progress (resolved_so_far).
declare -A matcher_pid
start_matcher() {
	local name=$1
	"$AIJ_BIN/aij-matcher" --brokers "$brokers" --redis "$redis_addr" --batch "${ops_batch:-100}" \
		--log-level debug >"$t/$name.log" 2>&1 &
	matcher_pid[$name]=$!
	e2e_pids+=($!)
}

# start_run RUN_ID: the reporter (--once) and ingest, in the background.
start_run() {
	local id=$1
	"$AIJ_BIN/aij-reporter" --once --brokers "$brokers" --run-id "$id" --out "$t/out" \
		--coverage "$t/week/coverage.csv" --redis "$redis_addr" --stall-timeout 60 \
		>"$t/reporter-$id.log" 2>&1 &
	reporter_pid=$!
	e2e_pids+=($!)
	"$AIJ_BIN/aij-ingest" --brokers "$brokers" --run-id "$id" --file "$t/week/week.csv" \
		>"$t/ingest-$id.log" 2>&1 &
	ingest_pid=$!
	e2e_pids+=($!)
}

# resolved_so_far: records the matchers resolved since the start (their
# "batch of N" debug lines; a batch done twice counts twice).
resolved_so_far() {
	cat "$t"/matcher-*.log 2>/dev/null |
		sed -n 's/.* batch of \([0-9]*\): poll .*/\1/p' | awk '{ n += $1 } END { print n + 0 }'
}

# wait_resolved N: until the matchers resolved N records (the run is going on).
wait_resolved() {
	local n=$1
	for _ in $(seq 600); do
		[ "$(resolved_so_far)" -ge "$n" ] && return 0
		kill -0 "$reporter_pid" 2>/dev/null || fail "the reporter ended before $n records resolved"
		sleep 0.1
	done
	fail "fewer than $n records resolved after 60 s"
}

# wait_assigned NAME...: waits (60 s at most) until each matcher named holds
# partitions: the group's first join is held ~3 s by the local broker, and a
# matcher may join a later generation than the others.
wait_assigned() {
	local m
	for m in "$@"; do
		wait_log "$t/$m.log" "rebalance: [1-9][0-9]* partition(s) assigned" 60 "$m's partitions"
	done
}

# mid_run: fails unless the run is still going on (the reporter waiting).
mid_run() {
	kill -0 "$reporter_pid" 2>/dev/null || fail "the run was over before the change: too fast a week"
	echo "mid-run: $(resolved_so_far) records resolved so far"
}

# finish_run: ingest and the reporter exit 0, the outputs equal the oracle's.
finish_run() {
	wait "$ingest_pid" || fail "aij-ingest exited with $?"
	local rc=0
	wait "$reporter_pid" || rc=$?
	[ "$rc" -eq 0 ] || fail "aij-reporter exited with $rc (see $t/reporter-*.log)"
	ops_expected
	same_outputs "$t/expected" "$t/out"
}

# processed NAME: the records that matcher resolved ("done: N records").
processed() {
	sed -n 's/.* done: \([0-9]*\) records.*/\1/p' "$t/$1.log" | tail -n 1
}

# stop_matcher NAME: SIGTERM, and it must be gone within 10 s, exit 0.
stop_matcher() {
	local name=$1 pid=${matcher_pid[$1]} rc=0
	kill -TERM "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && fail "$name still running 10 s after SIGTERM"
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ] || fail "$name exited with $rc on SIGTERM"
}
