"""Gale-Shapley: stability, each proposing side's advantage, and the satisfaction score."""

from __future__ import annotations

from hypothesis import given, settings

from tests.support.strategies import FAST, T0, ask, bid, order_sets
from v2vchain.matching import ClearingParams, ClearingResult, Order, Side, pair_terms, stable_matching

ALL_PAIRS = ClearingParams(nearest_areas=10)
B1, B2 = bid(1, 150, 10_000), bid(2, 120, 10_000, start=T0, end=T0 + 3_000)
S1, S2 = ask(3, 50, 10_000), ask(4, 90, 10_000, start=T0 + 3_600, end=T0 + 7_200)


def pairs(result: ClearingResult) -> set[tuple[int, int]]:
    return {(int(t.buyer.owner, 16), int(t.seller.owner, 16)) for t in result.trades}


def test_hand_worked_case_matches_the_mutual_first_choices() -> None:
    # B1 and S1 rank each other first (at 113: B1 gains 370000, S1 377300); B2's only option, S1, prefers B1
    # (B2-S1 at 98 leaves S1 227300); B2-S2 is infeasible
    assert pairs(stable_matching([B1, B2, S1, S2], ALL_PAIRS)) == {(1, 3)}


def test_satisfaction_reports_each_partners_rank() -> None:
    result = stable_matching([B1, B2, S1, S2], ALL_PAIRS)
    assert result.satisfaction is not None
    assert (result.satisfaction.buyer_ranks, result.satisfaction.seller_ranks) == ((1,), (1,))


def test_second_choice_shows_as_rank_two() -> None:
    # both buyers prefer the cheaper S1; S1 prefers the higher bidder, so B2 ends with its second choice
    b1, b2 = bid(1, 150, 10_000), bid(2, 140, 10_000)
    s1, s2 = ask(3, 40, 10_000), ask(4, 50, 10_000)
    result = stable_matching([b1, b2, s1, s2], ALL_PAIRS)
    ranks = {int(t.buyer.owner, 16): r for t, r in zip(result.trades, result.satisfaction.buyer_ranks)}
    assert ranks == {1: 1, 2: 2}


def test_mechanism_name_says_who_proposed() -> None:
    assert stable_matching([B1, S1], ALL_PAIRS, Side.SELL).mechanism == "gale-shapley-seller-proposing"


def utilities(result: ClearingResult) -> dict[tuple[str, int], int]:
    """Each matched order's utility from its trade."""
    out = {}
    for t in result.trades:
        terms = pair_terms(t.buyer, t.seller, ALL_PAIRS)
        out[t.buyer.key], out[t.seller.key] = terms.buyer_utility, terms.seller_utility
    return out


@settings(max_examples=60, deadline=None)
@given(order_sets(max_buyers=7, max_sellers=7, max_energy_wh=20_000))
def test_buyer_proposing_leaves_no_blocking_pair(orders: list[Order]) -> None:
    assert_no_blocking_pair(orders, stable_matching(orders, ALL_PAIRS, Side.BUY))


@settings(max_examples=60, deadline=None)
@given(order_sets(max_buyers=7, max_sellers=7, max_energy_wh=20_000))
def test_seller_proposing_leaves_no_blocking_pair(orders: list[Order]) -> None:
    assert_no_blocking_pair(orders, stable_matching(orders, ALL_PAIRS, Side.SELL))


def assert_no_blocking_pair(orders: list[Order], result: ClearingResult) -> None:
    """No feasible buyer-seller pair where both gain strictly more than they got (0 if unmatched)."""
    got = utilities(result)
    for b in (o for o in orders if o.side == 1):
        for s in (o for o in orders if o.side == 2):
            terms = pair_terms(b, s, ALL_PAIRS)
            if terms.acceptable:
                assert not (terms.buyer_utility > got.get(b.key, 0) and terms.seller_utility > got.get(s.key, 0)), (
                    b.key,
                    s.key,
                )


@FAST
@given(order_sets(max_buyers=7, max_sellers=7, max_energy_wh=20_000))
def test_every_buyer_does_at_least_as_well_when_buyers_propose(orders: list[Order]) -> None:
    by_buyers = utilities(stable_matching(orders, ALL_PAIRS, Side.BUY))
    by_sellers = utilities(stable_matching(orders, ALL_PAIRS, Side.SELL))
    for b in (o for o in orders if o.side == 1):
        assert by_buyers.get(b.key, 0) >= by_sellers.get(b.key, 0)


@FAST
@given(order_sets(max_buyers=7, max_sellers=7, max_energy_wh=20_000))
def test_every_seller_does_at_least_as_well_when_sellers_propose(orders: list[Order]) -> None:
    by_buyers = utilities(stable_matching(orders, ALL_PAIRS, Side.BUY))
    by_sellers = utilities(stable_matching(orders, ALL_PAIRS, Side.SELL))
    for s in (o for o in orders if o.side == 2):
        assert by_sellers.get(s.key, 0) >= by_buyers.get(s.key, 0)


@FAST
@given(order_sets(max_buyers=7, max_sellers=7, max_energy_wh=20_000))
def test_satisfaction_ranks_are_positions_in_each_sides_list(orders: list[Order]) -> None:
    result = stable_matching(orders, ALL_PAIRS)
    sat = result.satisfaction
    assert sat is not None and len(sat.buyer_ranks) == len(sat.seller_ranks) == len(result.trades)
    sellers = [o for o in orders if o.side == 2]
    for t, rank in zip(result.trades, sat.buyer_ranks):
        mine = pair_terms(t.buyer, t.seller, ALL_PAIRS).buyer_utility
        better = [s for s in sellers if (x := pair_terms(t.buyer, s, ALL_PAIRS)).acceptable and x.buyer_utility > mine]
        assert len(better) < rank
