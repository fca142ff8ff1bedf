"""McAfee's trade reduction: the two textbook cases by hand, rationing, and what holds of price misreports.

McAfee's theorem covers unit orders (every order the same energy): there no order gains by misreporting its price.
With divisible orders the rationing of the long side breaks it, and a test below pins the counterexample.
"""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.support.strategies import FAST, ask, bid, order_sets
from v2vchain.matching import ClearingParams, Order, Side, trade_reduction
from v2vchain.matching.trade_reduction import _largest_remainders

PARAMS = ClearingParams()


def prices(orders: list[Order]) -> list[tuple[int, int, int]]:
    return [(t.energy_wh, t.price_per_wh, t.seller_price_per_wh) for t in trade_reduction(orders, PARAMS).trades]


@FAST
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 2), st.integers(0, 2)), min_size=2, max_size=40), st.data())
def test_leftover_wh_go_to_the_first_orders_by_remainder_nonce_owner_then_position(
    rows: list[tuple[int, int, int]], data: st.DataObject
) -> None:
    remainder, nonce, owner_key = (np.array(column, dtype=np.int64) for column in zip(*rows))
    owed = int(np.count_nonzero(remainder))
    assume(owed >= 2)
    count = data.draw(st.integers(1, owed - 1))  # always fewer than the orders with a remainder
    side = SimpleNamespace(tie_keys=lambda at: (nonce[at], owner_key[at]))
    expected = np.lexsort((owner_key, nonce, -remainder))[:count]
    assert sorted(_largest_remainders(side, remainder, count).tolist()) == sorted(expected.tolist())


def test_p0_inside_the_marginal_pair_lets_all_k_pairs_trade_at_p0() -> None:
    # k = 3 (80 >= 55, 60 < 95); p0 = (60 + 95) // 2 = 77, inside [55, 80]
    book = [bid(1, 100), bid(2, 90), bid(3, 80), bid(4, 60), ask(5, 30), ask(6, 50), ask(7, 55), ask(8, 95)]
    assert prices(book) == [(1_000, 77, 77)] * 3


def test_p0_outside_drops_the_marginal_pair_and_prices_each_side_at_it() -> None:
    # k = 3 (80 >= 70, 40 < 95); p0 = (40 + 95) // 2 = 67 < 70: two pairs trade, buyers pay 80, sellers get 70
    book = [bid(1, 100), bid(2, 90), bid(3, 80), bid(4, 40), ask(5, 30), ask(6, 50), ask(7, 70), ask(8, 95)]
    result = trade_reduction(book, PARAMS)
    assert prices(book) == [(1_000, 80, 70)] * 2
    assert result.operator_surplus == 2 * 1_000 * 10


def test_the_dropped_marginal_pair_is_named_and_its_limits_are_the_two_prices() -> None:
    book = [bid(1, 100), bid(2, 90), bid(3, 80), bid(4, 40), ask(5, 30), ask(6, 50), ask(7, 70), ask(8, 95)]
    result = trade_reduction(book, PARAMS)
    assert result.marginal == (book[2], book[6])  # the third buyer (80) and the third seller (70)


def test_no_marginal_pair_is_named_when_all_k_pairs_trade_at_p0() -> None:
    book = [bid(1, 100), bid(2, 90), bid(3, 80), bid(4, 60), ask(5, 30), ask(6, 50), ask(7, 55), ask(8, 95)]
    assert trade_reduction(book, PARAMS).marginal is None


@given(order_sets())
def test_the_marginal_pair_is_what_the_commit_checks_untraded_with_the_two_prices_as_limits(
    orders: list[Order],
) -> None:
    result = trade_reduction(orders, PARAMS)
    if result.marginal is None:
        assert all(t.price_per_wh == t.seller_price_per_wh for t in result.trades)
        return
    buyer, seller = result.marginal
    assert (buyer.side, seller.side) == (Side.BUY, Side.SELL)
    assert not {buyer.key, seller.key} & {o.key for t in result.trades for o in (t.buyer, t.seller)}
    assert all(
        (t.price_per_wh, t.seller_price_per_wh) == (buyer.limit_price_per_wh, seller.limit_price_per_wh)
        for t in result.trades
    )


