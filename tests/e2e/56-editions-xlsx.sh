#!/usr/bin/env bash
# Editions service, GET /editions/<ml>.xlsx: the report as a spreadsheet
# whose every cell is text, opened with Python's zipfile: each cell an inline
# or shared string (never a number), the values those of the CSV exactly
# ("05", "05/02/05", INSEE "08249", numéros PE, dates, leading zeros), the
# header row bold and frozen, an autofilter over the table, a width per
# column, the text format "@"; a second sheet explains the codes. The same
# rights as the CSV; the CSV itself stays byte for byte SPEC §6.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/editions-lib.sh"

dir=$t/out
users=$t/users.csv
ed_run "$dir" 2026-W48
ed_report "$dir/reports/$ML_A.csv" \
	"0041000001;1234567;LÉFÈVRE;Zoé;05/02/2005;08249;05/02/05" \
	"4100000002;;Martin & Fils;<Paul>;01/01/2001;2A004;05" \
	"4100000003;7791863N;O'Neil;Anne-Marie;31/12/1999;97801;10" \
	"4100000004;;Dupont;Jean;01/02/2003;;01"
ed_user "$users" agent tok-agent "$ML_A" consulter_edition,telecharger_rapports
ed_user "$users" lecteur tok-lecteur "$ML_A" consulter_edition
ed_user "$users" nat tok-nat NATIONAL consulter_edition,telecharger_rapports
ed_start "$dir" "$users"

ed_expect 200 GET "/editions/$ML_A.xlsx" tok-agent
cp "$t/body" "$t/report.xlsx"
python3 - "$t/report.xlsx" "$dir/reports/$ML_A.csv" <<'PY' || fail "the XLSX of $ML_A"
import re, sys, zipfile
import xml.etree.ElementTree as ET

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
names = z.namelist()
shared = []
if "xl/sharedStrings.xml" in names:
    root = ET.fromstring(z.read("xl/sharedStrings.xml"))
    shared = ["".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t")) for si in root.findall("m:si", NS)]

def sheet_rows(name):
    root = ET.fromstring(z.read(name))
    rows = []
    for row in root.find("m:sheetData", NS).findall("m:row", NS):
        cells = []
        for c in row.findall("m:c", NS):
            t = c.get("t")
            v = c.find("m:v", NS)
            if t == "inlineStr":
                cells.append("".join(x.text or "" for x in c.iter(f"{{{NS['m']}}}t")))
            elif t == "s":
                cells.append(shared[int(v.text)])
            else:
                # Not text: only a blank cell (no value) is allowed.
                assert v is None and c.find("m:is", NS) is None, f"not a text cell: {ET.tostring(c)}"
                cells.append("")
        rows.append(cells)
    return root, rows

root, rows = sheet_rows("xl/worksheets/sheet1.xml")
csv = open(sys.argv[2], encoding="utf-8-sig", newline="").read().split("\r\n")[:-1]
want = [line.split(";") for line in csv]
assert rows == want, (rows, want)
assert rows[1][0] == "0041000001" and rows[1][5] == "08249" and rows[1][6] == "05/02/05", rows[1]
# The header frozen, the autofilter, the widths, the text format.
pane = root.find("m:sheetViews/m:sheetView/m:pane", NS)
assert pane is not None and pane.get("state") == "frozen" and pane.get("ySplit") == "1", ET.tostring(pane)
af = root.find("m:autoFilter", NS)
assert af is not None and af.get("ref") == "A1:G5", af
cols = root.findall("m:cols/m:col", NS)
assert len(cols) == 7 and all(float(c.get("width")) >= 8 for c in cols), [c.attrib for c in cols]
widths = [float(c.get("width")) for c in cols]
assert widths[5] < widths[6] + 30 and max(widths) <= 61, widths
styles = ET.fromstring(z.read("xl/styles.xml"))
fmts = {f.get("numFmtId"): f.get("formatCode") for f in styles.iter(f"{{{NS['m']}}}numFmt")}
xfs = styles.find("m:cellXfs", NS).findall("m:xf", NS)
fonts = styles.find("m:fonts", NS).findall("m:font", NS)
def style(c):
    xf = xfs[int(c.get("s", c.get("style", "0")))]
    fmt = xf.get("numFmtId")
    code = fmts.get(fmt, "@" if fmt == "49" else fmt)
    bold = fonts[int(xf.get("fontId", "0"))].find("m:b", NS) is not None
    return code, bold
sheet_rows_xml = root.find("m:sheetData", NS).findall("m:row", NS)
for i, row in enumerate(sheet_rows_xml):
    for c in row.findall("m:c", NS):
        code, bold = style(c)
        assert code == "@", (i, c.attrib, code)
        assert bold == (i == 0), (i, c.attrib, bold)
for c in cols:
    assert style(c)[0] == "@", c.attrib
# The second sheet: what each code means.
book = z.read("xl/workbook.xml").decode()
assert 'name="Rapport"' in book and 'name="Codes retour"' in book, book
_, legend = sheet_rows("xl/worksheets/sheet2.xml")
assert legend[0] == ["Code retour", "Signification", "Que faire"], legend[0]
assert [r[0] for r in legend[1:]] == [f"{c:02d}" for c in range(1, 11)], legend
assert legend[10][2] == "Aucune action possible côté ML.", legend[10]
PY
grep -qi '^Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' "$t/headers" ||
	fail "XLSX Content-Type"
# The CSV is unchanged by all this: the file's exact bytes.
ed_expect 200 GET "/editions/$ML_A" tok-agent
cmp -s "$t/body" "$dir/reports/$ML_A.csv" || fail "the CSV is not the report's bytes"
[ "$(head -c 3 "$t/body" | od -An -tx1 | tr -d ' ')" = efbbbf ] || fail "the CSV lost its BOM"
# Same rights as the CSV.
ed_expect 403 GET "/editions/$ML_A.xlsx" tok-lecteur
ed_expect 403 GET "/editions/$ML_B.xlsx" tok-agent
ed_expect 200 GET "/editions/_national.xlsx" tok-nat
python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None' "$t/body" ||
	fail "the national XLSX is not a zip"
# A report of 50 000 lines: the XLSX is built row by row, in bounded time.
python3 - "$dir/reports/_national.csv" "$ed_header" <<'PY'
import sys
rows = [f"{4100000000 + i};;NOM{i};Prénom;01/01/2001;99999;08" for i in range(50000)]
open(sys.argv[1], "wb").write(("\ufeff" + "\r\n".join([sys.argv[2]] + rows) + "\r\n").encode())
PY
ed_expect 200 GET "/editions/_national.xlsx" tok-nat --max-time 120
python3 - "$t/body" <<'PY' || fail "the XLSX of 50 000 lines"
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
sheet = z.read("xl/worksheets/sheet1.xml").decode()
assert sheet.count("<row ") == 50001, sheet.count("<row ")
assert "<v>" not in sheet
PY
ed_expect 200 GET "/editions/_national.html?page=100" tok-nat
grep -q 'Lignes 49501 à 50000 sur 50000 — page 100 sur 100' "$t/body" || fail "the last page of 50 000 lines"
[ "$(stat -c %s "$t/body")" -lt 2000000 ] || fail "a page of 500 lines is $(stat -c %s "$t/body") bytes"
ed_stop
