"""A book of routed orders all in a few cells makes every buyer a candidate of every seller, and a pair of
8-waypoint routes has 15 x 15 leg rows of 7 candidate points: the pair costs are computed a bounded number of leg rows
at a time, with the same result as all at once. Memory is counted by tracemalloc (numpy reports its arrays to it),
not timed."""

from __future__ import annotations

import tracemalloc
from dataclasses import fields

import numpy as np

from tests.support.routes import trip
from tests.support.strategies import T0, order
from v2vchain.matching import MECHANISMS, ClearingParams, Order, Side
from v2vchain.matching.costs import CostParams, pair_costs
from v2vchain.matching.legs import order_legs

END = T0 + 7_200


def routed_book(n: int) -> list[Order]:
    """n buyers and n sellers, each on 8 waypoints through the same neighbouring cells (alternate ones start one
    cell later), so no two consecutive legs merge: 15 legs each."""
    buyers = [order(i + 1, Side.BUY, price=900, route=trip(T0, END, 8, i % 2)) for i in range(n)]
    sellers = [order(n + i + 1, Side.SELL, price=40, route=trip(T0, END, 8, (i + 1) % 2)) for i in range(n)]
    return buyers + sellers


def test_planning_a_book_of_eight_waypoint_routes_holds_a_bounded_peak_of_memory() -> None:
    book = routed_book(30)  # 900 pairs x 225 leg rows x 7 candidates: ~250 MiB held at once before chunking
    tracemalloc.start()
    try:
        MECHANISMS["max-welfare-assignment"](book, ClearingParams())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 * 2**20


def test_pair_costs_in_chunks_equal_pair_costs_at_once() -> None:
    """Chunks of one leg row (every pair alone) against one chunk, on pairs of parked and routed orders mixed."""
    book = routed_book(3) + [order(7, Side.BUY), order(8, Side.SELL, cell="u33dc1")]
    buyers = [o for o in book if o.side == Side.BUY]
    sellers = [o for o in book if o.side == Side.SELL]
    buyer = np.repeat(np.arange(len(buyers)), len(sellers))
    seller = np.tile(np.arange(len(sellers)), len(buyers))
    energy = np.full(len(buyer), 10_000)
    legs = order_legs(buyers), order_legs(sellers)
    alone = pair_costs(*legs, buyer, seller, energy, CostParams(), chunk_leg_pairs=1)
    together = pair_costs(*legs, buyer, seller, energy, CostParams(), chunk_leg_pairs=10**9)
    for f in fields(together):
        assert np.array_equal(getattr(alone, f.name), getattr(together, f.name)), f.name
