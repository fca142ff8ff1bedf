"""The maximum-welfare assignment at city scale (v2vchain.matching.city_assignment), timed beside one numpy.sort of
1M floats in the same run.

    .venv/bin/python scripts/bench_city_assignment.py [--vehicles N] [--nearest 1,2,3] [--seed N]

Vehicles as in bench_columnar.py (half buyers, within 15 km of central Berlin, each in its geohash-6 cell: ~1,600 cells,
so ~30 sellers a cell at 100,000 vehicles), except the buyers' limits: 150-650 token units per Wh, up to what a public
charger (50 p/kWh, and ~100 units per Wh of its driver's time at 50 kW) would cost, since between grid prices (50-150)
no pair's spread pays both drivers' time during the transfer (~344 per Wh); candidates are each buyer's `nearest`
nearest seller areas. Phases (wall seconds, one run each): the book (set checks and sorts), the acceptable edges
(candidates and their terms; also in process CPU seconds, which a busy machine inflates less), the exact matching
(scipy's sparse LAPJV, as assignment.py). First a 10,000-vehicle check against the object path (Order objects,
assignment.welfare_assignment, default 8 nearest areas): same trades, and both times.
"""

from __future__ import annotations

import argparse
import resource
import time
from dataclasses import replace

import numpy as np
from bench_columnar import city_columns

from v2vchain.matching import ClearingParams, city_assignment, columnar, welfare_assignment
from v2vchain.matching.assignment import max_weight_matching

CELL_DRAWS = 20_000  # random points whose geohash-6 cells make the city: every cell of the disk, ~1,600


def city(vehicles: int, rng: np.random.Generator) -> columnar.OrderColumns:
    cols = city_columns(vehicles, rng, cells=CELL_DRAWS)
    buyer = cols.side == 1
    return replace(cols, price_per_wh=np.where(buyer, rng.integers(150, 651, len(cols)), cols.price_per_wh))


def check_against_objects(vehicles: int, rng: np.random.Generator) -> None:
    cols = city(vehicles, rng)
    orders = [columnar.to_order(cols, i) for i in range(len(cols))]
    params = ClearingParams()
    t = time.perf_counter()
    expected = welfare_assignment(orders, params)
    objects_s = time.perf_counter() - t
    t = time.perf_counter()
    cleared = city_assignment.welfare_assignment(cols, params)
    columns_s = time.perf_counter() - t
    assert columnar.trades(cols, cleared) == list(expected.trades), "the columnar assignment differs"
    print(
        f"{vehicles:,} vehicles, {params.nearest_areas} nearest areas: object path {objects_s:.2f} s (Orders "
        f"built beforehand), columnar {columns_s:.2f} s; the same {len(cleared):,} trades"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=100_000)
    parser.add_argument("--nearest", default="1,2,3", help="nearest seller areas per buyer, one run each")
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    floats = rng.random(1_000_000)
    sort_s = min(_timed(lambda: np.sort(floats))[0] for _ in range(9))
    print(f"numpy.sort of 1,000,000 float64: {sort_s * 1e3:.1f} ms")
    check_against_objects(10_000, rng)
    cols = city(args.vehicles, rng)
    book_s, book = _timed(lambda: columnar.make_book(cols))
    print(
        f"{args.vehicles:,} vehicles ({len(book.buys):,} buyers x {len(book.sells):,} sellers, "
        f"{len(np.unique(cols.cell_id)):,} cells); book {book_s:.2f} s"
    )
    print(
        "| nearest areas | candidates | acceptable | edges s (CPU s) | matching s | total s | trades "
        "| welfare (tokens) | total / sort |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    ratio = 0.0
    for nearest in (int(k) for k in args.nearest.split(",")):
        params = ClearingParams(nearest_areas=nearest)
        starts, _ = city_assignment.candidate_sellers(book.buys, book.sells, nearest)
        cpu = time.process_time()
        edges_s, (buyer, seller, _, _, welfare) = _timed(
            lambda: city_assignment.acceptable_edges(book.buys, book.sells, params)
        )
        edges_cpu = time.process_time() - cpu
        match_s, chosen = _timed(lambda: max_weight_matching(buyer, seller, welfare, len(book.buys), len(book.sells)))
        total = book_s + edges_s + match_s
        ratio = total / sort_s
        print(
            f"| {nearest} | {int(starts[-1]):,} | {len(buyer):,} | {edges_s:.2f} ({edges_cpu:.2f}) | {match_s:.2f} | "
            f"{total:.2f} | {int(chosen.sum()):,} | {int(welfare[chosen].sum()) / 1e6:,.0f} | {ratio:,.0f} |"
        )
    print(f"process ru_maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB")
    print(f"city_{args.vehicles // 1000}k_assignment_over_sort={ratio:.0f}")


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


if __name__ == "__main__":
    main()
