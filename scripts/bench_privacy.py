"""The price of location privacy: extra detour when buyers pick the nearest seller by cloaked positions.

A seeded city of vehicles spread uniformly within a radius of Berlin's centre, split into buyers and sellers.
Every vehicle publishes a cloak (a k-anonymous geohash cell, whose centre stands for it, or a planar-Laplace point);
each buyer picks the seller whose published point is nearest to its own published point (ties broken at random),
and pays the true distance to that seller minus the true distance to its truly nearest seller.
k-anonymity here is given every vehicle's exact position: its best case, which no decentralised node has.

    .venv/bin/python scripts/bench_privacy.py [--vehicles 1000] [--seed 1] [--radius-km 10]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from v2vchain.privacy import (
    DEFAULT_EPSILON_PER_M,
    CellCounts,
    epsilon_for_mean_noise,
    geohash,
    k_anonymous_cell,
    laplace_cloak,
)
from v2vchain.privacy.geo import EARTH_RADIUS_M, Position, offset

BERLIN = (52.5200, 13.4050)
K_VALUES = (2, 5, 10, 20)
MEAN_NOISE_M = (100, 250, 500, 1000)


@dataclass
class Row:
    method: str
    parameter: str
    location_error_m: float
    cloak_size: str
    extra_mean_m: float
    extra_p90_m: float
    other_seller_pct: float


def city(n: int, radius_m: float, rng: random.Random) -> list[Position]:
    """Uniform in a disc: radius by sqrt so density is even."""
    points = []
    for _ in range(n):
        r, theta = radius_m * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        points.append(offset(BERLIN, r * math.cos(theta), r * math.sin(theta)))
    return points


def planar(p: Position) -> tuple[float, float]:
    """Metres east and north of the centre: at 10 km the flat-Earth error is far below a metre."""
    x = math.radians(p[1] - BERLIN[1]) * EARTH_RADIUS_M * math.cos(math.radians(BERLIN[0]))
    return x, math.radians(p[0] - BERLIN[0]) * EARTH_RADIUS_M


def nearest(buyer: tuple[float, float], sellers: list[tuple[float, float]], rng: random.Random) -> int:
    return min(range(len(sellers)), key=lambda i: (math.dist(buyer, sellers[i]), rng.random()))


def evaluate(
    method: str,
    parameter: str,
    truth: list[tuple[float, float]],
    shown: list[tuple[float, float]],
    buyers: list[int],
    sellers: list[int],
    cloak_size: str,
    rng: random.Random,
) -> Row:
    true_sellers = [truth[s] for s in sellers]
    shown_sellers = [shown[s] for s in sellers]
    extra, switched = [], 0
    for b in buyers:
        best = nearest(truth[b], true_sellers, rng)
        chosen = nearest(shown[b], shown_sellers, rng)
        extra.append(math.dist(truth[b], true_sellers[chosen]) - math.dist(truth[b], true_sellers[best]))
        switched += chosen != best
    error = statistics.fmean(math.dist(t, s) for t, s in zip(truth, shown))
    return Row(
        method,
        parameter,
        error,
        cloak_size,
        statistics.fmean(extra),
        statistics.quantiles(extra, n=10)[-1],
        100 * switched / len(buyers),
    )


def cell_area_km2(cell: str) -> float:
    south, north, west, east = geohash.bounds(cell)
    height = math.radians(north - south) * EARTH_RADIUS_M
    width = math.radians(east - west) * EARTH_RADIUS_M * math.cos(math.radians((north + south) / 2))
    return width * height / 1e6


def run(n: int, seed: int, radius_km: float) -> tuple[list[Row], float, float]:
    rng = random.Random(seed)
    positions = city(n, radius_km * 1000, rng)
    order = list(range(n))
    rng.shuffle(order)
    buyers, sellers = sorted(order[: n // 2]), sorted(order[n // 2 :])
    truth = [planar(p) for p in positions]
    baseline = statistics.fmean(min(math.dist(truth[b], truth[s]) for s in sellers) for b in buyers)
    rows = [evaluate("exact", "-", truth, truth, buyers, sellers, "0 m", random.Random(seed))]
    counts = CellCounts(positions)
    for k in K_VALUES:
        cloaks = [k_anonymous_cell(p, counts, k) for p in positions]
        area = statistics.fmean(cell_area_km2(c.cell) for c in cloaks)
        precisions = statistics.fmean(len(c.cell) for c in cloaks)
        rows.append(
            evaluate(
                "k-anonymity",
                f"k={k}",
                truth,
                [planar(c.centre) for c in cloaks],
                buyers,
                sellers,
                f"{area:.3f} km2 (p {precisions:.1f})",
                random.Random(seed),
            )
        )
    for label, epsilon in [
        *((f"{m} m", epsilon_for_mean_noise(m)) for m in MEAN_NOISE_M),
        (f"{2 / DEFAULT_EPSILON_PER_M:.0f} m*", DEFAULT_EPSILON_PER_M),
    ]:
        noise = random.Random(seed * 1_000 + round(1 / epsilon))
        shown = [planar(laplace_cloak(p, epsilon, noise).centre) for p in positions]
        rows.append(
            evaluate(
                "planar Laplace",
                f"eps={epsilon:.4f}/m ({label})",
                truth,
                shown,
                buyers,
                sellers,
                f"{2 / epsilon:.0f} m mean",
                random.Random(seed),
            )
        )
    return rows, baseline, radius_km


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--radius-km", type=float, default=10.0)
    args = parser.parse_args()
    started = time.perf_counter()
    rows, baseline, radius_km = run(args.vehicles, args.seed, args.radius_km)
    print(
        f"{args.vehicles} vehicles ({args.vehicles // 2} buyers, {args.vehicles - args.vehicles // 2} sellers) "
        f"uniform within {radius_km:g} km of Berlin centre, seed {args.seed}; "
        f"exact nearest seller is {baseline:.0f} m away on average"
    )
    header = (
        "method",
        "parameter",
        "mean loc. error m",
        "cloak size",
        "extra detour mean m",
        "p90 m",
        "other seller %",
    )
    widths = (14, 29, 17, 22, 19, 7, 14)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        cells = (
            r.method,
            r.parameter,
            f"{r.location_error_m:.0f}",
            r.cloak_size,
            f"{r.extra_mean_m:.0f}",
            f"{r.extra_p90_m:.0f}",
            f"{r.other_seller_pct:.1f}",
        )
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths)))
    print(
        "* the library default, eps = ln(4)/200 m. Cloak size: mean geohash cell area (mean precision p) for "
        "k-anonymity, mean noise distance 2/eps for Laplace."
    )
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