def test_without_a_next_pair_the_marginal_pair_is_dropped() -> None:
    assert prices([bid(1, 100), bid(2, 90), ask(3, 30), ask(4, 50)]) == [(1_000, 90, 50)]


def test_a_single_crossing_pair_never_trades() -> None:
    assert trade_reduction([bid(1, 100), ask(2, 30)], PARAMS).trades == ()


def test_the_long_side_is_rationed_in_proportion_to_energy() -> None:
    # k = 2, p0 = (20 + 95) // 2 = 57 in [40, 90]: demand 4 kWh, supply 2 kWh, buyers get 3:1 of 2 kWh
    book = [bid(1, 100, 3_000), bid(2, 90, 1_000), bid(3, 20), ask(4, 30), ask(5, 40), ask(6, 95)]
    result = trade_reduction(book, PARAMS)
    bought = {int(t.buyer.owner, 16): 0 for t in result.trades}
    for t in result.trades:
        bought[int(t.buyer.owner, 16)] += t.energy_wh
    assert bought == {1: 1_500, 2: 500}


def test_rationing_leftover_wh_go_to_the_lowest_nonces_when_remainders_tie() -> None:
    # k = 3, p0 = (10 + 150) // 2 = 80 in [30, 100]; 3 buyers of 1000 Wh share 2000 Wh: 666 each plus 2 spare Wh
    book = [
        bid(1, 100, nonce=2),
        bid(2, 100, nonce=0),
        bid(3, 100, nonce=1),
        bid(4, 10),
        ask(5, 30),
        ask(6, 30, 999),
        ask(7, 30, 1),
        ask(8, 150),
    ]
    bought = {1: 0, 2: 0, 3: 0}
    for t in trade_reduction(book, PARAMS).trades:
        bought[int(t.buyer.owner, 16)] += t.energy_wh
    assert bought == {1: 666, 2: 667, 3: 667}


def utility(order: Order, value: int, orders: list[Order]) -> int:
    """The true-value utility of `order`'s owner from clearing `orders`."""
    total = 0
    for t in trade_reduction(orders, PARAMS).trades:
        if t.buyer.key == order.key:
            total += t.energy_wh * (value - t.price_per_wh)
        if t.seller.key == order.key:
            total += t.energy_wh * (t.seller_price_per_wh - value)
    return total


@settings(max_examples=150, deadline=None)
@given(order_sets(max_buyers=5, max_sellers=5, max_energy_wh=1, prices=(1, 20), min_buyers=1, min_sellers=1), st.data())
def test_no_unit_order_gains_by_misreporting_its_price(orders: list[Order], data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(orders) - 1))
    honest = orders[i]
    value = honest.limit_price_per_wh
    truthful = utility(honest, value, orders)
    for report in range(1, 23):
        lie = _with_price(honest, report)
        assert utility(lie, value, orders[:i] + [lie] + orders[i + 1 :]) <= truthful, (honest.side, report)


def test_a_divisible_seller_can_gain_by_under_reporting_when_the_long_side_is_rationed() -> None:
    # The counterexample Hypothesis once found on a fresh clone: a seller worth 2 a Wh with 4 Wh. Reporting 1 ties
    # it with the cheapest ask and puts it first in the book (lower owner), which changes which asks trade and its
    # share of the rationed supply: it gains 2 instead of 1.
    others = [bid(1, 1, 1), bid(2, 3, 1), bid(3, 3, 2), ask(10, 1, 4), ask(11, 5, 1)]
    honest = ask(9, 2, 4)
    lie = _with_price(honest, 1)
    assert (utility(honest, 2, [*others, honest]), utility(lie, 2, [*others, lie])) == (1, 2)


def _with_price(order: Order, price: int) -> Order:
    return replace(order, limit_price_per_wh=price)
