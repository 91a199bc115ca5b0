#!/usr/bin/env bash
# A generated week (every code, code combination, step, name variant and
# routing case, plus random lines) through deploy/aij-local: every output
# file equals what tests/e2e/oracle.py computes independently.
. "$(dirname "$0")/lib.sh"

gen "$t/week" --lines 400 --seed 11 --header
oracle "$t/week" 2026-W48 "$t/expected"
run_local "$t/week" 2026-W48 "$t/out"
same_outputs "$t/expected" "$t/out"

# The test is only as good as the week: make sure it holds what it should.
grep -q '"_national"' "$t/out/summary.json" || fail "no national report"
for code in 01 02 03 04 05 06 07 08 09; do
	grep -q "\"$code\":" "$t/out/summary.json" || fail "no line with code $code"
done
for combo in "05/05/05" "02/05/04" "03/03/05"; do
	grep -rqF ";$combo"$'\r' "$t/out/reports" || fail "no line with codes $combo"
done

# SPEC §2.2, §5: a code without postal code (the TAAF districts, 98411;;...
# in communes.csv) is known, never 08: lines on each integrate, and the
# failed ones are in the national report and no other.
taaf=0
for code in 98411 98412 98413 98414 98415; do
	awk -F';' -v c="$code" '{ gsub(/[ \t]/, "", $7) } $7 == c { print NR }' \
		"$t/week/week.csv" >"$t/lines-$code"
	[ -s "$t/lines-$code" ] || fail "no line on $code in the week"
	n=$(awk -F';' 'NR == FNR { want[$1] = 1; next } FNR > 1 && ($1 in want)' \
		"$t/lines-$code" "$t/out/integrated.csv" | wc -l)
	[ "$n" -gt 0 ] || fail "no line on $code integrated"
	taaf=$((taaf + $(wc -l <"$t/lines-$code") - n))
done
[ "$taaf" -gt 0 ] || fail "no failed line on a code without postal code"
row=$';9841[1-5];[0-9/]+\r$'
in_reports=$(grep -lE "$row" "$t/out/reports/"*.csv | xargs -n 1 basename)
[ "$in_reports" = "_national.csv" ] ||
	fail "failed lines on 98411-98415 in: $(echo $in_reports) (want _national.csv alone)"
n=$(grep -cE "$row" "$t/out/reports/_national.csv")
[ "$n" -eq "$taaf" ] || fail "$n national rows on 98411-98415, $taaf failed lines"
grep -qE $';9841[1-5];08\r$' "$t/out/reports/_national.csv" && fail "a line on 98411-98415 got code 08"
true
