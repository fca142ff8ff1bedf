"""Clearing time against book size for each mechanism, and one rush-hour clearing compared across mechanisms.

    .venv/bin/python scripts/bench_clearing.py [--quick] [--seed N] [--rush-hour-only] [--routed-share 0.5]

The city: vehicles uniformly within 15 km of central Berlin (52.52 N, 13.405 E), each revealing only its geohash-6
cell (~1.2 x 0.6 km); delivery windows of 20-90 min starting 07:00-08:30; buyers want 5-30 kWh, sellers offer
5-40 kWh; limit prices uniform between grid export and import (5-15 p/kWh = 50-150 token units per Wh). In the
rush-hour table a share of the vehicles (--routed-share) commute: a route from home (the order's area) to work 1-8
km away, sometimes by way of a stop, inside the window.
Double-auction timings are split: ingest (orders -> sorted book), clear (the numpy crossing on the book's
columns) and result (trades and grid fallbacks as Python objects). Times are this process's CPU seconds, best of
`repeat` (a shared machine inflates wall-clock); the last column of each timing table is the wall-clock total.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from v2vchain.matching import MECHANISMS, ClearingParams, Order, Side, make_book
from v2vchain.matching.areas import geohash, geohash_centre
from v2vchain.matching.assignment import clear_welfare_assignment
from v2vchain.matching.book import Book
from v2vchain.matching.crossing import segments
from v2vchain.matching.double_auction import clear_double_auction, cross
from v2vchain.matching.outside import Station, reservation_limit
from v2vchain.matching.pairs import candidate_pairs
from v2vchain.matching.report import ranked, summarise
from v2vchain.matching.stable import clear_stable_matching
from v2vchain.matching.trade_reduction import allocate, clear_trade_reduction
from v2vchain.matching.venues import clear_by_venue, geohash_parent
from v2vchain.protocol.routes import Route, Waypoint

BERLIN = (52.52, 13.405)
RADIUS_KM = 15.0
KM_PER_DEG_LAT = 111.195
RUSH_HOUR_STATIONS = 40
RUSH_HOUR_TS = int(datetime(2025, 6, 3, 7, 0, tzinfo=UTC).timestamp())


def city(n: int, rng: random.Random, cells: int | None = None) -> list[Order]:
    """n orders, about half buyers; `cells` > 0 draws areas from a fixed pool (fast, for the large books)."""
    pool = [_random_cell(rng) for _ in range(cells)] if cells else None
    orders = []
    for _ in range(n):
        cell, (lat, lon) = rng.choice(pool) if pool else _random_cell(rng)
        start = RUSH_HOUR_TS + rng.randrange(0, 90 * 60)
        buyer = rng.random() < 0.5
        orders.append(
            Order(
                owner=f"0x{rng.getrandbits(160):040x}",
                side=Side.BUY if buyer else Side.SELL,
                energy_wh=rng.randrange(5_000, 30_001 if buyer else 40_001, 100),
                limit_price_per_wh=rng.randrange(50, 151),
                area_id=cell,
                area_lat=lat,
                area_lon=lon,
                window_start_ts=start,
                window_end_ts=start + rng.randrange(20 * 60, 90 * 60 + 1),
                nonce=rng.randrange(10),
                expiry_ts=start,
            )
        )
    return orders


def commute(order: Order, rng: random.Random) -> Order:
    """The order with a commuter's route inside its window: from home (its area) to work, sometimes by way of a
    stop (a school, a shop); precision-6 cells, 30 km/h, stays of 0-5 minutes; at work until the window ends."""
    start, end = order.window_start_ts, order.window_end_ts
    home, leave = order.area_id, start + rng.randrange(0, 301)
    stops = [_cell_near(order.area_lat, order.area_lon, rng) for _ in range(rng.choice((1, 2)))]
    waypoints, at, here = [Waypoint(home, start, leave)], leave, (order.area_lat, order.area_lon)
    for k, (cell, place) in enumerate(stops):
        at += math.ceil(_km(here, place) / 30 * 3_600)
        stay = end if k == len(stops) - 1 else at + rng.randrange(0, 301)
        if stay > end or at > end:
            break
        waypoints.append(Waypoint(cell, at, stay))
        at, here = stay, place
    return order if len(waypoints) < 2 else replace(order, route=Route(tuple(waypoints)))


def _cell_near(lat: float, lon: float, rng: random.Random) -> tuple[str, tuple[float, float]]:
    """A precision-6 cell 1-8 km from (lat, lon), in a random direction."""
    r, theta = rng.uniform(1.0, 8.0), rng.uniform(0, 2 * math.pi)
    lat2 = lat + r * math.cos(theta) / KM_PER_DEG_LAT
    lon2 = lon + r * math.sin(theta) / (KM_PER_DEG_LAT * math.cos(math.radians(lat)))
    cell = geohash(lat2, lon2, 6)
    return cell, geohash_centre(cell)


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    dy = (b[0] - a[0]) * KM_PER_DEG_LAT
    dx = (b[1] - a[1]) * KM_PER_DEG_LAT * math.cos(math.radians(a[0]))
    return math.hypot(dx, dy) * 1.02  # a little above the great circle, so the planned times are never too short


def _random_cell(rng: random.Random) -> tuple[str, tuple[float, float]]:
    r, theta = RADIUS_KM * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
    lat = BERLIN[0] + r * math.cos(theta) / KM_PER_DEG_LAT
    lon = BERLIN[1] + r * math.sin(theta) / (KM_PER_DEG_LAT * math.cos(math.radians(BERLIN[0])))
    cell = geohash(lat, lon, 6)
    return cell, geohash_centre(cell)


class Timed:
    """CPU and wall seconds of the best of `repeat` runs, and the last run's output."""

    def __init__(self, repeat: int, fn: Callable[[], Any]) -> None:
        self.cpu, self.wall, self.out = float("inf"), float("inf"), None
        for _ in range(repeat):
            cpu, wall = time.process_time(), time.perf_counter()
            self.out = fn()
            self.cpu = min(self.cpu, time.process_time() - cpu)
            self.wall = min(self.wall, time.perf_counter() - wall)


