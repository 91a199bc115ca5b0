#!/usr/bin/env bash
# Editions service, the report pages in headless Chromium (it cannot send an
# Authorization header: the .html pages take ?token=). Screenshots are kept in
# $BUILD/test-logs/53-editions-page/; the text of each page is checked from
# Chromium's DOM: rows, code labels and what the ML can do, counts per code,
# the run's summary and charts for national users only.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/editions-lib.sh"

command -v chromium >/dev/null || fail "chromium is not installed (make deps installs it)"
shots=$repo/${BUILD:-build}/test-logs/$test_name
mkdir -p "$shots"

dir=$t/out
users=$t/users.csv
ed_run "$dir" 2026-W48
ed_coverage "$t/coverage.csv"
ed_user "$users" agent tok-agent "$ML_A" consulter_edition,telecharger_rapports
ed_user "$users" lecteur tok-lecteur "$ML_A" consulter_edition
ed_user "$users" admin tok-admin NATIONAL consulter_edition,telecharger_rapports,gerer_editions
ed_start "$dir" "$users" --coverage "$t/coverage.csv"

chromium_run() {
	timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$(mktemp -d "$t/chromium.XXXXXX")" --window-size=1280,900 "$@" \
		2>>"$t/chromium.log"
}

# page NAME PATH [dom]: a screenshot in $shots/NAME.png (not with "dom"),
# the DOM in $t/NAME.html.
page() {
	local name=$1 url=$ed_url$2
	if [ "${3:-}" != dom ]; then
		chromium_run --screenshot="$shots/$name.png" "$url" >/dev/null ||
			fail "chromium --screenshot $url: $(tail -5 "$t/chromium.log")"
		[ -s "$shots/$name.png" ] || fail "no screenshot of $url"
		python3 - "$shots/$name.png" <<'PY' || fail "$shots/$name.png is not a 1280x900 PNG"
import struct, sys
b = open(sys.argv[1], "rb").read(24)
assert b[:8] == b"\x89PNG\r\n\x1a\n", b
w, h = struct.unpack(">II", b[16:24])
assert (w, h) == (1280, 900), (w, h)
PY
	fi
	chromium_run --dump-dom "$url" >"$t/$name.html" || fail "chromium --dump-dom $url"
	grep -q '</html>' "$t/$name.html" || fail "empty DOM for $url"
}
has() {
	grep -qF -- "$2" "$t/$1.html" || fail "page $1 lacks '$2'"
}
lacks() {
	grep -qF -- "$2" "$t/$1.html" && fail "page $1 shows '$2'"
	return 0
}

# An ML agent's report page.
page ml "/editions/$ML_A.html?token=tok-agent"
has ml "_Rapport intégration AIJ"
has ml "Mission Locale Métropole du Grand Paris"
has ml "2026-W48"
for sigma in 4100052174 4100171799 4100042709; do has ml "$sigma"; done
has ml "Aurélien"
# Each code's label and what to do.
has ml "Aucun dossier trouvé"
has ml "Rien à faire tant que le jeune ne s'est pas présenté à la ML."
has ml "Le numéro Pôle Emploi donne un dossier, mais le nom de naissance diffère"
has ml "Vérifier et corriger le nom de naissance dans le dossier."
has ml "Motif de sortie manquant ou inconnu"
has ml "Le motif de sortie doit être ajouté dans i-milo ou corrigé par Pôle Emploi."
# Counts per code: 05 in two rows, 03 in one, 09 in one.
python3 - "$t/ml.html" <<'PY' || fail "counts per code on the ML page"
import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
counts = dict(re.findall(r'<span class="code c\d+">(\d\d)</span></td><td>[^<]*</td><td class="n">(\d+)</td>', html))
assert counts == {"03": "1", "05": "2", "09": "1"}, counts
PY
# Download inside the page (the file's exact bytes), no national summary.
has ml 'download="_Rapport intégration AIJ - '"$ML_A"' - 2026-W48.csv"'
python3 - "$t/ml.html" "$dir/reports/$ML_A.csv" <<'PY' || fail "the page's download is not the report"
import base64, re, sys
html = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'href="data:text/csv;charset=utf-8;base64,([A-Za-z0-9+/=]+)"', html)
assert m and base64.b64decode(m.group(1)) == open(sys.argv[2], "rb").read()
PY
lacks ml "Synthèse de l'intégration"
lacks ml "$ML_B"
# Self-contained: no script, no external resource.
curl -s "$ed_url/editions/$ML_A.html?token=tok-agent" >"$t/raw.html"
grep -qiE '<script|<link|<img|<iframe|src=|url\(' "$t/raw.html" && fail "the page loads something"

# Without the download right: no download in the page.
page ml-lecteur "/editions/$ML_A.html?token=tok-lecteur" dom
lacks ml-lecteur "data:text/csv"
has ml-lecteur "Télécharger les rapports"

# The national report and the run's summary with its charts, for a national user.
page national "/editions/_national.html?token=tok-admin"
has national "Rapport national"
has national "4100000002"
has national "Code INSEE de résidence inconnu"
has national "Le code INSEE est erroné : Pôle Emploi doit le corriger."
has national "Nombre de colonnes incorrect"
has national "Synthèse de l'intégration"
has national "Lignes en échec par code retour"
has national "Lignes par rapport (Mission Locale)"
has national "Mission Locale CC du Pays de Pontchâteau St-Gildas-des-Bois"
python3 - "$t/national.html" <<'PY' || fail "the national charts"
import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
bars = re.findall(r'<span class="l" title="([^"]*)">.*?<span class="v">(\d+)</span>', html)
d = {t: int(v) for t, v in bars}
assert d["Intégrées"] == 14 and d["En échec"] == 6, d
assert d["05 Aucun dossier trouvé"] == 3 and d["02 Le numéro Pôle Emploi donne plusieurs dossiers"] == 1, d
assert d["Mission Locale Métropole du Grand Paris (ML200054781)"] == 3, d
assert d["Rapport national (_national)"] == 2, d
PY
page national-ml "/editions/$ML_B.html?token=tok-admin" dom
has national-ml "Synthèse de l'intégration"
has national-ml "Le numéro Pôle Emploi donne plusieurs dossiers"
has national-ml "Contacter Pôle Emploi avec le numéro PE."
has national-ml "Saisir le numéro PE dans le dossier."

# The list of editions as a page.
page index "/editions.html?token=tok-agent" dom
has index "Mission Locale Métropole du Grand Paris"
lacks index "Rapport national"
page index-national "/editions.html?token=tok-admin"
has index-national "Rapport national"
has index-national "Mission Locale CC du Pays de Pontchâteau St-Gildas-des-Bois"

# Refusals are readable pages too.
page forbidden "/editions/$ML_B.html?token=tok-agent"
has forbidden "Erreur 403"
page unauthorized "/editions/$ML_A.html?token=wrong" dom
has unauthorized "Erreur 401"

echo "screenshots in $shots"
