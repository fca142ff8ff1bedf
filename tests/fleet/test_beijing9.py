"""The paper's 9-van Beijing case (Ye et al. 2025; tests/fleet/data, built by scripts/make_beijing9.py).

The tables give SOCs, routes, windows, stations and prices; consumption (280 Wh/km), speed (30 km/h), road factor
(1.3), service (15 min), depot departure (06:30) and shift end (11:30) are assumed. The paper names EV2, 6, 8, 9 as
consumers and EV1, 3, 4, 5, 7 as providers: the cost model finds the same split from the SOCs and routes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.fleets import check_plan
from v2vchain.fleet import load_fleet, parse_fleet, plan_fleet

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("name", ["beijing9.json", "beijing9_en_route.json"])
def test_roles_match_the_paper(name):
    f = load_fleet(DATA / name)
    plan = plan_fleet(f)
    check_plan(f, plan)
    assert sorted(plan.needs) == ["EV2", "EV6", "EV8", "EV9"]
    assert sorted(plan.spares) == ["EV1", "EV3", "EV4", "EV5", "EV7"]


def test_at_the_station_price_v2v_does_not_pay_and_the_plan_falls_back():
    # the fleet's own energy valued at the station's 1.5 CNY/kWh: slower V2V (30 kW, two vans' time) never wins
    plan = plan_fleet(load_fleet(DATA / "beijing9_en_route.json"))
    assert plan.meetings == () and plan.cost_v2v == plan.cost_stations_only


def test_with_cheaper_depot_energy_every_consumer_is_served_by_v2v():
    raw = json.loads((DATA / "beijing9_en_route.json").read_text())
    raw["prices"]["energy_per_kwh"] = 80  # depot energy at 0.8 CNY/kWh
    f = parse_fleet(raw)
    plan = plan_fleet(f)
    check_plan(f, plan)
    assert sorted(m.consumer for m in plan.meetings) == ["EV2", "EV6", "EV8", "EV9"]
    assert (plan.cost_v2v, plan.cost_stations_only, plan.saving_pct) == (14_613, 16_071, 9.07)
