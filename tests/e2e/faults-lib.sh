# Shared by the fault tests 73-7x (sourced after lib.sh): the pipeline's
# processes started one by one, so that a test can hurt them in between.
# Logs in $t/logs/.

mkdir -p "$t/logs"

# start_broker N: aij-broker with N brokers and the control FIFO $t/ctl;
# sets brokers.
start_broker() {
	"$AIJ_BIN/aij-broker" --brokers "$1" --control "$t/ctl" --ready-file "$t/broker.addr" \
		>/dev/null 2>"$t/logs/broker.log" &
	e2e_pids+=($!)
	wait_until 10 "aij-broker to start (its ready file $t/broker.addr)" test -s "$t/broker.addr"
	brokers=$(cat "$t/broker.addr")
}

# ctl COMMAND: one fault command to the broker (deploy/broker.c), checked done.
ctl() {
	local n
	n=$(grep -c "control: '$1': done" "$t/logs/broker.log" || true)
	timeout 5 bash -c 'echo "$1" >"$2"' _ "$1" "$t/ctl" || fail "cannot write to the control FIFO"
	local i
	for i in $(seq 50); do
		[ "$(grep -c "control: '$1': done" "$t/logs/broker.log" || true)" -gt "$n" ] && return 0
		sleep 0.1
	done
	fail "the broker did not run '$1': $(grep control "$t/logs/broker.log" | tail -n 1)"
}

# load_index WEEKDIR: the dossier export into $redis_addr.
load_index() {
	"$AIJ_BIN/aij-indexer" --dossiers "$1/dossiers.csv" --redis "$redis_addr" \
		2>"$t/logs/indexer.log" || fail "aij-indexer exited with $?"
}

# start_matchers N [OPTIONS]: N aij-matcher in the background; matcher_pids.
matcher_pids=()
start_matchers() {
	local n=$1 i
	shift
	for i in $(seq "$n"); do
		"$AIJ_BIN/aij-matcher" --brokers "$brokers" --redis "$redis_addr" "$@" \
			2>>"$t/logs/matcher-$i.log" &
		e2e_pids+=($!)
		matcher_pids+=($!)
	done
}

# start_reporter WEEKDIR RUN_ID OUT [STALL_SECONDS]: aij-reporter --once in
# the background; reporter_pid.
start_reporter() {
	"$AIJ_BIN/aij-reporter" --once --brokers "$brokers" --run-id "$2" --out "$3" \
		--coverage "$1/coverage.csv" --redis "$redis_addr" --stall-timeout "${4:-60}" \
		2>"$t/logs/reporter-$2.log" &
	reporter_pid=$!
	e2e_pids+=($!)
}

# run_ingest WEEKDIR RUN_ID [OPTIONS]: aij-ingest in the foreground; its exit
# code in ingest_rc.
run_ingest() {
	local dir=$1 id=$2
	shift 2
	ingest_rc=0
	"$AIJ_BIN/aij-ingest" --file "$dir/week.csv" --brokers "$brokers" --run-id "$id" "$@" \
		2>"$t/logs/ingest-$id.log" || ingest_rc=$?
}

# wait_reporter: waits (at most 120 s) for the reporter; its exit code in reporter_rc.
wait_reporter() {
	local i
	for i in $(seq 1200); do
		kill -0 "$reporter_pid" 2>/dev/null || break
		sleep 0.1
	done
	reporter_rc=0
	wait "$reporter_pid" || reporter_rc=$?
}

# On exit, the matchers and reporters are stopped before the broker and
# Redis (lib.sh stops in start order): a matcher in a synchronous commit
# whose broker is gone does not return (see the reliability report).
faults_cleanup() {
	local rc=$? pid i
	for pid in "${matcher_pids[@]}" ${reporter_pid:-}; do
		kill -TERM "$pid" 2>/dev/null || continue
		for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$pid" 2>/dev/null; then
			echo "process $pid did not stop within 10 s of SIGTERM: killed" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	(exit "$rc")
	e2e_cleanup
}
trap faults_cleanup EXIT
