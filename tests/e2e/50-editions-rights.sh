#!/usr/bin/env bash
# Editions service, rights: every combination of rights (consulter_edition,
# telecharger_rapports, gerer_editions) and structure (an ML, NATIONAL) for
# the list, the page, the CSV and XLSX downloads, replace and delete, on the
# ML's own report, another ML's and the national one; through the API (a
# Bearer token) and through the browser (the session cookie of a log-in,
# the forms with their CSRF token). No token, unknown tokens and ?token=
# (no longer accepted anywhere): 401. A refused request changes nothing.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/editions-lib.sh"

dir=$t/out
users=$t/users.csv
ed_run "$dir" 2026-W48
ed_coverage "$t/coverage.csv"
cp -r "$dir/reports" "$t/pristine"

# One user per structure and subset of rights: bit 1 consulter, 2 telecharger,
# 4 gerer; each with a token and a password.
rights_of() {
	local bits=$1 r=()
	((bits & 1)) && r+=(consulter_edition)
	((bits & 2)) && r+=(telecharger_rapports)
	((bits & 4)) && r+=(gerer_editions)
	local IFS=,
	echo "${r[*]}"
}
for s in "$ML_A" NATIONAL; do
	for bits in 0 1 2 3 4 5 6 7; do
		ed_user "$users" "u-$s-$bits" "tok-$s-$bits" "$s" "$(rights_of $bits)" "pw-$s-$bits"
	done
done
ed_start "$dir" "$users" --coverage "$t/coverage.csv"

# Restores the reports of the run as they were.
restore() {
	rm -rf "$dir/reports"
	cp -r "$t/pristine" "$dir/reports"
}

ed_report "$t/upload.csv" "9999999999;;Upload;Test;01/01/2001;75101;05"

checks=0
for s in "$ML_A" NATIONAL; do
	for bits in 0 1 2 3 4 5 6 7; do
		tok="tok-$s-$bits" u="u-$s-$bits"
		c=$((bits & 1)) d=$(((bits & 3) == 3)) g=$(((bits & 4) != 0))
		ed_login "$u" "pw-$s-$bits"

		# The list: consulter_edition, and only what the user may see.
		if [ $c -eq 1 ]; then
			ed_expect 200 GET /editions "$tok"
			got=$(python3 -c 'import json,sys; print(" ".join(e["ml_code"] for e in json.load(open(sys.argv[1]))["editions"]))' "$t/body")
			if [ "$s" = NATIONAL ]; then want="_national $ML_B $ML_A"; else want="$ML_A"; fi
			[ "$got" = "$want" ] || fail "list for $tok: '$got', want '$want'"
			ed_cexpect 200 GET /editions.html "$u"
		else
			ed_expect 403 GET /editions "$tok"
			ed_cexpect 403 GET /editions.html "$u"
			ed_french
		fi

		for target in "$ML_A" "$ML_B" _national; do
			sees=0
			{ [ "$s" = NATIONAL ] || [ "$target" = "$ML_A" ]; } && sees=1
			before=$(ed_tree "$dir")

			# Downloads: consulter + telecharger, and the report is the user's;
			# the CSV the same with the token or the cookie.
			if [ $d -eq 1 ] && [ $sees -eq 1 ]; then
				ed_expect 200 GET "/editions/$target" "$tok"
				cmp -s "$t/body" "$dir/reports/$target.csv" || fail "$tok: download of $target is not the file"
				ed_cexpect 200 GET "/editions/$target" "$u"
				cmp -s "$t/body" "$dir/reports/$target.csv" || fail "$u: download of $target with the cookie is not the file"
				ed_expect 200 GET "/editions/$target.csv" "$tok"
				cmp -s "$t/body" "$dir/reports/$target.csv" || fail "$tok: download of $target.csv is not the file"
				ed_expect 200 GET "/editions/$target.xlsx" "$tok"
				ed_cexpect 200 GET "/editions/$target.xlsx" "$u"
				[ "$(head -c 2 "$t/body")" = PK ] || fail "$u: the XLSX of $target is not a zip"
			else
				ed_expect 403 GET "/editions/$target" "$tok"
				ed_cexpect 403 GET "/editions/$target" "$u"
				ed_expect 403 GET "/editions/$target.csv" "$tok"
				ed_expect 403 GET "/editions/$target.xlsx" "$tok"
			fi
			# The page: consulter.
			if [ $c -eq 1 ] && [ $sees -eq 1 ]; then
				ed_cexpect 200 GET "/editions/$target.html" "$u"
				grep -q '4100' "$t/body" || fail "$u: page of $target without its rows"
				ed_expect 200 GET "/editions/$target.html" "$tok"
			else
				ed_cexpect 403 GET "/editions/$target.html" "$u"
				ed_french
			fi

			# Replace and delete: gerer_editions, and the report is the user's.
			if [ $g -eq 1 ] && [ $sees -eq 1 ]; then
				ed_expect 200 PUT "/editions/$target" "$tok" --data-binary "@$t/upload.csv"
				cmp -s "$t/upload.csv" "$dir/reports/$target.csv" || fail "$tok: PUT $target did not replace it"
				restore
				ed_expect 200 DELETE "/editions/$target" "$tok"
				[ ! -e "$dir/reports/$target.csv" ] || fail "$tok: DELETE $target left the file"
				ed_expect 404 GET "/editions/$target" tok-NATIONAL-7
				restore
				# The browser's forms: the confirmation page, then the delete.
				ed_cexpect 200 GET "/editions/$target/supprimer" "$u"
				ed_cexpect 200 GET "/editions/$target/remplacer" "$u"
				ed_cexpect 303 POST "/editions/$target/supprimer" "$u" \
					--data-urlencode "csrf=$(ed_csrf "$u")" --data-urlencode confirmer=oui
				[ ! -e "$dir/reports/$target.csv" ] || fail "$u: the delete form left $target"
				restore
			else
				ed_expect 403 PUT "/editions/$target" "$tok" --data-binary "@$t/upload.csv"
				ed_expect 403 DELETE "/editions/$target" "$tok"
				ed_cexpect 403 GET "/editions/$target/supprimer" "$u"
				ed_cexpect 403 POST "/editions/$target/supprimer" "$u" \
					--data-urlencode "csrf=$(ed_csrf "$u")" --data-urlencode confirmer=oui
				ed_french
				ed_cexpect 403 PUT "/editions/$target" "$u" -H "X-CSRF-Token: $(ed_csrf "$u")" \
					--data-binary "@$t/upload.csv"
				[ "$(ed_tree "$dir")" = "$before" ] || fail "$tok: a refused request on $target changed the files"
			fi
			checks=$((checks + 12))
		done
	done
