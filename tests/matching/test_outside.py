"""The outside option: a buyer's cheapest station (or the grid at its door), a seller's grid export, and the
cost-aware mechanisms' pairs bounded by both."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from tests.support.columnar import as_keys, columnar_keys
from tests.support.strategies import FAST, PAIR_PRICES, T0, ask, bid, city_stations, order_sets
from v2vchain.matching import ClearingParams, Order, city_assignment, columnar, pair_terms, welfare_assignment
from v2vchain.matching.areas import geohash_centre
from v2vchain.matching.costs import CostParams
from v2vchain.matching.errors import InvalidClearingParameter
from v2vchain.matching.legs import OrderLegs, parked_legs
from v2vchain.matching.outside import Station, buyer_saving, reservation_limit, station_cost, station_detours
from v2vchain.protocol.routes import Route, Waypoint

COSTS = CostParams()
HERE = geohash_centre("u33dc0")
FAR = geohash_centre("u33d8x")  # ~3 km away


def at(place: tuple[float, float], price: int, **kw: int) -> Station:
    return Station("s", place[0], place[1], price_per_wh=price, **kw)


def parked_here() -> OrderLegs:
    return parked_legs(np.array([HERE[0]]), np.array([HERE[1]]), np.array([T0]), np.array([T0 + 7_200]))


def cost(station: Station, energy_wh: int) -> int:
    one = np.zeros(1, dtype=np.int64)
    detour = station_detours(parked_here(), one, (station,))[:, 0]
    return int(station_cost(one, detour, [energy_wh], (station,), COSTS)[0])


def saving(stations: tuple[Station, ...], need: int, served: int) -> int:
    one = np.zeros(1, dtype=np.int64)
    return int(buyer_saving(parked_here(), one, np.array([need]), np.array([served]), stations, COSTS, 150)[0])


def test_station_cost_is_queue_and_charging_time_plus_the_energy() -> None:
    # 10 kWh at 50 kW: 720 s charging + 600 s queue = 1,320 s at 5 tokens/h, rounded up; 10,000 Wh x 150
    assert cost(at(HERE, 150, queue_s=600), 10_000) == 1_833_334 + 1_500_000


def test_a_parked_buyer_drives_to_a_farther_station_and_back() -> None:
    # 1,607 m each way: 3,214 m is 579 Wh (at 150) and 386 s, with the 720 s charge at 5 tokens/h
    assert cost(at(FAR, 150), 10_000) == 579 * 150 + -(-(386 + 720) * 5_000_000 // 3_600) + 10_000 * 150


def test_a_routed_buyer_charges_at_a_station_on_its_way_without_detour() -> None:
    station = at(FAR, 150, queue_s=600)
    via = Route((Waypoint("u33dc0", T0, T0 + 60), Waypoint("u33d8x", T0 + 900, T0 + 960)))
    parked = reservation_limit(*HERE, 10_000, (station,), COSTS, 150)
    routed = reservation_limit(*HERE, 10_000, (station,), COSTS, 150, route=via)
    assert routed == (1_833_334 + 1_500_000) // 10_000 < parked


def test_no_energy_needs_no_trip() -> None:
    assert cost(at(FAR, 150, queue_s=600), 0) == 0


def test_a_buyer_uses_the_station_cheapest_for_its_whole_need() -> None:
    near_dear, far_cheap = at(HERE, 400), at(FAR, 100)
    assert saving((near_dear, far_cheap), 20_000, 20_000) == min(cost(near_dear, 20_000), cost(far_cheap, 20_000))


def test_a_partial_fill_saves_the_energy_but_not_the_trip() -> None:
    station = at(FAR, 150, queue_s=600)
    assert saving((station,), 20_000, 5_000) == cost(station, 20_000) - cost(station, 15_000)
    assert saving((station,), 20_000, 5_000) < cost(station, 5_000)


def test_without_stations_the_outside_option_is_the_grid_import_at_the_door() -> None:
    assert saving((), 20_000, 5_000) == 5_000 * 150


def test_reservation_limit_is_the_station_cost_per_wh_rounded_down() -> None:
    station = at(HERE, 150, queue_s=600)
    assert reservation_limit(*HERE, 10_000, (station,), COSTS, 150) == (1_833_334 + 1_500_000) // 10_000


def test_a_pair_dearer_than_the_buyers_station_is_not_acceptable() -> None:
    # worth 5.5 million above the ask against the grid, costing ~4.3 million (drive, both drivers' 1,238 s, losses);
    # the station next door sells the 10 kWh for 1.6 million (600,000 + 720 s charging)
    buyer, seller = bid(1, 600, 10_000, cell="u33dc0"), ask(2, 50, 10_000, cell="u33d8x")
    assert pair_terms(buyer, seller, ClearingParams()).acceptable
    cheap_next_door = ClearingParams(stations=(at(HERE, 60),))
    assert not pair_terms(buyer, seller, cheap_next_door).acceptable


def test_a_seller_asking_below_the_grid_export_is_paid_at_least_the_export_price() -> None:
    buyer, seller = bid(1, 600, 10_000), ask(2, 1, 10_000)
    terms = pair_terms(buyer, seller, ClearingParams(stations=(at(FAR, 600),)))
    assert terms.acceptable and terms.price_per_wh >= ClearingParams().grid.export_per_wh


def test_both_drivers_transfer_time_is_costed_once_with_or_without_stations() -> None:
    # same cell: no drive; 10,310 Wh at 30 kW is 1,238 s for each driver, plus the seller's losses and wear
    buyer, seller = bid(1, 600, 10_000), ask(2, 50, 10_000)
    limits_only = pair_terms(buyer, seller, ClearingParams())
    with_station = pair_terms(buyer, seller, ClearingParams(stations=(at(FAR, 600),)))
    cost = 2 * -(-1_238 * COSTS.time_cost_per_h // 3_600) + 310 * 150 + 206_200
    assert limits_only.cost == with_station.cost == cost
    # the station 3 km away charges more than the bid for the 10 kWh, so it leaves the pair's value as it was
    assert limits_only.welfare == with_station.welfare == 10_000 * (600 - 50) - cost


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", ""),
        ("lat", 91.0),
        ("lon", float("nan")),
        ("price_per_wh", -1),
        ("power_w", 0),
        ("queue_s", 1.5),
        ("queue_s", True),
    ],
)
def test_a_bad_station_field_raises_InvalidClearingParameter(field: str, value: object) -> None:
    fields: dict[str, object] = {"id": "s", "lat": HERE[0], "lon": HERE[1], "price_per_wh": 150, field: value}
    with pytest.raises(InvalidClearingParameter, match=f"station.{field}"):
        Station(**fields)  # type: ignore[arg-type]  # the bad value is the point


def test_clearing_params_refuse_stations_that_are_not_a_tuple_of_Station() -> None:
    with pytest.raises(InvalidClearingParameter, match="stations"):
        ClearingParams(stations=[at(HERE, 150)])  # type: ignore[arg-type]  # a list, not a tuple


def test_reservation_limit_of_no_need_raises_InvalidClearingParameter() -> None:
    with pytest.raises(InvalidClearingParameter, match="need_wh"):
        reservation_limit(*HERE, 0, (at(HERE, 150),), COSTS, 150)


@FAST
@given(order_sets(max_buyers=10, max_sellers=10, prices=PAIR_PRICES), city_stations())
def test_the_city_scale_assignment_honours_stations_as_the_object_path_does(
    orders: list[Order], stations: tuple[Station, ...]
) -> None:
    params = ClearingParams(nearest_areas=3, stations=stations)
    cleared = city_assignment.welfare_assignment(columnar.from_orders(orders), params)
    assert columnar_keys(orders, cleared) == as_keys(welfare_assignment(orders, params))


@pytest.mark.parametrize("need_wh", [0, -1, 1_000_001, 2**62, True, 10.5])
def test_a_reservation_limit_is_only_for_an_orders_energy(need_wh: object) -> None:
    with pytest.raises(InvalidClearingParameter, match="need_wh"):
        reservation_limit(*HERE, need_wh, (at(HERE, 150),), COSTS, 150)  # type: ignore[arg-type]  # hostile on purpose
