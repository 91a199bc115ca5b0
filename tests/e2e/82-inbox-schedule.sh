#!/usr/bin/env bash
# --schedule 'sun 02:00' with the test clock (AIJ_FAKE_NOW: the inbox's
# "now" starts on Sunday 2026-12-06 at 01:59:45, Paris time, and goes on
# with the real time), through deploy/aij-local --watch:
#  - the export and the week, complete before 02:00, wait for the schedule
#    and are taken at 02:00 or after, the export first; the week is run
#    2026-W49 (the ISO week of the inbox's clock); outputs = the oracle's;
#  - a week complete after 02:00 waits for the next Sunday (2026-12-13);
#    with an .accept marker it is taken at once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inbox-lib.sh"

gen "$t/week" --lines 300 --seed 82 --no-long-line
export AIJ_FAKE_NOW=2026-12-06T01:59:45+01:00
watch_start --settle 1 --schedule "sun 02:00"
grep -q "fake clock (AIJ_FAKE_NOW, for tests only)" "$t/local.log" || fail "the fake clock is not said"
grep -q "schedule sun 02:00, next at 2026-12-06T02:00:00+01:00" "$t/local.log" ||
	fail "the next schedule time is not said"

drop dossiers "$t/week/dossiers.csv" dossiers.csv done
drop dispositifs "$t/week/week.csv" week.csv done
wait_log "$t/local.log" "week 'week.csv' is complete: it waits for the schedule (sun 02:00), next at 2026-12-06T02:00:00+01:00" \
	30 "the week waiting for the schedule" "$local_pid"
grep -q "export 'dossiers.csv' is complete: it waits for the schedule (sun 02:00), next at 2026-12-06T02:00:00+01:00" \
	"$t/local.log" || fail "the export does not wait for the schedule"

wait_filed archive dispositifs week.csv 180
# Taken by the inbox's clock at 02:00 or later (its "taking" lines say when).
taken=$(sed -n "s/.*taking the export 'dossiers.csv' .* at \(2026-12-06T[0-9:]*+01:00\).*/\1/p" "$t/local.log")
taken_week=$(sed -n "s/.*taking the week 'week.csv' .* at \(2026-12-06T[0-9:]*+01:00\).*/\1/p" "$t/local.log")
[ -n "$taken" ] && [ -n "$taken_week" ] || fail "no 'taking' lines on 2026-12-06 (see $t/local.log)"
[[ ! "$taken" < "2026-12-06T02:00:00+01:00" ]] || fail "the export was taken at $taken, before 02:00"
[[ ! "$taken_week" < "$taken" ]] || fail "the week ($taken_week) was taken before the export ($taken)"
echo "taken at $taken (export) and $taken_week (week), inbox clock"
[ "$(published_run week.csv)" = 2026-W49 ] || fail "the run id is not 2026-W49: $(entries)"
oracle "$t/week" 2026-W49 "$t/expected"
same_outputs "$t/expected" "$out"

# A week complete after 02:00 waits a week...
sed '1d' "$t/week/week.csv" >"$t/week2.csv"
drop dispositifs "$t/week2.csv" week2.csv done
wait_log "$t/local.log" "week 'week2.csv' is complete: it waits for the schedule (sun 02:00), next at 2026-12-13T02:00:00+01:00" \
	30 "the late week waiting for next Sunday" "$local_pid"
[ -e "$inbox/dispositifs/week2.csv" ] || fail "the late week was taken"
# ... unless accepted by hand.
: >"$inbox/dispositifs/week2.csv.accept"
wait_filed archive dispositifs week2.csv 180
[ "$(published_run week2.csv)" = 2026-W49 ] || fail "week2.csv: not published as 2026-W49: $(entries)"
oracle_of "$t/week2.csv" 2026-W49 "$t/expected2"
same_outputs "$t/expected2" "$out"
watch_stop
