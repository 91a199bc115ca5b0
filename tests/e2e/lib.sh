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

# wait_until SECONDS WHAT CMD...: runs CMD every 0.1 s until it succeeds;
# fails after SECONDS (a whole number) naming WHAT, what was waited for.
wait_until() {
	local seconds=$1 what=$2 i
	shift 2
	for ((i = 0; i <= seconds * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	fail "waited $seconds s for $what"
}

# log_has FILE PATTERN [PID [WHAT]]: a line of FILE (maybe not there yet)
# matches PATTERN; fails at once, naming WHAT, when process PID is gone.
log_has() {
	grep -q -- "$2" "$1" 2>/dev/null && return 0
	[ -z "${3:-}" ] || kill -0 "$3" 2>/dev/null || fail "process $3 stopped while waiting for ${4:-'$2' in $1}"
	return 1
}

# wait_log FILE PATTERN [SECONDS] [WHAT] [PID]: until a line of FILE matches
# PATTERN (grep's basic regex, as the loops it replaced had), SECONDS (60) at
# most, or while process PID lives; WHAT, what the line means, in the failure.
wait_log() {
	local file=$1 pattern=$2 seconds=${3:-60} what
	what="${4:-a line}: no line matching '$pattern' in $file"
	wait_until "$seconds" "$what" log_has "$file" "$pattern" "${5:-}" "$what"
}

# redis_answers PORT: the redis-server on PORT answers PING.
redis_answers() {
	[ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ]
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

# free_port: a TCP port of 127.0.0.1 free a moment ago.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# redis_at PORT: a redis-server on PORT whose data is $t/rdata/dump.rdb
# (saved by hand, loaded at start), its log $t/logs/redis.log; redis_pid.
# For tests that stop Redis and start it again on the same port.
redis_at() {
	mkdir -p "$t/rdata" "$t/logs"
	(cd "$t/rdata" && exec redis-server --port "$1" --bind 127.0.0.1 --save "" \
		--appendonly no --daemonize no) >>"$t/logs/redis.log" 2>&1 &
	redis_pid=$!
	e2e_pids+=($!)
	wait_until 10 "redis-server to start on port $1 (see $t/logs/redis.log)" redis_answers "$1"
}

# start_local_broker: aij-broker (librdkafka's mock cluster) on a free port,
# its log in $t/broker.log; sets brokers.
start_local_broker() {
	"$AIJ_BIN/aij-broker" --ready-file "$t/broker.addr" >/dev/null 2>"$t/broker.log" &
	e2e_pids+=($!)
	wait_until 10 "aij-broker to start (its ready file $t/broker.addr)" test -s "$t/broker.addr"
	brokers=$(cat "$t/broker.addr")
}

# start_redis: a throwaway redis-server on a free port; sets redis_addr.
start_redis() {
	local port
	port=$(free_port)
	mkdir -p "$t/redis"
	(cd "$t/redis" && exec redis-server --port "$port" --bind 127.0.0.1 --save "" \
		--appendonly no --daemonize no) >"$t/redis/log" 2>&1 &
	e2e_pids+=($!)
	wait_until 10 "redis-server to start on port $port (see $t/redis/log)" redis_answers "$port"
	redis_addr=127.0.0.1:$port
	redis_port=$port
}
