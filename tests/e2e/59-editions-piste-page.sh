#!/usr/bin/env bash
# The « Piste » and « Semaines en échec » columns of the report page in
# headless Chromium over the DevTools protocol (tests/e2e/cdp.py), on a
# generated week with near misses run three weeks in a row (editions-lib.sh
# ed_three_weeks): an ML adviser reads its report (no other ML's dossier
# id), filters the lines failing 3 weeks or more and opens the dossier of a
# piste; the national team reads the same report with every id, the
# national report and the summary by weeks in a row
# (tests/e2e/piste_walk.py). Each step's screenshot is kept in
# $BUILD/test-logs/59-editions-piste-page/ (look at them).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/editions-lib.sh"

command -v chromium >/dev/null || fail "chromium is not installed (make deps installs it)"
shots=$repo/${BUILD:-build}/test-logs/$test_name
rm -rf "$shots"
mkdir -p "$shots"

out=$t/out
users=$t/users.csv
ed_three_weeks "$out"
ml=$(python3 tests/e2e/piste_check.py pick "$out") || fail "no ML to look at"
ed_user "$users" agent "" "$ml" consulter_edition,telecharger_rapports 'Été-2026 agent'
ed_user "$users" admin "" NATIONAL consulter_edition,telecharger_rapports 'Été-2026 admin'
ed_start "$out" "$users" --coverage "$t/pweek/0/coverage.csv" --redis "$redis_addr"

python3 tests/e2e/piste_walk.py "$ed_url" "$shots" "$t" "$out" "$ml" ||
	fail "the walk in Chromium (screenshots in $shots, pages in $t, log $t/chromium.log)"
echo "screenshots of $ml in $shots"
ed_stop
