#!/usr/bin/env bash
# The guards of deploy/aij-local in one-shot mode, against one output folder
# and one Redis (AIJ_KEEP_REDIS), after a first week was published:
#  - a broken dossier export (its header only; ISO birth dates; a third of
#    the dossiers) is held: exit 4, a line "held:", the index in use stays;
#  - a broken week (a column added: > 10 % code 01; > 30 % failing
#    validation) is held the same way; --accept publishes it;
#  - the same file again: exit 0, "already integrated as run", nothing done;
#  - a corrected file under a published run id replaces that run (WARN);
#  - a week older than the newest published one: held; --accept publishes it;
#  - a reporter that dies between the attachments and the files (AIJ_FAULT):
#    the next run finishes the publication first.
# Each held run leaves every published file, the dossier index and the
# dispositifs attached in Redis byte for byte as they were; runs.json
# records every attempt with its status and guard.
. "$(dirname "$0")/lib.sh"

gen "$t/w" --lines 300 --seed 7 --header --no-long-line
start_redis
export AIJ_KEEP_REDIS=$redis_addr

# state OUT: every published file (through the links; the state of the
# weeks in a row too), the dossier index in use (its generation, unless the
# run loads the same export again: its size and source then) and the
# dispositifs in Redis, as one text.
state() {
	local out=$1 gen
	(cd "$out" && find -L reports attached integrated.csv summary.json evidence weeks.json \
		current/rejections.tsv -type f -print0 2>/dev/null |
		LC_ALL=C sort -z | xargs -0 sha256sum)
	gen=$(redis-cli -p "$redis_port" get aij:index:current)
	[ -n "${same_export:-}" ] || echo "index generation $gen"
	echo "index $(redis-cli -p "$redis_port" hmget "aij:index:$gen:meta" dossiers source | tr '\n' ' ')"
	redis-cli -p "$redis_port" --scan --pattern 'aij:dispositif*' | LC_ALL=C sort | while read -r key; do
		echo "$key $(redis-cli -p "$redis_port" --no-raw hgetall "$key" | LC_ALL=C sort | sha256sum)"
	done
}

# local_run OUT EXPECTED_EXIT [aij-local options]: aij-local on $week and
# $export (run id $run), its output in $t/last.
local_run() {
	local out=$1 want=$2 rc=0
	shift 2
	deploy/aij-local --dispositifs "$week" --dossiers "$export" --coverage "$t/w/coverage.csv" \
		--run-id "$run" --out "$out" "$@" >"$t/last" 2>&1 || rc=$?
	[ "$rc" -eq "$want" ] || { tail -n 20 "$t/last" >&2; fail "aij-local ($run, $(basename "$week"), $(basename "$export")) exited with $rc, not $want"; }
}

# held GUARD: the last run was held by GUARD and changed nothing.
held() {
	grep -q "held: " "$t/last" || fail "no 'held:' line for the guard $1"
	state "$t/out" >"$t/state.after"
	diff -u "$t/state.before" "$t/state.after" >&2 || fail "a run held by '$1' changed what was published"
	last_entry | grep -q "held $1" || fail "runs.json's last entry is not 'held $1': $(last_entry)"
}

last_entry() {
	python3 -c 'import json, sys; e = json.load(open(sys.argv[1]))[-1]; print(e["kind"], e["run_id"], e["status"], e["guard"], e["accepted"])' "$t/out/runs.json"
}

# The first week, published.
week=$t/w/week.csv export=$t/w/dossiers.csv run=2026-W10
local_run "$t/out" 0
oracle "$t/w" 2026-W10 "$t/exp10"
same_outputs "$t/exp10" "$t/out"
state "$t/out" >"$t/state.before"
grep -q '"status": "published"' "$t/out/runs.json" || fail "no published run in runs.json"

# Broken exports.
header=$(head -n 1 "$t/w/dossiers.csv")
echo "$header" >"$t/empty.csv"
python3 - "$t/w/dossiers.csv" "$t/iso.csv" "$t/third.csv" <<'PY'
import sys
rows = open(sys.argv[1], encoding="utf-8").read().splitlines()
with open(sys.argv[2], "w", encoding="utf-8") as f:   # 2004-02-29, not 29/02/2004
    f.write(rows[0] + "\n")
    for r in rows[1:]:
        c = r.split(";")
        d, m, y = c[4].split("/")
        c[4] = f"{y}-{m}-{d}"
        f.write(";".join(c) + "\n")
