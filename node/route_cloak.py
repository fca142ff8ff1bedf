"""A vehicle's planned trip as its order's route: each stop's exact position becomes its geohash cell at the node's
route precision before anything is signed, so no position leaves the node (v2vchain.protocol.routes says what the
cells and times reveal once a commit publishes them)."""

from __future__ import annotations

from collections.abc import Iterable

from v2vchain.privacy import geohash
from v2vchain.protocol.routes import Route, Waypoint

PlannedStop = tuple[float, float, int, int]  # lat, lon, arrive_ts, depart_ts: the owner's plan, kept on the node


def cloak_route(stops: Iterable[PlannedStop], precision: int) -> Route:
    """The route an order signs for these stops; InvalidRoute (its reason naming the waypoint) for a plan no order
    may carry. Whether a plan is valid does not depend on the precision."""
    return Route(tuple(Waypoint(geohash.encode(lat, lon, precision), a, d) for lat, lon, a, d in stops))
