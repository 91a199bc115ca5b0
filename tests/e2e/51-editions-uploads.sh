#!/usr/bin/env bash
# Editions service, what could go wrong on the way in: bad paths and path
# traversal (plain, percent-encoded, encoded slashes, NUL), unknown methods,
# oversized uploads (with and without Content-Length) and malformed ones.
# Each gets a clear 4xx with an error in French and nothing changes on disk.
# A report re-saved by a spreadsheet (Windows-1252, no BOM, LF, every text
# field in double quotes) is accepted, through the API and through the
# browser's form with its confirmation, and stored byte for byte as SPEC §6
# says (UTF-8 with BOM, CRLF); one the spreadsheet damaged (an INSEE code
# without its 0, a birth date in two-digit years) is refused, pointing to
# the Excel download; the forms refuse a missing or wrong CSRF token. Then the life of a report: replaced
# (served as replaced), deleted (gone, 404) until the next run brings the
# run's reports back; and the users file reloaded when an administrator edits
# it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/editions-lib.sh"

dir=$t/out
users=$t/users.csv
ed_run "$dir" 2026-W48
ed_coverage "$t/coverage.csv"
echo "secret" >"$t/secret.txt"
ed_user "$users" admin tok-admin NATIONAL consulter_edition,telecharger_rapports,gerer_editions pw-admin
ed_user "$users" ml tok-ml "$ML_A" consulter_edition,telecharger_rapports,gerer_editions pw-ml
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
	"/editions/$ML_A%00.csv" "/editions/$ML_A%00.html" "/editions/$ML_A%00" /editions/ \
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
grep -q "n'est pas possible ici" "$t/body" || fail "405 not in French: $(cat "$t/body")"
ed_expect 405 PATCH "/editions/$ML_A" tok-admin --data-binary "@$t/good.csv"
ed_expect 405 DELETE /editions tok-admin
grep -qi '^Allow: GET, HEAD' "$t/headers" || fail "405 without Allow on /editions"
ed_expect 405 PUT /editions tok-admin --data-binary "@$t/good.csv"
ed_expect 405 PUT "/editions/$ML_A.html" tok-admin --data-binary "@$t/good.csv"
ed_expect 405 PUT "/editions/$ML_A.xlsx" tok-admin --data-binary "@$t/good.csv"
ed_expect 405 PUT "/editions/$ML_A.csv" tok-admin --data-binary "@$t/good.csv"
grep -qi '^Allow: GET, HEAD' "$t/headers" || fail "PUT .csv: 405 without Allow: $(cat "$t/headers")"
ed_expect 405 DELETE "/editions/$ML_A.csv" tok-admin
code=$(curl -s -I -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer tok-admin' "$ed_url/editions/$ML_A.csv")
[ "$code" = 200 ] || fail "HEAD /editions/$ML_A.csv: status $code"
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
grep -q 'dépasse 8 Mio' "$t/body" || fail "413 not in French: $(cat "$t/body")"
# The same through the browser's form: a French page.
ed_login ml pw-ml
ed_cexpect 413 POST "/editions/$ML_A/remplacer" ml -H 'Accept: text/html' \
	-F "csrf=$(ed_csrf ml)" -F etape=verifier -F "fichier=@$t/big.csv"
ed_french
grep -q 'Erreur 413' "$t/body" || fail "413 page: $(head -c 300 "$t/body")"
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

# Malformed uploads: 422, nothing changes.
mk() { printf "$2" >"$t/bad-$1.csv"; }
H=$ed_header
mk empty ''
mk header "\xef\xbb\xbfIdentifiant SIGMA;Code PE;Nom;Prénom;Date;Commune;Codes\r\n1;;A;B;01/01/2001;75101;05\r\n"
mk six "\xef\xbb\xbf$H\r\n1;;A;B;01/01/2001;05\r\n"
mk eight "\xef\xbb\xbf$H\r\n1;;A;B;01/01/2001;75101;05;x\r\n"
mk codes "\xef\xbb\xbf$H\r\n1;;A;B;01/01/2001;75101;5\r\n"
mk code11 "\xef\xbb\xbf$H\r\n1;;A;B;01/01/2001;75101;05/11\r\n"
mk date "\xef\xbb\xbf$H\r\n1;;A;B;01/01/2001;75101;05/02/2005\r\n"
mk nul "\xef\xbb\xbf$H\r\n1;;A\x00;B;01/01/2001;75101;05\r\n"
mk cr "\xef\xbb\xbf$H\r\n1;;A\rB;B;01/01/2001;75101;05\r\n"
mk quoted-semicolon "\xef\xbb\xbf$H\r\n\"1\";\"\";\"A;B\";\"B\";\"01/01/2001\";\"75101\";\"05\"\r\n"
# The portal's CSV opened in LibreOffice Calc and saved back: the INSEE
# code without its 0, the birth date in two-digit years, on a line whose
# codes say it passed validation (so both were whole).
mk calc-insee "\xef\xbb\xbf$H\r\n4100083214;0615214W;Roy;Noémie;28/03/1999;8249;05/05/05\r\n"
mk calc-date "$H\n4100083214;0615214W;Roy;Noémie;28/03/99;08249;05/05/05\n"
for f in "$t"/bad-*.csv; do
	ed_expect 422 PUT "/editions/$ML_A" tok-admin --data-binary "@$f"
	grep -q "n'est pas un rapport" "$t/body" || fail "$(basename "$f"): the error does not say why: $(cat "$t/body")"
done
grep -q 'ligne 2' "$t/body" || fail "the error does not name the line: $(cat "$t/body")"
ed_expect 422 PUT "/editions/$ML_A" tok-admin --data-binary "@$t/bad-calc-insee.csv"
grep -q 'ligne 2 : le code INSEE « 8249 » n.a pas 5 caractères' "$t/body" ||
	fail "an INSEE code without its 0: $(cat "$t/body")"
grep -q 'Télécharger (Excel)' "$t/body" || fail "an INSEE code without its 0 does not point to the Excel download: $(cat "$t/body")"
ed_expect 422 PUT "/editions/$ML_A" tok-admin --data-binary "@$t/bad-calc-date.csv"
grep -q 'ligne 2 : la date de naissance « 28/03/99 » n.est pas une date JJ/MM/AAAA' "$t/body" ||
	fail "a date in two-digit years: $(cat "$t/body")"
grep -q 'Télécharger (Excel)' "$t/body" || fail "a converted date does not point to the Excel download: $(cat "$t/body")"
ed_expect 422 PUT "/editions/$ML_A" tok-admin --data-binary "@$t/bad-quoted-semicolon.csv"
grep -q 'la colonne 3, entre guillemets, contient' "$t/body" || fail "a quoted ';': $(cat "$t/body")"
# Through the form: the upload page again, saying why, and nothing kept.
ed_cexpect 422 POST "/editions/$ML_A/remplacer" ml -F "csrf=$(ed_csrf ml)" -F etape=verifier \
	-F "fichier=@$t/bad-codes.csv"
ed_french
grep -q 'Fichier refusé' "$t/body" || fail "the form does not say the file is refused"
grep -q 'Télécharger (Excel)' "$t/body" || fail "a code without its 0 does not point to the Excel download"
ed_cexpect 422 POST "/editions/$ML_A/remplacer" ml -F "csrf=$(ed_csrf ml)" -F etape=verifier \
	-F "fichier=@$t/bad-calc-insee.csv"
grep -q 'Fichier refusé' "$t/body" || fail "the form does not refuse an INSEE code without its 0"
grep -q 'le code INSEE « 8249 »' "$t/body" || fail "the form does not say which INSEE code"
ed_cexpect 409 POST "/editions/$ML_A/remplacer" ml -F "csrf=$(ed_csrf ml)" -F etape=confirmer
[ "$(ed_tree "$dir")" = "$before" ] || fail "malformed uploads changed the files"

# Re-saved by a spreadsheet: Windows-1252, no BOM, LF (or CRLF), the last
# line without its end, blank lines: accepted, stored as SPEC §6 says, byte
# for byte the report of the same rows in UTF-8 with BOM and CRLF.
python3 - "$t" "$ed_header" <<'PY'
import sys
t, header = sys.argv[1], sys.argv[2]
rows = ["4100052174;;Garnier;Chloé;22/11/2001;75101;05",
        "4100000009;1234567A;LEFÈVRE;Œdipe;01/02/2003;08249;05/05/04",
        "4100000010;;Dupré;Zoé;03/04/2005;97150;10"]
spec = ("\ufeff" + "\r\n".join([header] + rows) + "\r\n").encode("utf-8")
open(f"{t}/spec.csv", "wb").write(spec)
open(f"{t}/excel-lf.csv", "wb").write(("\n".join([header] + rows)).encode("cp1252"))
open(f"{t}/excel-crlf.csv", "wb").write(("\r\n".join([header, ""] + rows) + "\r\n\r\n").encode("cp1252"))
open(f"{t}/utf8-nobom-lf.csv", "wb").write(("\n".join([header] + rows) + "\n").encode("utf-8"))
PY
for f in excel-lf excel-crlf utf8-nobom-lf; do
	ed_run "$dir" 2026-W48
	ed_expect 200 PUT "/editions/$ML_A" tok-admin --data-binary "@$t/$f.csv"
	grep -q '"rows": 3' "$t/body" || fail "PUT $f answer: $(cat "$t/body")"
	grep -q '"converted": true' "$t/body" || fail "PUT $f answer: $(cat "$t/body")"
	cmp "$t/spec.csv" "$dir/reports/$ML_A.csv" || fail "$f was not stored as UTF-8 with BOM and CRLF"
done
ed_run "$dir" 2026-W48
ed_expect 200 PUT "/editions/$ML_A" tok-admin --data-binary "@$t/spec.csv"
grep -q '"converted": false' "$t/body" || fail "a report in SPEC form was converted: $(cat "$t/body")"
cmp -s "$t/spec.csv" "$dir/reports/$ML_A.csv" || fail "a report in SPEC form was not kept as it is"

# The same row as Calc damaged it, whole: accepted, as it is. And every
# text field in double quotes (Calc's « Mettre entre guillemets toutes les
# cellules texte », a doubled quote inside): accepted, unquoted.
ed_run "$dir" 2026-W48
ed_report "$t/roy.csv" "4100083214;0615214W;Roy;Noémie;28/03/1999;08249;05/05/05"
ed_expect 200 PUT "/editions/$ML_A" tok-admin --data-binary "@$t/roy.csv"
grep -q '"rows": 1' "$t/body" || fail "PUT roy answer: $(cat "$t/body")"
cmp -s "$t/roy.csv" "$dir/reports/$ML_A.csv" || fail "the good row was not kept as it is"
python3 - "$t" "$ed_header" <<'PY'
import sys
t, header = sys.argv[1], sys.argv[2]
rows = [["4100052174", "", "Garnier", "Chloé", "22/11/2001", "75101", "05"],
        ["4100000009", "1234567A", 'LE "GOFF"', "Œdipe", "01/02/2003", "08249", "05/05/04"]]
q = lambda f: '"' + f.replace('"', '""') + '"' if f else ""
lines = [";".join('"' + h + '"' for h in header.split(";"))] + [";".join(map(q, r)) for r in rows]
open(f"{t}/quoted.csv", "wb").write(("\r\n".join(lines) + "\r\n").encode("cp1252"))
spec = ["\ufeff" + header] + [";".join(r) for r in rows]
open(f"{t}/quoted-spec.csv", "wb").write(("\r\n".join(spec) + "\r\n").encode("utf-8"))
PY
ed_expect 200 PUT "/editions/$ML_A" tok-admin --data-binary "@$t/quoted.csv"
grep -q '"converted": true' "$t/body" || fail "PUT quoted answer: $(cat "$t/body")"
cmp "$t/quoted-spec.csv" "$dir/reports/$ML_A.csv" || fail "a quoted CSV was not stored unquoted"

# The browser: the file checked, nothing changed until it is confirmed.
ed_run "$dir" 2026-W48
before=$(ed_tree "$dir")
ed_cexpect 200 GET "/editions/$ML_A/remplacer" ml
grep -q 'enctype="multipart/form-data"' "$t/body" || fail "no upload form"
# The report's page and the upload's say how to correct it in a
# spreadsheet: from the Excel download, saved as CSV.
tip='Pour ouvrir ou corriger le rapport dans un tableur (Excel, LibreOffice), prenez le <a href="/editions/'$ML_A'.xlsx">téléchargement Excel</a>'
grep -qF "$tip" "$t/body" || fail "the upload page does not point to the Excel download"
grep -q 'enregistrez-le ensuite en CSV (séparateur « ; », UTF-8)' "$t/body" || fail "the upload page does not say how to save it"
ed_cexpect 200 GET "/editions/$ML_A.html" ml
grep -qF "$tip" "$t/body" || fail "the report page does not point to the Excel download"
grep -q 'perd les zéros des codes retour et des codes INSEE' "$t/body" || fail "the report page does not say what the CSV loses"
ed_cexpect 200 POST "/editions/$ML_A/remplacer" ml -F "csrf=$(ed_csrf ml)" -F etape=verifier \
	-F "fichier=@$t/excel-lf.csv;filename=rapport corrigé.csv"
ed_french
grep -q 'Confirmer le remplacement' "$t/body" || fail "no confirmation step: $(head -c 400 "$t/body")"
grep -q 'rapport corrigé.csv' "$t/body" || fail "the confirmation does not name the file"
grep -q 'Windows-1252' "$t/body" || fail "the confirmation does not say the file was converted"
grep -q '3 lignes' "$t/body" || fail "the confirmation does not count the rows"
[ "$(ed_tree "$dir")" = "$before" ] || fail "the report changed before the confirmation"
# A confirmation without the CSRF token, or with another one: 403, nothing.
ed_cexpect 403 POST "/editions/$ML_A/remplacer" ml -F etape=confirmer
ed_french
ed_cexpect 403 POST "/editions/$ML_A/remplacer" ml -F "csrf=$(ed_csrf ml | tr 0-9a-f 1-9a-f0)" -F etape=confirmer
[ "$(ed_tree "$dir")" = "$before" ] || fail "a confirmation without CSRF token changed the report"
ed_cexpect 303 POST "/editions/$ML_A/remplacer" ml -F "csrf=$(ed_csrf ml)" -F etape=confirmer
grep -qi "^Location: /editions/$ML_A.html" "$t/headers" || fail "after replacing: $(cat "$t/headers")"
cmp "$t/spec.csv" "$dir/reports/$ML_A.csv" || fail "the form's Windows-1252 upload was not stored as UTF-8 with BOM and CRLF"
ed_cexpect 200 GET "/editions/$ML_A.html" ml
grep -q 'a été remplacé : 3 lignes' "$t/body" || fail "no message after the replacement"
ed_cexpect 200 GET "/editions/$ML_A.html" ml
grep -q 'a été remplacé' "$t/body" && fail "the message shows twice"
ed_cexpect 409 POST "/editions/$ML_A/remplacer" ml -F "csrf=$(ed_csrf ml)" -F etape=confirmer
# PUT and DELETE with the cookie need the token in X-CSRF-Token.
ed_run "$dir" 2026-W48
before=$(ed_tree "$dir")
ed_cexpect 403 PUT "/editions/$ML_A" ml --data-binary "@$t/excel-lf.csv"
ed_cexpect 403 DELETE "/editions/$ML_A" ml -H "X-CSRF-Token: nope"
ed_cexpect 403 POST "/editions/$ML_A/supprimer" ml --data-urlencode confirmer=oui
[ "$(ed_tree "$dir")" = "$before" ] || fail "a change without CSRF token went through"
ed_cexpect 200 PUT "/editions/$ML_A" ml -H "X-CSRF-Token: $(ed_csrf ml)" --data-binary "@$t/excel-lf.csv"
cmp "$t/spec.csv" "$dir/reports/$ML_A.csv" || fail "PUT with the cookie did not store the report"
# The delete form: a confirmation first.
ed_cexpect 200 POST "/editions/$ML_A/supprimer" ml --data-urlencode "csrf=$(ed_csrf ml)"
grep -q 'Supprimer le rapport ?' "$t/body" || fail "no confirmation before deleting"
[ -e "$dir/reports/$ML_A.csv" ] || fail "deleted without confirmation"
ed_cexpect 303 POST "/editions/$ML_A/supprimer" ml --data-urlencode "csrf=$(ed_csrf ml)" \
	--data-urlencode confirmer=oui
[ ! -e "$dir/reports/$ML_A.csv" ] || fail "the delete form did not delete"
ed_cexpect 200 GET /editions.html ml
grep -q 'a été supprimé' "$t/body" || fail "no message after deleting"
ed_run "$dir" 2026-W48
before=$(ed_tree "$dir")

# A header only (every line handled) is a report.
ed_report "$t/header-only.csv"
# A replaced report is served as replaced, by the list, the download and the page.
ed_report "$t/replaced.csv" "4100052174;;Garnier;Chloé;22/11/2001;75101;05" "7777777777;;Remplacé;Ligne;01/01/2001;75101;04"
ed_expect 200 PUT "/editions/$ML_A" tok-ml --data-binary "@$t/replaced.csv"
grep -q '"rows": 2' "$t/body" || fail "PUT answer: $(cat "$t/body")"
cmp -s "$t/replaced.csv" "$dir/reports/$ML_A.csv" || fail "the replacement is not stored as sent"
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
ed_expect 200 GET /editions.html tok-ml
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
grep -q "users.csv:.*fields instead of 5" "$t/editions.log" || fail "the broken users file was not reported"
sleep 1
grep -v '^new;' "$t/users.good" >"$users"
ed_expect 401 GET /editions tok-new
ed_expect 200 GET /editions tok-admin
ed_stop
