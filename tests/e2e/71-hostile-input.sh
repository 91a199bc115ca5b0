#!/usr/bin/env bash
# Hostile input files through the whole product (deploy/aij-local), each
# compared with the oracle: NUL bytes, invalid UTF-8 mixed with valid lines,
# 200 fields, `;` only, no newline at the end; a file of only a header and an
# empty file (a run of 0 records: empty reports, a summary of zeros).
. "$(dirname "$0")/lib.sh"

# expect WEEKDIR RUN_ID EXPECTED: the oracle's outputs for WEEKDIR/week.csv
# (lines the generator did not build, so no --check-cases).
expect() {
	python3 tests/e2e/oracle.py --dispositifs "$1/week.csv" --dossiers "$1/dossiers.csv" \
		--coverage "$1/coverage.csv" --run-id "$2" --out "$3" || fail "oracle.py on $1"
}

gen "$t/week" --lines 20 --seed 71 --no-long-line
# One valid line of the generated week, to derive hostile variants from.
# (awk stops by itself: `grep | head` would die of SIGPIPE under pipefail.)
ok=$(awk '!/^identifiant_sigma/ { print; exit }' "$t/week/week.csv")
python3 - "$t/week/week.csv" "$ok" <<'PY' || fail "cannot build the hostile week"
import sys
path, ok = sys.argv[1], sys.argv[2].encode()
f = ok.split(b";")
nul_name = f[:3] + [f[3][:2] + b"\x00" + f[3][2:]] + f[4:]       # NUL inside a name
cp1252 = f[:3] + ["Lefèvre".encode("cp1252")] + f[4:]             # invalid UTF-8 line
utf8 = f[:3] + ["Lefèvre".encode("utf-8")] + f[4:]
lines = [
    b";".join(nul_name),
    b"\x00" * 40,                                               # only NUL bytes
    b";".join(cp1252),
    b";".join(utf8),
    b"\xff\xfe\xc3\x28;" + b";".join(f[1:]),                   # broken sequences
    b";".join([b"x"] * 200),                                    # 200 fields
    b";",                                                       # `;` only
    b";" * 11,                                                  # 12 empty fields
    b"\t \t",                                                   # blank
    b";".join(f),                                               # no final newline
]
with open(path, "ab") as out:
    out.write(b"\n".join(lines))
PY
tail -c 1 "$t/week/week.csv" | od -An -c | grep -q '\\n' && fail "the week ends with a newline"
grep -qaP '\x00' "$t/week/week.csv" || fail "no NUL byte in the week"

expect "$t/week" 2026-W71 "$t/expected"
run_local "$t/week" 2026-W71 "$t/out"
same_outputs "$t/expected" "$t/out"
# The oracle agrees with the product; check it saw what the lines are made
# for: 01 for the NUL-only line, 200 fields and `;`, 07 for empty fields.
python3 - "$t/out/summary.json" <<'PY' || fail "the hostile lines did not get codes 01 and 07"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["by_code"].get("01", 0) >= 3 and s["by_code"].get("07", 0) >= 1, s["by_code"]
PY

# A file of only a header, then an empty file: a run of 0 records completes.
for kind in header empty; do
	mkdir -p "$t/$kind"
	cp "$t/week/dossiers.csv" "$t/week/coverage.csv" "$t/$kind/"
	if [ "$kind" = header ]; then
		head -n 1 data/sample/week.csv >"$t/$kind/week.csv"
	else
		: >"$t/$kind/week.csv"
	fi
	expect "$t/$kind" "2026-W7$kind" "$t/$kind/expected"
	run_local "$t/$kind" "2026-W7$kind" "$t/$kind/out"
	same_outputs "$t/$kind/expected" "$t/$kind/out"
	python3 - "$t/$kind/out/summary.json" <<'PY' || fail "$kind: the summary is not a run of 0 records"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["lines"] == 0 and s["integrated"] == 0 and s["failed"] == 0, s
PY
done
