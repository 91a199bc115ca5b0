#!/usr/bin/env bash
# docker-compose.yml: validated with Debian's docker-compose (no Docker engine
# here), its promises checked (KRaft kafka, topics with 12/12/1 partitions and
# >= 14 days, healthchecks (the matchers' too), restart policies, a scalable
# matcher, jobs under a profile, named volumes), then each aij service's exact command line, taken
# from `docker-compose config`, run on the host against the local broker and a
# redis-server (the container addresses and paths replaced by local ones):
# indexer, reporter (follows runs, serves /healthz and /metrics), the
# editions service (serves the reports the reporter writes), 2 matchers,
# ingest of a week, then replay of that week as a new run: both reports equal
# the oracle's.
. "$(dirname "$0")/lib.sh"

command -v docker-compose >/dev/null || fail "docker-compose not installed (make deps)"
docker-compose -f docker-compose.yml config -q || fail "docker-compose config -q"
# Settings from the environment reach the commands.
AIJ_BATCH=77 AIJ_PARTITIONS=24 docker-compose -f docker-compose.yml --profile jobs config >"$t/custom.yml" ||
	fail "docker-compose config with settings"
grep -q "aij.records:24" "$t/custom.yml" || fail "AIJ_PARTITIONS does not reach the topics job"
grep -qx -- "    - '77'" "$t/custom.yml" || grep -qx -- "    - \"77\"" "$t/custom.yml" ||
	fail "AIJ_BATCH does not reach the matcher"

run_id=2026-W10
replay_id=2026-W10-replay
AIJ_RUN_ID=$run_id AIJ_STALL_TIMEOUT=60 \
	docker-compose -f docker-compose.yml --profile jobs config >"$t/compose.yml" || fail "docker-compose config"
# The replay, as the operator runs it: the run replayed and the new run id.
AIJ_RUN_ID=$replay_id AIJ_REPLAY_FROM=$run_id \
	docker-compose -f docker-compose.yml --profile jobs config >"$t/compose-replay.yml" || fail "docker-compose config"
python3 tests/e2e/compose_cmd.py "$t/compose.yml" check || fail "the compose file breaks a promise"
grep -q '^ENV AIJ_COMMUNES=/usr/share/aij/communes.csv' deploy/Dockerfile ||
	fail "the image does not set AIJ_COMMUNES"

# The host's stand-ins for the containers.
gen "$t/week" --lines 300 --seed 60 --header
mkdir -p "$t/inputs" "$t/config" "$t/out"
cp "$t/week/week.csv" "$t/week/dossiers.csv" "$t/inputs/"
cp "$t/week/coverage.csv" "$t/config/"
cp data/sample/users.csv "$t/config/users.csv"
start_redis
start_local_broker
http_port=$(free_port)     # the reporter's /metrics and /healthz
editions_port=$(free_port) # the editions service
export SUBST="kafka:9092=$brokers|redis:6379=$redis_addr|/var/lib/aij/inputs=$t/inputs|/var/lib/aij/out=$t/out|/etc/aij=$t/config|0.0.0.0:8081=127.0.0.1:$http_port|0.0.0.0:8080=127.0.0.1:$editions_port|/tmp/aij-matcher.health=$t/matcher.health"
export AIJ_COMMUNES=$repo/data/communes.csv AIJ_MOTIFS=$repo/data/motifs.csv

# service_cmd NAME: the service's command line (cmd) and environment (envs);
# run_service NAME runs it, start_service NAME LOG starts it in the background.
service_cmd() {
	local name=$1 config=$t/compose.yml
	[ "$name" != replay ] || config=$t/compose-replay.yml
	mapfile -t cmd < <(python3 tests/e2e/compose_cmd.py "$config" command "$name")
	mapfile -t envs < <(python3 tests/e2e/compose_cmd.py "$config" env "$name")
	[ "${#cmd[@]}" -gt 0 ] || fail "no command for $name"
	cmd[0]=$AIJ_BIN/${cmd[0]}
	echo "$name: ${cmd[*]}" >>"$t/commands.log"
}
run_service() {
	local name=$1
	service_cmd "$name"
	env "${envs[@]}" "${cmd[@]}" >>"$t/$name.log" 2>&1
}
start_service() {
	local name=$1 log=$2
	service_cmd "$name"
	env "${envs[@]}" "${cmd[@]}" >>"$t/$log.log" 2>&1 &
	e2e_pids+=($!)
	last_pid=$!
}

