#!/usr/bin/env python3
"""Extract data/communes.csv from the npm package @etalab/decoupage-administratif.

Usage: extract_communes.py PACKAGE_DIR [--out FILE]

PACKAGE_DIR is the unpacked npm package (the folder holding package.json and
data/communes.json), e.g. after

    npm pack @etalab/decoupage-administratif@6.0.0
    tar xzf etalab-decoupage-administratif-6.0.0.tgz     # -> ./package

Output (default data/communes.csv next to this script's parent folder):
header `code_insee;code_postal;nom_commune`, one row per distinct
(INSEE code, postal code) pair, and one row with an empty code_postal
(`98411;;Îles Saint-Paul et Nouvelle-Amsterdam`) for a code that has no postal
code at all; sorted by code then postal code, UTF-8, LF.

What is kept (SPEC §2.2):
- current communes (type commune-actuelle) and municipal arrondissements
  (arrondissement-municipal) with their `codesPostaux`;
- communes déléguées and associées (commune-deleguee, commune-associee): the
  source gives them no `codesPostaux`, so they take the postal codes of their
  parent current commune, named by the field `chefLieu`.
Some codes are both a current commune and a commune déléguée (the chef-lieu of
a commune nouvelle): the pairs are deduplicated and the row keeps the current
commune's name (type priority: actuelle, arrondissement, déléguée, associée).
A code with no postal code at all (the five districts of the Terres australes
et antarctiques françaises, uninhabited, have none in the source) is a known
code all the same (SPEC §2.2): it is kept, with an empty postal code, and
listed on stderr.

The output depends only on the package's content: running it twice gives the
same bytes. Python 3 standard library only.
"""
import argparse
import json
import os
import sys

TYPE_RANK = {
    "commune-actuelle": 0,
    "arrondissement-municipal": 1,
    "commune-deleguee": 2,
    "commune-associee": 3,
}


def load(package_dir):
    path = os.path.join(package_dir, "data", "communes.json")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        sys.exit(f"cannot open '{path}': {e.strerror}")
    except ValueError as e:
        sys.exit(f"cannot parse '{path}': {e}")


def extract(communes):
    """Returns ({(code, postcode): name}, stats, [codes without postal code]):
    postcode is "" for a code that has no postal code."""
    current = {c["code"]: c for c in communes if c["type"] == "commune-actuelle"}
    pairs = {}   # (code, cp) -> (rank, name)
    bare = {}    # code without postal code -> (rank, name)
    stats = {t: 0 for t in TYPE_RANK}
    for c in communes:
        kind = c["type"]
        if kind not in TYPE_RANK:
            continue
        postcodes = c.get("codesPostaux")
        if not postcodes and kind in ("commune-deleguee", "commune-associee"):
            parent = current.get(c.get("chefLieu", ""))
            postcodes = parent.get("codesPostaux") if parent else None
        stats[kind] += 1
        rank = TYPE_RANK[kind]
        if not postcodes:
            if c["code"] not in bare or rank < bare[c["code"]][0]:
                bare[c["code"]] = (rank, c["nom"])
            continue
        for cp in postcodes:
            key = (c["code"], cp)
            if key not in pairs or rank < pairs[key][0]:
                pairs[key] = (rank, c["nom"])
    # A code that some entry gives postal codes to needs no empty row.
    with_cp = {k[0] for k in pairs}
    for code, v in bare.items():
        if code not in with_cp:
            pairs[(code, "")] = v
    rows = {k: v[1] for k, v in pairs.items()}
    return rows, stats, sorted(k[0] for k in rows if not k[1])


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("package_dir")
    ap.add_argument("--out", default=os.path.normpath(os.path.join(here, "..", "communes.csv")))
    args = ap.parse_args()

    with open(os.path.join(args.package_dir, "package.json"), encoding="utf-8") as f:
        pkg = json.load(f)
    pairs, stats, bare = extract(load(args.package_dir))
    for key, name in pairs.items():
        if any(";" in s or "\n" in s for s in (key[0], key[1], name)):
            sys.exit(f"unexpected separator in {key} {name!r}")

    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("code_insee;code_postal;nom_commune\n")
        for (code, cp) in sorted(pairs):
            f.write(f"{code};{cp};{pairs[(code, cp)]}\n")
    os.replace(tmp, args.out)

    codes = {k[0] for k in pairs}
    print(f'{pkg["name"]}@{pkg["version"]}: {len(pairs)} rows, {len(codes)} INSEE codes '
          f'({len(bare)} without postal code), {len({k[1] for k in pairs if k[1]})} postal codes '
          f'-> {args.out}', file=sys.stderr)
    for kind, n in stats.items():
        print(f"  {kind}: {n} entries", file=sys.stderr)
    for code in bare:
        print(f"  kept without postal code: {code} {pairs[(code, '')]}", file=sys.stderr)


if __name__ == "__main__":
    main()
