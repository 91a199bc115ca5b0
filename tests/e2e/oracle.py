#!/usr/bin/env python3
"""Expected outputs of a week's run, computed independently of the C code.

Usage:
  oracle.py --dispositifs F --dossiers F --coverage F [--motifs F] [--communes F]
            --run-id ID --out DIR [--check-cases FILE] [--check-evidence FILE]
            [--today YYYY-MM-DD] [--state-in FILE] [--state-out FILE]

Writes the same tree as deploy/aij-local (SPEC §7): DIR/reports/<ml_code>.csv,
DIR/reports/_national.csv, DIR/integrated.csv, DIR/summary.json, and the
evidence of issue 18: DIR/evidence/<ml_code>.json, DIR/weeks.json, after
removing any *.csv already in DIR/reports and *.json in DIR/evidence.
--motifs and --communes default to data/motifs.csv and data/communes.csv of
this repository. --check-cases FILE (from gen_week.py --cases) also checks each
line's outcome and reports against what the generator built it to give;
--check-evidence FILE (gen_week.py --evidence-cases) each listed line's
evidence: exit 1 on any difference. The weeks in a row: --state-in FILE, the
oracle's own state after the run published before (none: the first run),
--state-out FILE where to write the state after this run, --today the date of
this run (default: today in Europe/Paris).
Exit 0 ok, 1 check failed, 2 bad usage or unreadable input.

This is a second, plain implementation of SPEC §2.1–§7 in Python 3 (standard
library only). It shares no code with the product. Where the SPEC is silent,
the decisions below are the reference: the C side follows them.

Reading the week (SPEC §2.1)
- A UTF-8 BOM at the start of the file is skipped. Lines end at LF; one CR
  before the LF (or at the end of a last line without LF) is removed.
  A final LF does not start another line.
- Each line is decoded on its own: as UTF-8 when its bytes are valid UTF-8
  (strict: no overlong forms, no surrogates), else as Windows-1252, where the
  five undefined bytes 0x81 0x8D 0x8F 0x90 0x9D become U+FFFD. A NUL byte
  becomes U+FFFD too.
- A line longer than 65,536 bytes (line end excluded) is code 01; its fields
  come from its first 65,536 bytes (cut back to a character boundary): what
  lies beyond is unspecified, so tests put the bulk at the end of such a line.
- Blank lines (empty, or only spaces and tabs) are skipped but numbered. The
  first non-blank line is a header, skipped, when its first field trimmed is
  `identifiant_sigma` in any case (ASCII case folding).
- Fields are split on every `;` and trimmed of spaces and tabs only.

Validation (SPEC §3), first failing rule wins: 01 (field count != 12, or too
long), 07, 06, 08, 09. A date is exactly two ASCII digits, `/`, two, `/`, four,
and a real day of the proleptic Gregorian calendar, year 0001 at least.
"Earlier than date_debut" compares days; an end date equal to it is fine.
An INSEE code is known when it is in communes.csv, compared exactly after
trimming, whether it has postal codes or not: a row with an empty code_postal
(`98411;;Îles Saint-Paul et Nouvelle-Amsterdam`, the TAAF districts) makes its
code known with no postal code. A motif is known when it is a `code` of
motifs.csv, compared exactly.

Matching (SPEC §4)
- P = the trimmed identifiant_pe with ASCII a-z upper-cased. A dossier's
  pe_cotraitance / pe_complement are trimmed and upper-cased the same way; an
  empty one matches nothing.
- N(s): ASCII letters upper-cased; for U+00C0–U+017F, the special letters
  Æ→AE Œ→OE ß→SS Ĳ→IJ Þ→TH Ð/Đ→D Ø→O Ł→L Ħ→H Ŧ→T ı→I ĸ→K Ŀ→L ŉ→N Ŋ→N ſ→S,
  the others lose their diacritics (Unicode NFD, marks dropped); then every
  character that is not A–Z or 0–9 is dropped (so are other scripts and
  combining marks in the input).
- Step 3 compares N(nom_naissance), N(prenom) and date_naissance, the latter
  as the trimmed text (both sides are JJ/MM/AAAA).
- "Several" counts distinct dossier rows. Dossier export: a BOM is skipped,
  LF or CRLF, the first line is the header; a row is used when it has exactly
  7 fields and a non-empty dossier_id, and skipped (malformed) otherwise.
  The generator writes only well-formed rows.

Routing (SPEC §5)
- A failed line whose codes are 01 or 08 goes to the national report only,
  whatever its field 7 holds.
- Otherwise the postal codes of its commune (the trimmed field 7 in
  communes.csv; none when unknown, e.g. a 07 line with a bad code, or when
  the commune has none, e.g. 98411) and every ML whose zone holds one of
  them; the line goes once into each such ML's report. None of the commune's
  postal codes covered (or no postal code): the national report.

Outputs (SPEC §6–§7)
- reports/<ml_code>.csv for each ML with at least one failed line, and
  reports/_national.csv when it has lines: UTF-8 with BOM, CRLF after every
  row (the last too), header exactly
  `Identifiant SIGMA;Code Pôle Emploi;Nom de naissance;Prénom;Date de naissance;Commune INSEE de résidence;Codes retour`,
  then one row per failed line in line order: fields 1, 3, 4, 5, 6, 7 trimmed
  in UTF-8 (a missing field is empty; a code-01 line gives what it has, only
  its first 12 fields count), then the codes, two digits each, joined by `/`.
- integrated.csv: UTF-8 without BOM, LF, header `line;dossier_id;step`, one row
  per integrated line in line order.
- evidence/<ml_code>.json, one per report file (same names): canonical JSON
  as summary.json, {"rows": [...], "run_id": ID}, one row per report row in
  the report's order: {"codes": "05/05/05", "evidence": [...],
  "first_rejected": "YYYY-MM-DD", "line": N, "weeks_rejected": N}.
  weeks.json: {"by_weeks_rejected": {"<weeks>": lines, ...}, "failed": N,
  "run_id": ID}, each failed line once.

Evidence (issue 18), for a line failed at the cascade, decided here from the
export alone (the product reads it from its index):
- 02 at step 1 or 2: the dossiers with that numéro P in that column, the
  first 5 distinct ids in code point order; 03: that dossier, differs
  nom_naissance, value its N(nom); 04 at step 3: the first 5 distinct ids
  with the identity. Nothing differs for 02 and 04 (value "").
- 05 at step 3: among the dossiers with the same (N(nom), N(prenom)) (value
  the date), the same (N(prenom), date) (value N(nom)), the same (N(nom),
  date) (value N(prenom)) - a group of more than 16 rows gives nobody - and
  not already listed by steps 1-2: the 3 first by (tier, field, id): tier 0
  a date one typo away (the same but for one digit, or day and month
  swapped), 1 a name that starts or ends with the other (neither empty), 2
  another date, 3 another name; field date, then nom, then prenom.
- In step order; a dossier already listed is skipped; 8 at most. Each
  candidate: {"code", "differs", "dossier_id", "ml_code" (its row's ML; the
  smallest when an id has several rows), "step", "value"}.
Weeks in a row: a failed line's identity is "<field 1>;<field 8>;<field 9>"
(none when field 1 is empty: 1 week). weeks_rejected = 1 + that of the
previous run if the identity failed in it, else 1; first_rejected the date
of the first of those runs. A run with the run id of the previous run
replaces it (is counted from the state before it). An identity that did not
fail in the last 8 runs is forgotten.

- summary.json: canonical JSON, exactly
  `json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\\n"`
  (2-space indent, keys sorted, UTF-8, a final newline) with the keys
  run_id (string), lines, integrated, failed (integers, lines = integrated +
  failed = records, header and blank lines excluded), by_code (code "01".."10"
  -> number of lines whose codes include it, only codes with a count > 0),
  by_step ("1", "2", "3" always present, 0 allowed), reports (ml_code ->
  rows, "_national" included when it has rows; {} when no line failed).
"""
import argparse
import datetime
import json
import os
import re
import sys
import unicodedata

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MAX_LINE = 64 * 1024
NATIONAL = "_national"
REPORT_HEADER = ("Identifiant SIGMA;Code Pôle Emploi;Nom de naissance;Prénom;"
                 "Date de naissance;Commune INSEE de résidence;Codes retour")