run_service indexer || fail "indexer exited with $? (see $t/indexer.log)"
start_service reporter reporter
reporter_pid=$last_pid
start_service editions editions
start_service matcher matcher-1
start_service matcher matcher-2
wait_until 10 "the reporter to serve /healthz on port $http_port (see $t/reporter.log)" \
	curl -sf -o /dev/null "http://127.0.0.1:$http_port/healthz"
wait_until 10 "the editions service to serve /healthz on port $editions_port (see $t/editions.log)" \
	curl -sf -o /dev/null "http://127.0.0.1:$editions_port/healthz"

# wait_run RUN_ID: until summary.json is that run's (the reporter stays up).
wait_run() {
	wait_log "$t/out/summary.json" "\"run_id\": \"$1\"" 60 \
		"run $1 written by the reporter (see $t/reporter.log)" "$reporter_pid"
}

run_service ingest || fail "ingest exited with $? (see $t/ingest.log)"
wait_run $run_id
oracle "$t/week" $run_id "$t/exp1"
same_outputs "$t/exp1" "$t/out"

metrics=$(curl -sf "http://127.0.0.1:$http_port/metrics") || fail "no /metrics"
grep -q "^aij_reporter_run_state{run_id=\"$run_id\",state=\"written\"} 1" <<<"$metrics" ||
	fail "/metrics: run $run_id not 'written': $metrics"
integrated=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["integrated"])' "$t/out/summary.json")
grep -q "^aij_reporter_lines{outcome=\"integrated\"} $integrated\$" <<<"$metrics" ||
	fail "/metrics: integrated lines are not $integrated"
grep -q '^aij_reporter_lines_failed{code="05"} [1-9]' <<<"$metrics" || fail "/metrics: no code 05 count"
# The editions service serves the reports the reporter wrote (demo users).
curl -sf -H 'Authorization: Bearer demo-national-admin' "http://127.0.0.1:$editions_port/editions" >"$t/editions.json" ||
	fail "the editions service does not list the reports (see $t/editions.log)"
python3 - "$t/editions.json" "$t/out/reports" "$run_id" <<'PY' || fail "the editions list is not the run's reports: $(cat "$t/editions.json")"
import json, os, sys
j = json.load(open(sys.argv[1]))
assert j["run_id"] == sys.argv[3], j
assert sorted(e["ml_code"] + ".csv" for e in j["editions"]) == sorted(os.listdir(sys.argv[2])), j
PY
curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$editions_port/metrics" | grep -qx 404 ||
	fail "the editions service answers /metrics: that is the reporter's"

# The replay job: the same week from Kafka as a new run, reported by the
# same running reporter, replacing the first run's reports.
run_service replay || fail "replay exited with $? (see $t/replay.log)"
wait_run $replay_id
oracle "$t/week" $replay_id "$t/exp2"
same_outputs "$t/exp2" "$t/out"
grep -q "^aij_reporter_runs_written_total 2" <<<"$(curl -sf "http://127.0.0.1:$http_port/metrics")" ||
	fail "/metrics: not 2 runs written"

# SIGTERM stops the long-running services within a few seconds.
for pid in "${e2e_pids[@]:2}"; do kill -TERM "$pid" 2>/dev/null || true; done
for _ in $(seq 100); do
	alive=0
	for pid in "${e2e_pids[@]:2}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
	[ "$alive" -eq 0 ] && break
	sleep 0.1
done
[ "$alive" -eq 0 ] || fail "a service did not stop within 10 s of SIGTERM"
for pid in "${e2e_pids[@]:2}"; do
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ] || fail "a service (pid $pid) exited with $rc on SIGTERM (see $t/*.log)"
done
