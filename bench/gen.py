#!/usr/bin/env python3
"""Generate a national-scale week for the benchmark (deterministic, seeded).

Usage:
  bench/gen.py --out DIR [--lines N] [--dossiers M] [--seed S]

Writes DIR/week.csv (N random lines after the crafted lines of
tests/e2e/gen_week.py, which exercise every code and combination),
DIR/dossiers.csv (M dossiers: those the lines were built against, then
dossiers that no line matches) and DIR/coverage.csv. The mix of the random
lines: ~85% integrate at step 1, the rest spread over steps 2 and 3, every
failure combination of the cascade and every validation code; accented and
compound names (10% name variants), real INSEE codes of data/communes.csv.
The same options give the same bytes.
"""
import argparse
import functools
import os
import random
import shutil
import sys

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
import gen_week as gw  # noqa: E402

# The names come from small lists: N() computed once per name.
gw.norm = functools.lru_cache(maxsize=None)(gw.norm)


class BenchWeek(gw.Week):
    KINDS = [
        (("ok", "-", "-"), 850), (("05", "ok", "-"), 30), (("05", "05", "ok"), 15),
        (("03", "ok", "-"), 5), (("02", "ok", "-"), 3), (("03", "05", "ok"), 3),
        ((None, None, "ok"), 15), (("05", "05", "05"), 15), ((None, None, "05"), 10),
        (("02", "05", "04"), 2), (("03", "03", "05"), 2), (("02", "02", "05"), 2),
        (("05", "02", "04"), 2), ((None, None, "04"), 2),
        ("07", 8), ("06", 8), ("08", 8), ("09", 8), ("01", 8),
    ]

    def random_lines(self, n):
        population = [k for k, _ in self.KINDS]
        weights = [w for _, w in self.KINDS]
        variants = list(gw.NAME_VARIANTS)
        for k in self.rng.choices(population, weights, k=n):
            if isinstance(k, tuple):
                variant = None
                if self.rng.random() < 0.1:
                    ln, dn, _u = self.rng.choice(variants)
                    pn = self.rng.choice(gw.FIRSTNAMES)
                    variant = (ln, dn, pn, pn.upper())
                self.cascade("random", *k, variant=variant)
                continue
            p = self.person()
            f = self.fields(p, self.pe(), self.commune())
            if k == "01":
                self.add("random 01", ";".join(f[:self.rng.choice([9, 10, 11])]), "01",
                         [gw.NATIONAL])
                continue
            if k == "07":
                f[self.rng.choice([0, 1, 3, 4, 5])] = ""
            elif k == "06":
                f[8] = "31/11/2026"
            elif k == "08":
                f[6] = self.rng.choice(gw.UNKNOWN_INSEE)
            elif k == "09":
                f[10], f[11] = f"28/12/{f[8][6:]}", ""
            self.add(f"random {k}", f, k)


def filler(path, rng, first, count, mls):
    """Dossiers no line matches: born 1950-1990 (lines: 1999-2008), numéros PE
    ending in 'Q' (never generated for lines)."""
    sur, first_names = gw.SURNAMES, gw.FIRSTNAMES
    with open(path, "a", encoding="utf-8", newline="\n") as f:
        out = []
        for i in range(first, first + count):
            r = rng.getrandbits(48)
            cot = f"{r % 10000000:07d}Q" if r & (1 << 40) else ""
            comp = f"{(r >> 8) % 10000000:07d}Q" if r & (1 << 41) and not cot else ""
            out.append(f"D{i:08d};{mls[r % len(mls)]};{sur[(r >> 12) % len(sur)]};"
                       f"{first_names[(r >> 20) % len(first_names)]};"
                       f"{(r >> 28) % 28 + 1:02d}/{(r >> 33) % 12 + 1:02d}/{1950 + (r >> 37) % 41}"
                       f";{cot};{comp}\n")
            if len(out) == 100000:
                f.write("".join(out))
                out = []
        f.write("".join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--lines", type=int, default=1000000)
    ap.add_argument("--dossiers", type=int, default=2000000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--communes", default=os.path.join(REPO, "data", "communes.csv"))
    ap.add_argument("--motifs", default=os.path.join(REPO, "data", "motifs.csv"))
    ap.add_argument("--coverage", default=os.path.join(REPO, "data", "sample", "coverage.csv"))
    args = ap.parse_args()

    ref = gw.Ref(args.communes, args.motifs, args.coverage)
    rng = random.Random(args.seed)
    week = BenchWeek(ref, rng, "utf-8")
    week.crafted(False)
    week.random_lines(max(0, args.lines - len(week.items)))
    os.makedirs(args.out, exist_ok=True)
    lines, built = week.write(args.out, False, False, "utf-8", None)
    extra = max(0, args.dossiers - built)
    filler(os.path.join(args.out, "dossiers.csv"), rng, built + 1, extra, ref.all_mls)
    dst = os.path.join(args.out, "coverage.csv")
    if not (os.path.exists(dst) and os.path.samefile(args.coverage, dst)):
        shutil.copyfile(args.coverage, dst)
    print(f"bench/gen.py: {lines} lines, {built + extra} dossiers -> {args.out}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