DOSSIER_HEADER = "dossier_id;ml_code;nom_naissance;prenom;date_naissance;pe_cotraitance;pe_complement"
NEAR_GROUP_MAX = 16      # a blocking group of more rows gives no candidate
SHARED_LISTED = 5        # dossiers listed for a 02 or a 04
NEAR_LISTED = 3          # near candidates for a 05 at step 3
EVIDENCE_MAX = 8
WEEKS_KEEP = 8
DIGITS = "0123456789"

SPECIAL = {
    "Æ": "AE", "æ": "AE", "Œ": "OE", "œ": "OE", "ß": "SS", "Ĳ": "IJ", "ĳ": "IJ",
    "Þ": "TH", "þ": "TH", "Ð": "D", "ð": "D", "Đ": "D", "đ": "D", "Ø": "O", "ø": "O",
    "Ł": "L", "ł": "L", "Ħ": "H", "ħ": "H", "Ŧ": "T", "ŧ": "T", "ı": "I", "ĸ": "K",
    "Ŀ": "L", "ŀ": "L", "ŉ": "N", "Ŋ": "N", "ŋ": "N", "ſ": "S",
}
DATE_RE = re.compile(r"[0-9]{2}/[0-9]{2}/[0-9]{4}\Z")


class InputError(Exception):
    pass


