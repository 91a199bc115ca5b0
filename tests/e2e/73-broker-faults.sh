#!/usr/bin/env bash
# Broker faults, injected through the mock cluster's fault API (aij-broker
# --control), on real processes: 3 brokers, Redis, indexer, 2 matchers,
# reporter, ingest.
#  1. produce errors and a broker down during ingest: either the run completes
#     with the oracle's reports, or ingest fails loudly (non-zero) and the
#     reporter does not report the run complete (exit 3, nothing written);
#  2. fetch and commit errors in the matchers: the run completes, as the oracle.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults-lib.sh"

gen "$t/week" --lines 400 --seed 73 --no-long-line
oracle "$t/week" F73a "$t/expected-a"
oracle "$t/week" F73b "$t/expected-b"
start_broker 3
start_redis
load_index "$t/week"
start_matchers 2

# 1. Produce errors, then broker 2 down for 3 s while ingest publishes.
start_reporter "$t/week" F73a "$t/out-a" 20
ctl "errors Produce 6 NOT_LEADER_FOR_PARTITION REQUEST_TIMED_OUT NOT_ENOUGH_REPLICAS"
ctl "down 2"
(sleep 3 && timeout 5 bash -c 'echo "up 2" >"$1"' _ "$t/ctl") &
run_ingest "$t/week" F73a
wait_reporter
grep -q "control: 'up 2': done" "$t/logs/broker.log" || fail "broker 2 never came back up"
echo "fault 1: ingest exit $ingest_rc, reporter exit $reporter_rc"
if [ "$ingest_rc" -eq 0 ]; then
	[ "$reporter_rc" -eq 0 ] || fail "ingest succeeded but the reporter exited with $reporter_rc"
	same_outputs "$t/expected-a" "$t/out-a"
else
	grep -q ERROR "$t/logs/ingest-F73a.log" || fail "ingest failed without an ERROR line"
	[ "$reporter_rc" -eq 3 ] || fail "ingest failed, yet the reporter exited with $reporter_rc"
	[ ! -e "$t/out-a/summary.json" ] || fail "ingest failed, yet a summary was written"
fi

# 2. Fetch and commit errors in the matchers, a coordinator move.
start_reporter "$t/week" F73b "$t/out-b" 60
ctl "errors Fetch 8 NOT_LEADER_FOR_PARTITION UNKNOWN_TOPIC_OR_PART"
ctl "errors OffsetCommit 6 REQUEST_TIMED_OUT COORDINATOR_NOT_AVAILABLE"
run_ingest "$t/week" F73b
[ "$ingest_rc" -eq 0 ] || fail "ingest exited with $ingest_rc without ingest faults"
wait_reporter
[ "$reporter_rc" -eq 0 ] || fail "the reporter exited with $reporter_rc"
same_outputs "$t/expected-b" "$t/out-b"
for pid in "${matcher_pids[@]}"; do
	kill -0 "$pid" 2>/dev/null || fail "a matcher died under fetch/commit errors"
done
# What the clients saw of the faults (for the log of the test).
grep -h -E "WARN|ERROR" "$t/logs/ingest-F73a.log" "$t/logs"/matcher-*.log | cut -c1-220 | sort | uniq -c | sort -rn | head -n 20 || true
