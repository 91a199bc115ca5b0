#!/usr/bin/env bash
# Bad invocations of deploy/aij-local: a clear message, exit 2, nothing
# started, nothing written.
. "$(dirname "$0")/lib.sh"

gen "$t/week" --seed 15
w=$t/week

# expect_fail CODE PATTERN [aij-local arguments]
expect_fail() {
	local code=$1 pattern=$2 rc=0
	shift 2
	deploy/aij-local "$@" >"$t/stdout" 2>"$t/stderr" || rc=$?
	[ "$rc" -eq "$code" ] || { cat "$t/stderr" >&2; fail "exit $rc, expected $code: aij-local $*"; }
	grep -qF -- "$pattern" "$t/stderr" || { cat "$t/stderr" >&2; fail "no '$pattern' in the message"; }
}

expect_fail 2 "cannot read --dispositifs '$t/nope.csv': No such file or directory" \
	--dispositifs "$t/nope.csv" --dossiers "$w/dossiers.csv" --coverage "$w/coverage.csv" --out "$t/out"
expect_fail 2 "cannot read --dossiers '$t/nope.csv'" \
	--dispositifs "$w/week.csv" --dossiers "$t/nope.csv" --coverage "$w/coverage.csv" --out "$t/out"
expect_fail 2 "cannot read --coverage '$t/week': Is a directory" \
	--dispositifs "$w/week.csv" --dossiers "$w/dossiers.csv" --coverage "$t/week" --out "$t/out"
expect_fail 2 "cannot read --motifs '$t/nope.csv'" \
	--dispositifs "$w/week.csv" --dossiers "$w/dossiers.csv" --coverage "$w/coverage.csv" \
	--motifs "$t/nope.csv" --out "$t/out"
expect_fail 2 "option '--out' is required" \
	--dispositifs "$w/week.csv" --dossiers "$w/dossiers.csv" --coverage "$w/coverage.csv"
expect_fail 2 "option '--matchers' wants an integer" \
	--dispositifs "$w/week.csv" --dossiers "$w/dossiers.csv" --coverage "$w/coverage.csv" \
	--out "$t/out" --matchers 0
expect_fail 2 "unknown argument '--bogus'" --bogus
[ ! -e "$t/out" ] || fail "the output folder was created by a failed invocation"

# Every program refuses an unknown log level the same way (lib/log.c).
for p in aij-broker aij-indexer aij-ingest aij-matcher aij-reporter; do
	rc=0
	AIJ_LOG_LEVEL=loud "$AIJ_BIN/$p" >"$t/stdout" 2>"$t/stderr" || rc=$?
	[ "$rc" -eq 2 ] || fail "$p: exit $rc with AIJ_LOG_LEVEL=loud, expected 2"
	grep -qF "unknown log level 'loud' (error, warn, info or debug)" "$t/stderr" ||
		{ cat "$t/stderr" >&2; fail "$p: no clear message for an unknown log level"; }
done
