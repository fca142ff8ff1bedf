"""The outside option: a buyer's cheapest station (or the grid at its door), a seller's grid export, and the
cost-aware mechanisms' pairs bounded by both."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from tests.support.columnar import as_keys, columnar_keys
from tests.support.routes import trip
from tests.support.strategies import FAST, PAIR_PRICES, T0, ask, bid, city_stations, order, order_sets
from v2vchain.matching import ClearingParams, Order, city_assignment, columnar, pair_terms, welfare_assignment
from v2vchain.matching.areas import geohash_centre
from v2vchain.matching.costs import CostParams
from v2vchain.matching.errors import InvalidClearingParameter
from v2vchain.matching.legs import OrderLegs, order_legs, parked_legs
from v2vchain.matching.orders import Side
from v2vchain.matching.outside import Station, buyer_saving, reservation_limit, station_choice, station_cost
from v2vchain.protocol.routes import Route, Waypoint

COSTS = CostParams()
HERE = geohash_centre("u33dc0")
FAR = geohash_centre("u33d8x")  # ~3 km away


def at(place: tuple[float, float], price: int, **kw: int) -> Station:
    return Station("s", place[0], place[1], price_per_wh=price, **kw)


def parked_here(window_s: int = 7_200) -> OrderLegs:
    return parked_legs(np.array([HERE[0]]), np.array([HERE[1]]), np.array([T0]), np.array([T0 + window_s]))


def cost(station: Station, energy_wh: int) -> int:
    one = np.zeros(1, dtype=np.int64)
    _, detour = station_choice(parked_here(), one, np.array([energy_wh]), (station,), COSTS)
    return int(station_cost(one, detour, [energy_wh], (station,), COSTS)[0])


def saving(stations: tuple[Station, ...], need: int, served: int, window_s: int = 7_200) -> int:
    one = np.zeros(1, dtype=np.int64)
    legs = parked_here(window_s)
    return int(buyer_saving(legs, one, np.array([need]), np.array([served]), stations, COSTS, 150)[0])


def commute(slack_s: int) -> Route:
    """A minute at HERE, the 193 s drive to FAR with slack_s to spare, an hour at FAR."""
    arrive = T0 + 60 + 193 + slack_s
    return Route((Waypoint("u33dc0", T0, T0 + 60), Waypoint("u33d8x", arrive, arrive + 3_600)))


def test_station_cost_is_queue_and_charging_time_plus_the_energy() -> None:
    # 10 kWh at 50 kW: 720 s charging + 600 s queue = 1,320 s at 5 tokens/h, rounded up; 10,000 Wh x 150
    assert cost(at(HERE, 150, queue_s=600), 10_000) == 1_833_334 + 1_500_000


def test_a_parked_buyer_drives_to_a_farther_station_and_back() -> None:
    # 1,607 m each way: 3,214 m is 579 Wh (at 150) and 386 s, with the 720 s charge at 5 tokens/h
    assert cost(at(FAR, 150), 10_000) == 579 * 150 + -(-(386 + 720) * 5_000_000 // 3_600) + 10_000 * 150


def test_a_routed_buyer_charges_at_a_station_on_its_way_without_detour() -> None:
    # 1,320 s of queue and charge fit none of its legs, so it charges late at the cheapest: on its way
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


# 10 kWh: next door with a 420 s queue, 1,140 s (420 + 720 charging) and 3,083,334; 3 km away with none, 1,106 s
# (193 s each way + 720 s) and 3,122,962 (579 Wh driving at 150 + 1,536,112 time + 1,500,000 energy)
NEAR_QUEUED, FAR_FREE = at(HERE, 150, queue_s=420), at(FAR, 150)


def test_a_near_station_whose_queue_and_charge_miss_the_window_loses_to_a_farther_one_that_fits() -> None:
    assert saving((NEAR_QUEUED, FAR_FREE), 10_000, 10_000, window_s=1_120) == 3_122_962


def test_a_near_station_that_fits_the_window_wins_on_cost() -> None:
    assert saving((NEAR_QUEUED, FAR_FREE), 10_000, 10_000, window_s=1_140) == 1_583_334 + 1_500_000


def test_when_no_station_fits_the_window_the_cheapest_is_taken() -> None:
    assert saving((NEAR_QUEUED, FAR_FREE), 10_000, 10_000, window_s=1_105) == 1_583_334 + 1_500_000


# a station at its start (150) and one at its end (160): charging at the start fits only in the drive's slack (720 s
# for 10 kWh; the minute's stay is too short); at the end, in the hour there (2,600,000); the start station from
# there, 3 km back and forth, is 3,122,962
START, END = Station("start", *HERE, price_per_wh=150), Station("end", *FAR, price_per_wh=160)


def test_a_routed_buyer_charges_in_a_drives_slack_when_the_charge_fits_it() -> None:
    assert reservation_limit(*HERE, 10_000, (START, END), COSTS, 150, route=commute(720)) == 2_500_000 // 10_000


def test_a_routed_buyer_whose_drive_lacks_the_slack_charges_where_it_stays() -> None:
    assert reservation_limit(*HERE, 10_000, (START, END), COSTS, 150, route=commute(719)) == 2_600_000 // 10_000


def test_station_choice_in_chunks_equals_station_choice_at_once() -> None:
    """Chunks of one (leg, station) entry (every order alone) against one chunk, parked and routed orders mixed."""
    end = T0 + 7_200
    book = [order(i, Side.BUY, route=trip(T0, end, 8, i % 2)) for i in range(1, 4)] + [order(4, Side.BUY)]
    legs, orders = order_legs(book), np.arange(len(book))
    need = np.array([o.energy_wh for o in book])
    stations = (NEAR_QUEUED, FAR_FREE, START, END)
    alone = station_choice(legs, orders, need, stations, COSTS, chunk_leg_stations=1)
    together = station_choice(legs, orders, need, stations, COSTS, chunk_leg_stations=10**9)
    assert [a.tolist() for a in alone] == [a.tolist() for a in together]


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
