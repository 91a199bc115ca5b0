#!/usr/bin/env python3
"""Generate a test week: a dispositifs file, its dossier export and a coverage.

Usage:
  gen_week.py --out DIR [--lines N] [--seed S] [--encoding utf-8|cp1252]
              [--crlf] [--header] [--no-long-line] [--cases FILE]
              [--near-misses] [--evidence-cases FILE]
              [--communes F] [--motifs F] [--coverage F]

Writes DIR/week.csv (SPEC §2.1), DIR/dossiers.csv (SPEC §2.3, always UTF-8 LF)
and DIR/coverage.csv (a copy of --coverage, default data/sample/coverage.csv;
not copied when it is that very file). The same options give the same bytes.

The week starts with crafted lines that exercise every rule of SPEC §2–§5,
then N random lines (--lines, default 0) with a realistic mix (most integrate
at step 1). The crafted part holds:
- every outcome of the cascade: for a line with a numéro PE, each step 1 and
  step 2 result among 05 (none), 02 (several), 03 (one, birth name differs),
  integrated; step 3 among 05, 04 (several), integrated: 05/05/05, 02/05/04,
  03/03/05, 02/02/05, ..., and integration at steps 1, 2 and 3; without
  numéro PE: 05, 04 and integration at step 3;
- names that differ only by accents, case, hyphens, apostrophes and spaces
  (Lé Goff / LEGOFF, D'Alembert / DALEMBERT, Œillet / OEILLET, ...) that
  still integrate, at each step; a lower-case numéro PE; padded fields;
- each validation code 01, 06, 07, 08, 09 with its edge cases (11 and 13
  fields, `;` only, a line over 64 KiB unless --no-long-line, 29/02 in leap and
  common years, 31/04, an end date before the start, fields of spaces, an
  unknown INSEE code, a motif missing or unknown) and their precedence;
- routing: a commune covered by one ML, a postal code shared by two MLs, a
  commune that no zone covers (national report), a commune déléguée and an
  associée (their parent's postal codes), municipal arrondissements, lines
  01 and 08 (national), a 07 line with an unknown INSEE code (national);
- the codes of communes.csv without postal code (`98411;;...`, the TAAF
  districts 98411-98415): known codes, so a line on each integrates (steps
  1, 2, 3), and one failing at the cascade (05/05/05) and one with code 09
  go to the national report only;
- the same dispositif (identifiant_sigma, type, date_debut) sent twice;
- blank lines and a line of spaces (skipped but counted in line numbers).
With --encoding cp1252 the names that Windows-1252 cannot hold are left out.

--cases FILE writes `line;case;expect;route`: what the generator built each
line to give (`integrated:<step>:<dossier_id>` or the codes; the reports it
should be in, `|`-separated): tests/e2e/oracle.py --check-cases compares.

--near-misses adds, after the crafted part, lines whose dossier was edited
(issue 18): a birth date moved by a day, day and month swapped, a first name
lengthened or shortened, a birth name changed (married name) or cut
(compound name), a numéro PE shared by two dossiers, a numéro PE whose
dossier has another birth name, several near dossiers at once (ranked), and
lines whose dossier is simply absent; their names and birth years are kept
apart from every other line and dossier (no accidental near dossier).
--evidence-cases FILE writes `line;evidence` for those lines: the evidence
each was built to get, `<dossier_id>:<field that differs or ->:<value>`
joined by `|` in order, empty for none: oracle.py --check-evidence compares.
Without --near-misses the output is the same as before the option existed.
"""
import argparse
import os
import random
import shutil
import sys
import unicodedata

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
HEADER = ("identifiant_sigma;code_regional;identifiant_pe;nom_naissance;prenom;"
          "date_naissance;code_insee_residence;type_dispositif;date_debut;"
          "date_fin_prevue;date_fin_reelle;motif_sortie")
DOSSIER_HEADER = "dossier_id;ml_code;nom_naissance;prenom;date_naissance;pe_cotraitance;pe_complement"
NATIONAL = "_national"