done

# No token, an unknown token, a token in the wrong place: 401, nothing changes.
before=$(ed_tree "$dir")
for tok in "" nope "tok-NATIONAL-7x"; do
	ed_expect 401 GET /editions "$tok"
	ed_expect 401 GET "/editions/$ML_A" "$tok"
	ed_expect 401 GET "/editions/$ML_A.csv" "$tok"
	ed_expect 401 GET "/editions/$ML_A.xlsx" "$tok"
	ed_expect 401 GET "/editions/$ML_A.html" "$tok"
	ed_expect 401 PUT "/editions/$ML_A" "$tok" --data-binary "@$t/upload.csv"
	ed_expect 401 DELETE "/editions/$ML_A" "$tok"
done
grep -qi '^WWW-Authenticate: Bearer' "$t/headers" || fail "401 without WWW-Authenticate"
# ?token= is accepted nowhere any more: not on the pages either.
for path in /editions "/editions/$ML_A" "/editions/$ML_A.xlsx" "/editions/$ML_A.html" \
	/editions.html /dossiers/D1/dispositifs /runs /historique.html; do
	ed_expect 401 GET "$path?token=tok-NATIONAL-7" ""
done
ed_expect 401 GET "/editions.html?token=tok-NATIONAL-7" "" -H 'Accept: text/html'
ed_french
grep -q '?token= ne sont plus acceptés' "$t/body" || fail "the page does not say ?token= is gone"
ed_expect 401 DELETE "/editions/$ML_A?token=tok-NATIONAL-7" ""
ed_expect 401 GET /editions "" -H "Authorization: Basic dG9rLU5BVElPTkFMLTc="
# A token does not make a session, nor a session a token.
ed_expect 401 GET /editions "" -b "aij_session=tok-NATIONAL-7"
ed_expect 401 GET /editions "$(cat "$t/jar-u-NATIONAL-7" | awk '$6 == "aij_session" { print $7 }')"
[ "$(ed_tree "$dir")" = "$before" ] || fail "unauthenticated requests changed the files"