with open(sys.argv[3], "w", encoding="utf-8") as f:   # a third of the dossiers
    f.write("\n".join(rows[: 1 + (len(rows) - 1) // 3]) + "\n")
PY
for case in empty:dossiers_empty iso:dossiers_malformed third:dossiers_shrunk; do
	export=$t/${case%%:*}.csv run=2026-W11
	local_run "$t/out" 4
	held "${case##*:}"
done
grep -q "the index in use is unchanged" "$t/out/logs/indexer.log" || fail "the indexer does not say the index stays"

# Broken weeks (the good export, loaded again by each run).
export=$t/w/dossiers.csv same_export=1
state "$t/out" >"$t/state.before"
python3 - "$t/w/week.csv" "$t/columns.csv" "$t/invalid.csv" <<'PY'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
with open(sys.argv[2], "w", encoding="utf-8") as f:   # a column added after the 2nd
    f.write("\n".join(";".join(l.split(";")[:2] + ["X"] + l.split(";")[2:]) if l and i > 0 else l
                      for i, l in enumerate(lines)))
with open(sys.argv[3], "w", encoding="utf-8") as f:   # every third line loses its birth date
    out = []
    for i, l in enumerate(lines):
        c = l.split(";")
        if i > 0 and len(c) == 12 and i % 3 != 0:
            c[5] = ""
        out.append(";".join(c))
    f.write("\n".join(out))
PY
week=$t/columns.csv run=2026-W11
local_run "$t/out" 4
held format
week=$t/invalid.csv run=2026-W11
local_run "$t/out" 4
held validation
grep -q "% of the lines fail validation" "$t/last" || fail "the reason is not said"

# --accept publishes it.
local_run "$t/out" 0 --accept
grep -q "published over the guard 'validation' (--accept)" "$t/last" || fail "no WARN for --accept"
last_entry | grep -q "dispositifs 2026-W11 published validation True" ||
	fail "runs.json: $(last_entry)"

# The same file again (the one of W10, now as W12): nothing done.
state "$t/out" >"$t/state.before"
week=$t/w/week.csv run=2026-W12
local_run "$t/out" 0
grep -q "already integrated as run 2026-W10" "$t/last" || fail "no 'already integrated as run 2026-W10'"
state "$t/out" >"$t/state.after"
diff -u "$t/state.before" "$t/state.after" >&2 || fail "the same file again changed what was published"
last_entry | grep -q "2026-W12 already already" || fail "runs.json: $(last_entry)"

# A corrected file under the published run id W11 (W11 is the newest).
cp "$t/w/week.csv" "$t/corrected.csv"
echo >>"$t/corrected.csv"
week=$t/corrected.csv run=2026-W11
local_run "$t/out" 0
grep -q "run 2026-W11 replaces the published run 2026-W11" "$t/last" || fail "no WARN for the corrected week"
oracle "$t/w" 2026-W11 "$t/exp11"
same_outputs "$t/exp11" "$t/out"

# An older week: held, then published with --accept.
state "$t/out" >"$t/state.before"
cp "$t/w/week.csv" "$t/older.csv"
printf '\n\n' >>"$t/older.csv"
week=$t/older.csv run=2026-W09
local_run "$t/out" 4
held older
local_run "$t/out" 0 --accept
oracle "$t/w" 2026-W09 "$t/exp09"
same_outputs "$t/exp09" "$t/out"

# A reporter dying between the attachments and the files: the next run
# finishes that publication before its own.
printf '\n\n\n' >>"$t/corrected.csv"
week=$t/corrected.csv run=2026-W13
AIJ_FAULT=publish-after-attach local_run "$t/out" 1
grep -q "AIJ_FAULT=publish-after-attach: dying here" "$t/out/logs/reporter.log" ||
	fail "the reporter did not die where the test asked"
same_outputs "$t/exp09" "$t/out" # the files are still the previous run's
local_run "$t/out" 0
grep -q "finishing its publication" "$t/out/logs/reporter.log" || fail "the publication left midway was not finished"
grep -q "already integrated as run 2026-W13" "$t/last" || fail "the finished run is not the published one"
oracle "$t/w" 2026-W13 "$t/exp13"
same_outputs "$t/exp13" "$t/out"
[ "$(find "$t/out/.published" -mindepth 1 -maxdepth 1 | wc -l)" -eq 1 ] || fail "old generations left"

python3 - "$t/out/runs.json" <<'PY' || fail "runs.json does not tell the story"
import json, sys
got = [(e["kind"], e["run_id"] if e["kind"] == "dispositifs" else "", e["status"], e["guard"])
       for e in json.load(open(sys.argv[1]))]
loaded = ("dossiers", "", "published", "")
want = [loaded, ("dispositifs", "2026-W10", "published", ""),
        ("dossiers", "", "held", "dossiers_empty"), ("dossiers", "", "held", "dossiers_malformed"),
        ("dossiers", "", "held", "dossiers_shrunk")]
# every later run first loads the export, then runs its week
for w in [("2026-W11", "held", "format"), ("2026-W11", "held", "validation"),
          ("2026-W11", "published", "validation"), ("2026-W12", "already", "already"),
          ("2026-W11", "published", ""), ("2026-W09", "held", "older"),
          ("2026-W09", "published", "older")]:
    want += [loaded, ("dispositifs",) + w]
# the run whose reporter died, then the next: its publication finished first
want += [loaded, loaded, ("dispositifs", "2026-W13", "published", ""),
         ("dispositifs", "2026-W13", "already", "already")]
pad = [None] * abs(len(got) - len(want))
assert got == want, "\n".join(f"{g}  {w}" for g, w in zip(got + pad, want + pad))
print(f"runs.json: {len(got)} attempts as expected")
PY
