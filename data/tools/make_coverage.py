#!/usr/bin/env python3
"""Build the sample ML coverage file data/sample/coverage.csv.

Usage: make_coverage.py PACKAGE_DIR [--out FILE] [--departements LIST]

PACKAGE_DIR is the unpacked npm package @etalab/decoupage-administratif (see
extract_communes.py). The real Missions Locales' zones are not open data, so
the sample models one ML per EPCI (intercommunalité, from the package's
data/epci.json) that has at least one member commune in the chosen
departments:

    ml_code = "ML" + the EPCI's SIREN        e.g. ML200000172
    ml_nom  = "Mission Locale " + EPCI name  e.g. Mission Locale CC Faucigny - Glières
    code_postal = every postal code (data/communes.json, codesPostaux) of
                  every member commune

As in real life, a postal code that spans communes of two EPCIs belongs to
two MLs, and the departments not chosen are covered by no ML at all: their
failed lines go to the national report.

Output: header `ml_code;ml_nom;code_postal`, one row per (ML, postal code),
sorted by ml_code then code_postal, UTF-8, LF. Deterministic.
"""
import argparse
import collections
import json
import os
import sys

# Bretagne, Pays de la Loire, Normandie, Île-de-France, Rhône, Bouches-du-Rhône,
# Guadeloupe, La Réunion: about 300 EPCIs.
DEFAULT_DEPARTEMENTS = ("13,14,22,27,29,35,44,49,50,53,56,61,69,72,75,76,77,78,"
                        "85,91,92,93,94,95,971,974")


def load_json(package_dir, name):
    path = os.path.join(package_dir, "data", name)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        sys.exit(f"cannot open '{path}': {e.strerror}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("package_dir")
    ap.add_argument("--out", default=os.path.normpath(
        os.path.join(here, "..", "sample", "coverage.csv")))
    ap.add_argument("--departements", default=DEFAULT_DEPARTEMENTS,
                    help="comma-separated department codes (default: %(default)s)")
    args = ap.parse_args()
    wanted = set(args.departements.split(","))

    communes = {c["code"]: c for c in load_json(args.package_dir, "communes.json")
                if c["type"] == "commune-actuelle"}
    rows = set()
    mls = 0
    for epci in sorted(load_json(args.package_dir, "epci.json"), key=lambda e: e["code"]):
        members = [communes[m["code"]] for m in epci["membres"] if m["code"] in communes]
        if not any(m["departement"] in wanted for m in members):
            continue
        code = "ML" + epci["code"]
        name = "Mission Locale " + " ".join(epci["nom"].split())
        if ";" in name:
            sys.exit(f"unexpected ';' in {name!r}")
        postcodes = {cp for m in members for cp in m.get("codesPostaux", [])}
        if not postcodes:
            continue
        mls += 1
        rows.update((code, name, cp) for cp in postcodes)

    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("ml_code;ml_nom;code_postal\n")
        for r in sorted(rows):
            f.write(";".join(r) + "\n")
    os.replace(tmp, args.out)

    per_cp = collections.Counter(r[2] for r in rows)
    shared = sum(1 for n in per_cp.values() if n > 1)
    print(f"{mls} MLs, {len(rows)} rows, {len(per_cp)} postal codes covered, "
          f"{shared} shared by several MLs -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
