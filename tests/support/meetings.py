"""An independent check that a meeting fits an order's plan: the route's legs, distances and drive times
recomputed here from the order alone (math's Haversine, not numpy's), for the pair cost model's property tests."""

from __future__ import annotations

import math

from v2vchain.matching import Order
from v2vchain.matching.costs import CostParams
from v2vchain.privacy.geohash import decode

RADIUS_M = 6_371_008.8


def metres(a: tuple[float, float], b: tuple[float, float]) -> int:
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(b[1] - a[1]) / 2) ** 2
    return round(2 * RADIUS_M * math.asin(math.sqrt(min(h, 1.0))))


def drive(a: tuple[float, float], b: tuple[float, float], costs: CostParams) -> int:
    return -(-metres(a, b) * 3_600 // (costs.speed_km_per_h * 1_000))


def plan(order: Order) -> list[tuple[tuple[float, float], tuple[float, float], int, int]]:
    """(from, to, leaves, due) of each stretch of the plan; stretches spent in one cell joined."""
    if order.route is None:
        here = (order.area_lat, order.area_lon)
        return [(here, here, order.window_start_ts, order.window_end_ts)]
    pieces: list[tuple[str, str, int, int]] = []
    points = order.route.waypoints
    for k, w in enumerate(points):
        pieces.append((w.cell, w.cell, w.arrive_ts, w.depart_ts))
        if k + 1 < len(points):
            pieces.append((w.cell, points[k + 1].cell, w.depart_ts, points[k + 1].arrive_ts))
    joined: list[tuple[str, str, int, int]] = []
    for piece in pieces:
        if joined and piece[0] == piece[1] == joined[-1][0] == joined[-1][1]:
            joined[-1] = (piece[0], piece[1], joined[-1][2], piece[3])
        else:
            joined.append(piece)
    return [(decode(a), decode(b), t0, t1) for a, b, t0, t1 in joined]


def fits(order: Order, place: tuple[float, float], at_ts: int, seconds: int, costs: CostParams) -> bool:
    """The order's vehicle can be at `place` from at_ts for `seconds`, inside its window, and reach the end of
    that stretch of its plan on time."""
    if not order.window_start_ts <= at_ts <= at_ts + seconds <= order.window_end_ts:
        return False
    return any(
        t0 + drive(a, place, costs) <= at_ts and at_ts + seconds + drive(place, b, costs) <= t1
        for a, b, t0, t1 in plan(order)
    )
