"""A hand-computed two-van case: a parked provider at the consumer's first waypoint.

Consumer C: 11,119.51 m route (0.1 degree of longitude on the equator) at 200 Wh/km = 2,224 Wh; floor 8,000 Wh of
80 kWh; SOC 9,000 Wh, so it needs 2,224 + 8,000 - 9,000 = 1,224 Wh. Provider P parked at (0, 0) with 60,000 Wh:
spare 52,000 Wh. The cheapest meeting is at (0, 0) with no detour for either van, starting when C leaves (T + 1 h).
P discharges ceil(1,224 / 0.97) = 1,262 Wh, taking ceil(1,262 Wh / 30 kW) = 152 s. Prices (fen): energy 100/kWh,
wear 10/kWh, time 500/h. P pays ceil(126.2) = 127 for energy, ceil(12.62) = 13 for wear, ceil(152 s x 500/h) = 22
for time: 162; C pays 22 for its time: 184 in all.
Station S on C's route (no detour), 200/kWh, 50 kW, 30 min queue: ceil(1,224 x 0.2) = 245 for energy,
ceil((1,800 + 89 s) x 500/h) = 263 for time: 508. Saving 508 - 184 = 324, halved: each side gains 162.
Base (same in both plans): C's driving time ceil(1,335 s x 500/h) = 186 plus its own route energy
(2,224 - 1,224 = 1,000 Wh) 100: 286.
"""

from __future__ import annotations

from tests.support.fleets import T, check_plan, two_vans
from v2vchain.fleet import parse_fleet, plan_fleet


def test_hand_computed_meeting():
    f = parse_fleet(two_vans())
    plan = plan_fleet(f)
    check_plan(f, plan)
    assert plan.needs == {"C": 1_224} and plan.spares == {"P": 52_000}
    assert plan.outside["C"].cost == 508 and plan.outside["C"].station == "S"
    (m,) = plan.meetings
    assert (m.provider, m.consumer, m.lat, m.lon) == ("P", "C", 0.0, 0.0)
    assert (m.start_ts, m.end_ts) == (T + 3_600, T + 3_600 + 152)
    assert (m.energy_wh, m.discharged_wh, m.provider_detour_wh) == (1_224, 1_262, 0)
    assert (m.provider_cost, m.consumer_cost, m.cost) == (162, 22, 184)
    assert (m.outside_share, m.payment, m.provider_surplus, m.consumer_surplus) == (508, 324, 162, 162)
    assert (plan.base_cost, plan.cost_v2v, plan.cost_stations_only) == (286, 470, 794)
    assert plan.saving_pct == round(100 * 324 / 794, 2) == 40.81
    assert plan.optimal and plan.stations == ()


def test_disjoint_windows_give_no_meeting():
    # P leaves its place at T + 30 min, before C is there (T + 1 h): the consumer goes to the station
    plan = plan_fleet(parse_fleet(two_vans(provider_window_end=T + 1_800)))
    assert plan.meetings == ()
    assert [o.consumer for o in plan.stations] == ["C"]
    assert plan.cost_v2v == plan.cost_stations_only == 794 and plan.saving_pct == 0.0


def test_too_little_slack_for_the_transfer_gives_no_meeting():
    # C drives 1,335 s; 100 s of slack is less than the 152 s transfer. 200 s is enough.
    tight = plan_fleet(parse_fleet(two_vans(consumer_arrival=T + 3_600 + 1_335 + 100)))
    assert tight.meetings == ()
    ok = plan_fleet(parse_fleet(two_vans(consumer_arrival=T + 3_600 + 1_335 + 200)))
    assert len(ok.meetings) == 1


def test_a_van_that_needs_nothing_is_neither_side():
    d = two_vans()
    d["vans"][1]["soc_wh"] = 10_224  # exactly route + floor
    plan = plan_fleet(parse_fleet(d))
    assert plan.needs == {} and plan.meetings == () and plan.cost_v2v == plan.cost_stations_only
