#!/usr/bin/env bash
# Issue 18, the pipeline's side. A generated week whose dossiers were edited
# (gen_week.py --near-misses: a birth date moved by a day, day and month
# swapped, a first name lengthened, a birth name changed, a numéro PE shared
# by two dossiers...) gets, for each failed line, the evidence the generator
# built it to get and tests/e2e/oracle.py computes independently, byte for
# byte in evidence/<ml_code>.json and weeks.json, and none for a line whose
# dossier is simply absent. Two one-shot runs on the same folder (and Redis):
# the failures of the first week that fail again the next week carry
# weeks_rejected 2 and the first week's date; a corrected week under the
# same run id replaces it and is not a week more. With AIJ_EVIDENCE=off the
# reports are the same and there is no evidence.
. "$(dirname "$0")/lib.sh"

gen "$t/week" --lines 150 --seed 19 --near-misses --evidence-cases "$t/week/evidence.csv"
start_redis
export AIJ_KEEP_REDIS=$redis_addr

# run_date OUT: the date (Europe/Paris) of OUT's latest published week.
run_date() {
	python3 - "$1/runs.json" <<'PY'
import json, sys
runs = [e for e in json.load(open(sys.argv[1]))
        if e["kind"] == "dispositifs" and e["status"] == "published"]
print(runs[-1]["started_at"][:10])
PY
}
# expect WEEKDIR RUN_ID EXP OUT [oracle options]: the oracle's outputs for
# the week as published in OUT (its date), then every output compared.
expect() {
	local dir=$1 run_id=$2 exp=$3 out=$4
	shift 4
	python3 tests/e2e/oracle.py --dispositifs "$dir/week.csv" --dossiers "$dir/dossiers.csv" \
		--coverage "$dir/coverage.csv" --run-id "$run_id" --out "$exp" \
		--today "$(run_date "$out")" "$@" || fail "oracle.py on $dir ($run_id)"
	same_outputs "$exp" "$out"
	diff -r "$exp/evidence" "$out/evidence" >&2 || fail "evidence differs: $exp vs $out"
	diff -u "$exp/weeks.json" "$out/weeks.json" >&2 || fail "weeks.json differs: $exp vs $out"
}
# weeks OUT WEEK: "line weeks first" for every row of OUT's evidence files
# whose line in WEEK has an identifiant_sigma (the others have no identity:
# always their first week).
weeks() {
	python3 - "$1/evidence" "$2" <<'PY'
import glob, json, os, sys
with open(sys.argv[2], "rb") as f:
    sigma = {n for n, l in enumerate(f.read().split(b"\n"), 1)
             if l.split(b";")[0].strip(b" \t")}
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    for r in json.load(open(path))["rows"]:
        if r["line"] in sigma:
            print(r["line"], r["weeks_rejected"], r["first_rejected"])
PY
}

# --- week 1: the evidence -------------------------------------------------------
run_local "$t/week" 2026-W20 "$t/out"
expect "$t/week" 2026-W20 "$t/exp1" "$t/out" --check-cases "$t/week/cases.csv" \
	--check-evidence "$t/week/evidence.csv" --state-out "$t/state1.json"
d1=$(run_date "$t/out")
# The week is only as good as what it holds.
for field in date_naissance nom_naissance prenom; do
	grep -rq "\"$field\"" "$t/out/evidence" || fail "no evidence with '$field' differing"
done
grep -rq '"code": "02"' "$t/out/evidence" || fail "no evidence for a 02"
[ "$(grep -c ';$' "$t/week/evidence.csv")" -ge 4 ] || fail "fewer than 4 lines built without evidence"
# Lines whose dossier is absent: no evidence in the product's files either.
while IFS=';' read -r line want; do
	[ "$line" = line ] || [ -n "$want" ] && continue
	python3 - "$t/out/evidence" "$line" <<'PY' || fail "line $line has evidence, its dossier is absent"
