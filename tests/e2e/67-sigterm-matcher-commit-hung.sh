#!/usr/bin/env bash
# SIGTERM to a matcher whose commit the group coordinator does not answer (a
# hung broker, a network cut, or a broker stopped with the request queued):
# the matcher gives the commit up, leaves its group within a bounded wait
# (logged when it gives up) and exits 0 within 10 s, aij-local's and docker
# stop's grace, instead of waiting in rd_kafka_consumer_close() for the
# commit's answer (20 s here; up to socket.timeout.ms, 60 s, with the broker
# gone). Its batches not committed are redone by the next matcher: the run
# completes, as the oracle.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults-lib.sh"

gen "$t/week" --lines 10000 --seed 67 --no-long-line
oracle "$t/week" S67 "$t/expected"
# Two brokers: every partition led by broker 1, the matchers' group
# coordinated by broker 2, so that slowing broker 2 holds the commits only.
AIJ_PARTITIONS=2 start_broker 2
for topic in aij.records aij.outcomes; do
	for p in 0 1; do ctl "leader $topic $p 1"; done
done
ctl "leader aij.runs 0 1"
ctl "coordinator group aij-matchers 2"
start_redis
load_index "$t/week"
start_matchers 1 --batch 50
start_reporter "$t/week" S67 "$t/out" 90
run_ingest "$t/week" S67
[ "$ingest_rc" -eq 0 ] || fail "ingest exited with $ingest_rc"
wait_log "$t/logs/matcher-1.log" "rebalance: [1-9][0-9]* partition(s) assigned" 30 "matcher-1's partitions"
kill -0 "$reporter_pid" 2>/dev/null || fail "the run was over before the fault: too fast a week"

# Each answer of the coordinator now takes 20 s: the matcher's next commit
# hangs; it gets SIGTERM meanwhile.
ctl "rtt 2 20000"
sleep 1.5
pid=${matcher_pids[0]}
kill -TERM "$pid"
for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
echo "matcher-1 gone about $((i / 10)) s after SIGTERM"
if kill -0 "$pid" 2>/dev/null; then
	fail "matcher-1 still running 10 s after SIGTERM (stuck leaving its group)"
fi
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || fail "matcher-1 exited with $rc on SIGTERM"
grep -q "stopped (exit 0)" "$t/logs/matcher-1.log" || fail "matcher-1 did not log its stop"
grep -E "commit of a batch|leaving the consumer group|stop: the batches" "$t/logs/matcher-1.log" |
	cut -d' ' -f2- || true

# The coordinator answers again; a new matcher finishes the run.
ctl "rtt 2 0"
start_matchers 1 --batch 500
wait_reporter
[ "$reporter_rc" -eq 0 ] || fail "the reporter exited with $reporter_rc"
same_outputs "$t/expected" "$t/out"
