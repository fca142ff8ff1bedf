"""Each order's legs: where its vehicle is, between which times, as the pair cost model (costs.py) sees it.

A parked order (no route) has one leg from its area's centre back to it over its whole window. A routed order's legs
follow its route, its waypoints at their cells' centres: a stay at each waypoint (arrive -> depart, from the place
back to itself: the vehicle may leave for a meeting if it is back in time) and a drive between consecutive waypoints
(depart -> next arrive). Consecutive legs that never leave one cell are one stay, so a route of one place repeated
over the window is the parked order at that place. A stay of no time is left out (the drives on either side of it
start or end there). Outside its route's span a routed vehicle is nowhere the model knows, so it meets no one there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from v2vchain.protocol.routes import Route

from .areas import geohash_centre
from .meeting import LegEnds
from .orders import Order

Leg = tuple[str, str, int, int]  # a route's leg: (from cell, to cell, leaves at, due at)


@dataclass(frozen=True)
class OrderLegs:
    """Legs of n orders, flat: order i's are rows first[i]:first[i + 1] (at least one each)."""

    first: np.ndarray
    a_lat: np.ndarray
    a_lon: np.ndarray
    b_lat: np.ndarray
    b_lon: np.ndarray
    t0: np.ndarray
    t1: np.ndarray

    @property
    def count(self) -> np.ndarray:
        return np.diff(self.first)

    def ends(self, rows: np.ndarray) -> LegEnds:
        """The given leg rows as a column (rows x 1), for broadcasting against candidate points."""
        return LegEnds(*(x[rows][:, None] for x in (self.a_lat, self.a_lon, self.b_lat, self.b_lon, self.t0, self.t1)))

    def expand(self, orders: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(order position, leg row) of every leg of the given orders, the orders' legs in sequence."""
        count = self.count[orders]
        position = np.repeat(np.arange(len(orders)), count)
        offset = np.cumsum(count) - count
        return position, np.repeat(self.first[orders] - offset, count) + np.arange(int(count.sum()))


def parked_legs(lat: np.ndarray, lon: np.ndarray, start: np.ndarray, end: np.ndarray) -> OrderLegs:
    """One leg per order: its place back to itself over its window."""
    lat, lon = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
    return OrderLegs(np.arange(len(lat) + 1, dtype=np.int64), lat, lon, lat, lon, np.asarray(start), np.asarray(end))


def order_legs(orders: Sequence[Order]) -> OrderLegs:
    """The legs of each order, parked or routed, in order."""
    if all(o.route is None for o in orders):
        n = len(orders)

        def column(name: str, dtype: type) -> np.ndarray:
            return np.fromiter((getattr(o, name) for o in orders), dtype, n)

        return parked_legs(
            column("area_lat", np.float64),
            column("area_lon", np.float64),
            column("window_start_ts", np.int64),
            column("window_end_ts", np.int64),
        )
    rows: list[tuple[float, float, float, float, int, int]] = []
    first = [0]
    for o in orders:
        if o.route is None:
            rows.append((o.area_lat, o.area_lon, o.area_lat, o.area_lon, o.window_start_ts, o.window_end_ts))
        else:
            rows.extend((*cell_centre(a), *cell_centre(b), t0, t1) for a, b, t0, t1 in route_legs(o.route))
        first.append(len(rows))
    return _table(first, rows)


def route_legs_of(route: Route) -> OrderLegs:
    """One routed vehicle's legs, as a table of one order."""
    rows = [(*cell_centre(a), *cell_centre(b), t0, t1) for a, b, t0, t1 in route_legs(route)]
    return _table([0, len(rows)], rows)


def _table(first: list[int], rows: list[tuple[float, float, float, float, int, int]]) -> OrderLegs:
    a_lat, a_lon, b_lat, b_lon, t0, t1 = (np.array(c) for c in zip(*rows))
    return OrderLegs(
        np.array(first, dtype=np.int64),
        a_lat.astype(np.float64),
        a_lon.astype(np.float64),
        b_lat.astype(np.float64),
        b_lon.astype(np.float64),
        t0.astype(np.int64),
        t1.astype(np.int64),
    )


def route_legs(route: Route) -> list[Leg]:
    """A route's stays and drives in time order (see the module docstring)."""
    points = route.waypoints
    legs: list[Leg] = []
    for k, w in enumerate(points):
        if w.depart_ts > w.arrive_ts:
            _append(legs, (w.cell, w.cell, w.arrive_ts, w.depart_ts))
        if k + 1 < len(points):
            _append(legs, (w.cell, points[k + 1].cell, w.depart_ts, points[k + 1].arrive_ts))
    return legs


def route_cells(order: Order) -> tuple[str, ...]:
    """Every cell an order's vehicle is in: its area, then its route's waypoint cells."""
    if order.route is None:
        return (order.area_id,)
    return (order.area_id, *(w.cell for w in order.route.waypoints))


def _append(legs: list[Leg], leg: Leg) -> None:
    if legs and leg[0] == leg[1] == legs[-1][0] == legs[-1][1]:  # still in one cell: one stay
        legs[-1] = (leg[0], leg[1], legs[-1][2], leg[3])
    else:
        legs.append(leg)


@lru_cache(maxsize=65_536)
def cell_centre(cell: str) -> tuple[float, float]:
    """A cell's centre, cached: routes repeat their cells."""
    lat, lon = geohash_centre(cell)
    return lat, lon