def die(msg, code=2):
    print(f"oracle: {msg}", file=sys.stderr)
    sys.exit(code)


def read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise InputError(f"cannot open '{path}': {e.strerror}")


# --- SPEC §2.1: reading ---------------------------------------------------------

def decode_line(raw):
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    return text.replace("\0", "\ufffd")


def cut_utf8(raw):
    """The first MAX_LINE bytes of raw; when they are UTF-8 but for a sequence
    cut at the end, without that sequence."""
    head = raw[:MAX_LINE]
    for back in range(4):
        try:
            head[:len(head) - back].decode("utf-8")
            return head[:len(head) - back]
        except UnicodeDecodeError:
            pass
    return head


def read_week(path):
    """[(line number, text, too_long)] for the record lines of the file."""
    data = read_bytes(path)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    raws = data.split(b"\n")
    if raws and raws[-1] == b"":
        raws.pop()
    out, seen_nonblank = [], False
    for n, raw in enumerate(raws, 1):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        too_long = len(raw) > MAX_LINE
        text = decode_line(cut_utf8(raw) if too_long else raw)
        if text.strip(" \t") == "":
            continue
        first = not seen_nonblank
        seen_nonblank = True
        if first and text.split(";")[0].strip(" \t").lower() == "identifiant_sigma":
            continue
        out.append((n, text, too_long))
    return out


# --- reference data -----------------------------------------------------------------

def read_table(path, header):
    data = read_bytes(path)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        lines = data.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        raise InputError(f"'{path}': not UTF-8")
    lines = [l[:-1] if l.endswith("\r") else l for l in lines]
    if not lines or lines[0].strip() != header:
        raise InputError(f"'{path}': header is not '{header}'")
    return [(i, [f.strip(" \t") for f in l.split(";")])
            for i, l in enumerate(lines[1:], 2) if l.strip(" \t")]


def load_communes(path):
    """{INSEE code: [postal codes]}; [] for a code without postal code."""
    cps = {}
    for i, f in read_table(path, "code_insee;code_postal;nom_commune"):
        if len(f) != 3 or not f[0]:
            raise InputError(f"'{path}' line {i}: malformed row")
        postcodes = cps.setdefault(f[0], [])
        if f[1]:
            postcodes.append(f[1])
    return cps


def load_motifs(path):
    motifs = set()
    for i, f in read_table(path, "code;libelle"):
        if len(f) != 2 or not f[0]:
            raise InputError(f"'{path}' line {i}: malformed row")
        motifs.add(f[0])
    return motifs


