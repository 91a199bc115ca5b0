# Shared by the editions service tests (sourced after lib.sh): an output
# folder written by hand in the exact format of SPEC §6, a users file, and
# aij-editions serving them.

ed_header=$'Identifiant SIGMA;Code P\xc3\xb4le Emploi;Nom de naissance;Pr\xc3\xa9nom;Date de naissance;Commune INSEE de r\xc3\xa9sidence;Codes retour'
ML_A=ML200054781   # "our" ML of the ML users
ML_B=ML200000438   # another ML

# ed_report FILE ROW...: a report, UTF-8 with BOM, CRLF, the header, the rows.
ed_report() {
	local file=$1 row
	shift
	{
		printf '\xef\xbb\xbf%s\r\n' "$ed_header"
		for row in "$@"; do
			printf '%s\r\n' "$row"
		done
	} >"$file"
}

# ed_run DIR RUN_ID: what a run writes (reports/ swapped in whole, then
# summary.json), as the reporter does; replaces the previous run.
ed_run() {
	local dir=$1 run=$2 stage
	mkdir -p "$dir"
	stage=$(mktemp -d "$dir/.tmp-test.XXXXXX")
	mkdir "$stage/reports"
	ed_report "$stage/reports/$ML_A.csv" \
		"4100052174;;Garnier;Chloé;22/11/2001;75101;05" \
		"4100171799;5032518C;Lacroix;Hugo;04/05/2007;94067;03/03/05" \
		"4100042709;7791863N;Girard;Aurélien;01/05/2000;94028;09"
	ed_report "$stage/reports/$ML_B.csv" \
		"4100000001;1234567A;Le Goff;Anaïs;01/02/2003;44130;02/05/04"
	ed_report "$stage/reports/_national.csv" \
		"4100000002;;Martin;Paul;02/03/2004;99999;08" \
		"4100000003;;Petit;Léa;03/04/2004;;01"
	cat >"$stage/summary.json" <<JSON
{"run_id": "$run", "lines": 20, "integrated": 14, "failed": 6,
 "by_code": {"01": 1, "02": 1, "03": 1, "04": 1, "05": 3, "08": 1, "09": 1},
 "by_step": {"1": 10, "2": 2, "3": 2},
 "reports": {"$ML_A": 3, "$ML_B": 1, "_national": 2}}
JSON
	rm -rf "$dir/reports.old"
	[ -d "$dir/reports" ] && mv "$dir/reports" "$dir/reports.old"
	mv "$stage/reports" "$dir/reports"
	mv "$stage/summary.json" "$dir/summary.json"
	rm -rf "$stage" "$dir/reports.old"
}

ed_coverage() {
	{
		echo "ml_code;ml_nom;code_postal"
		echo "$ML_A;Mission Locale Métropole du Grand Paris;75001"
		echo "$ML_B;Mission Locale CC du Pays de Pontchâteau St-Gildas-des-Bois;44160"
	} >"$1"
}

# ed_user FILE LOGIN TOKEN STRUCTURE RIGHTS [PASSWORD]: one user, the token
# hashed with SHA-256 ("" for none), the password with aij-editions
# --hash-password (none without PASSWORD).
ed_user() {
	local hash="" pw=""
	[ -s "$1" ] || echo "login;token_sha256;structure;droits;password_hash" >"$1"
	[ -z "$3" ] || hash=$(printf '%s' "$3" | sha256sum | cut -d' ' -f1)
	if [ -n "${6:-}" ]; then
		pw=$(printf '%s\n' "$6" | "$AIJ_BIN/aij-editions" --hash-password) || fail "--hash-password"
	fi
	echo "$2;$hash;$4;$5;$pw" >>"$1"
}

# ed_start DIR USERS [more aij-editions options]: serves DIR; sets ed_url.
ed_start() {
	local dir=$1 users=$2 port i
	shift 2
	port=$(free_port)
	"$AIJ_BIN/aij-editions" --listen "127.0.0.1:$port" --users "$users" --out "$dir" \
		--log-level debug "$@" >>"$t/editions.log" 2>&1 &
	e2e_pids+=($!)
	ed_pid=$!
	ed_url=http://127.0.0.1:$port
	for i in $(seq 100); do
		curl -sf "$ed_url/healthz" >/dev/null 2>&1 && return 0
		kill -0 "$ed_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$t/editions.log" >&2
	fail "aij-editions did not come up on $ed_url"
}

# ed_login LOGIN PASSWORD: logs in through the form; the session cookie in
# the jar $t/jar-LOGIN, the session's CSRF token (from a page) in
# $t/csrf-LOGIN. Fails unless the answer is 303 with a cookie.
ed_login() {
	local code
	rm -f "$t/jar-$1"
	code=$(curl -s -o "$t/body" -D "$t/headers" -w '%{http_code}' -c "$t/jar-$1" \
		--data-urlencode "login=$1" --data-urlencode "password=$2" "$ed_url/login") ||
		fail "curl POST /login"
	[ "$code" = 303 ] || fail "log-in of $1: status $code: $(head -c 300 "$t/body")"
	grep -qi '^Set-Cookie: aij_session=' "$t/headers" || fail "log-in of $1: no cookie"
	curl -s -b "$t/jar-$1" -H 'Accept: text/html' "$ed_url/editions.html" >"$t/page" || true
	sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$t/page" | head -n 1 >"$t/csrf-$1"
	[ -s "$t/csrf-$1" ] || fail "log-in of $1: no CSRF token in the page"
}

