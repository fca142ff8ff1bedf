"""The columnar clearing path end to end, as ratios to one numpy.sort of the same prices measured in the same run.

    .venv/bin/python scripts/bench_columnar.py [--orders N] [--seed N]

The book: N orders (default 1M) drawn as in bench_clearing.py (half buyers; buyers 5-30 kWh, sellers 5-40 kWh;
limit prices 50-150 token units per Wh; nonces 0-9; 2,000 geohash-6 cells around Berlin), written once to an
uncompressed .npz in the format of v2vchain/matching/columnar.py. End to end = read the file (with every Order
check) -> set checks and canonical sort -> crossing -> trade columns indexing the orders sorted by (owner, nonce),
ready to commit. Wall seconds, best of --repeat; the sort reference is the best of 9 in the same process. Peak
memory: tracemalloc's peak over one more end-to-end run, and the process's ru_maxrss (taken before --object-path,
which times today's object path once on the same file: an Order per row, then double_auction).
"""

from __future__ import annotations

import argparse
import math
import resource
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from v2vchain.matching import ClearingParams, columnar, double_auction
from v2vchain.matching.areas import geohash, geohash_centre

BERLIN = (52.52, 13.405)
RADIUS_KM = 15.0
KM_PER_DEG_LAT = 111.195
RUSH_HOUR_TS = 1_748_934_000  # 2025-06-03 07:00 UTC


def city_columns(n: int, rng: np.random.Generator, cells: int = 2_000) -> columnar.OrderColumns:
    r, theta = RADIUS_KM * np.sqrt(rng.random(cells)), rng.uniform(0, 2 * math.pi, cells)
    lat = BERLIN[0] + r * np.cos(theta) / KM_PER_DEG_LAT
    lon = BERLIN[1] + r * np.sin(theta) / (KM_PER_DEG_LAT * math.cos(math.radians(BERLIN[0])))
    ids = [geohash(a, b, 6) for a, b in zip(lat.tolist(), lon.tolist())]
    centres = [geohash_centre(c) for c in ids]
    buyer = rng.random(n) < 0.5
    start = RUSH_HOUR_TS + rng.integers(0, 90 * 60, n)
    return columnar.OrderColumns(
        owner=rng.integers(0, 256, (n, 20), dtype=np.uint8),
        side=np.where(buyer, 1, 2).astype(np.uint8),
        energy_wh=np.where(buyer, rng.integers(50, 301, n), rng.integers(50, 401, n)) * 100,
        price_per_wh=rng.integers(50, 151, n),
        nonce=rng.integers(0, 10, n).astype(np.uint64),
        window_start=start,
        window_end=start + rng.integers(20 * 60, 90 * 60 + 1, n),
        expiry=start,
        cell=rng.integers(0, cells, n).astype(np.uint32),
        cell_id=np.array([c.encode() for c in ids], "S12"),
        cell_lat=np.array([c[0] for c in centres]),
        cell_lon=np.array([c[1] for c in centres]),
    )


def best(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    seconds, out = math.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        seconds = min(seconds, time.perf_counter() - t)
    return seconds, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--object-path", action="store_true", help="also time the Order-object path once")
    args = parser.parse_args()
    params = ClearingParams()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orders.npz"
        columnar.write(path, city_columns(args.orders, np.random.default_rng(args.seed)))
        print(f"{args.orders:,} orders, file {path.stat().st_size / 2**20:.1f} MiB ({columnar.FORMAT})")
        prices = columnar.read(path).price_per_wh
        sort_s, _ = best(9, lambda: np.sort(prices))
        print(f"numpy.sort of the {len(prices):,} prices: {sort_s * 1e3:.1f} ms")
        mechanisms = {"da": columnar.double_auction, "mcafee": columnar.trade_reduction}
        ratios = {}
        for name, clear in mechanisms.items():
            read_s, cols = best(args.repeat, lambda: columnar.read(path))
            clear_s, cleared = best(args.repeat, lambda: clear(cols, params))
            total_s, _ = best(args.repeat, lambda: clear(columnar.read(path), params))
            ratios[name] = total_s / sort_s
            print(
                f"{cleared.mechanism}: read {read_s * 1e3:.0f} ms + clear {clear_s * 1e3:.0f} ms; end to end "
                f"{total_s * 1e3:.0f} ms = {ratios[name]:.1f} sorts; {len(cleared):,} trades, "
                f"{int(cleared.energy_wh.sum()) / 1e6:,.1f} MWh"
            )
        tracemalloc.start()
        columnar.double_auction(columnar.read(path), params)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(
            f"peak memory: {peak / 2**20:.0f} MiB traced in one double-auction run; "
            f"process ru_maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB"
        )
        if args.object_path:
            objects_s, result = best(1, lambda: _object_path(path, params))
            print(
                f"object path, once: {objects_s:.1f} s = {objects_s / sort_s:,.0f} sorts; {len(result.trades):,} trades"
            )
    print(f"mcafee_1m_end_to_end_over_sort={ratios['mcafee']:.1f}")
    print(f"da_1m_end_to_end_over_sort={ratios['da']:.1f}")


def _object_path(path: Path, params: ClearingParams) -> Any:
    cols = columnar.read(path)
    return double_auction([columnar.to_order(cols, i) for i in range(len(cols))], params)


if __name__ == "__main__":
    main()
