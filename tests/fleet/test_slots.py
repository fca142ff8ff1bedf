"""Several meetings on one provider leg (`meetings_per_leg`): the leg is cut into slots, one meeting each."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.fleets import T, check_plan, fleet, van, wp
from v2vchain.fleet import OutOfRange, parse_fleet, plan_fleet
from v2vchain.fleet.costs import Legs, drive_s, slot_legs
from v2vchain.fleet.generate import random_fleet
from v2vchain.matching.meeting import haversine_m


def parked_provider_and_two_passers_by() -> dict:
    # P waits at (0, 0) for ten hours; C1 passes there in the first hour, C2 six hours later
    return fleet(
        [
            van("P", 60_000, place=wp(0.0, T, T + 36_000)),
            van("C1", 9_000, route=[wp(0.0, T, T + 3_600), wp(0.1, T + 10_800)]),
            van("C2", 9_000, route=[wp(0.0, T + 21_600, T + 25_200), wp(0.1, T + 32_400)]),
        ]
    )


def test_with_one_meeting_per_leg_a_parked_provider_serves_one_consumer() -> None:
    plan = plan_fleet(parse_fleet(parked_provider_and_two_passers_by()))
    assert len(plan.meetings) == 1 and len(plan.stations) == 1


def test_with_two_slots_a_parked_provider_serves_both_consumers_one_after_the_other() -> None:
    f = parse_fleet(parked_provider_and_two_passers_by())
    one, two = plan_fleet(f), plan_fleet(f, meetings_per_leg=2)
    check_plan(f, two)
    assert [(m.consumer, m.provider_leg, m.provider_slot) for m in two.meetings] == [("C1", 0, 0), ("C2", 0, 1)]
    assert two.cost_v2v < one.cost_v2v


def test_slots_keep_the_legs_ends_and_give_each_sub_leg_at_least_its_drive() -> None:
    legs = Legs(
        np.array([0.0]),
        np.array([0.0]),
        np.array([0.0]),
        np.array([0.1]),
        np.array([T]),
        np.array([T + 3_600]),
        np.array([0]),
    )
    s = slot_legs(legs, 3, 30, 1.0)
    assert (s.t0[0], s.t1[-1], s.a_lon[0], s.b_lon[-1]) == (T, T + 3_600, 0.0, 0.1)
    assert list(s.t1[:-1]) == list(s.t0[1:]) and list(s.b_lon[:-1]) == list(s.a_lon[1:])
    drive = drive_s(haversine_m(s.a_lat, s.a_lon, s.b_lat, s.b_lon), 30)
    assert (s.t1 - s.t0 >= drive).all()


@pytest.mark.parametrize("bad", [0, 17, True, 1.5])
def test_meetings_per_leg_out_of_range_raises_OutOfRange(bad: object) -> None:
    with pytest.raises(OutOfRange, match="meetings_per_leg"):
        plan_fleet(parse_fleet(parked_provider_and_two_passers_by()), meetings_per_leg=bad)  # type: ignore[arg-type]  # the bad value is the point


@settings(max_examples=20, deadline=None)
@given(n=st.integers(2, 14), seed=st.integers(0, 2**32 - 1), slots=st.integers(2, 4), parked=st.floats(0, 0.5))
def test_every_slotted_plan_keeps_windows_itineraries_and_spares(n: int, seed: int, slots: int, parked: float) -> None:
    f = parse_fleet(random_fleet(n, seed=seed, parked_share=parked, split_share=0.5))
    check_plan(f, plan_fleet(f, meetings_per_leg=slots))


def test_more_slots_never_cost_the_fleet_more() -> None:  # slots add options to whole legs, never replace them
    f = parse_fleet(random_fleet(40, seed=1))
    one, two, four = (plan_fleet(f, meetings_per_leg=m) for m in (1, 2, 4))
    assert one.optimal and two.optimal and four.optimal
    tolerance = one.cost_v2v // 10_000  # HiGHS stops within a relative gap of 1e-4
    assert two.cost_v2v <= one.cost_v2v + tolerance and four.cost_v2v <= one.cost_v2v + tolerance
