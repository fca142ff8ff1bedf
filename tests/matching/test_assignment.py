"""Maximum-welfare assignment: a hand-worked case greedy gets wrong, and equality with brute force."""

from __future__ import annotations

from hypothesis import given, settings

from tests.support.strategies import T0, ask, bid, order_sets
from v2vchain.matching import ClearingParams, Order, pair_terms, welfare_assignment

ALL_PAIRS = ClearingParams(nearest_areas=10)  # more than the test cells: every pair is a candidate

# one cell, 10 kWh each, so every pair costs the same 252700 (losses + degradation); B2 and S2 never overlap.
# B1-S1 is the heaviest edge (747300), yet B1-S2 (347300) + B2-S1 (447300) = 794600 is the optimum.
B1, B2 = bid(1, 150, 10_000), bid(2, 120, 10_000, start=T0, end=T0 + 3_000)
S1, S2 = ask(3, 50, 10_000), ask(4, 90, 10_000, start=T0 + 3_600, end=T0 + 7_200)


def pairs(orders: list[Order], params: ClearingParams = ALL_PAIRS) -> set[tuple[int, int]]:
    return {(int(t.buyer.owner, 16), int(t.seller.owner, 16)) for t in welfare_assignment(orders, params).trades}


def test_hand_worked_pair_welfare() -> None:
    assert [pair_terms(b, s, ALL_PAIRS).welfare for b, s in ((B1, S1), (B1, S2), (B2, S1))] == [
        747_300,
        347_300,
        447_300,
    ]


def test_optimum_beats_taking_the_heaviest_edge_first() -> None:
    assert pairs([B1, B2, S1, S2]) == {(1, 4), (2, 3)}


def test_pair_price_covers_the_sellers_costs_then_splits_the_rest() -> None:
    # seller's share 252700 over 10000 Wh: 26 per Wh (rounded up); k = 1/2 of [50 + 26, 150] = 76 + 37
    (trade,) = welfare_assignment([B1, S1], ALL_PAIRS).trades
    assert (trade.energy_wh, trade.price_per_wh) == (10_000, 113)


def test_pair_whose_costs_exceed_its_gains_is_not_matched() -> None:
    assert pairs([bid(1, 60, 10_000), ask(2, 50, 10_000)]) == set()  # gains 100000 < costs 252700


def test_pair_with_windows_too_short_for_the_transfer_is_not_matched() -> None:
    short = bid(1, 150, 10_000, start=T0, end=T0 + 1_200)  # 10 kWh takes 1238 s at 30 kW
    assert pairs([short, ask(2, 50, 10_000)]) == set()


def test_the_smaller_order_sets_the_energy_and_the_rest_goes_to_the_grid() -> None:
    result = welfare_assignment([bid(1, 150, 10_000), ask(2, 50, 25_000)], ALL_PAIRS)
    assert (result.energy_wh, result.unmatched_sellers[0].energy_wh) == (10_000, 15_000)


def brute_force_welfare(orders: list[Order]) -> int:
    """The best total welfare over every one-to-one matching (only positive, feasible pairs can help)."""
    buyers = [o for o in orders if o.side == 1]
    sellers = [o for o in orders if o.side == 2]
    weight = {}
    for i, b in enumerate(buyers):
        for j, s in enumerate(sellers):
            terms = pair_terms(b, s, ALL_PAIRS)
            if terms.acceptable:
                weight[i, j] = terms.welfare

    def best(i: int, used: frozenset) -> int:
        if i == len(buyers):
            return 0
        options = [best(i + 1, used)]
        options += [w + best(i + 1, used | {j}) for (bi, j), w in weight.items() if bi == i and j not in used]
        return max(options)

    return best(0, frozenset())


@settings(max_examples=80, deadline=None)
@given(order_sets(max_buyers=6, max_sellers=6, max_energy_wh=20_000, routed=True))
def test_total_welfare_equals_brute_force_on_small_instances(orders: list[Order]) -> None:
    result = welfare_assignment(orders, ALL_PAIRS)
    assert sum(pair_terms(t.buyer, t.seller, ALL_PAIRS).welfare for t in result.trades) == brute_force_welfare(orders)
