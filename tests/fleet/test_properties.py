"""Plan-wide properties on random fleets: windows and spares respected, never dearer than stations, deterministic."""

from __future__ import annotations

import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.fleets import check_plan
from v2vchain.fleet import parse_fleet, plan_fleet
from v2vchain.fleet.generate import random_fleet
from v2vchain.fleet.report import plan_to_json


def _same(a, b) -> bool:
    ja, jb = plan_to_json(a), plan_to_json(b)
    ja.pop("solve_s"), jb.pop("solve_s")
    return json.dumps(ja, sort_keys=True) == json.dumps(jb, sort_keys=True)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(2, 14),
    seed=st.integers(0, 2**32 - 1),
    low=st.floats(0.1, 0.7),
    split=st.floats(0, 1),
    parked=st.floats(0, 0.5),
)
def test_every_meeting_fits_both_windows_and_no_provider_exceeds_its_spare(n, seed, low, split, parked):
    f = parse_fleet(random_fleet(n, seed=seed, low_soc_share=low, split_share=split, parked_share=parked))
    check_plan(f, plan_fleet(f))


def test_v2v_is_never_worse_than_stations_only_and_falls_back():
    fallbacks = meetings = 0
    for seed in range(8):
        f = parse_fleet(random_fleet(25, seed=seed))
        plan = plan_fleet(f)
        check_plan(f, plan)
        fallbacks += len(plan.stations)
        meetings += len(plan.meetings)
    assert fallbacks > 0 and meetings > 0  # both branches exercised


def test_the_same_input_gives_the_same_plan():
    raw = random_fleet(30, seed=7, split_share=0.5)
    assert _same(plan_fleet(parse_fleet(raw)), plan_fleet(parse_fleet(raw)))


def test_permuting_vans_and_stations_gives_the_same_plan():
    raw = random_fleet(30, seed=11, split_share=0.5)
    plan = plan_fleet(parse_fleet(raw))
    assert plan.meetings
    rng = random.Random(3)
    for _ in range(3):
        shuffled = dict(
            raw,
            vans=rng.sample(raw["vans"], len(raw["vans"])),
            stations=rng.sample(raw["stations"], len(raw["stations"])),
        )
        assert _same(plan, plan_fleet(parse_fleet(shuffled)))


def test_k_best_pruning_stays_valid_and_close():
    f = parse_fleet(random_fleet(60, seed=5))
    exact, pruned = plan_fleet(f), plan_fleet(f, k_best=3)
    check_plan(f, pruned)
    assert exact.cost_v2v <= pruned.cost_v2v <= exact.cost_stations_only
    assert pruned.n_edges < exact.n_edges