# A report that is not there: 404 for a national user; for an ML user another
# ML's report is 403 whether it exists or not (nothing leaks).
ed_expect 404 GET /editions/ML999999999 tok-NATIONAL-7
ed_expect 404 GET /editions/ML999999999.html tok-NATIONAL-7
ed_expect 404 GET /editions/ML999999999.xlsx tok-NATIONAL-7
ed_expect 404 GET /editions/ML999999999.csv tok-NATIONAL-7
ed_expect 404 PUT /editions/ML999999999 tok-NATIONAL-7 --data-binary "@$t/upload.csv"
ed_expect 404 DELETE /editions/ML999999999 tok-NATIONAL-7
[ ! -e "$dir/reports/ML999999999.csv" ] || fail "PUT created a report that did not exist"
ed_expect 403 GET /editions/ML999999999 "tok-$ML_A-7"

# The downloads' headers.
ed_expect 200 GET "/editions/$ML_A" "tok-$ML_A-3"
grep -qi '^Content-Type: text/csv; charset=utf-8' "$t/headers" || fail "download Content-Type: $(cat "$t/headers")"
grep -qiF "filename*=UTF-8''_Rapport%20int%C3%A9gration%20AIJ%20-%20$ML_A%20-%202026-W48.csv" "$t/headers" ||
	fail "download Content-Disposition: $(grep -i disposition "$t/headers")"
grep -qiF "filename=\"_Rapport integration AIJ - $ML_A - 2026-W48.csv\"" "$t/headers" ||
	fail "download Content-Disposition ASCII fallback: $(grep -i disposition "$t/headers")"
# /editions/<ml>.csv: the same download, the same headers.
grep -i '^content-\(type\|disposition\)' "$t/headers" | sort >"$t/csv-headers"
ed_expect 200 GET "/editions/$ML_A.csv" "tok-$ML_A-3"
cmp -s "$t/body" "$dir/reports/$ML_A.csv" || fail "GET $ML_A.csv is not the report"
grep -i '^content-\(type\|disposition\)' "$t/headers" | sort | cmp -s - "$t/csv-headers" ||
	fail "GET $ML_A.csv headers: $(cat "$t/headers")"
ed_expect 200 GET /editions/_national tok-NATIONAL-3
grep -qiF "filename=\"_Rapport integration AIJ - national - 2026-W48.csv\"" "$t/headers" ||
	fail "national download name: $(grep -i disposition "$t/headers")"
ed_expect 200 GET "/editions/$ML_A.xlsx" "tok-$ML_A-3"
grep -qi '^Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' "$t/headers" ||
	fail "XLSX Content-Type: $(cat "$t/headers")"
grep -qiF "filename=\"_Rapport integration AIJ - $ML_A - 2026-W48.xlsx\"" "$t/headers" ||
	fail "XLSX Content-Disposition: $(grep -i disposition "$t/headers")"

# The list's fields; its times with the Europe/Paris offset.
ed_expect 200 GET /editions "tok-$ML_A-1"
python3 - "$t/body" "$ML_A" <<'PY' || fail "list fields: $(cat "$t/body")"
import datetime, json, sys
j = json.load(open(sys.argv[1]))
e = j["editions"][0]
assert j["run_id"] == "2026-W48", j
assert e["ml_code"] == sys.argv[2] and e["run_id"] == "2026-W48", e
assert e["ml_name"] == "Mission Locale Métropole du Grand Paris", e
assert e["rows"] == 3 and e["size"] > 100, e
d = datetime.datetime.fromisoformat(e["date"])
assert d.utcoffset() in (datetime.timedelta(hours=1), datetime.timedelta(hours=2)), e["date"]
assert e["links"] == {"csv": "/editions/" + sys.argv[2], "xlsx": "/editions/" + sys.argv[2] + ".xlsx",
                      "html": "/editions/" + sys.argv[2] + ".html",
                      "json": "/editions/" + sys.argv[2] + ".json"}, e
PY

echo "rights: $checks combinations of user, report and operation checked"
ed_stop
