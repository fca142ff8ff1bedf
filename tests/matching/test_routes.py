"""Orders that carry a route: properties of a pair's cheapest meeting along both plans, and candidates along routes."""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tests.support.meetings import fits
from tests.support.strategies import CELLS, FAST, T0, ask, bid, order_sets, routes
from v2vchain.matching import ClearingParams, Order, make_book, pair_terms
from v2vchain.matching.costs import PairCosts, pair_costs
from v2vchain.matching.legs import order_legs
from v2vchain.matching.pairs import candidate_pairs
from v2vchain.protocol.routes import Route, Waypoint

PARAMS = ClearingParams(nearest_areas=10)
pairs = order_sets(min_buyers=1, min_sellers=1, max_buyers=1, max_sellers=1, routed=True)
parked_pairs = order_sets(min_buyers=1, min_sellers=1, max_buyers=1, max_sellers=1)


def split(orders: list[Order]) -> tuple[Order, Order]:
    buyer, seller = sorted(orders, key=lambda o: o.side)
    return buyer, seller


@FAST
@given(orders=parked_pairs, stops=st.integers(2, 8), data=st.data())
def test_a_route_that_stays_in_one_cell_over_the_window_costs_what_parking_there_does(
    orders: list[Order], stops: int, data: st.DataObject
) -> None:
    buyer, seller = split(orders)
    inner = sorted(data.draw(st.lists(st.integers(buyer.window_start_ts, buyer.window_end_ts), min_size=2 * stops - 2)))
    times = [buyer.window_start_ts, *inner[: 2 * stops - 2], buyer.window_end_ts]
    still = Route(tuple(Waypoint(buyer.area_id, times[2 * k], times[2 * k + 1]) for k in range(stops)))
    assert pair_terms(replace(buyer, route=still), seller, PARAMS) == pair_terms(buyer, seller, PARAMS)


@FAST
@given(orders=order_sets(max_buyers=3, max_sellers=3, routed=True))
def test_every_feasible_pairs_meeting_fits_both_plans_recomputed_independently(orders: list[Order]) -> None:
    for buyer in (o for o in orders if o.side == 1):
        for seller in (o for o in orders if o.side == 2):
            t = pair_terms(buyer, seller, PARAMS)
            if t.feasible:
                place = (t.meeting_lat, t.meeting_lon)
                assert fits(buyer, place, t.meeting_ts, t.transfer_s, PARAMS.costs)
                assert fits(seller, place, t.meeting_ts, t.transfer_s, PARAMS.costs)


@FAST
@given(orders=pairs, earlier=st.integers(0, 3_600), later=st.integers(0, 3_600))
def test_widening_a_parked_buyers_window_never_makes_a_feasible_pair_infeasible(
    orders: list[Order], earlier: int, later: int
) -> None:
    buyer, seller = split(orders)
    wider = replace(buyer, route=None, window_start_ts=buyer.window_start_ts - earlier)
    wider = replace(wider, window_end_ts=buyer.window_end_ts + later)
    if pair_terms(replace(buyer, route=None), seller, PARAMS).feasible:
        assert pair_terms(wider, seller, PARAMS).feasible


@FAST
@given(orders=pairs)
def test_swapping_the_two_vehicles_plans_keeps_the_meetings_cost_and_feasibility(orders: list[Order]) -> None:
    buyer, seller = split(orders)
    plan = ("area_id", "area_lat", "area_lon", "window_start_ts", "window_end_ts", "expiry_ts", "route")
    swapped_b = replace(buyer, **{f: getattr(seller, f) for f in plan})
    swapped_s = replace(seller, **{f: getattr(buyer, f) for f in plan})
    one, other = pair_terms(buyer, seller, PARAMS), pair_terms(swapped_b, swapped_s, PARAMS)
    assert (other.feasible, other.cost, other.distance_m) == (one.feasible, one.cost, one.distance_m)


@FAST
@given(orders=pairs)
def test_a_pairs_costs_are_integers_that_add_up(orders: list[Order]) -> None:
    t = pair_terms(*split(orders), PARAMS)
    money = (t.buyer_share, t.seller_share, t.cost, t.distance_m, t.together_s, t.transfer_s, t.meeting_ts)
    assert all(type(v) is int for v in money)
    assert t.buyer_share + t.seller_share == t.cost and t.distance_m == t.buyer_detour_m + t.seller_detour_m


def test_a_routed_buyers_candidates_include_sellers_near_any_of_its_waypoints() -> None:
    far = CELLS[4]  # u33d8x, 1.6 km from the buyer's area; the other seller's cell is 743 m from it

    def candidate_cells(route: Route | None) -> set[str]:
        book = make_book([bid(1, 150, route=route), ask(2, 50, cell=CELLS[1]), ask(3, 50, cell=far)])
        _, seller = candidate_pairs(book, nearest_areas=1)
        return {book.sells.orders[j].area_id for j in seller.tolist()}

    route = Route((Waypoint(CELLS[0], T0, T0 + 60), Waypoint(far, T0 + 900, T0 + 960)))
    assert candidate_cells(None) == {CELLS[1]}
    assert candidate_cells(route) == {CELLS[1], far}


@FAST
@given(orders=parked_pairs, data=st.data())
def test_a_parked_pair_costs_the_same_alone_as_beside_a_routed_one(orders: list[Order], data: st.DataObject) -> None:
    buyer, seller = split(orders)
    routed = replace(buyer, route=data.draw(routes(buyer.window_start_ts, buyer.window_end_ts)))
    sellers, q = order_legs([seller]), np.array([buyer.energy_wh, buyer.energy_wh])
    alone = pair_costs(order_legs([buyer]), sellers, np.array([0]), np.array([0]), q[:1], PARAMS.costs)
    beside = pair_costs(order_legs([buyer, routed]), sellers, np.array([0, 1]), np.array([0, 0]), q, PARAMS.costs)
    assert all(getattr(beside, f.name)[0] == getattr(alone, f.name)[0] for f in fields(PairCosts))
