#!/usr/bin/env bash
# Scale down mid-run: three matchers start the week, two are stopped with
# SIGTERM while it goes on (each gone within 10 s, exit 0, its partitions
# revoked); the one left finishes, and the reports and integrated.csv equal
# the oracle's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ops-lib.sh"

ops_run_id=2026-W21
ops_setup 100000 62
for m in matcher-1 matcher-2 matcher-3; do start_matcher "$m"; done
start_run $ops_run_id
wait_assigned matcher-1 matcher-2 matcher-3
wait_resolved 15000
mid_run
stop_matcher matcher-2
stop_matcher matcher-3
mid_run
finish_run
stop_matcher matcher-1
for m in matcher-2 matcher-3; do
	[ "$(processed "$m")" -gt 0 ] || fail "$m resolved no record before it stopped"
done
grep -q "rebalance: 12 partition(s) assigned" "$t/matcher-1.log" ||
	fail "matcher-1 never held every partition after the others left"
echo "records resolved: matcher-1 $(processed matcher-1), matcher-2 $(processed matcher-2), matcher-3 $(processed matcher-3)"
