#!/usr/bin/env bash
# The same week with 1 and with 3 matchers: byte-identical outputs (and the
# oracle's).
. "$(dirname "$0")/lib.sh"

gen "$t/week" --lines 1500 --seed 13 --header
oracle "$t/week" 2026-W50 "$t/expected"
run_local "$t/week" 2026-W50 "$t/one" --matchers 1
run_local "$t/week" 2026-W50 "$t/three" --matchers 3
same_outputs "$t/one" "$t/three"
same_outputs "$t/expected" "$t/three"