# ed_csrf LOGIN: the session's CSRF token.
ed_csrf() {
	cat "$t/csrf-$1"
}

# ed_creq METHOD PATH LOGIN [curl options]: as ed_req, with the session
# cookie of LOGIN (ed_login) instead of a token.
ed_creq() {
	local method=$1 path=$2 login=$3
	shift 3
	curl -s --path-as-is -o "$t/body" -D "$t/headers" -w '%{http_code}' \
		-X "$method" -b "$t/jar-$login" "$@" "$ed_url$path"
}

# ed_cexpect WANT METHOD PATH LOGIN [curl options]: fails unless the status
# is WANT (with the session of LOGIN).
ed_cexpect() {
	local want=$1 got
	shift
	got=$(ed_creq "$@") || fail "curl $1 $2 failed"
	[ "$got" = "$want" ] || fail "$1 $2 (session of ${3}): status $got, want $want: $(head -c 300 "$t/body")"
}

# ed_french: the last answer is a French page (lang="fr", an "Erreur" or a
# form) whose text holds none of the English words of the former pages.
ed_french() {
	grep -q '<html lang="fr">' "$t/body" || fail "not a French page: $(head -c 300 "$t/body")"
	if grep -qiE 'this needs|not allowed|no such|missing token|unknown token|is not one of' "$t/body"; then
		fail "English on a page: $(grep -oiE '.{0,60}(this needs|not allowed|no such|missing token|unknown token|is not one of).{0,60}' "$t/body" | head -n 3)"
	fi
}

# ed_stop: stops the service started last with SIGTERM; fails unless it
# exits 0 and its log holds no sanitizer report (a leak, under ASan).
ed_stop() {
	local rc=0
	kill -TERM "$ed_pid"
	wait "$ed_pid" || rc=$?
	[ "$rc" -eq 0 ] || fail "aij-editions exited with $rc on SIGTERM (see $t/editions.log)"
	if grep -qE 'Sanitizer|runtime error' "$t/editions.log"; then
		fail "aij-editions: $(grep -m1 -E 'Sanitizer|runtime error' "$t/editions.log")"
	fi
	grep -q 'editions: stopped' "$t/editions.log" || fail "aij-editions did not say it stopped"
}

# ed_req METHOD PATH TOKEN [curl options]: the HTTP status on stdout, the
# body in $t/body, the headers in $t/headers. TOKEN "" sends none.
ed_req() {
	local method=$1 path=$2 token=$3
	shift 3
	local auth=()
	[ -n "$token" ] && auth=(-H "Authorization: Bearer $token")
	curl -s --path-as-is -o "$t/body" -D "$t/headers" -w '%{http_code}' \
		-X "$method" "${auth[@]}" "$@" "$ed_url$path"
}

# ed_expect WANT METHOD PATH TOKEN [curl options]: fails unless the status
# is WANT; an error status must come with a JSON {"error": ...}.
ed_expect() {
	local want=$1 got
	shift
	got=$(ed_req "$@") || fail "curl $1 $2 failed"
	[ "$got" = "$want" ] || fail "$1 $2 (token '${3:-none}'): status $got, want $want: $(head -c 300 "$t/body")"
	if [ "$want" -ge 400 ] && [ "$1" != HEAD ]; then
		grep -q '"error"' "$t/body" || grep -q '<title>Erreur' "$t/body" ||
			grep -q '<title>Connexion' "$t/body" ||
			fail "$1 $2: error $got without an error message: $(head -c 300 "$t/body")"
	fi
}

# ed_tree DIR: a fingerprint of every file under DIR (names and contents).
ed_tree() {
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
}

# ed_three_weeks OUT: a generated week with near misses (gen_week.py
# --near-misses: dossiers edited so that lines nearly match them) published
# three weeks in a row into OUT (2026-W20, -W21, -W22) by deploy/aij-local
# on one Redis. In the first week the even lines had another
# identifiant_sigma: in OUT, a line failing every week has weeks_rejected 3,
# an even one 2, one without identifiant_sigma 1. The weeks' files in
# $t/pweek/{1,2,3}.
ed_three_weeks() {
	local out=$1 w=$t/pweek n
	gen "$w/0" --lines 150 --seed 19 --near-misses --evidence-cases "$w/0/evidence.csv"
	for n in 1 2 3; do
		mkdir -p "$w/$n"
		cp "$w/0/dossiers.csv" "$w/0/coverage.csv" "$w/$n/"
	done
	awk -F';' -v OFS=';' 'NR % 2 == 0 && NF == 12 && $1 != "" { $1 = "9" $1 } { print }' \
		"$w/0/week.csv" >"$w/1/week.csv"
	cp "$w/0/week.csv" "$w/2/week.csv"
	# Not the same file again (that would be held): a space, trimmed away.
	sed '1s/$/ /' "$w/0/week.csv" >"$w/3/week.csv"
	[ -n "${redis_addr:-}" ] || start_redis
	for n in 1 2 3; do
		AIJ_KEEP_REDIS=$redis_addr run_local "$w/$n" "2026-W2$((n - 1))" "$out"
	done
	grep -q '"3": ' "$out/weeks.json" || fail "no line failing 3 weeks in a row: $(cat "$out/weeks.json")"
	grep -q '"2": ' "$out/weeks.json" || fail "no line failing 2 weeks in a row: $(cat "$out/weeks.json")"
}
