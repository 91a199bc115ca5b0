#!/usr/bin/env bash
# aij-broker --control: each fault command runs and is logged as done; a bad
# one is an ERROR line naming it, and the broker goes on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults-lib.sh"

start_broker 3
for cmd in "down 2" "up 2" "errors Produce 3 NOT_LEADER_FOR_PARTITION 7" \
	"errors 8 1 REQUEST_TIMED_OUT" "clear Produce" "leader aij.records 0 3" \
	"leader aij.records 1 -1" "rtt 1 10" "coordinator group aij-matchers 2"; do
	ctl "$cmd"
done
for bad in "bogus" "down" "down 9" "errors Fetch 2 NO_SUCH_ERROR" "errors Nope 1 7" \
	"rtt 1 -5"; do
	timeout 5 bash -c 'echo "$1" >"$2"' _ "$bad" "$t/ctl" || fail "cannot write to the control FIFO"
done
for _ in $(seq 50); do
	[ "$(grep -c "ERROR .*control: '" "$t/logs/broker.log")" -ge 6 ] && break
	sleep 0.1
done
grep "control:" "$t/logs/broker.log" | cut -d' ' -f4- >&2
[ "$(grep -c "ERROR .*control: '" "$t/logs/broker.log")" -eq 6 ] || fail "not one ERROR per bad command"
grep -q "control: 'errors Fetch 2 NO_SUCH_ERROR': unknown error 'NO_SUCH_ERROR'" "$t/logs/broker.log" ||
	fail "the unknown error is not named"
# Still serving: a last command after the bad ones.
ctl "up 2"
kill -0 "${e2e_pids[0]}" || fail "the broker died"
