"""The worst routed book for the cost-aware mechanisms: n buyers and n sellers, each on 8 waypoints through the same
few neighbouring cells, so every buyer is a candidate of every seller and each pair has 15 x 15 leg rows of 7
candidate points (what a hostile set of orders can make the operator plan). Prints CPU seconds and the peak of memory
numpy and Python allocated (tracemalloc) for the max-welfare assignment.

    .venv/bin/python scripts/bench_routed_book.py [n ...]     (default 50 100 200)
"""

from __future__ import annotations

import sys
import time
import tracemalloc

from v2vchain.matching import MECHANISMS, ClearingParams, Order, Side
from v2vchain.matching.areas import geohash_centre
from v2vchain.protocol.routes import Route, Waypoint

CELLS = ("u33dc0", "u33dc1", "u33dc4", "u33dc5", "u33dch", "u33dcj", "u33dcn", "u33dcp", "u33dcq")
T0, WINDOW_S, WAYPOINTS = 1_900_000_000, 7_200, 8


def route(first: int) -> Route:
    step = WINDOW_S // WAYPOINTS
    cells = CELLS[first : first + WAYPOINTS]
    return Route(tuple(Waypoint(c, T0 + k * step, T0 + k * step + step // 4) for k, c in enumerate(cells)))


def order(i: int, side: Side, price: int, first: int) -> Order:
    lat, lon = geohash_centre(CELLS[0])
    return Order(
        owner=f"0x{i:040x}",
        side=side,
        energy_wh=10_000,
        limit_price_per_wh=price,
        area_id=CELLS[0],
        area_lat=lat,
        area_lon=lon,
        window_start_ts=T0,
        window_end_ts=T0 + WINDOW_S,
        nonce=0,
        expiry_ts=T0,
        route=route(first),
    )


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [50, 100, 200]
    print("buyers x sellers | candidate pairs | CPU s | peak MiB (tracemalloc)")
    for n in sizes:
        book = [order(i + 1, Side.BUY, 900, i % 2) for i in range(n)]
        book += [order(n + i + 1, Side.SELL, 40, (i + 1) % 2) for i in range(n)]
        tracemalloc.start()
        cpu = time.process_time()
        MECHANISMS["max-welfare-assignment"](book, ClearingParams())
        cpu = time.process_time() - cpu
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"{n} x {n} | {n * n:,} | {cpu:.2f} | {peak / 2**20:,.0f}")


if __name__ == "__main__":
    main()