SURNAMES = [
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois",
    "Moreau", "Laurent", "Simon", "Michel", "Lefèvre", "Leroy", "Roux", "David",
    "Bertrand", "Morel", "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine",
    "Rousseau", "Vincent", "Muller", "Lefebvre", "Faure", "André", "Mercier", "Blanc",
    "Guérin", "Boyer", "Garnier", "Chevalier", "François", "Legrand", "Gauthier", "Garcia",
    "Perrin", "Robin", "Clément", "Morin", "Nicolas", "Henry", "Roussel", "Mathieu",
    "Gautier", "Masson", "Marchand", "Duval", "Denis", "Dumont", "Marie", "Lemaire",
    "Noël", "Meyer", "Dufour", "Meunier", "Brun", "Blanchard", "Giraud", "Joly",
    "Rivière", "Lucas", "Brunet", "Gaillard", "Barbier", "Arnaud", "Martínez", "Gérard",
    "Roche", "Renard", "Schmitt", "Roy", "Leroux", "Colin", "Vidal", "Caron",
    "Picard", "Roger", "Fabre", "Aubert", "Lemoine", "Renaud", "Dumas", "Lacroix",
    "Olivier", "Philippe", "Bourgeois", "Pierre", "Benoît", "Rey", "Leclerc", "Payet",
    "Rolland", "Leclercq", "Guillaume", "Lecomte", "Lopez", "Jean", "Dupuy", "Guillot",
    "Hubert", "Berger", "Carpentier", "Sánchez", "Dupuis", "Moulin", "Louis", "Deschamps",
    "Le Goff", "Le Gall", "Le Bihan", "N'Diaye", "Diallo", "Traoré", "Ben Ali", "Nguyen",
    "Da Silva", "Dos Santos", "Kowalski", "Öztürk", "Çelik", "De La Fontaine", "L'Hôte",
]
FIRSTNAMES = [
    "Léa", "Emma", "Chloé", "Inès", "Manon", "Jade", "Louise", "Zoé", "Camille", "Sarah",
    "Lucas", "Hugo", "Théo", "Nathan", "Enzo", "Louis", "Gabriel", "Mathéo", "Raphaël",
    "Noé", "Maël", "Anaïs", "Océane", "Clément", "Jérémy", "Benoît", "Joël", "Gaëlle",
    "Jean-Baptiste", "Marie-Hélène", "Anne-Sophie", "Pierre-Louis", "Loïc", "Aurélien",
    "Amélie", "Éloïse", "Cécile", "Hélène", "Maëlys", "Noémie", "Yanis", "Rayan", "Adam",
    "Mohamed", "Fatoumata", "Aïcha", "Kévin", "Dylan", "Jordan", "Sofiane",
]
# (line form, dossier form): equal under N() of SPEC §4. The bool: the pair
# needs UTF-8 (a letter outside Windows-1252).
NAME_VARIANTS = [
    ("Lé Goff", "LEGOFF", False),
    ("LEGOFF", "Le-Goff", False),
    ("D'Alembert", "DALEMBERT", False),
    ("Œillet", "OEILLET", False),
    ("lefèvre", "LEFEVRE", False),
    ("MÜLLER-STRAUß", "Muller Strauss", False),
    ("N'DIAYE", "n diaye", False),
    ("  de la   Fontaine", "DELAFONTAINE", False),
    ("L'Hôpital", "LHOPITAL", False),
    ("Hæberlé", "HAEBERLE", False),
    ("ÇELIK", "çelik", False),
    ('"Dupont"', "DUPONT", False),
    ("Dvořák", "DVORAK", True),
    ("Łukasiewicz", "LUKASIEWICZ", True),
]
FIRSTNAME_VARIANTS = [
    ("Jean-Baptiste", "JEAN BAPTISTE", False),
    ("ÉLOÏSE", "eloise", False),
    ("Anne Sophie", "anne-sophie", False),
    ("Zoë", "ZOE", False),
    ("Ŕoża", "ROZA", True),
]
# The near-miss part's names (--near-misses): in no other list, one of each
# a person, so that nothing comes near a line but what was built to.
NEAR_SURNAMES = [
    "Quennevilliers", "Wazemmesse", "Ydrissac", "Zuydcootte", "Xhoffray", "Vannecourt",
    "Ulmerin", "Kerbriant", "Hautecloque", "Ogierville", "Pradelles", "Rocquencourt",
    "Sainteny", "Tessancourt", "Urtaca", "Villecresnes", "Wambrechies", "Yvrandes",
    "Zoteux", "Jouxtens",
]
NEAR_FIRSTNAMES = [
    "Perrine", "Solange", "Ghislain", "Anatole", "Eulalie", "Barnabé", "Sidonie",
    "Hippolyte", "Philibert", "Bérengère", "Ombeline", "Théophraste", "Clothilde",
    "Gontran", "Apolline", "Séraphin", "Honorine", "Évariste", "Mathurin", "Prudence",
]
NEAR_OTHER_NAMES = ["Montmirailh", "Vaudrevange", "Delacroixbis"]  # married, other
# Known déléguée / associée codes of covered departments (their parent's
# postal codes apply) and municipal arrondissements.
DELEGUEES = ["14002", "14011", "14051"]
ARRONDISSEMENTS = ["75101", "75116", "69381", "13201"]
# Not commune codes: 99134 is a foreign country's code (INSEE 99xxx), 75000
# a postal code. (98411, a TAAF district, is a known code without postal code.)
UNKNOWN_INSEE = ["99999", "99134", "75000"]