def load_coverage(path):
    mls = {}
    for i, f in read_table(path, "ml_code;ml_nom;code_postal"):
        if len(f) != 3 or not f[0] or not f[2]:
            raise InputError(f"'{path}' line {i}: malformed row")
        mls.setdefault(f[2], set()).add(f[0])
    return mls


# --- SPEC §3: validation -------------------------------------------------------------------

def parse_date(s):
    if not DATE_RE.match(s):
        return None
    try:
        return datetime.date(int(s[6:10]), int(s[3:5]), int(s[0:2]))
    except ValueError:
        return None


def validate(f, count, too_long, communes, motifs):
    if count != 12 or too_long:
        return "01"
    if any(f[i] == "" for i in (0, 1, 3, 4, 5)) or parse_date(f[5]) is None:
        return "07"
    debut = parse_date(f[8])
    if debut is None:
        return "06"
    for i in (9, 10):
        if f[i]:
            d = parse_date(f[i])
            if d is None or d < debut:
                return "06"
    if f[6] not in communes:
        return "08"
    if f[10] and f[11] not in motifs:
        return "09"
    return None


# --- SPEC §4: matching ---------------------------------------------------------------------

def norm(s):
    out = []
    for ch in s:
        o = ord(ch)
        if o < 0x80:
            c = ch.upper() if "a" <= ch <= "z" else ch
            if "A" <= c <= "Z" or "0" <= c <= "9":
                out.append(c)
        elif 0xC0 <= o <= 0x17F:
            if ch in SPECIAL:
                out.append(SPECIAL[ch])
                continue
            base = unicodedata.normalize("NFD", ch)[0]
            if "a" <= base <= "z":
                base = base.upper()
            if "A" <= base <= "Z":
                out.append(base)
    return "".join(out)


def pe_key(s):
    return "".join(c.upper() if "a" <= c <= "z" else c for c in s.strip(" \t"))


