#!/usr/bin/env bash
# Redis down longer than the matchers' retry budget during a week, then
# back with its data (issue 14, 2, "Technical failures"): the reporter holds
# the run (guard technical), the inbox says so on one ERROR line and keeps
# the file in the inbox (not in held/), then, once Redis answers with its
# index, runs it again by itself (a new attempt, same run id), exactly: the
# outputs equal the oracle's, runs.json has the held attempt then the
# published one.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inbox-lib.sh"

# The matchers' retry budget, short: they wait 1.5 s for Redis, then give
# the lines code 10; over 1 % of them, the reporter holds the run.
export AIJ_REDIS_RETRY_MS=1500

gen "$t/week" --lines 20000 --seed 84 --no-long-line

redis_port=$(free_port)
redis_at "$redis_port"
export AIJ_KEEP_REDIS=127.0.0.1:$redis_port

watch_start --settle 1
drop dossiers "$t/week/dossiers.csv" dossiers.csv done
wait_filed archive dossiers dossiers.csv 60
redis-cli -p "$redis_port" save >/dev/null || fail "redis SAVE"

# Redis goes as soon as the week's ingest starts.
drop dispositifs "$t/week/week.csv" week.csv done
wait_log "$t/local.log" "running aij-ingest --file $inbox/dispositifs/week.csv" 60 "the week's ingest" "$local_pid"
kill -TERM "$redis_pid"
wait "$redis_pid" 2>/dev/null || true
wait_log "$t/local.log" "ERROR inbox\[[0-9]*\] .*week 'week.csv' held (technical)" 300 \
	"the week held for technical errors" "$local_pid"
grep -q "it stays in the inbox and runs again by itself once Redis answers" "$t/local.log" ||
	fail "the ERROR line does not say the week stays"
[ -e "$inbox/dispositifs/week.csv" ] || fail "the week held for technical errors left the inbox"
[ ! -e "$inbox/held/dispositifs/week.csv" ] || fail "the week held for technical errors went to held/"
[ ! -e "$out/summary.json" ] || fail "a run held for technical errors was published"
wait_log "$t/local.log" "WARN inbox\[[0-9]*\] Redis at .* does not answer" 30 "the inbox seeing Redis gone" "$local_pid"
# While Redis is away, nothing runs again (and the checks are not logged).
lines=$(wc -l <"$t/local.log")
sleep 3
[ "$(grep -c "running aij-ingest" "$t/local.log")" -eq 1 ] || fail "the week ran again while Redis was down"

# Redis back, with its data: the week runs again by itself.
redis_at "$redis_port"
wait_log "$t/local.log" "Redis at .* answers again" 30 "the inbox seeing Redis back" "$local_pid"
wait_filed archive dispositifs week.csv 300
[ "$(grep -c "running aij-ingest" "$t/local.log")" -eq 2 ] || fail "the week did not run exactly twice"
[ "$(sed -n "$lines,\$p" "$t/local.log" | grep -c "inbox.*waits")" -le 1 ] ||
	fail "more than one 'waits' line while Redis was down (the inbox checks quietly)"
entries "e['kind'] == 'dispositifs'" | cut -d' ' -f1,2,3 >"$t/weeks.txt"
run_id=$(published_run week.csv)
printf '%s\n' "held technical $run_id" "published - $run_id" | diff - "$t/weeks.txt" >&2 ||
	fail "runs.json: not held (technical) then published"
oracle "$t/week" "$run_id" "$t/expected"
same_outputs "$t/expected" "$out"
watch_stop
