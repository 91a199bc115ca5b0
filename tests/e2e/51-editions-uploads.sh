#!/usr/bin/env bash
# Editions service, what could go wrong on the way in: bad paths and path
# traversal (plain, percent-encoded, encoded slashes, NUL), unknown methods,
# oversized uploads (with and without Content-Length) and malformed ones.
# Each gets a clear 4xx with a JSON error and nothing changes on disk. Then the
# life of a report: replaced (served as replaced), deleted (gone, 404) until
# the next run brings the run's reports back; and the users file reloaded
# when an administrator edits it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/editions-lib.sh"

dir=$t/out
users=$t/users.csv
ed_run "$dir" 2026-W48
ed_coverage "$t/coverage.csv"
echo "secret" >"$t/secret.txt"
ed_user "$users" admin tok-admin NATIONAL consulter_edition,telecharger_rapports,gerer_editions
ed_user "$users" ml tok-ml "$ML_A" consulter_edition,telecharger_rapports,gerer_editions
ed_start "$dir" "$users" --coverage "$t/coverage.csv"

ed_expect 200 GET /healthz ""
[ "$(cat "$t/body")" = ok ] || fail "/healthz says '$(cat "$t/body")'"

ed_report "$t/good.csv" "1;;A;B;01/01/2001;75101;05"
before=$(ed_tree "$dir")

# Bad paths and traversal: 400 (a bad report name) or 404 (no such
# resource), never a file outside reports/.
for path in \
	/editions/../summary.json /editions/..%2fsummary.json /editions/%2e%2e%2fsummary.json \
	/editions/%2E%2E /editions/.. /editions/. "/editions/$ML_A%2f..%2f..%2fsummary" \
	"/editions/$ML_A.csv" "/editions/$ML_A%00.html" "/editions/$ML_A%00" /editions/ \
	"/editions/$ML_A/" "/editions//$ML_A" "/editions/$ML_A/x" /editions/%2fetc%2fpasswd \
	"/editions/..%5c..%5csummary.json" "/editions/$(printf 'A%.0s' $(seq 64))" \
	"/editions/ML%20A" "/editions/%C3%A9" "/dossiers/../dispositifs" "/dossiers/..%2f/dispositifs"; do
	for tok in tok-admin tok-ml; do
		code=$(ed_req GET "$path" "$tok")
		case "$code" in 400 | 404) ;; *) fail "GET $path: status $code, want 400 or 404: $(head -c 200 "$t/body")" ;; esac
		grep -q '"error"' "$t/body" || grep -q '<title>Erreur' "$t/body" ||
			fail "GET $path: no error message: $(head -c 200 "$t/body")"
		grep -q secret "$t/body" && fail "GET $path served a file outside reports/"
		code=$(ed_req PUT "$path" "$tok" --data-binary "@$t/good.csv")
		case "$code" in 400 | 404 | 405) ;; *) fail "PUT $path: status $code" ;; esac
		code=$(ed_req DELETE "$path" "$tok")
		case "$code" in 400 | 404 | 405) ;; *) fail "DELETE $path: status $code" ;; esac
	done
done
ed_expect 400 GET /editions/..%2fsummary.json tok-admin
ed_expect 404 GET /nothing tok-admin
ed_expect 400 GET /editions/x/y/z tok-admin
[ "$(ed_tree "$dir")" = "$before" ] || fail "bad paths changed the files"

# Unknown methods: 405 with Allow.
ed_expect 405 POST "/editions/$ML_A" tok-admin --data-binary "@$t/good.csv"
grep -qi '^Allow: GET, HEAD, PUT, DELETE' "$t/headers" || fail "405 without Allow: $(cat "$t/headers")"
ed_expect 405 PATCH "/editions/$ML_A" tok-admin --data-binary "@$t/good.csv"
ed_expect 405 DELETE /editions tok-admin
grep -qi '^Allow: GET, HEAD' "$t/headers" || fail "405 without Allow on /editions"
ed_expect 405 PUT /editions tok-admin --data-binary "@$t/good.csv"
ed_expect 405 PUT "/editions/$ML_A.html" tok-admin --data-binary "@$t/good.csv"
ed_expect 405 DELETE /healthz ""
[ "$(ed_tree "$dir")" = "$before" ] || fail "unknown methods changed the files"

