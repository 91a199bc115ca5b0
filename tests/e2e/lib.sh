# Shared by the end-to-end tests (sourced): a temp folder removed at the end,
# the programs in AIJ_BIN, a throwaway redis-server, output comparison.
# Each test runs from the repository root and exits 0 when it passes.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
export AIJ_BIN=${AIJ_BIN:-$repo/${BUILD:-build}/bin}
case "$AIJ_BIN" in /*) ;; *) AIJ_BIN=$repo/$AIJ_BIN ;; esac
test_name=$(basename "$0" .sh)
t=$(mktemp -d "${TMPDIR:-/tmp}/aij-e2e-$test_name.XXXXXX")
e2e_pids=()

e2e_cleanup() {
	local rc=$? pid
	for pid in "${e2e_pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [ "$rc" -eq 0 ]; then
		rm -rf "$t"
		echo "PASS $test_name"
	else
		echo "FAIL $test_name (files kept in $t)"
	fi
	exit "$rc"
}
trap e2e_cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# gen WEEKDIR [gen_week.py options]: a generated week in WEEKDIR, with
# WEEKDIR/cases.csv.
gen() {
	local dir=$1
	shift
	python3 tests/e2e/gen_week.py --out "$dir" --cases "$dir/cases.csv" "$@" >/dev/null 2>&1 ||
		fail "gen_week.py $*"
}

# oracle WEEKDIR RUN_ID EXPECTED: the expected outputs of the week, checked
# against the generator's cases.
oracle() {
	local dir=$1 run_id=$2 exp=$3
	python3 tests/e2e/oracle.py --dispositifs "$dir/week.csv" --dossiers "$dir/dossiers.csv" \
		--coverage "$dir/coverage.csv" --run-id "$run_id" --out "$exp" \
		--check-cases "$dir/cases.csv" || fail "oracle.py on $dir"
}

# run_local WEEKDIR RUN_ID OUT [aij-local options]: the product on the week.
run_local() {
	local dir=$1 run_id=$2 out=$3
	shift 3
	deploy/aij-local --dispositifs "$dir/week.csv" --dossiers "$dir/dossiers.csv" \
		--coverage "$dir/coverage.csv" --run-id "$run_id" --out "$out" "$@" ||
		fail "deploy/aij-local on $dir exited with $?"
}

# same_outputs EXPECTED GOT: every output file byte for byte (logs/ aside).
same_outputs() {
	local exp=$1 got=$2
	[ -d "$got/reports" ] || fail "no reports/ in $got"
	diff -r "$exp/reports" "$got/reports" >&2 || fail "reports differ: $exp/reports vs $got/reports"
	local f
	for f in integrated.csv summary.json; do
		diff -u "$exp/$f" "$got/$f" >&2 || fail "$f differs: $exp/$f vs $got/$f"
	done
}

# start_redis: a throwaway redis-server on a free port; sets redis_addr.
start_redis() {
	local port i
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	mkdir -p "$t/redis"
	(cd "$t/redis" && exec redis-server --port "$port" --bind 127.0.0.1 --save "" \
		--appendonly no --daemonize no) >"$t/redis/log" 2>&1 &
	e2e_pids+=($!)
	for i in $(seq 100); do
		[ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && break
		sleep 0.1
	done
	[ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] || fail "redis-server did not start"
	redis_addr=127.0.0.1:$port
	redis_port=$port
}
