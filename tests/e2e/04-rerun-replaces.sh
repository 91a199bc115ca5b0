#!/usr/bin/env bash
# The same week run twice on one Redis (AIJ_KEEP_REDIS): the second run's
# reports replace the first's whole (an ML without failures any more has no
# report), and each integrated dispositif is in Redis exactly once.
. "$(dirname "$0")/lib.sh"

gen "$t/a" --lines 200 --seed 14 --header
start_redis
export AIJ_KEEP_REDIS=$redis_addr

# The second week: the first with every failed line of one ML blanked (blank
# lines keep the line numbers of the others).
mkdir -p "$t/b"
cp "$t/a/dossiers.csv" "$t/a/coverage.csv" "$t/b/"
gone=$(python3 - "$t/a" "$t/b" <<'PY'
import collections, sys
a, b = sys.argv[1], sys.argv[2]
rows = [l.rstrip("\n").split(";") for l in open(f"{a}/cases.csv", encoding="utf-8")][1:]
by_ml = collections.defaultdict(set)
for line, _case, _expect, route in rows:
    for ml in filter(None, route.split("|")):
        by_ml[ml].add(int(line))
# The ML with the fewest failed lines (ties: by code) loses them all.
ml = min((m for m in by_ml if m != "_national"), key=lambda m: (len(by_ml[m]), m))
blank = by_ml[ml]
with open(f"{a}/week.csv", "rb") as f:
    lines = f.read().split(b"\n")
with open(f"{b}/week.csv", "wb") as f:
    f.write(b"\n".join(b"" if n in blank else l for n, l in enumerate(lines, 1)))
with open(f"{b}/cases.csv", "w", encoding="utf-8") as f:
    f.write("line;case;expect;route\n")
    f.writelines(";".join(r) + "\n" for r in rows if int(r[0]) not in blank)
print(ml)
PY
) || fail "cannot build the second week"
[ -n "$gone" ] || fail "no ML to empty"

# expected_dispositifs WEEKDIR EXPECTED: "dossier_id sigma;type;date_debut"
# of every integrated line, each pair once, sorted.
expected_dispositifs() {
	python3 - "$1/week.csv" "$2/integrated.csv" <<'PY' | LC_ALL=C sort -u
import sys
week = {}
for n, raw in enumerate(open(sys.argv[1], "rb").read().split(b"\n"), 1):
    raw = raw[:-1] if raw.endswith(b"\r") else raw
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    week[n] = [f.strip(" \t") for f in text.split(";")]
for row in open(sys.argv[2], encoding="utf-8").read().splitlines()[1:]:
    line, dossier, _step = row.split(";")
    f = week[int(line)]
    print(f"{dossier} {f[0]};{f[7]};{f[8]}")
PY
}

# redis_dispositifs: the same, from Redis.
redis_dispositifs() {
	local key
	redis-cli -p "$redis_port" --scan --pattern 'aij:dispositifs:*' | while read -r key; do
		redis-cli -p "$redis_port" hkeys "$key" | sed "s|^|${key#aij:dispositifs:} |"
	done | LC_ALL=C sort
}

oracle "$t/a" 2026-W52 "$t/exp-a"
oracle "$t/b" 2026-W52 "$t/exp-b"
[ -f "$t/exp-a/reports/$gone.csv" ] || fail "the oracle gives no report for $gone in the first week"
[ ! -e "$t/exp-b/reports/$gone.csv" ] || fail "the oracle still gives a report for $gone"
expected_dispositifs "$t/a" "$t/exp-a" >"$t/dispositifs.expected"
[ -s "$t/dispositifs.expected" ] || fail "no integrated line in the week"

run_local "$t/a" 2026-W52 "$t/out"
same_outputs "$t/exp-a" "$t/out"
redis_dispositifs >"$t/dispositifs.1"
diff -u "$t/dispositifs.expected" "$t/dispositifs.1" >&2 || fail "Redis after the first run"

# The same run once more, the ML's failures gone.
run_local "$t/b" 2026-W52 "$t/out"
same_outputs "$t/exp-b" "$t/out"
[ ! -e "$t/out/reports/$gone.csv" ] || fail "the report of $gone is still there"
redis_dispositifs >"$t/dispositifs.2"
diff -u "$t/dispositifs.expected" "$t/dispositifs.2" >&2 || fail "Redis after the second run"
echo "$(wc -l <"$t/dispositifs.2") dispositifs in Redis, each once; report of $gone gone"
# Redis was left running, as AIJ_KEEP_REDIS asks.
[ "$(redis-cli -p "$redis_port" ping)" = PONG ] || fail "Redis was stopped"
