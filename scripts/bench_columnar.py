"""The columnar clearing path end to end, as ratios to one numpy.sort of the same prices measured in the same run.

    .venv/bin/python scripts/bench_columnar.py [--orders N] [--seed N] [--repeat N] [--object-path]

The book: N orders (default 1M) drawn as in bench_clearing.py (half buyers; buyers 5-30 kWh, sellers 5-40 kWh;
limit prices 50-150 token units per Wh; nonces 0-9; 2,000 geohash-6 cells around Berlin), written once to an
uncompressed .npz in the format of v2vchain/matching/columnar.py. End to end = columnar.read of the file (mapped
afresh each time, so every page fault of the map is timed; the pages themselves are in the page cache after the
write, as for an operator that has just written its book) with every Order check -> set checks and canonical sort ->
crossing (McAfee: allocation and the dropped marginal pair) -> trade columns indexing the orders sorted by (owner,
nonce), ready to commit: columnar.read then columnar.double_auction / trade_reduction, nothing kept between runs.

Timing: --repeat rounds, each timing the sort (best of 3) then each mechanism once, so the sort and the clearings
see the same load; best of the rounds. Two clocks: the process's CPU time (user + system, page faults included),
the headline, because this machine is shared and a wall clock also counts the time other processes hold the core;
and the wall clock. Then the same rounds again after glibc is told to keep freed memory (mallopt M_MMAP_MAX = 0,
M_TRIM_THRESHOLD = 2 GiB: no large block is given back to the kernel, so no array is page-faulted in twice). No
command applies that tuning today; the headline is the untuned figure, what any process running the path gets.
Peak memory: tracemalloc's peak over one more double-auction run, and the process's ru_maxrss (taken before
--object-path, which times today's object path once on the same file: an Order per row, then double_auction).
"""

from __future__ import annotations

import argparse
import ctypes
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


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(CPU seconds, wall seconds, result) of one call."""
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn()
    return time.process_time() - cpu, time.perf_counter() - wall, out


def rounds(repeat: int, prices: np.ndarray, path: Path, params: ClearingParams) -> dict[str, Any]:
    """Best CPU and wall seconds of the sort and of each mechanism end to end, interleaved round by round."""
    mechanisms = {"da": columnar.double_auction, "mcafee": columnar.trade_reduction}
    best: dict[str, list[float]] = {name: [math.inf, math.inf] for name in ("sort", *mechanisms)}
    results: dict[str, Any] = {}
    for _ in range(repeat):
        for name, run in (
            ("sort", lambda: np.sort(prices)),
            *((name, lambda clear=clear: clear(columnar.read(path), params)) for name, clear in mechanisms.items()),
        ):
            for _ in range(3 if name == "sort" else 1):
                cpu, wall, results[name] = timed(run)
                best[name] = [min(best[name][0], cpu), min(best[name][1], wall)]
    return {"best": best, "results": results}


def report(label: str, measured: dict[str, Any]) -> dict[str, float]:
    best, results = measured["best"], measured["results"]
    sort_cpu, sort_wall = best["sort"]
    print(f"{label}: numpy.sort of the prices {sort_cpu * 1e3:.2f} ms CPU, {sort_wall * 1e3:.2f} ms wall")
    ratios = {}
    for name in ("da", "mcafee"):
        cpu, wall = best[name]
        cleared = results[name]
        ratios[name] = cpu / sort_cpu
        marginal = f"; marginal pair at {cleared.marginal}" if cleared.marginal is not None else ""
        print(
            f"  {cleared.mechanism}: end to end {cpu * 1e3:.0f} ms CPU = {ratios[name]:.1f} sorts, "
            f"{wall * 1e3:.0f} ms wall = {wall / sort_wall:.1f} sorts; {len(cleared):,} trades, "
            f"{int(cleared.energy_wh.sum()) / 1e6:,.1f} MWh{marginal}"
        )
    return ratios


def keep_freed_memory() -> None:
    """glibc: serve every block from the heap (no mmap) and never trim it, so freed arrays are reused in place."""
    libc = ctypes.CDLL("libc.so.6")
    m_mmap_max, m_trim_threshold = -4, -1
    if not (libc.mallopt(m_mmap_max, 0) and libc.mallopt(m_trim_threshold, 2**31)):
        raise RuntimeError("mallopt refused the tuning")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--object-path", action="store_true", help="also time the Order-object path once")
    args = parser.parse_args()
    params = ClearingParams()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orders.npz"
        columnar.write(path, city_columns(args.orders, np.random.default_rng(args.seed)))
        print(f"{args.orders:,} orders, file {path.stat().st_size / 2**20:.1f} MiB ({columnar.FORMAT})")
        prices = columnar.read(path).price_per_wh
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        ratios = report("as any process runs it", rounds(args.repeat, prices, path, params))
        print(f"  page faults over these rounds: {resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults:,}")
        tracemalloc.start()
        columnar.double_auction(columnar.read(path), params)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        keep_freed_memory()
        rounds(1, prices, path, params)  # the heap grows to its peak once
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        tuned = report("with glibc keeping freed memory", rounds(args.repeat, prices, path, params))
        print(f"  page faults over these rounds: {resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults:,}")
        print(
            f"peak memory: {peak / 2**20:.0f} MiB traced in one double-auction run; "
            f"process ru_maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB"
        )
        if args.object_path:
            objects_cpu, objects_wall, result = timed(lambda: _object_path(path, params))
            print(
                f"object path, once: {objects_wall:.1f} s wall, {objects_cpu:.1f} s CPU; {len(result.trades):,} trades"
            )
    print(f"tuned_da_1m_end_to_end_over_sort={tuned['da']:.1f}")
    print(f"mcafee_1m_end_to_end_over_sort={ratios['mcafee']:.1f}")
    print(f"da_1m_end_to_end_over_sort={ratios['da']:.1f}")


def _object_path(path: Path, params: ClearingParams) -> Any:
    cols = columnar.read(path)
    return double_auction([columnar.to_order(cols, i) for i in range(len(cols))], params)


if __name__ == "__main__":
    main()
