#!/usr/bin/env bash
# What a guard holds goes to held/ with a one-line .reason, and changes
# nothing anyone sees (deploy/aij-local --watch, issue 14, 1 and 2):
#  - an export with its header only: aij-indexer exits 4, held/dossiers/
#    with "(dossiers_empty)", the index in use unchanged;
#  - a file that is not a dossier export (another header): exit 2, held;
#  - a week whose birth dates are ISO (2004-02-29): > 30 % code 07, held
#    "(validation)"; a week with a column added on some lines: > 10 % code
#    01, held "(format)"; every published file byte-identical before and
#    after;
#  - publishing a held week anyway: its .accept marker first, then the file
#    moved back: published with "accepted": true, the oracle's outputs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inbox-lib.sh"

gen "$t/week" --lines 500 --seed 81 --no-long-line
start_redis # the test's own: the index generation is checked
export AIJ_KEEP_REDIS=$redis_addr
watch_start --settle 1

drop dossiers "$t/week/dossiers.csv" dossiers.csv done
drop dispositifs "$t/week/week.csv" week.csv done
wait_filed archive dispositifs week.csv 180
run_id=$(published_run week.csv)
oracle "$t/week" "$run_id" "$t/expected"
same_outputs "$t/expected" "$out"
gen_before=$(redis-cli -p "$redis_port" get aij:index:current)
[ -n "$gen_before" ] || fail "no index loaded"
sums=$(outputs_sum)

# reason_is KIND NAME GUARD: held/KIND/NAME.reason is one line, French then
# English, naming GUARD.
reason_is() {
	local f=$inbox/held/$1/$2.reason
	[ -f "$f" ] || fail "no $f"
	[ "$(wc -l <"$f")" -eq 1 ] || fail "$f is not one line: $(cat "$f")"
	grep -q "^retenu / held ($3): .* / ." "$f" || fail "$f: not held ($3): $(cat "$f")"
	echo "$2: $(cat "$f")"
}

# 1. An export with its header only.
head -n 1 "$t/week/dossiers.csv" >"$t/empty.csv"
drop dossiers "$t/empty.csv" empty.csv done
wait_filed held dossiers empty.csv 60
reason_is dossiers empty.csv dossiers_empty
grep -q "aij-indexer exited with 4: the export 'empty.csv' is not loaded" "$t/local.log" ||
	fail "no line saying the indexer held the export (exit 4)"
[ "$(redis-cli -p "$redis_port" get aij:index:current)" = "$gen_before" ] || fail "the index in use changed"
[ ! -e "$inbox/dossiers/empty.csv.done" ] || fail "the .done of a held file is still in the inbox"

# 2. Not a dossier export.
printf 'numero;nom\n1;Martin\n' >"$t/other.csv"
drop dossiers "$t/other.csv" other.csv done
wait_filed held dossiers other.csv 60
grep -q "aij-indexer exited with 2: the export 'other.csv' is not loaded" "$t/local.log" ||
	fail "no line saying the indexer could not read the export (exit 2)"
grep -q "^retenu / held (" "$inbox/held/dossiers/other.csv.reason" || fail "other.csv: no reason"
[ "$(redis-cli -p "$redis_port" get aij:index:current)" = "$gen_before" ] || fail "the index in use changed"

# 3. A week with ISO birth dates (field 6): code 07 on most lines.
awk -F';' 'BEGIN { OFS = ";" } NF == 12 && $6 ~ /^[0-9][0-9]\/[0-9][0-9]\/[0-9][0-9][0-9][0-9]$/ {
	$6 = substr($6, 7, 4) "-" substr($6, 4, 2) "-" substr($6, 1, 2) } { print }' \
	"$t/week/week.csv" >"$t/iso-dates.csv"
drop dispositifs "$t/iso-dates.csv" iso-dates.csv done
wait_filed held dispositifs iso-dates.csv 180
reason_is dispositifs iso-dates.csv validation
[ "$(outputs_sum)" = "$sums" ] || fail "the outputs changed for a held week"

# 4. A week with a column added at the front of every 6th line: 18 % code
#    01 (over 10 %), 23 % failing validation in all (under 30 %).
awk 'NR % 6 == 0 { $0 = "X;" $0 } { print }' "$t/week/week.csv" >"$t/columns.csv"
drop dispositifs "$t/columns.csv" columns.csv done
wait_filed held dispositifs columns.csv 180
reason_is dispositifs columns.csv format
[ "$(outputs_sum)" = "$sums" ] || fail "the outputs changed for a held week"
[ "$(redis-cli -p "$redis_port" get aij:index:current)" = "$gen_before" ] || fail "the index in use changed"
entries "e['status'] == 'held'" | cut -d' ' -f1,2,5 >"$t/held.txt"
printf '%s\n' "held dossiers_empty empty.csv" "held validation iso-dates.csv" \
	"held format columns.csv" >"$t/held-expected.txt"
grep -v other.csv "$t/held.txt" | diff "$t/held-expected.txt" - >&2 || fail "runs.json: the held entries"
grep -q "ERROR inbox\[[0-9]*\] .*week 'iso-dates.csv' held (validation)" "$t/local.log" ||
	fail "no ERROR line for the held week"

# 5. Published anyway: the marker first, then the file back.
: >"$inbox/dispositifs/iso-dates.csv.accept"
mv "$inbox/held/dispositifs/iso-dates.csv" "$inbox/dispositifs/iso-dates.csv"
wait_filed archive dispositifs iso-dates.csv 180
[ "$(entries "e['source'] == 'iso-dates.csv'" | tail -n 1 | cut -d' ' -f1,6)" = "published true" ] ||
	fail "runs.json: iso-dates.csv not published with accepted true: $(entries)"
[ ! -e "$inbox/dispositifs/iso-dates.csv.accept" ] || fail "the .accept marker is still in the inbox"
oracle_of "$t/iso-dates.csv" "$(published_run iso-dates.csv)" "$t/expected-iso"
same_outputs "$t/expected-iso" "$out"
watch_stop