import glob, json, os, sys
rows = [r for p in glob.glob(os.path.join(sys.argv[1], "*.json"))
        for r in json.load(open(p))["rows"] if r["line"] == int(sys.argv[2])]
sys.exit(1 if not rows or any(r["evidence"] for r in rows) else 0)
PY
done <"$t/week/evidence.csv"
grep -q '"1": ' "$t/out/weeks.json" || fail "weeks.json counts no line in its first week"

# --- week 2: a corrected copy, the next week --------------------------------------
# The line whose birth date was moved is corrected: it integrates now.
mkdir -p "$t/week2"
cp "$t/week/dossiers.csv" "$t/week/coverage.csv" "$t/week2/"
fixed=$(awk -F';' 'NR > 1 && $2 ~ /date_naissance/ { print $1; exit }' "$t/week/evidence.csv")
date_fixed=$(awk -F';' -v l="$fixed" '$1 == l { split($2, e, ":"); print e[3] }' "$t/week/evidence.csv")
[ -n "$fixed" ] && [ -n "$date_fixed" ] || fail "no line with a moved birth date"
awk -F';' -v OFS=';' -v l="$fixed" -v d="$date_fixed" 'NR == l { $6 = d } { print }' \
	"$t/week/week.csv" >"$t/week2/week.csv"
run_local "$t/week2" 2026-W21 "$t/out"
expect "$t/week2" 2026-W21 "$t/exp2" "$t/out" --state-in "$t/state1.json" \
	--state-out "$t/state2.json"
grep -q "^$fixed;" "$t/out/integrated.csv" || fail "the corrected line $fixed did not integrate"
weeks "$t/out" "$t/week2/week.csv" >"$t/weeks2"
grep -q " 2 $d1\$" "$t/weeks2" || fail "no line failing two weeks running with weeks_rejected 2 since $d1"
awk '$2 != 2' "$t/weeks2" | grep -q . && fail "a line failed in week 1 and 2 without weeks_rejected 2: $(awk '$2 != 2' "$t/weeks2" | head -3)"
grep -q "\"2\": " "$t/out/weeks.json" || fail "weeks.json counts no line in its second week"

# --- week 2 again, corrected: it replaces the week, not a week more ------------------
awk -F';' -v OFS=';' 'NR == 2 { $4 = $4 "x" } { print }' "$t/week2/week.csv" >"$t/week2/week.fixed"
mv "$t/week2/week.fixed" "$t/week2/week.csv"
run_local "$t/week2" 2026-W21 "$t/out"
grep -q 'replaces the published run 2026-W21' "$t/out/logs/reporter.log" ||
	fail "the corrected week was not published as a replacement"
expect "$t/week2" 2026-W21 "$t/exp3" "$t/out" --state-in "$t/state2.json"
weeks "$t/out" "$t/week2/week.csv" >"$t/weeks3"
awk '$2 > 2' "$t/weeks3" | grep -q . && fail "a corrected week counted as a week more: $(awk '$2 > 2' "$t/weeks3" | head -3)"
grep -q " 2 $d1\$" "$t/weeks3" || fail "the corrected week lost the weeks in a row"

# --- the evidence off: the same reports, no evidence --------------------------------
AIJ_EVIDENCE=off run_local "$t/week" 2026-W20 "$t/off"
same_outputs "$t/exp1" "$t/off"
grep -q 'evidence off' "$t/off/logs/indexer.log" || fail "the indexer did not load without the evidence"
grep -q 'evidence off' "$t/off/logs/matcher-1.log" || fail "the matchers did not run without the evidence"
grep -rq '"dossier_id"' "$t/off/evidence" && fail "evidence with AIJ_EVIDENCE=off"
[ "$(ls "$t/off/evidence" | wc -l)" -eq "$(ls "$t/off/reports" | wc -l)" ] ||
	fail "not one evidence file per report"
true
