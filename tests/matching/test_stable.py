"""Gale-Shapley: stability, each proposing side's advantage, and the satisfaction score."""

from __future__ import annotations

from hypothesis import given, settings

from tests.support.strategies import FAST, PAIR_PRICES, T0, ask, bid, order_sets
from v2vchain.matching import ClearingParams, ClearingResult, Order, Side, pair_terms, stable_matching

ALL_PAIRS = ClearingParams(nearest_areas=10)
B1, B2 = bid(1, 1_000, 10_000), bid(2, 900, 10_000, start=T0, end=T0 + 3_000)
S1, S2 = ask(3, 100, 10_000), ask(4, 500, 10_000, start=T0 + 3_600, end=T0 + 7_200)
# one cell: every pair's buyer pays its driver's 1,238 s transfer (1,719,445 at 5 tokens an hour, rounded up),
# the seller that and its losses and wear (310 x 150 + 10.31 x 20,000): 1,972,145
BUYER_SHARE, SELLER_SHARE = 1_719_445, 1_972_145


def pairs(result: ClearingResult) -> set[tuple[int, int]]:
    return {(int(t.buyer.owner, 16), int(t.seller.owner, 16)) for t in result.trades}


def test_hand_worked_case_matches_the_mutual_first_choices() -> None:
    # pair price: k = 1/2 between ask + ceil(seller share / 10,000) and bid - ceil(buyer share / 10,000)
    # B1-S1 at 298 + (828 - 298) // 2 = 563; B1-S2 at 698 + (828 - 698) // 2 = 763; B2-S1 at 298 + (728 - 298) // 2
    # = 513. B1 prefers S1 (10,000 x 437 against 10,000 x 237, less its share); S1 prefers B1 (10,000 x 463 against
    # 10,000 x 413, less its share); B2's only option is S1 (B2-S2 never overlap): B2 stays unmatched
    b1_s1, b1_s2, b2_s1 = (pair_terms(b, s, ALL_PAIRS) for b, s in ((B1, S1), (B1, S2), (B2, S1)))
    assert (b1_s1.price_per_wh, b1_s2.price_per_wh, b2_s1.price_per_wh) == (563, 763, 513)
    assert (b1_s1.buyer_utility, b1_s2.buyer_utility) == (4_370_000 - BUYER_SHARE, 2_370_000 - BUYER_SHARE)
    assert (b1_s1.seller_utility, b2_s1.seller_utility) == (4_630_000 - SELLER_SHARE, 4_130_000 - SELLER_SHARE)
    assert pairs(stable_matching([B1, B2, S1, S2], ALL_PAIRS)) == {(1, 3)}


def test_satisfaction_reports_each_partners_rank() -> None:
    result = stable_matching([B1, B2, S1, S2], ALL_PAIRS)
    assert result.satisfaction is not None
    assert (result.satisfaction.buyer_ranks, result.satisfaction.seller_ranks) == ((1,), (1,))


def test_second_choice_shows_as_rank_two() -> None:
    # both buyers prefer the cheaper S1; S1 prefers the higher bidder, so B2 ends with its second choice
    b1, b2 = bid(1, 1_000, 10_000), bid(2, 950, 10_000)
    s1, s2 = ask(3, 100, 10_000), ask(4, 150, 10_000)
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
@given(order_sets(max_buyers=7, max_sellers=7, max_energy_wh=20_000, prices=PAIR_PRICES))
def test_buyer_proposing_leaves_no_blocking_pair(orders: list[Order]) -> None:
    assert_no_blocking_pair(orders, stable_matching(orders, ALL_PAIRS, Side.BUY))


@settings(max_examples=60, deadline=None)
@given(order_sets(max_buyers=7, max_sellers=7, max_energy_wh=20_000, prices=PAIR_PRICES))
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
@given(order_sets(max_buyers=7, max_sellers=7, max_energy_wh=20_000, prices=PAIR_PRICES))
def test_every_buyer_does_at_least_as_well_when_buyers_propose(orders: list[Order]) -> None:
    by_buyers = utilities(stable_matching(orders, ALL_PAIRS, Side.BUY))
    by_sellers = utilities(stable_matching(orders, ALL_PAIRS, Side.SELL))
    for b in (o for o in orders if o.side == 1):
        assert by_buyers.get(b.key, 0) >= by_sellers.get(b.key, 0)


@FAST
@given(order_sets(max_buyers=7, max_sellers=7, max_energy_wh=20_000, prices=PAIR_PRICES))
def test_every_seller_does_at_least_as_well_when_sellers_propose(orders: list[Order]) -> None:
    by_buyers = utilities(stable_matching(orders, ALL_PAIRS, Side.BUY))
    by_sellers = utilities(stable_matching(orders, ALL_PAIRS, Side.SELL))
    for s in (o for o in orders if o.side == 2):
        assert by_sellers.get(s.key, 0) >= by_buyers.get(s.key, 0)


@FAST
@given(order_sets(max_buyers=7, max_sellers=7, max_energy_wh=20_000, prices=PAIR_PRICES))
def test_satisfaction_ranks_are_positions_in_each_sides_list(orders: list[Order]) -> None:
    result = stable_matching(orders, ALL_PAIRS)
    sat = result.satisfaction
    assert sat is not None and len(sat.buyer_ranks) == len(sat.seller_ranks) == len(result.trades)
    sellers = [o for o in orders if o.side == 2]
    for t, rank in zip(result.trades, sat.buyer_ranks):
        mine = pair_terms(t.buyer, t.seller, ALL_PAIRS).buyer_utility
        better = [s for s in sellers if (x := pair_terms(t.buyer, s, ALL_PAIRS)).acceptable and x.buyer_utility > mine]
        assert len(better) < rank
