"""Builders for small hand-made fleets on the equator (0.1 degree of longitude = 11,119.51 m)."""

from __future__ import annotations

import copy

from v2vchain.fleet.costs import drive_s
from v2vchain.fleet.plan import Plan
from v2vchain.fleet.schema import Fleet
from v2vchain.matching.meeting import haversine_m

T = 1_767_600_000


def wp(lon: float, arrive: int, depart: int | None = None, lat: float = 0.0) -> dict:
    return {"lat": lat, "lon": lon, "arrive_ts": arrive, "depart_ts": arrive if depart is None else depart}


def van(
    vid: str,
    soc_wh: int,
    *,
    route: list[dict] | None = None,
    place: dict | None = None,
    split: bool = False,
    consumption: int = 200,
) -> dict:
    d = {
        "id": vid,
        "soc_wh": soc_wh,
        "battery_wh": 80_000,
        "consumption_wh_per_km": consumption,
        "v2v_power_w": 30_000,
        "v2v_efficiency_bps": 9_700,
        "speed_kmh": 30,
        "soc_floor_bps": 1_000,
        "split": split,
    }
    if route is not None:
        d["route"] = route
    if place is not None:
        d["place"] = place
    return d


def fleet(vans: list[dict], stations: list[dict] | None = None) -> dict:
    return {
        "name": "hand",
        "road_factor": 1.0,
        "prices": {
            "currency": "CNY",
            "decimals": 2,
            "time_cost_per_h": 500,
            "energy_per_kwh": 100,
            "battery_wear_per_kwh": 10,
        },
        "stations": stations
        if stations is not None
        else [{"id": "S", "lat": 0.0, "lon": 0.05, "power_w": 50_000, "price_per_kwh": 200, "queue_min": 30}],
        "vans": copy.deepcopy(vans),
    }


def check_plan(f: Fleet, plan: Plan) -> None:
    """Every meeting fits both vans' legs (time windows), no provider gives more than its spare, needs are covered,
    and V2V is never dearer than stations only."""
    vans = {v.id: v for v in f.vans}
    used: dict[str, int] = {}
    got: dict[str, int] = {}
    for m in plan.meetings:
        for vid, leg in ((m.provider, m.provider_leg), (m.consumer, m.consumer_leg)):
            v = vans[vid]
            r = v.route
            a, b = (r[0], r[0]) if v.parked else (r[leg], r[leg + 1])
            t0 = a.arrive_ts if v.parked else a.depart_ts
            t1 = b.depart_ts if v.parked else b.arrive_ts
            to_m = haversine_m(a.lat, a.lon, m.lat, m.lon) * f.road_factor
            from_m = haversine_m(m.lat, m.lon, b.lat, b.lon) * f.road_factor
            assert t0 + int(drive_s(to_m, v.speed_kmh)) <= m.start_ts, (vid, m)
            assert m.end_ts + int(drive_s(from_m, v.speed_kmh)) <= t1, (vid, m)
        used[m.provider] = used.get(m.provider, 0) + m.discharged_wh + m.provider_detour_wh
        got[m.consumer] = got.get(m.consumer, 0) + m.energy_wh
    check_itineraries(f, plan)
    for p, wh in used.items():
        assert wh <= plan.spares[p], (p, wh, plan.spares[p])
    fallback = {o.consumer for o in plan.stations}
    for c, need in plan.needs.items():
        assert (c in fallback) != (c in got), c
        if c in got:
            assert got[c] >= need
    assert plan.cost_v2v <= plan.cost_stations_only
    assert all(m.cost <= m.outside_share for m in plan.meetings)


def check_itineraries(f: Fleet, plan: Plan) -> None:
    """A provider meeting several consumers on one leg drives from each meeting to the next in time; a consumer
    meets at most one provider per leg."""
    vans = {v.id: v for v in f.vans}
    legs: dict[tuple[str, int], list] = {}
    for m in plan.meetings:
        legs.setdefault((m.provider, m.provider_leg), []).append(m)
    for (vid, _), ms in legs.items():
        ms.sort(key=lambda m: m.start_ts)
        for a, b in zip(ms, ms[1:]):
            gap_m = haversine_m(a.lat, a.lon, b.lat, b.lon) * f.road_factor
            assert a.end_ts + int(drive_s(gap_m, vans[vid].speed_kmh)) <= b.start_ts, (vid, a, b)
    seen = [(m.consumer, m.consumer_leg) for m in plan.meetings]
    assert len(seen) == len(set(seen)), seen


def two_vans(provider_window_end: int = T + 36_000, consumer_arrival: int = T + 10_800) -> dict:
    return fleet(
        [
            van("P", 60_000, place=wp(0.0, T, provider_window_end)),
            van("C", 9_000, route=[wp(0.0, T, T + 3_600), wp(0.1, consumer_arrival)]),
        ]
    )