def fail(msg):
    print(f"gen_week: {msg}", file=sys.stderr)
    sys.exit(2)


def norm(s):
    """N(s) of SPEC §4, only to keep the generated identities apart."""
    special = {"Æ": "AE", "æ": "AE", "Œ": "OE", "œ": "OE", "ß": "SS", "Ø": "O", "ø": "O",
               "Ł": "L", "ł": "L", "Đ": "D", "đ": "D", "Ð": "D", "ð": "D", "Þ": "TH", "þ": "TH"}
    out = []
    for ch in s:
        ch = special.get(ch, ch)
        for c in unicodedata.normalize("NFD", ch).upper():
            if "A" <= c <= "Z" or "0" <= c <= "9":
                out.append(c)
    return "".join(out)


def read_rows(path, header):
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        fail(f"cannot open '{path}': {e.strerror}")
    if not lines or lines[0] != header:
        fail(f"'{path}': header is not '{header}'")
    return [l.split(";") for l in lines[1:] if l]


class Ref:
    def __init__(self, communes, motifs, coverage):
        self.cps = {}   # code -> postal codes; [] for a code without (98411;;...)
        for code, cp, _name in read_rows(communes, "code_insee;code_postal;nom_commune"):
            cps = self.cps.setdefault(code, [])
            if cp:
                cps.append(cp)
        self.motifs = sorted(r[0] for r in read_rows(motifs, "code;libelle"))
        self.mls_of_cp = {}
        for ml, _name, cp in read_rows(coverage, "ml_code;ml_nom;code_postal"):
            self.mls_of_cp.setdefault(cp, set()).add(ml)
        self.all_mls = sorted({m for s in self.mls_of_cp.values() for m in s})

        def mls(code):
            return set().union(*(self.mls_of_cp.get(cp, set()) for cp in self.cps[code]))
        self.mls = {code: mls(code) for code in self.cps}
        codes = sorted(self.cps)
        self.single = [c for c in codes if len(self.mls[c]) == 1]
        # one postal code, held by exactly two MLs
        self.shared = [c for c in codes if len(self.cps[c]) == 1 and len(self.mls[c]) == 2]
        self.uncovered = [c for c in codes if self.cps[c] and not self.mls[c]]
        # known codes without postal code: crafted lines only
        self.no_postcode = [c for c in codes if not self.cps[c]]
        self.covered = [c for c in codes if self.mls[c]]
        for name, pool in (("single-ML", self.single), ("shared", self.shared),
                           ("uncovered", self.uncovered)):
            if not pool:
                fail(f"no {name} commune with this coverage")
        self.deleguees = [c for c in DELEGUEES if c in self.cps and self.mls[c]]
        self.arrondissements = [c for c in ARRONDISSEMENTS if c in self.cps]
        for c in UNKNOWN_INSEE:
            if c in self.cps:
                fail(f"'{c}' was expected to be an unknown INSEE code")

    def route(self, code):
        mls = self.mls.get(code)
        return sorted(mls) if mls else [NATIONAL]


