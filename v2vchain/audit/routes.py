"""A committed order's route judged from chain data alone.

The Clearing checks only that each published route is the one its owner signed (its length and hash); it reads no
cell and no time. So a commit can carry a route that no honest vehicle would sign and no honest operator would
clear: bytes that are not geohash cells, times out of order, or a trip outside the order's own window. The audit
names each (the ledger and `v2v audit clearing` report it as a violation, never an exception).
"""

from __future__ import annotations

from dataclasses import dataclass

from v2vchain.protocol.errors import InvalidRoute
from v2vchain.protocol.routes import Route

MALFORMED = "route-malformed"  # the bytes do not decode: not a geohash cell, a time out of range or out of order
OUTSIDE_WINDOW = "route-outside-window"  # the trip starts before the order's window or ends after it


@dataclass(frozen=True)
class RouteProblem:
    rule: str
    why: str


def judge_route(segment: bytes, window_start_ts: int, window_end_ts: int) -> RouteProblem | None:
    """What is wrong with a published route (its packed bytes) of an order with this window; None if nothing."""
    try:
        route = Route.decode(segment)
    except InvalidRoute as exc:
        return RouteProblem(MALFORMED, exc.reason)
    if not window_start_ts <= route.start_ts <= route.end_ts <= window_end_ts:
        return RouteProblem(
            OUTSIDE_WINDOW,
            f"the route runs {route.start_ts}..{route.end_ts}, outside the order's window "
            f"{window_start_ts}..{window_end_ts}",
        )
    return None
