"""Each side's net surplus against its outside option (report.py): the accounting adds up, window-infeasible trades
deliver nothing, and the station-aware mechanisms never leave a side below its station or the grid export."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.strategies import FAST, PAIR_PRICES, T0, ask, bid, city_stations, order_sets
from v2vchain.matching import MECHANISMS, ClearingParams, ClearingResult, Order
from v2vchain.matching.areas import geohash_centre
from v2vchain.matching.costs import pair_costs, travel_cost
from v2vchain.matching.double_auction import double_auction
from v2vchain.matching.legs import order_legs
from v2vchain.matching.outside import Station, buyer_saving
from v2vchain.matching.report import net_surpluses, ranked, summarise

PARAMS = ClearingParams(nearest_areas=3)
COST_AWARE = sorted(m for m in MECHANISMS if m.startswith(("max-welfare", "gale-shapley")))
HERE = geohash_centre("u33dc0")


def one(values: list[float | int], dtype: type = np.int64) -> np.ndarray:
    return np.array(values, dtype=dtype)


def welfare_against_outside(result: ClearingResult, params: ClearingParams) -> int:
    """Trade by trade, payments cancelling: what buyers' stations would have charged for the energy delivered, minus
    the export it forwent and both sides' detours, transfer time, losses and wear; a trade with no meeting that fits
    both plans costs its detours only."""
    total, served, buyers = 0, {}, {}
    c, export, zero = params.costs, params.grid.export_per_wh, one([0])
    for t in result.trades:
        b, s, q = t.buyer, t.seller, t.energy_wh
        pc = pair_costs(order_legs([b]), order_legs([s]), zero, zero, one([q]), c)
        if pc.feasible[0]:
            wait = -(-int(pc.transfer_s[0]) * c.time_cost_per_h // 3_600)  # each driver's, recomputed here
            travel = int(pc.buyer_travel_cost[0] + pc.seller_travel_cost[0])
            losses_and_wear = int(pc.seller_cost[0])
            total -= q * export + travel + 2 * wait + losses_and_wear
            served[b.key] = served.get(b.key, 0) + q
        else:
            total -= int(pc.buyer_travel_cost[0] + pc.seller_travel_cost[0])
        buyers[b.key] = b
    for key, q in served.items():
        b = buyers[key]
        legs = order_legs([b])
        total += int(
            buyer_saving(legs, zero, one([b.energy_wh]), one([q]), params.stations, c, params.grid.import_per_wh)[0]
        )
    return total


@pytest.mark.parametrize("name", sorted(MECHANISMS))
@FAST
@given(orders=order_sets(prices=PAIR_PRICES, routed=True), stations=st.one_of(st.just(()), city_stations()))
def test_net_surpluses_and_the_operators_spread_sum_to_welfare_minus_costs(
    name: str, orders: list[Order], stations: tuple[Station, ...]
) -> None:
    params = replace(PARAMS, stations=stations)
    result = MECHANISMS[name](orders, params)
    assert net_surpluses(result, params).welfare == welfare_against_outside(result, params)


@pytest.mark.parametrize("name", COST_AWARE)
@FAST
@given(orders=order_sets(prices=PAIR_PRICES, routed=True), stations=city_stations())
def test_station_aware_mechanisms_leave_no_side_below_its_outside_option(
    name: str, orders: list[Order], stations: tuple[Station, ...]
) -> None:
    params = replace(PARAMS, stations=stations)
    net = net_surpluses(MECHANISMS[name](orders, params), params)
    assert all(v >= 0 for v in net.buyers.values()) and all(v >= 0 for v in net.sellers.values())


def test_a_window_infeasible_trade_delivers_nothing_and_costs_its_cheapest_meetings_detours() -> None:
    buyer = bid(1, 150, 10_000, cell="u33dc0", end=T0 + 600)
    seller = ask(2, 50, 10_000, cell="u33d8x", start=T0 + 7_200, end=T0 + 9_000)
    result = double_auction([buyer, seller], PARAMS)  # price-only: blind to the windows
    net = net_surpluses(result, PARAMS)
    drive = int(travel_cost(one([2 * 1_607]), PARAMS.costs)[0])  # the buyer to the seller's cell and back
    assert (net.delivered_wh, net.infeasible_trades, net.operator) == (0, 1, 0)
    assert net.buyers[buyer.key] + net.sellers[seller.key] == -drive < 0


def test_a_buyer_next_to_its_seller_gains_its_station_bill_minus_payment_and_transfer_time() -> None:
    station = Station("s", *HERE, price_per_wh=600)
    params = replace(PARAMS, stations=(station,))
    buyer, seller = bid(1, 600, 10_000), ask(2, 100, 10_000)
    result = MECHANISMS["max-welfare-assignment"]([buyer, seller], params)
    (trade,) = result.trades
    # the station next door: 10 kWh at 50 kW is 720 s; the V2V transfer of 10,310 Wh at 30 kW takes 1,238 s
    station_bill = 10_000 * 600 + -(-720 * 5_000_000 // 3_600)
    waiting = -(-1_238 * 5_000_000 // 3_600)
    assert net_surpluses(result, params).buyers[buyer.key] == station_bill - trade.payment - waiting


def test_without_stations_a_delivered_trade_costs_both_drivers_transfer_time() -> None:
    # one cell, no detour: 10 kWh saves the buyer 10,000 x 150 at the grid and the seller forgoes 10,000 x 50 of
    # export; each driver waits 1,238 s at 5 tokens an hour; 310 Wh lost at 150 and 10.31 kWh of wear at 20,000
    result = double_auction([bid(1, 150, 10_000), ask(2, 50, 10_000)], PARAMS)
    waiting = -(-1_238 * 5_000_000 // 3_600)
    net = net_surpluses(result, PARAMS)
    assert net.delivered_wh == 10_000
    assert net.welfare == 10_000 * (150 - 50) - 2 * waiting - (310 * 150 + 206_200) < 0


def test_summary_counts_the_sides_left_below_their_outside_option() -> None:
    buyer = bid(1, 150, 10_000, cell="u33dc0", end=T0 + 600)
    seller = ask(2, 50, 10_000, cell="u33d8x", start=T0 + 7_200, end=T0 + 9_000)
    s = summarise(double_auction([buyer, seller], PARAMS), PARAMS)
    # the cheapest meeting is at the seller's place: the buyer drives there and back, the seller loses nothing
    assert (s.buyers_worse_off, s.sellers_worse_off) == (1, 0) and s.welfare < 0


def test_a_clearing_with_negative_welfare_ranks_below_one_that_trades_nothing() -> None:
    buyer = bid(1, 150, 10_000, cell="u33dc0", end=T0 + 600)
    seller = ask(2, 50, 10_000, cell="u33d8x", start=T0 + 7_200, end=T0 + 9_000)
    busy = summarise(double_auction([buyer, seller], PARAMS), PARAMS)  # trades 10 kWh, delivers nothing
    idle = summarise(MECHANISMS["max-welfare-assignment"]([buyer, seller], PARAMS), PARAMS)
    assert busy.trades > idle.trades == 0
    assert ranked([busy, idle]) == [idle, busy]
