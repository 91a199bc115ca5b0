#!/usr/bin/env bash
# A Windows-1252 week with CRLF line ends and a header: the reports are UTF-8
# and equal the oracle's.
. "$(dirname "$0")/lib.sh"

gen "$t/week" --lines 100 --seed 12 --encoding cp1252 --crlf --header
# The input really is what the test says.
python3 - "$t/week/week.csv" <<'PY' || fail "the generated week is not cp1252 + CRLF + header"
import sys
data = open(sys.argv[1], "rb").read()
try:
    data.decode("utf-8")
    sys.exit("valid UTF-8")
except UnicodeDecodeError:
    pass
lines = data.split(b"\n")
assert all(l.endswith(b"\r") for l in lines[:-1] if l), "a line without CR"
assert lines[0].lower().startswith(b"identifiant_sigma;"), "no header"
assert "LEFÈVRE".encode("cp1252") in data.upper() or b"\xe9" in data, "no accented letter"
PY
oracle "$t/week" 2026-W49 "$t/expected"
run_local "$t/week" 2026-W49 "$t/out"
same_outputs "$t/expected" "$t/out"
# The accented names came out in UTF-8.
cat "$t/out/reports"/*.csv | iconv -f utf-8 -t utf-8 >/dev/null || fail "a report is not UTF-8"
grep -rq "é" "$t/out/reports" || fail "no accented letter in the reports"
