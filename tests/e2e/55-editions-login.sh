#!/usr/bin/env bash
# Editions service, logging in: the form, the session cookie's flags (random,
# HttpOnly, SameSite, Max-Age of 8 h, Secure with --behind-https), the
# session kept on the server (reused after log-out: refused), the lock-out
# after 5 failures within 15 minutes (429 even with the right password, for
# that login only, unknown logins too), the CSRF token of the log-out, a
# password changed in the users file ending the sessions, a four-column
# users file still valid, and every error of a person's browser a French page
# (401, 403, 404, 405, 413, 422, 429).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/editions-lib.sh"

dir=$t/out
users=$t/users.csv
ed_run "$dir" 2026-W48
ed_user "$users" agent tok-agent "$ML_A" consulter_edition,telecharger_rapports,gerer_editions 'mot de passe+é&=%'
ed_user "$users" autre "" "$ML_A" consulter_edition autre-secret
ed_user "$users" api tok-api NATIONAL consulter_edition
ed_start "$dir" "$users"

# The form, in French.
ed_expect 200 GET /login ""
ed_french
grep -q '<form method="post" action="/login">' "$t/body" || fail "no log-in form"
grep -q 'name="login"' "$t/body" && grep -q 'name="password"' "$t/body" || fail "no login or password field"
# A page without a session: the form, status 401, going back to the page.
ed_expect 401 GET "/editions/$ML_A.html" "" -H 'Accept: text/html'
ed_french
grep -q "name=\"next\" value=\"/editions/$ML_A.html\"" "$t/body" || fail "the form does not go back to the page"
ed_expect 303 GET / ""
grep -qi '^Location: /editions.html' "$t/headers" || fail "/ does not lead to the list"

# Logging in: a password with spaces, '+', '&', '=', '%' and an accent.
code=$(curl -s -o "$t/body" -D "$t/headers" -w '%{http_code}' --data-urlencode login=agent \
	--data-urlencode 'password=mot de passe+é&=%' --data-urlencode "next=/editions/$ML_A.html" "$ed_url/login")
[ "$code" = 303 ] || fail "log-in: $code $(head -c 300 "$t/body")"
grep -qi "^Location: /editions/$ML_A.html" "$t/headers" || fail "log-in does not go to next: $(cat "$t/headers")"
cookie=$(grep -i '^Set-Cookie: aij_session=' "$t/headers" | tr -d '\r')
[ -n "$cookie" ] || fail "no session cookie"
sid=$(sed 's/^[^=]*=\([^;]*\);.*/\1/' <<<"$cookie")
[[ "$sid" =~ ^[0-9a-f]{64}$ ]] || fail "the session id is not 256 bits in hex: '$sid'"
for flag in '; Path=/' '; Max-Age=28800' '; HttpOnly' '; SameSite=Lax'; do
	grep -qF -- "$flag" <<<"$cookie" || fail "the cookie lacks '$flag': $cookie"
done
grep -qi 'secure' <<<"$cookie" && fail "Secure without --behind-https: $cookie"
# A session id is random: a second log-in gets another one.
ed_login agent 'mot de passe+é&=%'
sid2=$(awk '$6 == "aij_session" { print $7 }' "$t/jar-agent")
[ "$sid2" != "$sid" ] || fail "two log-ins, the same session id"
# An open redirect is not one: next must be a path of the service.
for next in //evil.example/x https://evil.example/ /login; do
	code=$(curl -s -o /dev/null -D "$t/headers" -w '%{http_code}' --data-urlencode login=agent \
		--data-urlencode 'password=mot de passe+é&=%' --data-urlencode "next=$next" "$ed_url/login")
	grep -qi '^Location: /editions.html' "$t/headers" || fail "next=$next: $(grep -i location "$t/headers")"
done

# The session works, on the server side: after log-out it is refused, even
# with the same cookie.
ed_cexpect 200 GET /editions.html agent
grep -q 'Se déconnecter' "$t/body" || fail "no log-out button"
ed_cexpect 403 POST /logout agent
ed_french
ed_cexpect 200 GET /editions.html agent
ed_cexpect 303 POST /logout agent --data-urlencode "csrf=$(ed_csrf agent)"
grep -qi '^Set-Cookie: aij_session=;.*Max-Age=0' "$t/headers" || fail "log-out does not clear the cookie: $(cat "$t/headers")"
ed_cexpect 401 GET /editions.html agent -H 'Accept: text/html'
ed_french
grep -q 'session a expiré' "$t/body" || fail "a session ended: $(grep -o 'class="error"[^<]*<' "$t/body")"
ed_expect 401 GET /editions.html "" -b "aij_session=$sid2"

# A wrong password, a user without password, an unknown login: the same
# French answer.
for creds in 'agent:faux' 'api:tok-api' 'personne:x'; do
	code=$(curl -s -o "$t/body" -w '%{http_code}' --data-urlencode "login=${creds%%:*}" \
		--data-urlencode "password=${creds#*:}" "$ed_url/login")
	[ "$code" = 401 ] || fail "log-in $creds: $code"
	ed_french
	grep -q 'Identifiant ou mot de passe incorrect.' "$t/body" || fail "log-in $creds: no message"
done
code=$(curl -s -o "$t/body" -w '%{http_code}' --data-urlencode login=agent "$ed_url/login")
[ "$code" = 400 ] || fail "a log-in without password: $code"

