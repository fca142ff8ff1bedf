"""Maximum-welfare assignment: a hand-worked case greedy gets wrong, and equality with brute force."""

from __future__ import annotations

from hypothesis import given, settings

from tests.support.strategies import PAIR_PRICES, T0, ask, bid, order_sets
from v2vchain.matching import ClearingParams, Order, pair_terms, welfare_assignment

ALL_PAIRS = ClearingParams(nearest_areas=10)  # more than the test cells: every pair is a candidate

# one cell, 10 kWh each, so every pair costs the same: no detour; each driver's 1,238 s transfer (10,310 Wh at
# 30 kW) at 5 tokens an hour, 1,719,445 rounded up; the seller's losses and wear, 310 x 150 + 10.31 x 20,000.
# B2 and S2 never overlap. B1-S1 is the heaviest edge (9,000,000 - cost), yet B1-S2 (5,000,000 - cost) + B2-S1
# (8,000,000 - cost) is the optimum.
WAITING = -(-1_238 * 5_000_000 // 3_600)
SELLER_SHARE = WAITING + 310 * 150 + 206_200
COST = WAITING + SELLER_SHARE  # 3,691,590
B1, B2 = bid(1, 1_000, 10_000), bid(2, 900, 10_000, start=T0, end=T0 + 3_000)
S1, S2 = ask(3, 100, 10_000), ask(4, 500, 10_000, start=T0 + 3_600, end=T0 + 7_200)


def pairs(orders: list[Order], params: ClearingParams = ALL_PAIRS) -> set[tuple[int, int]]:
    return {(int(t.buyer.owner, 16), int(t.seller.owner, 16)) for t in welfare_assignment(orders, params).trades}


def test_hand_worked_pair_welfare() -> None:
    assert (
        [pair_terms(b, s, ALL_PAIRS).welfare for b, s in ((B1, S1), (B1, S2), (B2, S1))]
        == [
            5_308_410,
            1_308_410,
            4_308_410,
        ]
        == [9_000_000 - COST, 5_000_000 - COST, 8_000_000 - COST]
    )


def test_optimum_beats_taking_the_heaviest_edge_first() -> None:
    assert pairs([B1, B2, S1, S2]) == {(1, 4), (2, 3)}


def test_pair_price_covers_both_sides_costs_then_splits_the_rest() -> None:
    # the seller's share 1,972,145 over 10,000 Wh: 198 per Wh (rounded up), so at least 100 + 198; the buyer's
    # 1,719,445: 172 per Wh (rounded up), so at most 1,000 - 172; k = 1/2 of [298, 828] = 298 + 265
    assert (-(-SELLER_SHARE // 10_000), -(-WAITING // 10_000)) == (198, 172)
    (trade,) = welfare_assignment([B1, S1], ALL_PAIRS).trades
    assert (trade.energy_wh, trade.price_per_wh) == (10_000, 563)


def test_pair_whose_gains_cover_losses_but_not_both_drivers_transfer_time_is_not_matched() -> None:
    # gains 10,000 x (150 - 50) = 1,000,000: above the losses and wear (252,700), below the whole cost
    assert pairs([bid(1, 150, 10_000), ask(2, 50, 10_000)]) == set()


def test_pair_with_windows_too_short_for_the_transfer_is_not_matched() -> None:
    short = bid(1, 1_000, 10_000, start=T0, end=T0 + 1_200)  # 10 kWh takes 1238 s at 30 kW
    assert pairs([short, ask(2, 100, 10_000)]) == set()


def test_the_smaller_order_sets_the_energy_and_the_rest_goes_to_the_grid() -> None:
    result = welfare_assignment([bid(1, 1_000, 10_000), ask(2, 100, 25_000)], ALL_PAIRS)
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
@given(order_sets(max_buyers=6, max_sellers=6, max_energy_wh=20_000, prices=PAIR_PRICES, routed=True))
def test_total_welfare_equals_brute_force_on_small_instances(orders: list[Order]) -> None:
    result = welfare_assignment(orders, ALL_PAIRS)
    assert sum(pair_terms(t.buyer, t.seller, ALL_PAIRS).welfare for t in result.trades) == brute_force_welfare(orders)
