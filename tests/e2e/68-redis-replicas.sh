#!/usr/bin/env bash
# Matchers reading from Redis replicas (--redis-read): a primary and two
# replicas (redis-server --replicaof), the index loaded on the primary, two
# matchers each on its own replica: the week is exactly the oracle's, the
# look-ups ran on the replicas (EVALSHA_RO there, none on the primary), the
# reporter attached the dispositifs on the primary. Then a "replica" that
# lags (a Redis holding an older index generation): its matcher notices
# batch by batch, sends them to the primary, says so at WARN, and the week
# is still exact.
. "$(dirname "$0")/lib.sh"

gen "$t/week" --lines 3000 --seed 68 --header --no-long-line
oracle "$t/week" 2026-W30 "$t/exp-a"
oracle "$t/week" 2026-W31 "$t/exp-b"
start_redis
primary=$redis_addr primary_port=$redis_port

# replica NAME [--replicaof ...]: a redis-server on a free port; its port in
# the variable port_NAME.
replica() {
	local name=$1 port
	shift
	port=$(free_port)
	mkdir -p "$t/$name"
	(cd "$t/$name" && exec redis-server --port "$port" --bind 127.0.0.1 --save "" \
		--appendonly no --daemonize no "$@") >"$t/$name/log" 2>&1 &
	e2e_pids+=($!)
	wait_until 10 "redis-server $name to start" redis_answers "$port"
	printf -v "port_$name" '%s' "$port"
}
replica r1 --replicaof 127.0.0.1 "$primary_port"
replica r2 --replicaof 127.0.0.1 "$primary_port"
generation() { redis-cli -p "$1" get aij:index:current; }
synced() { [ "$(generation "$1")" = "$(generation "$primary_port")" ]; }

start_local_broker
"$AIJ_BIN/aij-indexer" --dossiers "$t/week/dossiers.csv" --redis "$primary" >"$t/indexer.log" 2>&1 ||
	fail "aij-indexer"
wait_until 30 "the replicas to hold the index" eval 'synced "$port_r1" && synced "$port_r2"'
for port in "$port_r1" "$port_r2" "$primary_port"; do redis-cli -p "$port" config resetstat >/dev/null; done

matchers=()
start_matchers() { # start_matchers REPLICA_PORT...: one matcher reading from each
	local i=0 port
	for port in "$@"; do
		i=$((i + 1))
		"$AIJ_BIN/aij-matcher" --brokers "$brokers" --redis "$primary" \
			--redis-read "127.0.0.1:$port" --batch 100 >>"$t/matcher-$i.log" 2>&1 &
		e2e_pids+=($!)
		matchers+=($!)
	done
}
stop_matchers() {
	local pid
	for pid in "${matchers[@]}"; do kill -TERM "$pid"; wait "$pid" || fail "a matcher exited with $?"; done
	matchers=()
}
run_week() { # run_week RUN_ID OUT
	"$AIJ_BIN/aij-reporter" --once --brokers "$brokers" --run-id "$1" --out "$2" \
		--coverage "$t/week/coverage.csv" --redis "$primary" --stall-timeout 60 \
		>"$t/reporter-$1.log" 2>&1 &
	local reporter=$!
	e2e_pids+=($!)
	"$AIJ_BIN/aij-ingest" --brokers "$brokers" --run-id "$1" --file "$t/week/week.csv" \
		>"$t/ingest-$1.log" 2>&1 || fail "aij-ingest $1"
	wait "$reporter" || fail "aij-reporter $1 exited with $? (see $t/reporter-$1.log)"
}
calls() { # calls PORT COMMAND: the command's calls since the reset
	redis-cli -p "$1" info commandstats | tr -d '\r' |
		sed -n "s/^cmdstat_$2:calls=\([0-9]*\),.*/\1/p" | grep . || echo 0
}

# 1. Two matchers, each on its replica.
start_matchers "$port_r1" "$port_r2"
run_week 2026-W30 "$t/out-a"
stop_matchers
same_outputs "$t/exp-a" "$t/out-a"
for i in 1 2; do
	grep -q "look-ups on the replica 127.0.0.1:" "$t/matcher-$i.log" || fail "matcher $i did not read a replica"
done
r1=$(calls "$port_r1" evalsha_ro) r2=$(calls "$port_r2" evalsha_ro) p=$(calls "$primary_port" evalsha_ro)
echo "look-up calls (batches): replica 1 $r1, replica 2 $r2, primary $p"
[ "$r1" -gt 0 ] && [ "$r2" -gt 0 ] || fail "a replica served no look-up"
[ "$p" -eq 0 ] || fail "the primary served $p look-ups while both replicas were current"
[ "$(calls "$primary_port" hset)" -gt 0 ] || fail "the attachments were not made on the primary"

# 2. A lagging replica: a Redis of its own holding an older generation
#    (the primary loads the export again: generation 2; it has generation 1).
replica stale
"$AIJ_BIN/aij-indexer" --dossiers "$t/week/dossiers.csv" --redis "127.0.0.1:$port_stale" \
	>"$t/indexer-stale.log" 2>&1 || fail "aij-indexer (stale)"
"$AIJ_BIN/aij-indexer" --dossiers "$t/week/dossiers.csv" --redis "$primary" >"$t/indexer-2.log" 2>&1 ||
	fail "aij-indexer (again)"
[ "$(generation "$port_stale")" -lt "$(generation "$primary_port")" ] || fail "the stale Redis is not behind"
for port in "$port_stale" "$primary_port"; do redis-cli -p "$port" config resetstat >/dev/null; done
start_matchers "$port_stale"
run_week 2026-W31 "$t/out-b"
stop_matchers
same_outputs "$t/exp-b" "$t/out-b"
grep -q "replica 127.0.0.1:$port_stale lags: index generation 1, the primary's 2" "$t/matcher-1.log" ||
	fail "the lagging replica was not said"
[ "$(calls "$primary_port" evalsha_ro)" -gt 0 ] || fail "the primary served no look-up for the lagging replica"
echo "lagging replica: every batch looked up again on the primary ($(calls "$primary_port" evalsha_ro) calls)"
