"""Capacitated matching: one provider serves several consumers within its spare; split vs unsplit consumers."""

from __future__ import annotations

from tests.support.fleets import T, check_plan, fleet, van, wp
from v2vchain.fleet import parse_fleet, plan_fleet


def provider_with_two_gaps(soc_wh: int) -> dict:
    # stays at (0, 0) all day; two gaps between its waypoints: [T+1h, T+2h] and [T+3h, T+4h]
    return van("P", soc_wh, route=[wp(0.0, T, T + 3_600), wp(0.0, T + 7_200, T + 10_800), wp(0.0, T + 14_400)])


def consumers() -> list[dict]:
    return [
        van("C1", 9_000, route=[wp(0.0, T, T + 3_600), wp(0.1, T + 10_800)]),
        van("C2", 9_000, route=[wp(0.0, T, T + 10_800), wp(0.1, T + 18_000)]),
    ]


def test_one_provider_serves_two_consumers_within_its_spare():
    f = parse_fleet(fleet([provider_with_two_gaps(60_000)] + consumers()))
    plan = plan_fleet(f)
    check_plan(f, plan)
    assert sorted((m.provider, m.consumer, m.provider_leg) for m in plan.meetings) == [("P", "C1", 0), ("P", "C2", 1)]
    assert sum(m.discharged_wh for m in plan.meetings) == 2 * 1_262 <= plan.spares["P"]


def test_a_spare_for_one_serves_one_and_the_other_goes_to_a_station():
    f = parse_fleet(fleet([provider_with_two_gaps(8_000 + 2_000)] + consumers()))
    plan = plan_fleet(f)
    check_plan(f, plan)
    assert plan.spares == {"P": 2_000}
    assert len(plan.meetings) == 1 and len(plan.stations) == 1
    assert {plan.meetings[0].consumer, plan.stations[0].consumer} == {"C1", "C2"}


def split_case(split: bool) -> dict:
    # C needs 5,000 Wh; each parked provider has 3,000 Wh spare: only both together can cover it
    c = van("C", 5_224, split=split, route=[wp(0.0, T, T + 3_600), wp(0.05, T + 7_200), wp(0.1, T + 10_800)])
    return fleet([van("P1", 11_000, place=wp(0.0, T, T + 36_000)), van("P2", 11_000, place=wp(0.05, T, T + 36_000)), c])


def test_an_unsplit_consumer_too_big_for_any_provider_goes_to_a_station():
    f = parse_fleet(split_case(False))
    plan = plan_fleet(f)
    check_plan(f, plan)
    assert plan.needs == {"C": 5_000} and plan.meetings == () and plan.cost_v2v == plan.cost_stations_only


def test_a_split_consumer_takes_its_need_from_two_providers():
    f = parse_fleet(split_case(True))
    plan = plan_fleet(f)
    check_plan(f, plan)
    assert sorted(m.provider for m in plan.meetings) == ["P1", "P2"]
    assert sum(m.energy_wh for m in plan.meetings) == 5_000  # no detours: the meetings are on C's route
    assert all(m.discharged_wh <= 3_000 for m in plan.meetings)
    assert sum(m.outside_share for m in plan.meetings) == plan.outside["C"].cost
    assert plan.cost_v2v < plan.cost_stations_only