# Oversized uploads: 413, with a Content-Length (refused before reading) and
# chunked (read to the end, then refused). 8 MiB is the bound.
python3 - "$t/big.csv" "$ed_header" <<'PY'
import sys
row = "1234567890;1234567A;NOM;PRENOM;01/01/2000;75101;05/05/05\r\n"
head = ("\ufeff" + sys.argv[2] + "\r\n").encode()
n = (8 * 1024 * 1024 - len(head)) // len(row) + 1
open(sys.argv[1], "wb").write(head + row.encode() * n)
PY
[ "$(stat -c %s "$t/big.csv")" -gt 8388608 ] || fail "big.csv is not big"
ed_expect 413 PUT "/editions/$ML_A" tok-admin --data-binary "@$t/big.csv"
ed_expect 413 PUT "/editions/$ML_A" tok-admin -H "Transfer-Encoding: chunked" --data-binary "@$t/big.csv"
ed_expect 413 PUT "/editions/$ML_A" tok-admin -H "Expect: 100-continue" --data-binary "@$t/big.csv"
[ "$(ed_tree "$dir")" = "$before" ] || fail "oversized uploads changed the files"
# Just under the bound is fine.
python3 - "$t/near.csv" "$ed_header" <<'PY'
import sys
row = "1234567890;1234567A;NOM;PRENOM;01/01/2000;75101;05/05/05\r\n"
head = ("\ufeff" + sys.argv[2] + "\r\n").encode()
n = (8 * 1024 * 1024 - len(head)) // len(row)
open(sys.argv[1], "wb").write(head + row.encode() * n)
PY
ed_expect 200 PUT "/editions/$ML_B" tok-admin --data-binary "@$t/near.csv"
cmp -s "$t/near.csv" "$dir/reports/$ML_B.csv" || fail "the near-8-MiB upload was not stored as sent"
ed_run "$dir" 2026-W48
before=$(ed_tree "$dir")

# Malformed uploads: 422 (or 413 for none of these), nothing changes.
mk() { printf "$2" >"$t/bad-$1.csv"; }
H=$ed_header
mk empty ''
mk nobom "$H\r\n1;;A;B;01/01/2001;75101;05\r\n"
mk lf "\xef\xbb\xbf$H\n1;;A;B;01/01/2001;75101;05\n"
mk mixed "\xef\xbb\xbf$H\r\n1;;A;B;01/01/2001;75101;05\n"
mk noend "\xef\xbb\xbf$H\r\n1;;A;B;01/01/2001;75101;05"
mk header "\xef\xbb\xbfIdentifiant SIGMA;Code PE;Nom;Prénom;Date;Commune;Codes\r\n1;;A;B;01/01/2001;75101;05\r\n"
mk six "\xef\xbb\xbf$H\r\n1;;A;B;01/01/2001;05\r\n"
mk eight "\xef\xbb\xbf$H\r\n1;;A;B;01/01/2001;75101;05;x\r\n"
mk codes "\xef\xbb\xbf$H\r\n1;;A;B;01/01/2001;75101;5\r\n"
mk code11 "\xef\xbb\xbf$H\r\n1;;A;B;01/01/2001;75101;05/11\r\n"
mk blank "\xef\xbb\xbf$H\r\n\r\n1;;A;B;01/01/2001;75101;05\r\n"
mk latin1 "\xef\xbb\xbf$H\r\n1;;LEF\xc8VRE;B;01/01/2001;75101;05\r\n"
mk nul "\xef\xbb\xbf$H\r\n1;;A\x00;B;01/01/2001;75101;05\r\n"
mk cr "\xef\xbb\xbf$H\r\n1;;A\rB;B;01/01/2001;75101;05\r\n"
for f in "$t"/bad-*.csv; do
	ed_expect 422 PUT "/editions/$ML_A" tok-admin --data-binary "@$f"
	grep -q 'not a report' "$t/body" || fail "$(basename "$f"): the error does not say why: $(cat "$t/body")"
