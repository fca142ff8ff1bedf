"""Each side's net surplus in a fleet plan, against its outside option (the consumer's station, the provider's not
trading): the surpluses add up to the plan's saving and no meeting leaves either side below zero."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.fleets import check_plan
from v2vchain.fleet import parse_fleet, plan_fleet
from v2vchain.fleet.generate import random_fleet

FLEETS = {
    "n": st.integers(2, 14),
    "seed": st.integers(0, 2**32 - 1),
    "low": st.floats(0.1, 0.7),
    "split": st.floats(0, 1),
}


@settings(max_examples=30, deadline=None)
@given(**FLEETS)
def test_sides_net_surpluses_sum_to_the_plans_saving(n: int, seed: int, low: float, split: float) -> None:
    plan = plan_fleet(parse_fleet(random_fleet(n, seed=seed, low_soc_share=low, split_share=split)))
    assert sum(m.provider_surplus + m.consumer_surplus for m in plan.meetings) == plan.saving


@settings(max_examples=30, deadline=None)
@given(**FLEETS)
def test_no_meeting_leaves_a_side_below_its_outside_option(n: int, seed: int, low: float, split: float) -> None:
    plan = plan_fleet(parse_fleet(random_fleet(n, seed=seed, low_soc_share=low, split_share=split)))
    for m in plan.meetings:
        assert m.provider_surplus >= 0 and m.consumer_surplus >= 0, m
        assert m.provider_cost <= m.payment <= m.outside_share - m.consumer_cost, m


def test_a_split_consumers_outside_shares_add_up_to_its_station_cost() -> None:
    f = parse_fleet(random_fleet(40, seed=3, split_share=1.0, low_soc_share=0.6))
    plan = plan_fleet(f)
    check_plan(f, plan)
    by_consumer: dict[str, int] = {}
    for m in plan.meetings:
        by_consumer[m.consumer] = by_consumer.get(m.consumer, 0) + m.outside_share
    assert any(sum(m.consumer == c for m in plan.meetings) > 1 for c in by_consumer)  # some split served twice
    assert by_consumer == {c: plan.outside[c].cost for c in by_consumer}
