"""Write a random fleet JSON: N vans on task routes from a depot (some parked), stations, in a city. Seeded.

Usage: .venv/bin/python scripts/gen_fleet.py N [--seed S] [--city beijing|london|shanghai] [--out FILE]
       [--low-soc 0.35] [--split 0.3] [--parked 0.1]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from v2vchain.fleet.generate import CITIES, random_fleet


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--city", choices=sorted(CITIES), default="beijing")
    ap.add_argument("--low-soc", type=float, default=0.35, help="share of vans starting at 11-22 %% SOC")
    ap.add_argument("--split", type=float, default=0.3, help="share of vans that accept split deliveries")
    ap.add_argument("--parked", type=float, default=0.1, help="share of parked vans")
    ap.add_argument("--out", type=Path, help="file to write (default: stdout)")
    a = ap.parse_args()
    text = json.dumps(
        random_fleet(
            a.n, seed=a.seed, city=a.city, low_soc_share=a.low_soc, split_share=a.split, parked_share=a.parked
        ),
        indent=1,
    )
    if a.out:
        a.out.write_text(text + "\n")
        print(f"wrote {a.out} ({a.n} vans)")
    else:
        print(text)


if __name__ == "__main__":
    main()