# The lock-out: agent failed once above; 4 more failures lock it.
for i in 2 3 4; do
	code=$(curl -s -o /dev/null -w '%{http_code}' --data-urlencode login=agent --data-urlencode password=faux "$ed_url/login")
	[ "$code" = 401 ] || fail "failure $i: $code"
done
code=$(curl -s -o "$t/body" -D "$t/headers" -w '%{http_code}' --data-urlencode login=agent --data-urlencode password=faux "$ed_url/login")
[ "$code" = 429 ] || fail "the 5th failure within 15 minutes: $code, want 429"
ed_french
grep -q 'réessayez dans 15 minutes' "$t/body" || fail "429 does not say for how long"
grep -qi '^Retry-After: 900' "$t/headers" || fail "429 without Retry-After: $(cat "$t/headers")"
# Locked: even the right password.
code=$(curl -s -o "$t/body" -D "$t/headers" -w '%{http_code}' --data-urlencode login=agent \
	--data-urlencode 'password=mot de passe+é&=%' "$ed_url/login")
[ "$code" = 429 ] || fail "the right password of a locked login: $code, want 429"
grep -qi '^Set-Cookie' "$t/headers" && fail "a locked login got a session"
grep -qi '^Retry-After: [0-9]' "$t/headers" || fail "no Retry-After"
# Another login is not locked; an unknown login is locked the same way.
ed_login autre autre-secret
for i in 1 2 3 4; do
	curl -s -o /dev/null --data-urlencode login=personne2 --data-urlencode password=x "$ed_url/login"
done
code=$(curl -s -o /dev/null -w '%{http_code}' --data-urlencode login=personne2 --data-urlencode password=x "$ed_url/login")
[ "$code" = 429 ] || fail "an unknown login is not locked: $code"
grep -q "login 'agent' failed (wrong password; 5 failures in 15 min): locked for 15 min" "$t/editions.log" ||
	fail "the lock-out is not logged"

# French error pages for a person: 403, 404, 405, 413, 422 (401 and 429 above).
ed_login autre autre-secret
ed_cexpect 403 GET "/editions/$ML_A" autre -H 'Accept: text/html'
ed_french
grep -q 'Télécharger les rapports' "$t/body" || fail "403 does not name the right"
ed_cexpect 403 GET "/editions/$ML_B.html" autre
ed_french
ed_cexpect 404 GET /nulle-part autre -H 'Accept: text/html'
ed_french
grep -q 'Erreur 404 — Page introuvable' "$t/body" || fail "404 page: $(head -c 300 "$t/body")"
ed_cexpect 400 GET /editions/..%2f.html autre
ed_french
ed_cexpect 403 GET /historique.html autre
ed_french
grep -q "réservée à l'équipe nationale" "$t/body" || fail "the history is not said national"
ed_user "$users" gest "" "$ML_A" consulter_edition,gerer_editions gest-secret
sleep 1
ed_login gest gest-secret
head -c 9000000 /dev/zero >"$t/big.csv"
ed_cexpect 413 POST "/editions/$ML_A/remplacer" gest -F "csrf=$(ed_csrf gest)" -F etape=verifier -F "fichier=@$t/big.csv"
ed_french
ed_cexpect 422 POST "/editions/$ML_A/remplacer" gest -F "csrf=$(ed_csrf gest)" -F etape=verifier \
	-F "fichier=@$dir/summary.json"
ed_french
grep -q 'Fichier refusé' "$t/body" || fail "422 page"

# A password changed in the users file ends that user's sessions.
ed_cexpect 200 GET /editions.html gest
sleep 1
grep -v '^gest;' "$users" >"$t/users.new"
mv "$t/users.new" "$users"
ed_user "$users" gest "" "$ML_A" consulter_edition,gerer_editions nouveau
ed_cexpect 401 GET /editions.html gest -H 'Accept: text/html'
ed_french
ed_login gest nouveau

# --hash-password: what it prints logs in; an empty password is refused.
hash=$(printf 'Été 2026 !\n' | "$AIJ_BIN/aij-editions" --hash-password)
[[ "$hash" == '$y$'* ]] || fail "--hash-password: '$hash'"
printf '' | "$AIJ_BIN/aij-editions" --hash-password >/dev/null 2>&1 && fail "--hash-password took an empty password"
echo "h;;$ML_A;consulter_edition;$hash" >>"$users"
sleep 1
ed_login h 'Été 2026 !'

# A four-column users file (no passwords) is still valid: tokens work.
{
	echo "login;token_sha256;structure;droits"
	echo "old;$(printf tok-old | sha256sum | cut -d' ' -f1);$ML_A;consulter_edition"
} >"$t/users4.csv"
ed_pid_first=$ed_pid
url_first=$ed_url
ed_start "$dir" "$t/users4.csv"
ed_expect 200 GET /editions tok-old
ed_url=$url_first

# Behind HTTPS: Secure; --session-hours sets Max-Age.
ed_start "$dir" "$users" --behind-https --session-hours 2
code=$(curl -s -o /dev/null -D "$t/headers" -w '%{http_code}' --data-urlencode login=autre \
	--data-urlencode password=autre-secret "$ed_url/login")
cookie=$(grep -i '^Set-Cookie: aij_session=' "$t/headers" | tr -d '\r')
grep -qF '; Secure' <<<"$cookie" || fail "no Secure with --behind-https: $cookie"
grep -qF '; Max-Age=7200' <<<"$cookie" || fail "--session-hours 2: $cookie"
: "$ed_pid_first"
ed_stop
