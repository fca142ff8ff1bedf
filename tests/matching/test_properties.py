"""Properties every mechanism must hold on any order set: each can fail, and Hypothesis looks for the case."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.strategies import FAST, PAIR_PRICES, order_sets
from v2vchain.matching import MECHANISMS, ClearingParams, ClearingResult, Order, pair_terms
from v2vchain.matching.meeting import haversine_m, whole_metres

PARAMS = ClearingParams(nearest_areas=3)
ALL = sorted(MECHANISMS)
EXACT_PRICE = [m for m in ALL if m != "mcafee-trade-reduction"]  # one price per trade: buyers pay what sellers get
COST_AWARE = [m for m in ALL if m.startswith(("max-welfare", "gale-shapley"))]


def run(name: str, orders: list[Order], params: ClearingParams = PARAMS) -> ClearingResult:
    return MECHANISMS[name](orders, params)


@pytest.mark.parametrize("name", ALL)
@FAST
@given(orders=order_sets(prices=PAIR_PRICES))
def test_no_buyer_pays_above_its_limit(name: str, orders: list[Order]) -> None:
    for t in run(name, orders).trades:
        assert t.price_per_wh <= t.buyer.limit_price_per_wh


@pytest.mark.parametrize("name", ALL)
@FAST
@given(orders=order_sets(prices=PAIR_PRICES))
def test_no_seller_receives_below_its_ask(name: str, orders: list[Order]) -> None:
    for t in run(name, orders).trades:
        assert t.seller_price_per_wh >= t.seller.limit_price_per_wh


@pytest.mark.parametrize("name", ALL)
@FAST
@given(orders=order_sets(prices=PAIR_PRICES))
def test_buyers_pay_at_least_what_sellers_receive(name: str, orders: list[Order]) -> None:
    result = run(name, orders)
    assert result.buyers_paid >= result.sellers_received and result.operator_surplus >= 0


@pytest.mark.parametrize("name", EXACT_PRICE)
@FAST
@given(orders=order_sets(prices=PAIR_PRICES))
def test_buyers_pay_exactly_what_sellers_receive(name: str, orders: list[Order]) -> None:
    assert run(name, orders).operator_surplus == 0


@pytest.mark.parametrize("name", ALL)
@FAST
@given(orders=order_sets(prices=PAIR_PRICES))
def test_each_order_trades_plus_falls_back_to_the_grid_exactly_its_energy(name: str, orders: list[Order]) -> None:
    result = run(name, orders)
    accounted: Counter = Counter()
    for t in result.trades:
        assert t.energy_wh > 0
        accounted[t.buyer.key] += t.energy_wh
        accounted[t.seller.key] += t.energy_wh
    for u in result.unmatched_buyers + result.unmatched_sellers:
        assert u.energy_wh > 0
        accounted[u.order.key] += u.energy_wh
    assert accounted == Counter({o.key: o.energy_wh for o in orders})


@pytest.mark.parametrize("name", ALL)
@FAST
@given(orders=order_sets(prices=PAIR_PRICES))
def test_traded_energy_total_is_the_same_on_both_sides(name: str, orders: list[Order]) -> None:
    result = run(name, orders)
    bought = sum(o.energy_wh for o in orders if o.side == 1) - sum(u.energy_wh for u in result.unmatched_buyers)
    sold = sum(o.energy_wh for o in orders if o.side == 2) - sum(u.energy_wh for u in result.unmatched_sellers)
    assert bought == sold == result.energy_wh


@pytest.mark.parametrize("name", ALL)
@FAST
@given(orders=order_sets(prices=PAIR_PRICES))
def test_unmatched_parties_get_the_grid_price_of_their_side(name: str, orders: list[Order]) -> None:
    result = run(name, orders)
    assert {u.grid_price_per_wh for u in result.unmatched_buyers} <= {PARAMS.grid.import_per_wh}
    assert {u.grid_price_per_wh for u in result.unmatched_sellers} <= {PARAMS.grid.export_per_wh}


@pytest.mark.parametrize("name", ALL)
@FAST
@given(orders=order_sets(prices=PAIR_PRICES), data=st.data())
def test_any_permutation_of_the_orders_gives_the_same_result(
    name: str, orders: list[Order], data: st.DataObject
) -> None:
    assert run(name, data.draw(st.permutations(orders))) == run(name, orders)


@pytest.mark.parametrize("name", COST_AWARE)
@FAST
@given(orders=order_sets(prices=PAIR_PRICES, routed=True))
def test_every_trade_meets_where_both_plans_fit_the_transfer(name: str, orders: list[Order]) -> None:
    for t in run(name, orders).trades:
        terms = pair_terms(t.buyer, t.seller, PARAMS)
        assert terms.feasible and terms.together_s >= terms.transfer_s


@pytest.mark.parametrize("name", COST_AWARE)
@FAST
@given(orders=order_sets(prices=PAIR_PRICES, routed=True))
def test_every_cost_aware_trade_has_positive_welfare_after_costs(name: str, orders: list[Order]) -> None:
    for t in run(name, orders).trades:
        assert pair_terms(t.buyer, t.seller, PARAMS).welfare > 0


@pytest.mark.parametrize("name", COST_AWARE)
@FAST
@given(orders=order_sets(prices=PAIR_PRICES, routed=True))
def test_no_side_of_a_cost_aware_trade_ends_below_zero_after_its_cost_share(name: str, orders: list[Order]) -> None:
    for t in run(name, orders).trades:
        terms = pair_terms(t.buyer, t.seller, PARAMS)
        assert terms.buyer_utility >= 0 and terms.seller_utility >= 0


@pytest.mark.parametrize("name", COST_AWARE)
@FAST
@given(orders=order_sets(prices=PAIR_PRICES, routed=True))
def test_cost_aware_mechanisms_match_each_vehicle_at_most_once(name: str, orders: list[Order]) -> None:
    trades = run(name, orders).trades
    assert len({t.buyer.key for t in trades}) == len({t.seller.key for t in trades}) == len(trades)


@pytest.mark.parametrize("name", COST_AWARE)
@FAST
@given(orders=order_sets(prices=PAIR_PRICES, routed=True))
def test_cost_aware_trades_conserve_each_orders_energy_with_routed_books(name: str, orders: list[Order]) -> None:
    result = run(name, orders)
    accounted: Counter = Counter()
    for t in result.trades:
        accounted[t.buyer.key] += t.energy_wh
        accounted[t.seller.key] += t.energy_wh
    for u in result.unmatched_buyers + result.unmatched_sellers:
        accounted[u.order.key] += u.energy_wh
    assert accounted == Counter({o.key: o.energy_wh for o in orders})


@pytest.mark.parametrize("name", COST_AWARE)
@FAST
@given(orders=order_sets(prices=PAIR_PRICES), nearest=st.integers(1, 3))
def test_cost_aware_trades_of_parked_orders_stay_within_the_buyers_nearest_seller_areas(
    name: str, orders: list[Order], nearest: int
) -> None:
    params = ClearingParams(nearest_areas=nearest)
    for t in run(name, orders, params).trades:
        areas = {o.area_id: apart(t.buyer, o) for o in orders if o.side == 2}
        closer = {a for a, d in areas.items() if d < areas[t.seller.area_id]}
        assert len(closer) < nearest


def apart(a: Order, b: Order) -> int:
    return int(whole_metres(haversine_m(a.area_lat, a.area_lon, b.area_lat, b.area_lon)))