def auction_rows(sizes: list[int], params: ClearingParams, rng: random.Random) -> None:
    print("## Double auctions: clearing time against the number of orders (CPU seconds; wall-clock total last)")
    print(
        f"| {'orders':>9} | {'mechanism':<24} | {'ingest':>7} | {'clear':>7} | {'result':>7} | {'total':>7} | "
        f"{'trades':>7} | {'MWh traded':>10} | {'wall':>7} |"
    )
    print(f"|{'-' * 11}|{'-' * 26}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 12}|{'-' * 9}|")
    for n in sizes:
        orders = city(n, rng, cells=2_000)
        repeat = 3 if n <= 100_000 else 2
        ingest = Timed(repeat, lambda: _warm(make_book(orders)))
        book = ingest.out
        cores = {
            "double-auction-k": (
                lambda: cross(book.buys.price, book.buys.energy, book.sells.price, book.sells.energy, params.k),
                clear_double_auction,
            ),
            "mcafee-trade-reduction": (lambda: segments(*allocate(book)[:2]), clear_trade_reduction),
        }
        for name, (core, full) in cores.items():
            clear = Timed(repeat, core)
            whole = Timed(repeat, lambda: full(book, params))
            result = whole.out
            print(
                f"| {n:>9,} | {name:<24} | {ingest.cpu:7.3f} | {clear.cpu:7.3f} | "
                f"{max(whole.cpu - clear.cpu, 0):7.3f} | {ingest.cpu + whole.cpu:7.3f} | {len(result.trades):>7,} | "
                f"{result.energy_wh / 1e6:>10,.1f} | {ingest.wall + whole.wall:7.3f} |"
            )


def _warm(book: Book) -> Book:
    """Build the columns the auctions read, so ingest is timed apart from clearing."""
    for side in (book.buys, book.sells):
        side.energy  # noqa: B018
    return book


def matching_rows(sizes: list[int], params: ClearingParams, rng: random.Random) -> None:
    print(
        f"\n## Cost-aware mechanisms: clearing time against the number of vehicles "
        f"(candidates: each buyer's {params.nearest_areas} nearest seller areas; buyers bid up to a public "
        "charger's cost; CPU seconds, wall last)"
    )
    print(
        f"| {'vehicles':>8} | {'buyers x sellers':>16} | {'candidate pairs':>15} | {'mechanism':<30} | "
        f"{'cpu s':>7} | {'trades':>6} | {'wall s':>7} |"
    )
    print(f"|{'-' * 10}|{'-' * 18}|{'-' * 17}|{'-' * 32}|{'-' * 9}|{'-' * 8}|{'-' * 9}|")
    for n in sizes:
        orders = [charger_limit(o, rng) for o in city(n, rng)]
        book = make_book(orders)
        shape = f"{len(book.buys)} x {len(book.sells)}"
        pairs = len(candidate_pairs(book, params.nearest_areas)[0])
        runs = {
            "max-welfare-assignment": lambda: clear_welfare_assignment(book, params),
            "gale-shapley-buyer-proposing": lambda: clear_stable_matching(book, params, Side.BUY),
            "gale-shapley-seller-proposing": lambda: clear_stable_matching(book, params, Side.SELL),
        }
        for name, run in runs.items():
            timed = Timed(3 if n <= 1_000 else 2, run)
            print(
                f"| {n:>8,} | {shape:>16} | {pairs:>15,} | {name:<30} | {timed.cpu:7.3f} | "
                f"{len(timed.out.trades):>6,} | {timed.wall:7.3f} |"
            )


def charger_limit(order: Order, rng: random.Random) -> Order:
    """A buyer's limit up to what a public charger would cost it: 150-650 units per Wh (50 p/kWh, and ~100 units per
    Wh of its driver's time at 50 kW). Between grid prices no pair's spread pays both drivers' transfer time (~344
    per Wh), and the mechanisms would match nothing."""
    return replace(order, limit_price_per_wh=rng.randrange(150, 651)) if order.side is Side.BUY else order


