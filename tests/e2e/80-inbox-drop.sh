#!/usr/bin/env bash
# The unattended service through deploy/aij-local --watch (issue 14, 1):
#  - a week dropped with its .done waits while no index is loaded;
#  - an export dropped without a marker is taken once unchanged for the
#    settle time, loaded first, filed into archive/dossiers/;
#  - then the week runs (run id: the ISO week, Europe/Paris), is filed into
#    archive/dispositifs/, its .done removed, the outputs equal the oracle's;
#  - the same file again under another name: 'already integrated as run
#    <id>' (WARN), an 'already' entry, archive/, the outputs unchanged; under
#    the same name: archive/dispositifs/week.csv.2, nothing replaced;
#  - hidden files (rsync's .name.XXXXXX), *.part and *.filepart are never
#    taken;
#  - SIGTERM stops everything aij-local started, exit 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inbox-lib.sh"

gen "$t/week" --lines 2000 --seed 80 --no-long-line
week_at_start=$(TZ=Europe/Paris date +%G-W%V)

# Files being uploaded, there from the start: never taken.
mkdir -p "$inbox/dispositifs" "$inbox/dossiers"
printf 'being written by rsync\n' >"$inbox/dispositifs/.week-50.csv.Xa81Zq"
printf 'being written by sftp\n' >"$inbox/dispositifs/week-51.csv.part"
printf 'being written by WinSCP\n' >"$inbox/dossiers/export.csv.filepart"

watch_start --settle 2

# 1. The week first: it waits for an index.
drop dispositifs "$t/week/week.csv" week.csv done
wait_log "$t/local.log" "week 'week.csv' waits: no dossier index loaded" 30 \
	"the week waiting for an index" "$local_pid"
filed archive dispositifs week.csv && fail "the week ran without an index"

# 2. The export, copied in place without a marker: complete once settled.
cp "$t/week/dossiers.csv" "$inbox/dossiers/dossiers.csv"
wait_filed archive dossiers dossiers.csv 60
grep -q "taking the export 'dossiers.csv' (.*settled)" "$t/local.log" ||
	fail "the export was not taken as settled"

# 3. The week runs once the index is loaded.
wait_filed archive dispositifs week.csv 180
[ ! -e "$inbox/dispositifs/week.csv.done" ] || fail "the .done marker is still in the inbox"
[ ! -e "$inbox/dispositifs/week.csv" ] || fail "week.csv is still in the inbox"
cmp -s "$t/week/week.csv" "$inbox/archive/dispositifs/week.csv" || fail "the archived week differs"
cmp -s "$t/week/dossiers.csv" "$inbox/archive/dossiers/dossiers.csv" || fail "the archived export differs"
run_id=$(published_run week.csv)
[ "$run_id" = "$week_at_start" ] || [ "$run_id" = "$(TZ=Europe/Paris date +%G-W%V)" ] ||
	fail "run id '$run_id' is not the ISO week of today"
oracle "$t/week" "$run_id" "$t/expected"
same_outputs "$t/expected" "$out"
[ "$(entries "e['kind'] == 'dossiers'" | cut -d' ' -f1)" = published ] ||
	fail "runs.json: not one published export: $(entries)"
# The service files the week, then says so: the line may come just after.
wait_log "$t/local.log" "week 'week.csv' integrated: run $run_id published" 10 \
	"the line saying the week was integrated"

# 4. The same bytes under another name: already integrated, nothing run.
sums=$(outputs_sum)
drop dispositifs "$t/week/week.csv" week-copy.csv done
wait_filed archive dispositifs week-copy.csv 60
wait_log "$t/local.log" "WARN inbox\[[0-9]*\] .*week 'week-copy.csv' already integrated as run $run_id" 10 \
	"the WARN 'already integrated as run $run_id'"
[ "$(entries "e['source'] == 'week-copy.csv'" | cut -d' ' -f1,2,3)" = "already already $run_id" ] ||
	fail "runs.json: week-copy.csv is not one 'already' entry: $(entries)"
[ "$(outputs_sum)" = "$sums" ] || fail "the outputs changed for a file already integrated"

# 5. The same name again: filed as week.csv.2, week.csv kept.
drop dispositifs "$t/week/week.csv" week.csv done
wait_filed archive dispositifs week.csv.2 60
cmp -s "$t/week/week.csv" "$inbox/archive/dispositifs/week.csv" || fail "archive/dispositifs/week.csv changed"
cmp -s "$t/week/week.csv" "$inbox/archive/dispositifs/week.csv.2" || fail "week.csv.2 differs"
[ "$(outputs_sum)" = "$sums" ] || fail "the outputs changed"
[ "$(entries "e['kind'] == 'dispositifs' and e['status'] == 'published'" | wc -l)" -eq 1 ] ||
	fail "runs.json: not one published week: $(entries)"

# 6. The uploads in progress were never taken, and only they are left.
watch_stop
[ "$(cat "$inbox/dispositifs/.week-50.csv.Xa81Zq")" = "being written by rsync" ] || fail "rsync's file was touched"
[ "$(cat "$inbox/dispositifs/week-51.csv.part")" = "being written by sftp" ] || fail "the .part was touched"
[ "$(cat "$inbox/dossiers/export.csv.filepart")" = "being written by WinSCP" ] || fail "the .filepart was touched"
left=$(cd "$inbox" && find dispositifs dossiers -type f | sort | tr '\n' ' ')
[ "$left" = "dispositifs/.week-50.csv.Xa81Zq dispositifs/week-51.csv.part dossiers/export.csv.filepart " ] ||
	fail "left in the inbox: $left"
! grep -q "week-51\|week-50\|export.csv" "$t/local.log" || fail "an upload in progress was mentioned"
