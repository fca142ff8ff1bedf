"""Clearing each venue on its own: a double auction assumes one place, so a city is split into districts first."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .orders import Order
from .params import ClearingParams
from .result import ClearingResult

Mechanism = Callable[[list[Order], ClearingParams], ClearingResult]


def clear_by_venue(
    mechanism: Mechanism, orders: Iterable[Order], params: ClearingParams, venue_of: Callable[[Order], str]
) -> ClearingResult:
    """Run `mechanism` once per venue (in venue order) and concatenate the results; orders never cross venues."""
    venues: dict[str, list[Order]] = {}
    for order in orders:
        venues.setdefault(venue_of(order), []).append(order)
    parts = [mechanism(venues[v], params) for v in sorted(venues)]
    if not parts:
        return mechanism([], params)
    return ClearingResult(
        mechanism=f"{parts[0].mechanism}-by-venue",
        grid=params.grid,
        trades=tuple(t for p in parts for t in p.trades),
        unmatched_buyers=tuple(u for p in parts for u in p.unmatched_buyers),
        unmatched_sellers=tuple(u for p in parts for u in p.unmatched_sellers),
    )


def geohash_parent(precision: int) -> Callable[[Order], str]:
    """Venue = the coarser geohash cell holding the order's area (area ids are geohash cells)."""
    return lambda order: order.area_id[:precision]
