#!/usr/bin/env bash
# A matcher killed with SIGKILL mid-run (no goodbye to the group: its
# partitions move after the session timeout, its uncommitted batch is done
# again by another): the run still completes, every line once in the reports
# and integrated.csv, equal to the oracle's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ops-lib.sh"

ops_run_id=2026-W22
ops_setup 100000 63
for m in matcher-1 matcher-2; do start_matcher "$m"; done
start_run $ops_run_id
wait_resolved 10000
mid_run
kill -KILL "${matcher_pid[matcher-2]}"
wait "${matcher_pid[matcher-2]}" 2>/dev/null || true
mid_run
finish_run
stop_matcher matcher-1
grep -q "rebalance: 12 partition(s) assigned" "$t/matcher-1.log" ||
	fail "matcher-1 never took over the killed matcher's partitions"
