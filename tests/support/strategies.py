"""Hypothesis strategies and builders for orders around central Berlin."""

from __future__ import annotations

from functools import cache
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from v2vchain.matching import Order, Side
from v2vchain.matching.areas import geohash_centre
from v2vchain.matching.outside import Station
from v2vchain.privacy.geohash import BASE32
from v2vchain.protocol.routes import MAX_TS as MAX_ROUTE_TS
from v2vchain.protocol.routes import MAX_WAYPOINTS, Route, Waypoint

T0 = 1_750_000_000  # a morning in 2025
# ~20 ms an example goes to drawing the orders, so properties run fewer examples than Hypothesis's 100
FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CELLS = ("u33dc0", "u33dc2", "u33db8", "u33d9r", "u33d8x", "u33dc6")  # geohash-6 cells within ~2 km
# limits whose spread can pay a pair's costs, so the cost-aware mechanisms trade on some books: both drivers' time
# during the transfer alone is ~344 token units per Wh at the default cost model (30 kW, 97 %, 5 tokens an hour)
PAIR_PRICES = (40, 1_000)


def order(
    i: int = 1,
    side: Side = Side.BUY,
    energy_wh: int = 10_000,
    price: int = 100,
    cell: str = "u33dc0",
    start: int = T0,
    end: int = T0 + 7_200,
    nonce: int = 0,
    **kw: Any,
) -> Order:
    """An order by owner number i, in a real cell, with a two-hour window."""
    lat, lon = _centre(cell)
    fields = dict(
        owner=f"0x{i:040x}",
        side=side,
        energy_wh=energy_wh,
        limit_price_per_wh=price,
        area_id=cell,
        area_lat=lat,
        area_lon=lon,
        window_start_ts=start,
        window_end_ts=end,
        nonce=nonce,
        expiry_ts=start,
    )
    fields.update(kw)
    return Order(**fields)


def bid(i: int, price: int, energy_wh: int = 1_000, **kw: Any) -> Order:
    return order(i, Side.BUY, energy_wh, price, **kw)


def ask(i: int, price: int, energy_wh: int = 1_000, **kw: Any) -> Order:
    return order(i, Side.SELL, energy_wh, price, **kw)


@st.composite
def order_sets(
    draw: st.DrawFn,
    max_buyers: int = 8,
    max_sellers: int = 8,
    max_energy_wh: int = 40_000,
    prices: tuple[int, int] = (40, 160),
    min_buyers: int = 0,
    min_sellers: int = 0,
    routed: bool = False,
) -> list[Order]:
    """Buyers and sellers with distinct owners; small ranges for nonces and prices, so tie-breaks are exercised.
    routed: some orders carry a route (routes()) inside their window, the others are parked."""
    n_buy = draw(st.integers(min_buyers, max_buyers))
    n_sell = draw(st.integers(min_sellers, max_sellers))
    owners = draw(st.lists(st.integers(1, 2**160 - 1), min_size=n_buy + n_sell, max_size=n_buy + n_sell, unique=True))
    orders = []
    for k, owner in enumerate(owners):
        start = T0 + draw(st.integers(0, 3 * 3_600))
        end = start + draw(st.integers(600, 3 * 3_600))
        orders.append(
            order(
                owner,
                Side.BUY if k < n_buy else Side.SELL,
                draw(st.integers(1, max_energy_wh)),
                draw(st.integers(*prices)),
                draw(st.sampled_from(CELLS)),
                start,
                end,
                draw(st.integers(0, 2)),
                route=draw(st.one_of(st.none(), routes(start, end))) if routed else None,
            )
        )
    return orders


@st.composite
def routes(draw: st.DrawFn, start: int, end: int, max_waypoints: int = 4) -> Route:
    """A commuter's or a van's trip within [start, end]: 2..max_waypoints of the test cells (repeats allowed, so
    stays that span several waypoints are drawn too), with stays of zero or more seconds."""
    n = draw(st.integers(2, max_waypoints))
    times = sorted(draw(st.lists(st.integers(start, end), min_size=2 * n, max_size=2 * n)))
    cells = draw(st.lists(st.sampled_from(CELLS), min_size=n, max_size=n))
    return Route(tuple(Waypoint(cell, times[2 * k], times[2 * k + 1]) for k, cell in enumerate(cells)))


@cache
def _centre(cell: str) -> tuple[float, float]:
    return geohash_centre(cell)


@st.composite
def city_stations(draw: st.DrawFn, max_stations: int = 3) -> tuple[Station, ...]:
    """Charging stations in the test cells, priced from below the grid import price to well above it."""
    n = draw(st.integers(1, max_stations))
    out = []
    for i in range(n):
        lat, lon = _centre(draw(st.sampled_from(CELLS)))
        out.append(
            Station(
                f"s{i}",
                lat,
                lon,
                price_per_wh=draw(st.integers(50, 600)),
                power_w=draw(st.integers(7_000, 150_000)),
                queue_s=draw(st.integers(0, 900)),
            )
        )
    return tuple(out)


@st.composite
def any_routes(draw: st.DrawFn) -> Route:
    """Any route the protocol allows: 2..8 geohash cells of any precision, times in order anywhere in uint40."""
    n = draw(st.integers(2, MAX_WAYPOINTS))
    cells = draw(st.lists(st.text(BASE32, min_size=1, max_size=12), min_size=n, max_size=n))
    times = sorted(draw(st.lists(st.integers(1, MAX_ROUTE_TS), min_size=2 * n, max_size=2 * n)))
    return Route(tuple(Waypoint(c, times[2 * k], times[2 * k + 1]) for k, c in enumerate(cells)))
