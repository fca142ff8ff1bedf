"""The pair cost model: the published van-fleet numbers, integer results, rounding up; meetings along plans."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.strategies import T0, ask, bid
from v2vchain.matching import ClearingParams, pair_terms
from v2vchain.matching.areas import geohash_centre
from v2vchain.matching.costs import CostParams, drive_s, transfer_terms, transfer_time_cost, travel_cost
from v2vchain.matching.errors import InvalidClearingParameter
from v2vchain.matching.meeting import haversine_m, whole_metres
from v2vchain.protocol.routes import Route, Waypoint

P = CostParams()


ALL_PAIRS = ClearingParams(nearest_areas=10)
HERE, THERE = "u33dc0", "u33dc2"  # cell centres 743 m apart
# 10 kWh delivered: ceil(10000 / 0.97) = 10310 Wh discharged, ceil(10310 x 3600 / 30000) = 1238 s at 30 kW
LOSSES = 310 * 150 + 206_200  # 310 Wh lost at 150; 10.31 kWh cycled at 20000 per kWh
WAITING = -(-1_238 * 5_000_000 // 3_600)  # one driver's 1238 s at 5 tokens an hour: 1,719,445 (rounded up)


def one(x: int) -> np.ndarray:
    return np.array([x], dtype=np.int64)


def travel(dist_m: int) -> int:
    return int(travel_cost(one(dist_m), P)[0])


def distance_m(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    return whole_metres(haversine_m(lat1, lon1, lat2, lon2))


def between(a: str, b: str) -> int:
    (lat1, lon1), (lat2, lon2) = geohash_centre(a), geohash_centre(b)
    return int(distance_m(np.array([lat1]), np.array([lon1]), np.array([lat2]), np.array([lon2]))[0])


def trip(*stops: tuple[str, int, int]) -> Route:
    return Route(tuple(Waypoint(cell, arrive, depart) for cell, arrive, depart in stops))


def test_defaults_are_domain_numbers() -> None:
    assert (P.consumption_wh_per_km, P.speed_km_per_h, P.transfer_power_w, P.efficiency_bps, P.time_cost_per_h) == (
        180,
        30,
        30_000,
        9_700,
        5_000_000,
    )


def test_one_degree_of_meridian_is_111195_metres() -> None:
    assert distance_m(np.array([0.0]), np.array([0.0]), np.array([1.0]), np.array([0.0]))[0] == 111_195


def test_berlin_to_paris_is_about_878_km() -> None:
    d = distance_m(np.array([52.52]), np.array([13.405]), np.array([48.8566]), np.array([2.3522]))[0]
    assert 877_000 < d < 879_000


def test_transfer_in_one_cell_costs_both_drivers_time_losses_and_degradation() -> None:
    t = pair_terms(bid(1, 150, 10_000), ask(2, 50, 10_000), ALL_PAIRS)
    assert (t.distance_m, t.cost, t.transfer_s) == (0, 2 * WAITING + LOSSES, 1_238)


def test_each_driver_pays_its_own_time_during_the_transfer() -> None:
    t = pair_terms(bid(1, 150, 10_000), ask(2, 50, 10_000), ALL_PAIRS)
    assert (t.buyer_transfer_time_cost, t.seller_transfer_time_cost) == (1_719_445, 1_719_445) == (WAITING, WAITING)


def test_transfer_time_costs_nothing_when_time_is_free() -> None:
    free = ClearingParams(nearest_areas=10, costs=CostParams(time_cost_per_h=0))
    t = pair_terms(bid(1, 150, 10_000), ask(2, 50, 10_000), free)
    assert (t.buyer_share, t.seller_share, t.cost) == (0, LOSSES, LOSSES)


def test_the_slowest_longest_dearest_transfer_is_costed_exactly() -> None:
    # 1 MWh at 50 % efficiency and 1 kW: 2 MWh discharged over 7.2 million s, at 10**10 an hour
    slowest = CostParams(transfer_power_w=1_000, efficiency_bps=5_000, time_cost_per_h=10**10)
    transfer_s, _ = transfer_terms(one(1_000_000), slowest)
    assert int(transfer_time_cost(transfer_s, slowest)[0]) == 7_200_000 * 10**10 // 3_600


def test_the_slowest_dearest_detour_round_the_world_is_costed_exactly() -> None:
    # there and back to the antipode (2 x 20,015 km) at 1 km/h, 10 kWh/km, 10**9 a Wh and 10**10 an hour: the drive
    # alone takes 144 million s; time x its price stays inside int64 (10**11 an hour would not)
    worst = CostParams(speed_km_per_h=1, consumption_wh_per_km=10**4, energy_price_per_wh=10**9, time_cost_per_h=10**10)
    d = 40_030_174
    seconds = -(-d * 3_600 // 1_000)
    assert int(travel_cost(one(d), worst)[0]) == -(-d * 10**4 // 1_000) * 10**9 + -(-seconds * 10**10 // 3_600)
    with pytest.raises(InvalidClearingParameter):
        CostParams(time_cost_per_h=10**10 + 1)


def test_three_km_drive_costs_its_energy_and_drivers_time() -> None:
    # 540 Wh at 150, plus 360 s at 5 tokens an hour = 500000 units
    assert (int(drive_s(one(3_000), P)[0]), travel(3_000)) == (360, 540 * 150 + 500_000)


def test_a_parked_pair_pays_the_drive_there_and_back() -> None:
    t = pair_terms(bid(1, 150, 10_000, cell=HERE), ask(2, 50, 10_000, cell=THERE), ALL_PAIRS)
    assert between(HERE, THERE) == 743
    assert (t.distance_m, t.cost) == (2 * 743, travel(2 * 743) + 2 * WAITING + LOSSES)


def test_a_parked_buyer_comes_to_a_parked_seller() -> None:
    t = pair_terms(bid(1, 150, 10_000, cell=HERE), ask(2, 50, 10_000, cell=THERE), ALL_PAIRS)
    assert (t.meeting_lat, t.meeting_lon) == geohash_centre(THERE)
    assert (t.buyer_detour_m, t.seller_detour_m) == (2 * 743, 0)


def test_each_side_pays_its_own_detour_and_transfer_time_and_the_seller_its_losses() -> None:
    t = pair_terms(bid(1, 150, 10_000, cell=HERE), ask(2, 50, 10_000, cell=THERE), ALL_PAIRS)
    assert (t.buyer_share, t.seller_share) == (travel(2 * 743) + WAITING, WAITING + LOSSES)


def test_a_buyer_whose_route_stops_in_the_sellers_cell_meets_there_without_detour() -> None:
    route = trip((HERE, T0, T0 + 600), (THERE, T0 + 1_200, T0 + 3_600), ("u33db8", T0 + 4_200, T0 + 4_800))
    t = pair_terms(bid(1, 150, 10_000, route=route), ask(2, 50, 10_000, cell=THERE), ALL_PAIRS)
    assert (t.distance_m, t.feasible, t.meeting_ts) == (0, True, T0 + 1_200)


def test_a_meeting_on_a_route_costs_the_detour_from_its_leg_and_back_onto_it() -> None:
    # the buyer drives HERE -> u33db8 with time to spare; the seller waits in THERE: the cheapest meeting is the
    # detour HERE -> THERE -> u33db8 minus HERE -> u33db8
    route = trip((HERE, T0, T0), ("u33db8", T0 + 3_600, T0 + 3_600))
    t = pair_terms(bid(1, 150, 10_000, route=route), ask(2, 50, 10_000, cell=THERE), ALL_PAIRS)
    detour = between(HERE, THERE) + between(THERE, "u33db8") - between(HERE, "u33db8")
    assert (t.buyer_detour_m, t.seller_detour_m, t.feasible) == (detour, 0, True)


def test_a_meeting_that_would_make_the_buyer_late_for_its_next_waypoint_is_infeasible() -> None:
    # halfway (372 m, 45 s each way) plus the transfer (1,238 s) needs 1,328 s between the buyer's waypoints; the
    # seller's 1,400 s window is too short for it to come the whole way and back (90 + 1,238 + 90 s)
    late = trip((HERE, T0, T0), (HERE, T0 + 1_327, T0 + 1_327))
    in_time = trip((HERE, T0, T0), (HERE, T0 + 1_328, T0 + 1_328))
    seller = ask(2, 50, 10_000, cell=THERE, end=T0 + 1_400)
    assert not pair_terms(bid(1, 150, 10_000, route=late), seller, ALL_PAIRS).feasible
    assert pair_terms(bid(1, 150, 10_000, route=in_time), seller, ALL_PAIRS).feasible


def test_no_meeting_outside_a_routed_vehicles_route_span() -> None:
    # the buyer's window is two hours, but its route runs only in the first ten minutes: the seller comes later
    route = trip((HERE, T0, T0 + 300), (HERE, T0 + 600, T0 + 600))
    seller = ask(2, 50, 10_000, start=T0 + 1_800)
    assert not pair_terms(bid(1, 150, 10_000, route=route), seller, ALL_PAIRS).feasible


@given(st.integers(0, 50_000), st.integers(0, 50_000))
def test_travel_cost_never_falls_as_the_distance_grows(d1: int, d2: int) -> None:
    near, far = sorted((d1, d2))
    assert travel(near) <= travel(far)


@given(st.integers(0, 50_000), st.integers(1, 1_000_000))
def test_every_cost_is_a_non_negative_integer(d: int, q: int) -> None:
    transfer_s, seller_cost = transfer_terms(one(q), P)
    values = (travel(d), int(drive_s(one(d), P)[0]), int(transfer_s[0]), int(seller_cost[0]))
    assert all(isinstance(v, int) and v >= 0 for v in values)


@pytest.mark.parametrize(
    "field,value",
    [
        ("speed_km_per_h", 0),
        ("efficiency_bps", 4_999),
        ("efficiency_bps", 10_001),
        ("transfer_power_w", -1),
        ("transfer_power_w", 999),
        ("consumption_wh_per_km", 1.5),
        ("degradation_per_kwh", 10**10),
    ],
)
def test_out_of_range_cost_parameter_raises_InvalidClearingParameter(field: str, value: object) -> None:
    with pytest.raises(InvalidClearingParameter):
        CostParams(**{field: value})
