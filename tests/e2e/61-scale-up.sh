#!/usr/bin/env bash
# Scale up mid-run: one matcher starts the week, two more join while it goes
# on; the new ones get partitions (rebalance logged) and resolve records, and
# the reports and integrated.csv equal the oracle's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ops-lib.sh"

ops_run_id=2026-W20
ops_setup 100000 61
start_matcher matcher-1
start_run $ops_run_id
wait_resolved 8000
mid_run
start_matcher matcher-2
start_matcher matcher-3
finish_run
for m in matcher-1 matcher-2 matcher-3; do stop_matcher "$m"; done
for m in matcher-2 matcher-3; do
	grep -q "rebalance: [1-9][0-9]* partition(s) assigned" "$t/$m.log" || fail "$m got no partition"
	[ "$(processed "$m")" -gt 0 ] || fail "$m resolved no record"
done
grep -q "partition(s) revoked" "$t/matcher-1.log" || fail "matcher-1 logged no revocation"
echo "records resolved: matcher-1 $(processed matcher-1), matcher-2 $(processed matcher-2), matcher-3 $(processed matcher-3)"
# Records done twice (a batch whose commit the rebalance refused): logged.
for m in matcher-1 matcher-2 matcher-3; do
	echo "$m: $(grep -c 'commit of a batch' "$t/$m.log" || true) refused commits"
	grep 'commit of a batch' "$t/$m.log" | head -n 2 || true
done