class Week:
    def __init__(self, ref, rng, encoding):
        self.ref = ref
        self.rng = rng
        self.cp1252 = encoding == "cp1252"
        self.items = []      # ("line", fields-or-raw, case, expect, route) / ("blank", text)
        self.dossiers = []
        self.used_ids = set()
        self.used_pe = set()
        self.sigma = 4100000000

    # --- identities -------------------------------------------------------
    def date(self, y0, y1):
        y = self.rng.randint(y0, y1)
        m = self.rng.randint(1, 12)
        d = self.rng.randint(1, 28)
        return f"{d:02d}/{m:02d}/{y:04d}"

    def person(self, nom=None, prenom=None, dob=None):
        """A new identity (nom, prenom, dob) no other line or dossier has."""
        for _ in range(1000):
            p = (nom or self.rng.choice(SURNAMES), prenom or self.rng.choice(FIRSTNAMES),
                 dob or self.date(1999, 2008))
            key = (norm(p[0]), norm(p[1]), p[2])
            if key not in self.used_ids:
                self.used_ids.add(key)
                return p
            dob = None
        fail("cannot find a new identity")

    def other_nom(self, nom):
        """A birth name whose N() differs from nom's."""
        while True:
            n = self.rng.choice(SURNAMES)
            if norm(n) != norm(nom):
                return n

    def pe(self):
        while True:
            p = f"{self.rng.randrange(10 ** 7):07d}{self.rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}"
            if p not in self.used_pe:
                self.used_pe.add(p)
                return p

    def dossier(self, person, cot="", comp="", ml=None):
        did = f"D{len(self.dossiers) + 1:07d}"
        ml = ml or self.rng.choice(self.ref.all_mls)
        self.dossiers.append([did, ml, person[0], person[1], person[2], cot, comp])
        return did

    # --- lines --------------------------------------------------------------
    def commune(self, kind=None):
        r = self.ref
        kind = kind or self.rng.choices(["single", "shared", "uncovered"], [80, 8, 12])[0]
        return self.rng.choice({"single": r.single, "shared": r.shared,
                                "uncovered": r.uncovered}[kind])

    def fields(self, person, pe="", insee=None, end=None, motif=None, sigma=None, debut=None):
        self.sigma += self.rng.randint(1, 977)
        debut = debut or self.date(2026, 2026)
        d, m, y = debut.split("/")
        prevue = f"{d}/{m}/{int(y) + 1}" if self.rng.random() < 0.8 else ""
        if end is None and self.rng.random() < 0.1:
            end = f"{d}/{m}/{int(y) + 1}"
            motif = motif or self.rng.choice(self.ref.motifs)
        return [sigma or str(self.sigma), f"{self.rng.randint(1, 99):03d}", pe,
                person[0], person[1], person[2], insee or self.commune(), "AIJ", debut,
                prevue, end or "", motif or ""]

    def fits(self, *texts):
        if not self.cp1252:
            return True
        try:
            for t in texts:
                t.encode("cp1252")
            return True
        except UnicodeEncodeError:
            return False

    def add(self, case, fields, expect, route=None):
        """fields: a list (joined by ';') or a raw line. route: for failures."""
        if expect.startswith("integrated"):
            route = []
        elif route is None:
            route = self.ref.route(fields[6].strip(" \t"))
        self.items.append(("line", fields, case, expect, route))

    def blank(self, text=""):
        self.items.append(("blank", text))

    def ml_for(self, insee):
        mls = sorted(self.ref.mls.get(insee, ()))
        return mls[0] if mls else None

    # --- the cascade ----------------------------------------------------------
    def cascade(self, case, r1, r2, r3, insee=None, variant=None, pe_form=None):
        """A line whose steps give r1, r2, r3 (05, 02, 03, 04 or ok); r1 None:
        no numéro PE. variant: (line nom, dossier nom, line prenom, dossier prenom)."""
        insee = insee or self.commune()
        ml = self.ml_for(insee)
        if variant:
            lp = self.person(variant[0], variant[2])
            dp = (variant[1], variant[3], lp[2])
        else:
            lp = self.person()
            dp = lp
        pe = self.pe() if r1 else ""
        codes, done = [], None
        steps = [("cot", r1), ("comp", r2)] if r1 else []
        for col, r in steps:
            def d(person, col=col):
                kw = {col: pe}
                return self.dossier(person, ml=ml, **kw)
            if r == "ok":
                done = (len(codes) + 1, d(dp))
                break
            if r == "02":
                d(self.person()), d(self.person())
            elif r == "03":
                d(self.person(nom=self.other_nom(lp[0])))
            codes.append(r)
        if not done:
            if r3 == "ok":
                done = (3, self.dossier(dp, ml=ml, cot=self.maybe_pe()))
            elif r3 == "04":
                self.dossier(dp, ml=ml, cot=self.maybe_pe())
                self.dossier(dp, comp=self.maybe_pe())
            if r3 != "ok":
                codes.append(r3)
        line_pe = pe_form(pe) if pe_form else pe
        f = self.fields(lp, line_pe, insee)
        if done:
            self.add(case, f, f"integrated:{done[0]}:{done[1]}")
        else:
            self.add(case, f, "/".join(codes))
        return f

    def maybe_pe(self):
        return self.pe() if self.rng.random() < 0.3 else ""

    # --- the crafted part -------------------------------------------------------
    def crafted(self, long_line):
        r = self.ref
        # every combination of the three steps
        for r1 in ("ok", "05", "02", "03"):
            for r2 in (("ok", "05", "02", "03") if r1 != "ok" else ("-",)):
                for r3 in (("ok", "05", "04") if r1 != "ok" and r2 != "ok" else ("-",)):
                    self.cascade(f"cascade {r1}/{r2}/{r3}", r1, r2, r3)
        for r3 in ("ok", "05", "04"):
            self.cascade(f"no numero PE, step 3 {r3}", None, None, r3)
        self.blank()
        # names equal under N() at each step
        for i, (ln, dn, utf8) in enumerate(NAME_VARIANTS):
            if utf8 and self.cp1252:
                continue
            pn = self.rng.choice(FIRSTNAMES)
            step = ("ok", "-", "-") if i % 3 == 0 else \
                   ("05", "ok", "-") if i % 3 == 1 else ("05", "05", "ok")
            self.cascade(f"name variant {ln!r} = {dn!r}", *step,
                         variant=(ln, dn, pn, pn))
        for ln, dn, utf8 in FIRSTNAME_VARIANTS:
            if utf8 and self.cp1252:
                continue
            nom = self.rng.choice(SURNAMES)
            self.cascade(f"first-name variant {ln!r} = {dn!r}", None, None, "ok",
                         variant=(nom, nom.upper(), ln, dn))
        self.cascade("numero PE in lower case", "ok", "-", "-", pe_form=str.lower)
        self.cascade("numero PE padded with spaces", "05", "ok", "-",
                     pe_form=lambda p: f"  {p}\t")
        self.blank("   \t ")
        # padded fields, a leap-day birth date, an end date equal to the start
        p = self.person(dob="29/02/2004")
        did = self.dossier(p, cot=self.pe())
        f = self.fields(p, self.dossiers[-1][5], self.commune("single"))
        f = [f" {x}\t" if i in (0, 3, 6) else x for i, x in enumerate(f)]
        self.add("padded fields, born 29/02/2004", f, f"integrated:1:{did}")
        p = self.person()
        did = self.dossier(p)
        f = self.fields(p, "", self.commune("single"), end="15/03/2026", motif=r.motifs[0],
                        debut="15/03/2026")
        self.add("end date equal to the start", f, f"integrated:3:{did}")
        p = self.person()
        did = self.dossier(p)
        f = self.fields(p, "", self.commune("single"), end="")
        f[11] = "n'importe quoi"
        self.add("motif filled without date_fin_reelle is not checked", f, f"integrated:3:{did}")
        p = self.person()
        did = self.dossier(p)
        f = self.fields(p, "", self.commune("single"))
        f[7] = ""
        self.add("empty type_dispositif is allowed", f, f"integrated:3:{did}")
        # the same dispositif twice: integrated twice into the same dossier
        p = self.person()
        pe = self.pe()
        did = self.dossier(p, comp=pe)
        f = self.fields(p, pe, self.commune("single"), end="", motif="")
        self.add("dispositif sent once", f, f"integrated:2:{did}")
        g = list(f)
        g[10], g[11] = f"28/12/{f[8][6:]}", r.motifs[1]
        self.add("same dispositif again, now ended", g, f"integrated:2:{did}")

        # validation codes; those lines have a dossier that would match
        def valid(case, code, change, insee=None, route=None):
            p = self.person()
            pe = self.pe()
            self.dossier(p, cot=pe)
            f = self.fields(p, pe, insee or self.commune("single"))
            change(f)
            self.add(case, f, code, route)
        nat = [NATIONAL]
        ok = self.fields(self.person(), self.pe(), self.commune("single"))
        self.add("01: 11 fields", ";".join(ok[:11]), "01", nat)
        self.add("01: 13 fields (a trailing ;)", ";".join(ok) + ";", "01", nat)
        self.add("01: 12 fields and 1 more", ";".join(ok + ["en trop"]), "01", nat)
        self.add("01: ';' only", ";", "01", nat)
        self.add("01: one field", "juste du texte", "01", nat)
        self.add("01: empty sigma too", ";" + ";".join(ok[1:11]), "01", nat)
        if long_line:
            big = self.fields(self.person(), "", self.commune("single"))
            big[11] = "X" * 70000
            self.add("01: a line over 64 KiB", ";".join(big), "01", nat)

        def put(i, v):
            return lambda f: f.__setitem__(i, v)
        valid("07: empty identifiant_sigma", "07", put(0, ""))
        valid("07: code_regional of spaces", "07", put(1, "   "))
        valid("07: empty nom_naissance", "07", put(3, ""))
        valid("07: empty prenom", "07", put(4, " \t "))
        valid("07: empty date_naissance", "07", put(5, ""))
        valid("07: born 29/02/2005", "07", put(5, "29/02/2005"))
        valid("07: born 31/04/2006", "07", put(5, "31/04/2006"))
        valid("07: born 1/2/2005", "07", put(5, "1/2/2005"))
        valid("07: born 2005-02-01", "07", put(5, "2005-02-01"))
        valid("07: all 12 fields empty", "07", lambda f: f.__setitem__(slice(0, 12), [""] * 12),
              route=nat)
        valid("07 before 06", "07", lambda f: (put(4, "")(f), put(8, "32/01/2026")(f)))
        valid("07 with an unknown INSEE code: national", "07",
              lambda f: (put(3, "")(f), put(6, "99999")(f)), route=nat)
        valid("06: date_debut 31/06/2026", "06", put(8, "31/06/2026"))
        valid("06: empty date_debut", "06", put(8, ""))
        valid("06: date_fin_prevue 2026-09-01", "06", put(9, "2026-09-01"))
        valid("06: date_fin_reelle 30/02/2026", "06",
              lambda f: (put(10, "30/02/2026")(f), put(11, r.motifs[0])(f)))
        valid("06: date_fin_prevue before date_debut", "06",
              lambda f: (put(8, "10/05/2026")(f), put(9, "09/05/2026")(f)))
        valid("06: date_fin_reelle before date_debut", "06",
              lambda f: (put(8, "10/05/2026")(f), put(9, "")(f), put(10, "31/12/2025")(f),
                         put(11, r.motifs[0])(f)))
        valid("06 before 08", "06", lambda f: (put(8, "x")(f), put(6, "99999")(f)), route=nat)
        valid("08: empty INSEE code", "08", put(6, ""), route=nat)
        valid("08: unknown INSEE code 99999", "08", put(6, "99999"), route=nat)
        valid("08 before 09", "08",
              lambda f: (put(6, "75000")(f), put(8, "01/03/2026")(f), put(10, "01/12/2026")(f),
                         put(11, "")(f)),
              route=nat)
        valid("09: ended without motif", "09",
              lambda f: (put(8, "01/03/2026")(f), put(9, "")(f), put(10, "01/09/2026")(f),
                         put(11, "")(f)))
        valid("09: unknown motif 99", "09",
              lambda f: (put(8, "01/03/2026")(f), put(10, "01/09/2026")(f), put(11, "99")(f)))
        valid("09: motif '1' is not '01'", "09",
              lambda f: (put(8, "01/03/2026")(f), put(10, "01/09/2026")(f), put(11, "1")(f)))
        valid("09 on a shared postal code", "09",
              lambda f: (put(8, "01/03/2026")(f), put(10, "01/09/2026")(f), put(11, "")(f)),
              insee=self.commune("shared"))
        # 01 and 08 go to the national report even with a covered commune
        f = self.fields(self.person(), "", self.commune("single"))
        self.add("01 with a covered commune: national", ";".join(f[:10]), "01", nat)
        self.blank()

        # routing of failed lines (05, no numéro PE)
        for kind in ("single", "single", "shared", "shared", "shared", "uncovered", "uncovered"):
            self.cascade(f"routing: {kind} commune", None, None, "05", insee=self.commune(kind))
        for code in r.deleguees:
            self.cascade(f"routing: commune deleguee/associee {code}", None, None, "05",
                         insee=code)
        for code in r.arrondissements:
            self.cascade(f"routing: arrondissement {code}", None, None, "05", insee=code)
        self.cascade("03/03/05 on a shared postal code", "03", "03", "05",
                     insee=self.commune("shared"))
        self.cascade("02/05/04 in an uncovered commune", "02", "05", "04",
                     insee=self.commune("uncovered"))

        # a known code without postal code (TAAF): not 08, looked up like any
        # other; a failed line: no zone can hold it, national report only
        steps = [("ok", "-", "-"), ("05", "ok", "-"), ("05", "05", "ok"), (None, None, "ok")]
        for i, code in enumerate(r.no_postcode):
            self.cascade(f"no postal code {code}: integrated", *steps[i % len(steps)],
                         insee=code)
        if r.no_postcode:
            self.cascade(f"no postal code {r.no_postcode[0]}: 05/05/05, national",
                         "05", "05", "05", insee=r.no_postcode[0])
            valid(f"no postal code {r.no_postcode[-1]}: 09, national", "09",
                  lambda f: (put(8, "01/03/2026")(f), put(10, "01/09/2026")(f),
                             put(11, "")(f)),
                  insee=r.no_postcode[-1], route=nat)

    # --- near misses (issue 18) -----------------------------------------------------
    def near_person(self):
        """A person of the near-miss part: the next name of NEAR_SURNAMES
        and of NEAR_FIRSTNAMES, born 1980-1989 (other lines: 1999-2008)."""
        k = self.near_k = getattr(self, "near_k", -1) + 1
        if k >= len(NEAR_SURNAMES):
            fail("too many near-miss persons for the name lists")
        # days and months 01-08: a day moved by one, and day and month
        # swapped, stay real dates one digit away
        d, m = self.rng.randint(1, 8), self.rng.randint(1, 8)
        while d == m:
            m = self.rng.randint(1, 8)
        return self.person(NEAR_SURNAMES[k], NEAR_FIRSTNAMES[k],
                           f"{d:02d}/{m:02d}/{self.rng.randint(1980, 1989)}")

    def near_misses(self):
        """Lines whose dossier was edited, each with the evidence expected."""
        self.expect_evidence = []
        def line(case, person, expect, evidence, pe="", insee=None):
            insee = insee or self.commune("single")
            f = self.fields(person, pe, insee)
            self.add(case, f, expect)
            self.expect_evidence.append((len(self.items), evidence))
            return f

        def ev(did, field, value):
            return f"{did}:{field}:{value}"
        norm_up = norm
        # a birth date moved by a day (one digit: days 01-08)
        p = self.near_person()
        d, m, y = p[2].split("/")
        moved = f"{int(d) + 1:02d}/{m}/{y}"
        did = self.dossier((p[0], p[1], moved))
        line("near: birth date moved by a day", p, "05",
             ev(did, "date_naissance", moved))
        # day and month swapped
        p = self.near_person()
        d, m, y = p[2].split("/")
        swapped = f"{m}/{d}/{y}"
        did = self.dossier((p[0], p[1], swapped))
        line("near: day and month swapped", p, "05", ev(did, "date_naissance", swapped))
        # a first name lengthened (a second first name): the dossier's
        p = self.near_person()
        longer = p[1] + "-Marie"
        did = self.dossier((p[0], longer, p[2]))
        line("near: first name lengthened in the dossier", p, "05",
             ev(did, "prenom", norm_up(longer)))
        # the line has the long form, the dossier the short one
        p = self.near_person()
        did = self.dossier((p[0], p[1], p[2]))
        lp = (p[0], p[1] + " Louise", p[2])
        self.used_ids.add((norm(lp[0]), norm(lp[1]), lp[2]))
        line("near: first name shortened in the dossier", lp, "05",
             ev(did, "prenom", norm_up(p[1])))
        # a birth name changed: the married name in the dossier
        p = self.near_person()
        married = NEAR_OTHER_NAMES[0]
        did = self.dossier((married, p[1], p[2]))
        line("near: birth name changed (married name)", p, "05",
             ev(did, "nom_naissance", norm_up(married)))
        # a compound birth name cut in the line
        p = self.near_person()
        compound = p[0] + "-Lafleur"
        did = self.dossier((compound, p[1], p[2]))
        line("near: compound birth name cut", p, "05",
             ev(did, "nom_naissance", norm_up(compound)))
        # a numéro PE shared by two dossiers: 02 at step 1
        p = self.near_person()
        pe = self.pe()
        d1 = self.dossier((p[0], p[1], p[2]), cot=pe)
        d2 = self.dossier(self.near_person(), cot=pe)
        # the line's identity moved a lot: nothing near at step 3
        lp = self.near_person()
        line("near: numero PE shared by two dossiers", lp, "02/05/05",
             "|".join(ev(d, "-", "") for d in sorted([d1, d2])), pe=pe)
        # a numéro PE whose dossier has another birth name: 03
        p = self.near_person()
        pe = self.pe()
        other = NEAR_OTHER_NAMES[1]
        did = self.dossier((other, p[1], p[2]), cot=pe)
        # (also a near dossier at step 3, same first name and birth date:
        # listed once, as the 03)
        line("near: numero PE, birth name differs", p, "03/05/05",
             ev(did, "nom_naissance", norm_up(other)), pe=pe)
        # several near dossiers: ranked (date one digit away, a compound
        # name, a far date, a married name), three shown
        p = self.near_person()
        d, m, y = p[2].split("/")
        far = f"{d}/{m}/{int(y) - 11}"  # two digits of the year
        d_far = self.dossier((p[0], p[1], far))
        d_near = self.dossier((p[0], p[1], f"{d}/{m}/{int(y) + 1 if y[-1] != '9' else int(y) - 1}"))
        d_comp = self.dossier((p[0] + " Lafleur", p[1], p[2]))
        self.dossier((NEAR_OTHER_NAMES[2], p[1], p[2]))
        near_date = self.dossiers[[r[0] for r in self.dossiers].index(d_near)][4]
        line("near: several near dossiers, ranked", p, "05",
             "|".join([ev(d_near, "date_naissance", near_date),
                       ev(d_comp, "nom_naissance", norm_up(p[0] + " Lafleur")),
                       ev(d_far, "date_naissance", far)]))
        # simply absent: no evidence
        for i in range(3):
            line(f"near: dossier absent {i + 1}", self.near_person(), "05", "")
        line("near: dossier absent, with a numero PE", self.near_person(), "05/05/05", "",
             pe=self.pe())

    # --- random lines -------------------------------------------------------------
    def random_lines(self, n):
        kinds = [
            (("ok", "-", "-"), 62), (("05", "ok", "-"), 8), (("05", "05", "ok"), 5),
            ((None, None, "ok"), 5), (("05", "05", "05"), 5), ((None, None, "05"), 5),
            (("02", "05", "04"), 1), (("03", "03", "05"), 1), (("02", "02", "05"), 1),
            (("03", "ok", "-"), 1), ((None, None, "04"), 1), ("07", 1), ("06", 1),
            ("08", 1), ("09", 1), ("01", 1),
        ]
        population = [k for k, _ in kinds]
        weights = [w for _, w in kinds]
        variants = [v for v in NAME_VARIANTS if not (v[2] and self.cp1252)]
        for _ in range(n // 5):   # dossiers that no line matches
            self.dossier(self.person(), cot=self.maybe_pe(), comp=self.maybe_pe())
        for _ in range(n):
            k = self.rng.choices(population, weights)[0]
            if isinstance(k, tuple):
                variant = None
                if self.rng.random() < 0.1:
                    ln, dn, _u = self.rng.choice(variants)
                    pn = self.rng.choice(FIRSTNAMES)
                    variant = (ln, dn, pn, pn.upper())
                self.cascade("random " + "/".join(x or "-" for x in k), *k, variant=variant)
                continue
            p = self.person()
            f = self.fields(p, self.pe(), self.commune())
            if k == "01":
                self.add("random 01", ";".join(f[:self.rng.choice([9, 10, 11])]), "01",
                         [NATIONAL])
                continue
            if k == "07":
                f[self.rng.choice([0, 1, 3, 4, 5])] = ""
            elif k == "06":
                f[8] = "31/11/2026"
            elif k == "08":
                f[6] = self.rng.choice(UNKNOWN_INSEE)
            elif k == "09":
                f[10], f[11] = f"28/12/{f[8][6:]}", ""
            self.add(f"random {k}", f, k)

    # --- output ---------------------------------------------------------------------
    def write(self, out, header, crlf, encoding, cases, evidence_cases=None):
        eol = "\r\n" if crlf else "\n"
        text, rows, n = [], [], 0
        if header:
            text.append(HEADER)
            n += 1
        for item in self.items:
            n += 1
            if item[0] == "blank":
                text.append(item[1])
                continue
            _, fields, case, expect, route = item
            text.append(fields if isinstance(fields, str) else ";".join(fields))
            rows.append(f"{n};{case.replace(';', ',')};{expect};{'|'.join(route)}")
        data = (eol.join(text) + eol).encode(encoding)
        with open(os.path.join(out, "week.csv"), "wb") as f:
            f.write(data)
        dossiers = list(self.dossiers)
        self.rng.shuffle(dossiers)
        with open(os.path.join(out, "dossiers.csv"), "w", encoding="utf-8", newline="\n") as f:
            f.write(DOSSIER_HEADER + "\n")
            for d in dossiers:
                f.write(";".join(d) + "\n")
        if cases:
            with open(cases, "w", encoding="utf-8", newline="\n") as f:
                f.write("line;case;expect;route\n")
                f.write("".join(r + "\n" for r in rows))
        if evidence_cases:
            # item k (1-based among items) is on physical line k (+1 with a header)
            with open(evidence_cases, "w", encoding="utf-8", newline="\n") as f:
                f.write("line;evidence\n")
                for k, evidence in getattr(self, "expect_evidence", []):
                    f.write(f"{k + (1 if header else 0)};{evidence}\n")
        return len(rows), len(dossiers)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--lines", type=int, default=0, help="random lines after the crafted ones")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--encoding", choices=["utf-8", "cp1252"], default="utf-8")
    ap.add_argument("--crlf", action="store_true")
    ap.add_argument("--header", action="store_true")
    ap.add_argument("--no-long-line", action="store_true", help="leave out the line over 64 KiB")
    ap.add_argument("--cases", help="write what each line was built to give")
    ap.add_argument("--near-misses", action="store_true",
                    help="add lines whose dossier was edited (issue 18)")
    ap.add_argument("--evidence-cases", help="write the evidence each near miss was built to get")
    ap.add_argument("--communes", default=os.path.join(REPO, "data", "communes.csv"))
    ap.add_argument("--motifs", default=os.path.join(REPO, "data", "motifs.csv"))
    ap.add_argument("--coverage", default=os.path.join(REPO, "data", "sample", "coverage.csv"))
    args = ap.parse_args()

    ref = Ref(args.communes, args.motifs, args.coverage)
    week = Week(ref, random.Random(args.seed), args.encoding)
    week.crafted(not args.no_long_line)
    if args.near_misses:
        week.near_misses()
    week.random_lines(args.lines)
    os.makedirs(args.out, exist_ok=True)
    lines, dossiers = week.write(args.out, args.header, args.crlf, args.encoding, args.cases,
                                 args.evidence_cases)
    dst = os.path.join(args.out, "coverage.csv")
    if not (os.path.exists(dst) and os.path.samefile(args.coverage, dst)):
        shutil.copyfile(args.coverage, dst)
    print(f"gen_week: {lines} lines, {dossiers} dossiers -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
