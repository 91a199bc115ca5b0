#!/usr/bin/env bash
# SIGTERM in the middle of a week, then a restart: no line lost or counted
# twice (the outputs equal the oracle's), nothing published in between.
#  A. deploy/aij-local --watch (a new broker and a new, empty Redis at each
#     start): stopped while aij-ingest publishes, then while the inbox waits
#     for the verdict; each time everything stops, exit 0, the week stays in
#     the inbox; at the next start the inbox reloads the last export from
#     archive/dossiers/ into the empty Redis (ERROR line) and runs the week
#     again; the third start completes it.
#  B. aij-inbox on a broker and a reporter that stay up: stopped while it
#     waits for the verdict, restarted: it resumes the same attempt (no new
#     ingest), which is the one published.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inbox-lib.sh"

gen "$t/week" --lines 60000 --seed 83 --no-long-line

# still_waiting: the week is in the inbox, not published, nothing written.
still_waiting() {
	[ -e "$inbox/dispositifs/week.csv" ] || fail "the interrupted week left the inbox"
	[ -e "$inbox/dispositifs/week.csv.done" ] || fail "the interrupted week lost its .done"
	[ -z "$(entries "e['kind'] == 'dispositifs' and e['status'] == 'published'")" ] ||
		fail "a week was published: $(entries)"
	[ ! -e "$out/summary.json" ] || fail "summary.json written by an interrupted week"
}

# A1. Stopped during ingest.
watch_start --settle 1
drop dossiers "$t/week/dossiers.csv" dossiers.csv done
drop dispositifs "$t/week/week.csv" week.csv done
wait_log "$t/local.log" "running aij-ingest --file $inbox/dispositifs/week.csv" 120 \
	"ingest of the week" "$local_pid"
watch_stop
grep -q "stopping: passing SIGTERM on to aij-ingest" "$t/local.log" || fail "SIGTERM not passed on to aij-ingest"
grep -q "stopped while publishing the week 'week.csv': it stays in the inbox" "$t/local.log" ||
	fail "no line saying the week stays"
still_waiting

# A2. A new, empty Redis: the export comes back from archive/; then stopped
#     while the reporter decides.
watch_start --settle 1
wait_log "$t/local.log" "ERROR inbox\[[0-9]*\] no dossier index loaded in Redis .*reloading the last export loaded, archive/dossiers/dossiers.csv" \
	60 "the reload of the last export" "$local_pid"
wait_log "$t/local.log" "waiting for the reporter's verdict on attempt" 180 "the verdict wait" "$local_pid"
watch_stop
grep -q "stopped while waiting for the verdict on attempt" "$t/local.log" || fail "no line saying the wait stopped"
still_waiting
grep -q "^phase=ingested" "$inbox/dispositifs/.week.csv.aij-attempt" || fail "the attempt's state is not 'ingested'"

# A3. The broker is new: that attempt is gone, the week runs again, completes.
watch_start --settle 1
wait_log "$t/local.log" "week 'week.csv': attempt .* was published to a broker that is gone" 60 \
	"the attempt forgotten" "$local_pid"
wait_filed archive dispositifs week.csv 300
run_id=$(published_run week.csv)
oracle "$t/week" "$run_id" "$t/expected"
same_outputs "$t/expected" "$out"
[ "$(entries "e['kind'] == 'dispositifs'" | cut -d' ' -f1 | sort | uniq -c | tr -s ' ')" = " 1 published" ] ||
	fail "runs.json: not one published week and nothing else: $(entries)"
[ ! -e "$inbox/dispositifs/.week.csv.aij-attempt" ] || fail "the attempt's state is left"
watch_stop

# B. A broker and a reporter that stay: the attempt resumes.
rm -rf "$out" "$inbox"
mkdir -p "$out"
start_redis
"$AIJ_BIN/aij-broker" --ready-file "$t/broker.addr" >/dev/null 2>"$t/logs/broker.log" &
e2e_pids+=($!)
wait_until 10 "aij-broker to start" test -s "$t/broker.addr"
brokers=$(cat "$t/broker.addr")
"$AIJ_BIN/aij-matcher" --brokers "$brokers" --redis "$redis_addr" >"$t/logs/matcher.log" 2>&1 &
e2e_pids+=($!)
"$AIJ_BIN/aij-reporter" --follow --brokers "$brokers" --out "$out" --redis "$redis_addr" \
	--coverage "$t/week/coverage.csv" >"$t/logs/reporter.log" 2>&1 &
reporter_pid=$!
e2e_pids+=($!)
start_inbox() {
	"$AIJ_BIN/aij-inbox" --watch "$inbox" --out "$out" --redis "$redis_addr" --brokers "$brokers" \
		--settle 1 >>"$t/logs/inbox.log" 2>&1 &
	inbox_pid=$!
	e2e_pids+=($!)
}
start_inbox
drop dossiers "$t/week/dossiers.csv" dossiers.csv done
drop dispositifs "$t/week/week.csv" week.csv done
wait_log "$t/logs/inbox.log" "waiting for the reporter's verdict on attempt" 180 "the verdict wait" "$inbox_pid"
attempt=$(sed -n "s/.*waiting for the reporter's verdict on attempt \([^ ]*\) .*/\1/p" "$t/logs/inbox.log" | tail -n 1)
kill -TERM "$inbox_pid"
wait_until 20 "aij-inbox to stop on SIGTERM" gone "$inbox_pid"
rc=0
wait "$inbox_pid" || rc=$?
[ "$rc" -eq 0 ] || fail "aij-inbox exited with $rc on SIGTERM"
start_inbox
wait_log "$t/logs/inbox.log" "week 'week.csv': resuming attempt $attempt" 30 "the resumed attempt" "$inbox_pid"
wait_filed archive dispositifs week.csv 300 "$inbox_pid"
[ "$(grep -c "running aij-ingest" "$t/logs/inbox.log")" -eq 1 ] || fail "the week was ingested again"
[ "$(entries "e['kind'] == 'dispositifs'" | cut -d' ' -f1,4)" = "published $attempt" ] ||
	fail "runs.json: not the resumed attempt $attempt published: $(entries)"
run_id=$(published_run week.csv)
oracle "$t/week" "$run_id" "$t/expected-b"
same_outputs "$t/expected-b" "$out"
