#!/usr/bin/env bash
# SIGTERM stops aij-ingest within seconds even when its broker is gone and
# its queue full (it used to wait on the full queue): exit 1, no manifest.
# The same for a replay and a following reporter whose broker is gone.
. "$(dirname "$0")/lib.sh"

gen "$t/week" --lines 150000 --seed 65 --no-long-line

start_broker() {
	rm -f "$t/broker.addr"
	"$AIJ_BIN/aij-broker" --ready-file "$t/broker.addr" >/dev/null 2>>"$t/broker.log" &
	broker_pid=$!
	e2e_pids+=($!)
	wait_until 10 "aij-broker to start (its ready file $t/broker.addr)" test -s "$t/broker.addr"
	brokers=$(cat "$t/broker.addr")
}

# stops_within NAME PID SECONDS: SIGTERM, then gone within SECONDS; sets rc.
stops_within() {
	local name=$1 pid=$2 limit=$3 start=$SECONDS
	kill -TERM "$pid"
	while kill -0 "$pid" 2>/dev/null && [ $((SECONDS - start)) -le "$limit" ]; do sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && fail "$name still running $limit s after SIGTERM"
	rc=0
	wait "$pid" || rc=$?
	echo "$name stopped $((SECONDS - start)) s after SIGTERM, exit $rc"
}

# Ingest, its broker gone mid-way (no flow control: the queue fills).
start_broker
"$AIJ_BIN/aij-ingest" --brokers "$brokers" --run-id 2026-W40 --file "$t/week/week.csv" \
	--max-ahead 0 --kafka-conf queue.buffering.max.messages=2000 >"$t/ingest.log" 2>&1 &
ingest_pid=$!
e2e_pids+=($!)
for _ in $(seq 100); do grep -q "publishing" "$t/ingest.log" && break; sleep 0.1; done
sleep 0.5
kill -TERM "$broker_pid"
wait "$broker_pid" || true
sleep 2
kill -0 "$ingest_pid" 2>/dev/null || fail "ingest ended before SIGTERM (see $t/ingest.log)"
stops_within aij-ingest "$ingest_pid" 10
[ "$rc" -eq 1 ] || fail "aij-ingest exited with $rc, not 1"
grep -q "no manifest published" "$t/ingest.log" || fail "ingest does not say the run is not complete"
grep -q "manifest published to" "$t/ingest.log" && fail "ingest published a manifest"

# A following reporter and a replay, their broker gone.
start_broker
"$AIJ_BIN/aij-ingest" --brokers "$brokers" --run-id 2026-W41 --file "$t/week/week.csv" \
	--max-ahead 0 >"$t/ingest-2.log" 2>&1 || fail "aij-ingest (see $t/ingest-2.log)"
"$AIJ_BIN/aij-reporter" --follow --brokers "$brokers" --out "$t/out" \
	--coverage "$t/week/coverage.csv" >"$t/reporter.log" 2>&1 &
reporter_pid=$!
e2e_pids+=($!)
"$AIJ_BIN/aij-ingest" --brokers "$brokers" --replay 2026-W41 --run-id 2026-W41-r1 --max-ahead 0 \
	--kafka-conf queue.buffering.max.messages=2000 >"$t/replay.log" 2>&1 &
replay_pid=$!
e2e_pids+=($!)
for _ in $(seq 100); do grep -q "reading them back" "$t/replay.log" && break; sleep 0.1; done
kill -TERM "$broker_pid"
wait "$broker_pid" || true
sleep 2
if kill -0 "$replay_pid" 2>/dev/null; then
	stops_within "aij-ingest --replay" "$replay_pid" 10
	[ "$rc" -eq 1 ] || fail "aij-ingest --replay exited with $rc, not 1"
fi
grep -q "manifest published" "$t/replay.log" && grep -q "replayed as run" "$t/replay.log" &&
	fail "the replay completed without its broker"
stops_within "aij-reporter --follow" "$reporter_pid" 10
[ "$rc" -eq 0 ] || fail "aij-reporter --follow exited with $rc on SIGTERM"