done
# A header only (every line handled) is a report.
ed_report "$t/header-only.csv"
[ "$(ed_tree "$dir")" = "$before" ] || fail "malformed uploads changed the files"

# A replaced report is served as replaced, by the list, the download and the page.
ed_report "$t/replaced.csv" "4100052174;;Garnier;Chloé;22/11/2001;75101;05" "7777777777;;Remplacé;Ligne;01/01/2001;75101;04"
ed_expect 200 PUT "/editions/$ML_A" tok-ml --data-binary "@$t/replaced.csv"
grep -q '"rows": 2' "$t/body" || fail "PUT answer: $(cat "$t/body")"
ed_expect 200 GET "/editions/$ML_A" tok-ml
cmp -s "$t/body" "$t/replaced.csv" || fail "the replaced report is not served as replaced"
ed_expect 200 GET "/editions/$ML_A.html" tok-ml
grep -q 7777777777 "$t/body" || fail "the page does not show the replaced report"
grep -q 4100171799 "$t/body" && fail "the page still shows a row of the old report"
ed_expect 200 GET /editions tok-ml
python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["editions"]; assert [x["rows"] for x in e] == [2], e' "$t/body" ||
	fail "the list does not count the replaced report's rows"
ls -a "$dir/reports" | grep -q upload && fail "a temporary upload file was left in reports/"

ed_expect 200 PUT "/editions/$ML_B" tok-admin --data-binary "@$t/header-only.csv"
ed_expect 200 GET "/editions/$ML_B.html" tok-admin

# A deleted report is gone until the next run.
ed_expect 200 DELETE /editions/_national tok-admin
ed_expect 404 GET /editions/_national tok-admin
ed_expect 404 GET /editions/_national.html tok-admin
ed_expect 404 DELETE /editions/_national tok-admin
ed_expect 404 PUT /editions/_national tok-admin --data-binary "@$t/good.csv"
ed_expect 200 GET /editions tok-admin
grep -q '"_national"' "$t/body" && fail "the deleted report is still listed"
[ ! -e "$dir/reports/_national.csv" ] || fail "the deleted report is still on disk"

# The next run replaces everything: the deleted report is back, the replaced
# ones are the run's.
ed_run "$dir" 2026-W49
ed_expect 200 GET /editions/_national tok-admin
cmp -s "$t/body" "$dir/reports/_national.csv" || fail "the new run's national report is not served"
grep -qF "2026-W49.csv" "$t/headers" || fail "the new run's id is not in the file name: $(grep -i disposition "$t/headers")"
ed_expect 200 GET "/editions/$ML_A" tok-ml
grep -q 7777777777 "$t/body" && fail "the replacement survived the next run"
grep -q 4100171799 "$t/body" || fail "the new run's report of $ML_A is not served"
ed_expect 200 GET /editions tok-admin
grep -q '"run_id": "2026-W49"' "$t/body" || fail "the list does not show the new run"

# No reports at all (before any run): an empty list, 404s.
rm -rf "$dir/reports" "$dir/summary.json"
ed_expect 200 GET /editions tok-admin
grep -q '"editions": \[\]' "$t/body" || fail "empty list: $(cat "$t/body")"
ed_expect 404 GET "/editions/$ML_A" tok-ml
ed_expect 200 GET "/editions.html?token=tok-ml" ""
ed_run "$dir" 2026-W49

# The users file is reloaded when it changes: a new user gets in, a removed
# one is out; a broken file keeps the previous users.
ed_expect 401 GET /editions tok-new
sleep 1 # a different modification time, whatever the filesystem's resolution
ed_user "$users" new tok-new "$ML_B" consulter_edition
ed_expect 200 GET /editions tok-new
grep -q "\"$ML_B\"" "$t/body" || fail "the new user does not see its report"
sleep 1
cp "$users" "$t/users.good"
echo "broken;line" >>"$users"
ed_expect 200 GET /editions tok-new
grep -q "users.csv:.*fields instead of 4" "$t/editions.log" || fail "the broken users file was not reported"
sleep 1
grep -v '^new;' "$t/users.good" >"$users"
ed_expect 401 GET /editions tok-new
ed_expect 200 GET /editions tok-admin
