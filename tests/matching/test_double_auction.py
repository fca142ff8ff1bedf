"""Uniform-price double auction with k-pricing: hand-worked clearings and the clearing-price interval."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.strategies import FAST, ask, bid, order_sets
from v2vchain.matching import ClearingParams, Order, double_auction
from v2vchain.matching.double_auction import cross
from v2vchain.matching.pricing import k_price

HALF = ClearingParams()

# bids 100 (3 kWh), 90 (1 kWh), 60 (1 kWh); asks 50 (2 kWh), 70 (2 kWh), 95 (5 kWh): 4 kWh cross; the last traded
# Wh pairs bid 90 with ask 70; the first unfilled bid is 60 and ask 95, so clearing prices are [70, 90]
BOOK = [
    bid(1, 100, 3_000),
    bid(2, 90, 1_000),
    bid(3, 60, 1_000),
    ask(4, 50, 2_000),
    ask(5, 70, 2_000),
    ask(6, 95, 5_000),
]


def flows(orders: list[Order], params: ClearingParams = HALF) -> list[tuple[int, int, int, int]]:
    return [
        (int(t.buyer.owner, 16), int(t.seller.owner, 16), t.energy_wh, t.price_per_wh)
        for t in double_auction(orders, params).trades
    ]


def test_half_k_clears_at_the_middle_of_the_clearing_interval() -> None:
    assert flows(BOOK) == [(1, 4, 2_000, 80), (1, 5, 1_000, 80), (2, 5, 1_000, 80)]


def test_k_one_third_rounds_down_to_76() -> None:
    assert {f[3] for f in flows(BOOK, ClearingParams(k=Fraction(1, 3)))} == {76}


def test_k_zero_and_one_give_the_interval_ends() -> None:
    assert [flows(BOOK, ClearingParams(k=k))[0][3] for k in (0, 1)] == [70, 90]


def test_a_large_order_is_split_across_sellers() -> None:
    assert {f[1] for f in flows(BOOK) if f[0] == 1} == {4, 5}


def test_a_partly_filled_order_sends_its_rest_to_the_grid() -> None:
    result = double_auction([bid(1, 100, 3_000), ask(2, 50, 1_000)], HALF)
    (rest,) = result.unmatched_buyers
    assert (rest.energy_wh, rest.grid_price_per_wh) == (2_000, 150)


def test_a_partly_filled_marginal_buyer_sets_the_price_at_its_bid() -> None:
    # the buyer at 90 keeps energy it would buy at 90, so no price below 90 clears the market
    assert {f[3] for f in flows([bid(1, 90, 3_000), ask(2, 50, 1_000), ask(3, 95, 1_000)])} == {90}


def test_no_trade_when_the_best_bid_is_below_the_best_ask() -> None:
    result = double_auction([bid(1, 60), ask(2, 70)], HALF)
    assert result.trades == () and len(result.unmatched_buyers) == len(result.unmatched_sellers) == 1


def test_an_empty_side_clears_nothing() -> None:
    assert double_auction([bid(1, 100)], HALF).trades == ()


@FAST
@given(order_sets())
def test_no_unfilled_order_would_have_traded_at_the_clearing_price(orders: list[Order]) -> None:
    result = double_auction(orders, HALF)
    if result.trades:
        price = result.trades[0].price_per_wh
        assert all(u.order.limit_price_per_wh <= price for u in result.unmatched_buyers)
        assert all(u.order.limit_price_per_wh >= price for u in result.unmatched_sellers)


@FAST
@given(order_sets())
def test_every_trade_of_a_clearing_has_the_same_price(orders: list[Order]) -> None:
    assert len({t.price_per_wh for t in double_auction(orders, HALF).trades}) <= 1


@FAST
@given(order_sets())
def test_traded_volume_is_the_most_the_curves_allow(orders: list[Order]) -> None:
    # at the clearing price p every buyer with bid > p and every seller with ask < p is filled
    result = double_auction(orders, HALF)
    for t in result.trades:
        p = t.price_per_wh
        assert not [
            u
            for u in result.unmatched_buyers
            if u.order.limit_price_per_wh > p and any(v.order.limit_price_per_wh < p for v in result.unmatched_sellers)
        ]


def _walk(bid: list[int], bid_wh: list[int], ask: list[int], ask_wh: list[int], k: Fraction) -> tuple:
    """cross, Wh by Wh: every unit where the bid covers the ask trades; flows are runs of one (buyer, seller)."""
    buyers = [i for i, wh in enumerate(bid_wh) for _ in range(wh)]
    sellers = [j for j, wh in enumerate(ask_wh) for _ in range(wh)]
    flows: list[list[int]] = []
    volume = 0
    for i, j in zip(buyers, sellers):
        if bid[i] < ask[j]:
            break
        if flows and flows[-1][:2] == [i, j]:
            flows[-1][2] += 1
        else:
            flows.append([i, j, 1])
        volume += 1
    if not volume:
        return [], [], [], 0
    low, high = ask[sellers[volume - 1]], bid[buyers[volume - 1]]
    if volume < len(buyers):
        low = max(low, bid[buyers[volume]])
    if volume < len(sellers):
        high = min(high, ask[sellers[volume]])
    return [f[0] for f in flows], [f[1] for f in flows], [f[2] for f in flows], k_price(low, high, k)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 9), st.integers(0, 4)), max_size=8),
    st.lists(st.tuples(st.integers(1, 9), st.integers(0, 4)), max_size=8),
    st.sampled_from((Fraction(0), Fraction(1, 2), Fraction(1))),
)
def test_cross_is_the_wh_by_wh_walk(bids: list[tuple[int, int]], asks: list[tuple[int, int]], k: Fraction) -> None:
    bids, asks = sorted(bids, key=lambda b: -b[0]), sorted(asks)
    columns = [np.array([x[c] for x in side], dtype=np.int64) for side in (bids, asks) for c in (0, 1)]
    buy_idx, sell_idx, energy, price, _, _ = cross(*columns, k)
    walked = _walk(*(c.tolist() for c in columns), k)
    assert (buy_idx.tolist(), sell_idx.tolist(), energy.tolist(), price) == walked
