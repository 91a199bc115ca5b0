# Shared by the inbox tests (80-84; sourced after lib.sh): the unattended
# service on $t/inbox writing into $t/out, files dropped the way rsync does
# (a hidden temporary name, then a rename), the run history read back.

inbox=$t/inbox
out=$t/out
mkdir -p "$t/logs"

# gone PID: the process PID is not there any more.
gone() {
	! kill -0 "$1" 2>/dev/null
}

# watch_start [aij-local options]: deploy/aij-local --watch $inbox --out $out
# --coverage $t/week/coverage.csv --matchers 1 OPTIONS, in the background,
# its output appended to $t/local.log; local_pid. Returns once aij-inbox
# watches.
watch_start() {
	local before
	before=$(grep -c "inbox\[[0-9]*\] watching" "$t/local.log" 2>/dev/null || true)
	deploy/aij-local --watch "$inbox" --out "$out" --coverage "$t/week/coverage.csv" \
		--matchers 1 "$@" >>"$t/local.log" 2>&1 &
	local_pid=$!
	e2e_pids+=($!)
	wait_until 60 "aij-inbox to watch (see $t/local.log)" watching "$((${before:-0} + 1))"
}
watching() {
	[ "$(grep -c "inbox\[[0-9]*\] watching" "$t/local.log" 2>/dev/null || true)" -ge "$1" ] && return 0
	gone "$local_pid" && fail "aij-local stopped (see $t/local.log)"
	return 1
}

# watch_stop: SIGTERM to aij-local: everything it started stops, exit 0.
watch_stop() {
	kill -TERM "$local_pid"
	wait_until 20 "aij-local to stop after SIGTERM (see $t/local.log)" gone "$local_pid"
	local rc=0
	wait "$local_pid" || rc=$?
	[ "$rc" -eq 0 ] || fail "aij-local exited with $rc on SIGTERM (see $t/local.log)"
	# Nothing it started is left (the paths of this test are on their
	# command lines).
	! pgrep -f -- "--out $out" >/dev/null || fail "a process of aij-local is left: $(pgrep -af -- "--out $out")"
}

# drop KIND SRC NAME [done|accept|none]: SRC into $inbox/KIND/NAME under a
# hidden temporary name first (as rsync does), then its marker (default
# done; none: complete after the settle time).
drop() {
	local kind=$1 src=$2 name=$3 how=${4:-done} dir=$inbox/$1
	mkdir -p "$dir"
	cp "$src" "$dir/.$name.Xq81Zb"
	mv "$dir/.$name.Xq81Zb" "$dir/$name"
	case "$how" in
	done) : >"$dir/$name.done" ;;
	accept) : >"$dir/$name.accept" ;;
	none) ;;
	*) fail "drop: unknown marker '$how'" ;;
	esac
}

# filed WHERE KIND NAME: $inbox/WHERE/KIND/NAME exists (WHERE: archive, held).
filed() {
	[ -e "$inbox/$1/$2/$3" ]
}

# wait_filed WHERE KIND NAME [SECONDS] [PID]: until it is filed there, while
# PID (default: aij-local) runs.
wait_filed() {
	local pid=${5:-${local_pid:-}}
	wait_until "${4:-120}" "'$3' in $inbox/$1/$2/ (see $t/local.log, $t/logs/)" \
		filed_or_dead "$1" "$2" "$3" "$pid"
}
filed_or_dead() {
	filed "$1" "$2" "$3" && return 0
	[ -z "$4" ] || ! gone "$4" || fail "process $4 stopped while waiting for '$3' in $1/$2/"
	return 1
}

# entries [python filter on e]: the entries of $out/runs.json as
# "status guard run_id attempt source accepted" lines, oldest first.
entries() {
	python3 - "$out/runs.json" "${1:-True}" <<'PY'
import json, os, sys
path, cond = sys.argv[1], sys.argv[2]
for e in json.load(open(path)) if os.path.exists(path) else []:
    if eval(cond, {}, {"e": e}):
        print(e.get("status"), e.get("guard") or "-", e.get("run_id"), e.get("attempt") or "-",
              e.get("source"), str(e.get("accepted", False)).lower())
PY
}

# published_run SOURCE: the run id of the last published week of SOURCE.
published_run() {
	entries "e['kind'] == 'dispositifs' and e['source'] == '$1' and e['status'] == 'published'" |
		tail -n 1 | cut -d' ' -f3
}

# outputs_sum: one checksum of every file the reporter publishes in $out
# (through its symbolic links: reports -> current/reports...), and of their
# names; fails when there is none.
outputs_sum() {
	local f what=()
	for f in reports attached integrated.csv summary.json; do
		[ ! -e "$out/$f" ] || what+=("$f")
	done
	[ "${#what[@]}" -eq 4 ] || fail "outputs_sum: not every output is in $out: ${what[*]}"
	(cd "$out" && find -L "${what[@]}" -type f | sort | xargs -r sha256sum | sha256sum)
}

# oracle_of WEEKFILE RUN_ID EXPECTED: the oracle's outputs for WEEKFILE with
# the week's export and coverage.
oracle_of() {
	python3 tests/e2e/oracle.py --dispositifs "$1" --dossiers "$t/week/dossiers.csv" \
		--coverage "$t/week/coverage.csv" --run-id "$2" --out "$3" >/dev/null ||
		fail "oracle.py on $1"
}