class Index:
    def __init__(self, path):
        data = read_bytes(path)
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        try:
            lines = data.decode("utf-8").split("\n")
        except UnicodeDecodeError:
            raise InputError(f"'{path}': not UTF-8")
        lines = [l[:-1] if l.endswith("\r") else l for l in lines]
        if not lines or lines[0].strip() != DOSSIER_HEADER:
            raise InputError(f"'{path}': header is not '{DOSSIER_HEADER}'")
        self.cot, self.comp, self.ident, self.nom = {}, {}, {}, {}
        self.ml = {}                            # id -> its rows' smallest ML
        self.np, self.pd, self.nd = {}, {}, {}  # the blocking groups of the evidence
        self.rows = self.malformed = 0
        for n, line in enumerate(lines[1:], 2):
            if line.strip(" \t") == "":
                continue
            f = [x.strip(" \t") for x in line.split(";")]
            if len(f) != 7 or not f[0]:
                self.malformed += 1
                print(f"oracle: '{path}' line {n}: malformed dossier row, skipped", file=sys.stderr)
                continue
            self.rows += 1
            did = f[0]
            for col, table in ((5, self.cot), (6, self.comp)):
                if pe_key(f[col]):
                    table.setdefault(pe_key(f[col]), []).append(did)
            self.ident.setdefault((norm(f[2]), norm(f[3]), f[4]), []).append(did)
            self.nom[did] = norm(f[2])
            self.ml[did] = min(self.ml.get(did, f[1]), f[1])
            n, p, d = norm(f[2]), norm(f[3]), f[4]
            self.np.setdefault((n, p), []).append((did, f[1], d))
            self.pd.setdefault((p, d), []).append((did, f[1], n))
            self.nd.setdefault((n, d), []).append((did, f[1], p))

    def cascade(self, f):
        """(dossier_id, step, []) when integrated, else (None, None, codes)."""
        p = pe_key(f[2])
        codes = []
        if p:
            for step, table in ((1, self.cot), (2, self.comp)):
                found = table.get(p, [])
                if not found:
                    codes.append("05")
                elif len(found) > 1:
                    codes.append("02")
                elif self.nom[found[0]] == norm(f[3]):
                    return found[0], step, []
                else:
                    codes.append("03")
        found = self.ident.get((norm(f[3]), norm(f[4]), f[5]), [])
        if len(found) == 1:
            return found[0], 3, []
        codes.append("05" if not found else "04")
        return None, None, codes

    def evidence(self, f, codes):
        """The evidence of a line failed at the cascade with codes."""
        out = []

        def add(did, step, code, field, value, ml=None):
            if len(out) < EVIDENCE_MAX and did and did not in [c["dossier_id"] for c in out]:
                out.append({"code": code, "differs": [field] if field else [],
                            "dossier_id": did, "ml_code": self.ml[did] if ml is None else ml,
                            "step": step, "value": value})
        p, nom, pre, date = pe_key(f[2]), norm(f[3]), norm(f[4]), f[5]
        if p:
            for step, table in ((1, self.cot), (2, self.comp)):
                found = table.get(p, [])
                if codes[step - 1] == "02":
                    for did in sorted(set(found))[:SHARED_LISTED]:
                        add(did, step, "02", None, "")
                elif codes[step - 1] == "03":
                    add(found[0], step, "03", "nom_naissance", self.nom[found[0]])
        if codes[-1] == "04":
            for did in sorted(set(self.ident[(nom, pre, date)]))[:SHARED_LISTED]:
                add(did, 3, "04", None, "")
        elif codes[-1] == "05":
            listed = {c["dossier_id"] for c in out}
            near = []
            for rank, (groups, key, field, mine) in enumerate((
                    (self.np, (nom, pre), "date_naissance", date),
                    (self.pd, (pre, date), "nom_naissance", nom),
                    (self.nd, (nom, date), "prenom", pre))):
                rows = groups.get(key, [])
                if len(rows) > NEAR_GROUP_MAX:
                    continue
                first = {}
                for did, ml, value in sorted(rows):
                    first.setdefault(did, (ml, value))
                for did, (ml, value) in first.items():
                    if did in listed:
                        continue
                    if field == "date_naissance":
                        tier = 0 if date_near(mine, value) else 2
                    else:
                        tier = 1 if name_near(mine, value) else 3
                    near.append((tier, rank, did, ml, field, value))
            for tier, rank, did, ml, field, value in sorted(near)[:NEAR_LISTED]:
                add(did, 3, "05", field, value, ml)
        return out


def date_near(a, b):
    """One typo apart: one digit changed, or day and month swapped."""
    if len(a) != 10 or len(b) != 10 or a == b:
        return False
    if a[0:2] == b[3:5] and a[3:5] == b[0:2] and a[5:] == b[5:]:
        return True
    diff = [i for i in range(10) if a[i] != b[i]]
    return len(diff) == 1 and a[diff[0]] in DIGITS and b[diff[0]] in DIGITS


def name_near(a, b):
    """Different, and one starts or ends with the other."""
    if not a or not b or a == b:
        return False
    return a.startswith(b) or b.startswith(a) or a.endswith(b) or b.endswith(a)


class Weeks:
    """The weeks in a row, from the oracle's own state file (JSON)."""

    def __init__(self, path):
        self.state = {"runs": 0, "run_id": None, "ids": {}, "before": None}
        if path:
            with open(path, encoding="utf-8") as f:
                self.state = json.load(f)

    def count(self, run_id, today, identities):
        """[(weeks, first)] for the failed lines' identities (None: none)."""
        base = self.state
        if base["run_id"] == run_id:      # a corrected run replaces the last one
            base = base["before"] or {"runs": 0, "run_id": None, "ids": {}, "before": None}
        runs = base["runs"] + 1
        ids = {k: list(v) for k, v in base["ids"].items()}   # identity -> [last, weeks, first]
        out = []
        for ident in identities:
            if ident is None:
                out.append((1, today))
                continue
            e = ids.get(ident)
            if e is None or (e[0] != runs and e[0] != runs - 1):
                e = ids[ident] = [runs, 1, today]
            elif e[0] == runs - 1:
                e[0], e[1] = runs, e[1] + 1
            out.append((e[1], e[2]))
        ids = {k: v for k, v in ids.items() if runs - v[0] < WEEKS_KEEP}
        self.state = {"runs": runs, "run_id": run_id, "ids": ids,
                      "before": {**base, "before": None}}
        return out

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.state, f)