def city_stations(n: int, rng: random.Random, price_per_wh: int) -> tuple[Station, ...]:
    """n public chargers spread over the city: 50 kW (DOMAIN), queues of 0-10 minutes."""
    return tuple(
        Station(f"s{i}", *_random_cell(rng)[1], price_per_wh=price_per_wh, queue_s=rng.randrange(0, 601))
        for i in range(n)
    )


def limit_from_station(order: Order, params: ClearingParams) -> Order:
    """A buyer bids what its cheapest station would charge it per Wh (its outside option); sellers keep their asks."""
    if order.side is Side.SELL:
        return order
    limit = reservation_limit(
        order.area_lat,
        order.area_lon,
        order.energy_wh,
        params.stations,
        params.costs,
        params.grid.import_per_wh,
        route=order.route,
    )
    return replace(order, limit_price_per_wh=limit)


def rush_hour(n: int, params: ClearingParams, rng: random.Random, station_price: int, routed_share: float) -> None:
    with_stations = replace(params, stations=city_stations(RUSH_HOUR_STATIONS, rng, station_price))
    parked = city(n, rng)
    commuters = [commute(o, rng) if rng.random() < routed_share else o for o in parked]
    orders = [limit_from_station(o, with_stations) for o in commuters]
    print(
        f"\n## One rush-hour clearing: {n:,} vehicles, {sum(o.side is Side.BUY for o in orders):,} buyers, "
        f"{sum(o.route is not None for o in orders):,} on a commuter's route, "
        f"{RUSH_HOUR_STATIONS} stations at {station_price} units/Wh (tokens; net surplus against each side's "
        "outside option: the buyer's cheapest station, which is also its limit price; the seller's grid export; "
        "ranked by welfare = buyers + sellers + operator)"
    )
    print(
        f"| {'#':>2} | {'mechanism':<50} | {'trades':>6} | {'MWh in':>6} | {'infeasible':>10} | {'detour km':>9} | "
        f"{'buyers net':>10} | {'sellers net':>11} | {'operator':>8} | {'welfare':>9} | {'worse off b/s':>13} | "
        f"{'ranks b/s':>9} |"
    )
    widths = (2, 50, 6, 6, 10, 9, 10, 11, 8, 9, 13, 9)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    runs = {name: (lambda m: lambda: m(orders, with_stations))(m) for name, m in MECHANISMS.items()}
    for name in ("double-auction-k", "mcafee-trade-reduction"):  # one venue per geohash-5 district (~5 x 5 km)
        runs[f"{name} by district"] = (lambda m: lambda: clear_by_venue(m, orders, params, geohash_parent(5)))(
            MECHANISMS[name]
        )
    runs["max-welfare-assignment, limits only (no stations)"] = lambda: MECHANISMS["max-welfare-assignment"](
        orders, params
    )
    summaries, satisfaction = [], {}
    for name, run in runs.items():
        result = run()
        summaries.append(replace(summarise(result, with_stations), mechanism=name))
        satisfaction[name] = result.satisfaction
    for rank, s in enumerate(ranked(summaries), 1):
        name, sat = s.mechanism, satisfaction[s.mechanism]
        ranks = f"{sat.mean_buyer_rank:.2f}/{sat.mean_seller_rank:.2f}" if sat else "-"
        worse = f"{s.buyers_worse_off}/{s.sellers_worse_off}"
        print(
            f"| {rank:>2} | {name:<50} | {s.trades:>6,} | {s.delivered_wh / 1e6:>6.2f} | {s.infeasible_trades:>10,} | "
            f"{s.mean_detour_km:>9.2f} | {s.buyers_net / 1e6:>10,.2f} | {s.sellers_net / 1e6:>11,.2f} | "
            f"{s.operator_surplus / 1e6:>8,.2f} | {s.welfare / 1e6:>9,.2f} | {worse:>13} | {ranks:>9} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (a smoke run)")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--rush-hour-only", action="store_true", help="only the rush-hour tables")
    parser.add_argument(
        "--station-prices",
        type=int,
        nargs="+",
        default=[150, 500],
        help="one rush-hour table per station price, units per Wh (150 = the grid import price, the cheapest "
        "conceivable charger; 500 = 50 p/kWh, our assumption for a public one)",
    )
    parser.add_argument(
        "--routed-share",
        type=float,
        default=0.5,
        help="share of the rush-hour vehicles on a commuter's route (home -> work, sometimes by way of a stop)",
    )
    args = parser.parse_args()
    params = ClearingParams()
    rng = random.Random(args.seed)
    print(
        f"params: k={params.k}, nearest_areas={params.nearest_areas}, grid import/export "
        f"{params.grid.import_per_wh}/{params.grid.export_per_wh} units per Wh, {params.costs}\n"
    )
    if not args.rush_hour_only:
        auction_rows([1_000, 10_000] if args.quick else [1_000, 10_000, 100_000, 1_000_000], params, rng)
        matching_rows([100, 1_000] if args.quick else [100, 1_000, 5_000, 10_000], params, rng)
    for price in args.station_prices:  # the same city and stations each time: only the price changes
        rush_hour(1_000 if args.quick else 2_000, params, random.Random(args.seed), price, args.routed_share)


if __name__ == "__main__":
    main()