# --- the run ---------------------------------------------------------------------------------

def run(args):
    communes = load_communes(args.communes)
    motifs = load_motifs(args.motifs)
    coverage = load_coverage(args.coverage)
    index = Index(args.dossiers)
    records = read_week(args.dispositifs)

    outcomes = []  # (line, dossier_id, step, codes, report fields, routes)
    for n, text, too_long in records:
        parts = [p.strip(" \t") for p in text.split(";")]
        f = (parts + [""] * 12)[:12]
        code = validate(f, len(parts), too_long, communes, motifs)
        if code:
            did, step, codes = None, None, [code]
        else:
            did, step, codes = index.cascade(f)
        evidence = index.evidence(f, codes) if not code and codes else []
        routes = []
        if codes:
            if codes[0] not in ("01", "08"):
                mls = set()
                for cp in communes.get(f[6], []):
                    mls |= coverage.get(cp, set())
                routes = sorted(mls)
            routes = routes or [NATIONAL]
        outcomes.append((n, did, step, codes, [f[i] for i in (0, 2, 3, 4, 5, 6)], routes,
                         evidence, f"{f[0]};{f[7]};{f[8]}" if f[0] else None))
    return outcomes


def canonical(obj):
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def write(outcomes, out, run_id, weeks):
    reports_dir = os.path.join(out, "reports")
    evidence_dir = os.path.join(out, "evidence")
    os.makedirs(reports_dir, exist_ok=True)
    os.makedirs(evidence_dir, exist_ok=True)
    for name in os.listdir(reports_dir):
        if name.endswith(".csv"):
            os.remove(os.path.join(reports_dir, name))
    for name in os.listdir(evidence_dir):
        if name.endswith(".json"):
            os.remove(os.path.join(evidence_dir, name))

    reports, evidence = {}, {}
    by_code, by_step = {}, {"1": 0, "2": 0, "3": 0}
    by_weeks = {}
    integrated = ["line;dossier_id;step\n"]
    failed = [o for o in outcomes if not o[1]]
    counted = dict(zip((o[0] for o in failed), weeks.count(run_id, weeks.today,
                                                         [o[7] for o in failed])))
    for n, did, step, codes, fields, routes, ev, _identity in outcomes:
        if did:
            integrated.append(f"{n};{did};{step}\n")
            by_step[str(step)] += 1
            continue
        for c in set(codes):
            by_code[c] = by_code.get(c, 0) + 1
        row = ";".join(fields + ["/".join(codes)]) + "\r\n"
        w, first = counted[n]
        by_weeks[str(w)] = by_weeks.get(str(w), 0) + 1
        erow = {"codes": "/".join(codes), "evidence": ev, "first_rejected": first,
                "line": n, "weeks_rejected": w}
        for ml in routes:
            reports.setdefault(ml, []).append(row)
            evidence.setdefault(ml, []).append(erow)

    for ml, rows in reports.items():
        if "/" in ml or ml.startswith("."):
            die(f"unsafe ML code '{ml}'", 2)
        with open(os.path.join(reports_dir, ml + ".csv"), "wb") as f:
            f.write(("\ufeff" + REPORT_HEADER + "\r\n" + "".join(rows)).encode("utf-8"))
        with open(os.path.join(evidence_dir, ml + ".json"), "wb") as f:
            f.write(canonical({"rows": evidence[ml], "run_id": run_id}))
    with open(os.path.join(out, "weeks.json"), "wb") as f:
        f.write(canonical({"by_weeks_rejected": by_weeks, "failed": len(failed),
                           "run_id": run_id}))
    with open(os.path.join(out, "integrated.csv"), "wb") as f:
        f.write("".join(integrated).encode("utf-8"))
    n_int = sum(by_step.values())
    summary = {
        "run_id": run_id,
        "lines": len(outcomes),
        "integrated": n_int,
        "failed": len(outcomes) - n_int,
        "by_code": by_code,
        "by_step": by_step,
        "reports": {ml: len(rows) for ml, rows in reports.items()},
    }
    with open(os.path.join(out, "summary.json"), "wb") as f:
        f.write((json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
                .encode("utf-8"))
    return summary


def check_cases(outcomes, path):
    try:
        rows = read_table(path, "line;case;expect;route")
    except InputError as e:
        die(str(e))
    by_line = {o[0]: o for o in outcomes}
    bad = 0
    for _i, f in rows:
        n, case, expect, route = int(f[0]), f[1], f[2], f[3]
        o = by_line.get(n)
        if o is None:
            got, got_route = "no record", ""
        elif o[1]:
            got, got_route = f"integrated:{o[2]}:{o[1]}", ""
        else:
            got, got_route = "/".join(o[3]), "|".join(o[5])
        if got != expect or got_route != route:
            bad += 1
            print(f"oracle: line {n} ({case}): built for {expect} [{route}], "
                  f"oracle says {got} [{got_route}]", file=sys.stderr)
    if len(rows) != len(outcomes):
        bad += 1
        print(f"oracle: {len(rows)} cases but {len(outcomes)} records", file=sys.stderr)
    return bad


def check_evidence(outcomes, path):
    """Each line of path ("line;evidence": "id:differs:value" joined by '|',
    differs '-' for none) has that evidence, in that order."""
    try:
        rows = read_table(path, "line;evidence")
    except InputError as e:
        die(str(e))
    by_line = {o[0]: o for o in outcomes}
    bad = 0
    for _i, f in rows:
        n, want = int(f[0]), f[1]
        ev = by_line[n][6] if n in by_line else []
        got = "|".join(f"{c['dossier_id']}:{(c['differs'] or ['-'])[0]}:{c['value']}" for c in ev)
        if got != want:
            bad += 1
            print(f"oracle: line {n}: evidence built for '{want}', oracle says '{got}'",
                  file=sys.stderr)
    return bad, len(rows)


def paris_today():
    try:
        from zoneinfo import ZoneInfo
        return datetime.datetime.now(ZoneInfo("Europe/Paris")).date().isoformat()
    except Exception:   # no tzdata: the machine's date
        return datetime.date.today().isoformat()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dispositifs", required=True)
    ap.add_argument("--dossiers", required=True)
    ap.add_argument("--coverage", required=True)
    ap.add_argument("--motifs", default=os.path.join(REPO, "data", "motifs.csv"))
    ap.add_argument("--communes", default=os.path.join(REPO, "data", "communes.csv"))
    ap.add_argument("--run-id", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--check-cases")
    ap.add_argument("--check-evidence")
    ap.add_argument("--today")
    ap.add_argument("--state-in")
    ap.add_argument("--state-out")
    args = ap.parse_args()
    try:
        outcomes = run(args)
        weeks = Weeks(args.state_in)
    except InputError as e:
        die(str(e))
    except (OSError, ValueError) as e:
        die(f"cannot read the state '{args.state_in}': {e}")
    weeks.today = args.today or paris_today()
    summary = write(outcomes, args.out, args.run_id, weeks)
    if args.state_out:
        weeks.save(args.state_out)
    print(f"oracle: {summary['lines']} lines, {summary['integrated']} integrated, "
          f"{summary['failed']} failed, {len(summary['reports'])} reports -> {args.out}",
          file=sys.stderr)
    if args.check_cases:
        bad = check_cases(outcomes, args.check_cases)
        if bad:
            die(f"{bad} line(s) differ from the generator's cases", 1)
        print(f"oracle: every line agrees with {args.check_cases}", file=sys.stderr)
    if args.check_evidence:
        bad, n = check_evidence(outcomes, args.check_evidence)
        if bad:
            die(f"{bad} line(s) differ from the generator's evidence", 1)
        print(f"oracle: the {n} lines of {args.check_evidence} have the evidence built",
              file=sys.stderr)


if __name__ == "__main__":
    main()
