"""A plan as a JSON-ready dict and as a text table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .plan import Plan


def _money(v: int, decimals: int) -> str:
    return f"{v / 10**decimals:,.{decimals}f}"


def _hm(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%H:%M")


def plan_to_json(plan: Plan) -> dict[str, Any]:
    return {
        "currency": plan.currency,
        "decimals": plan.decimals,
        "cost_v2v": plan.cost_v2v,
        "cost_stations_only": plan.cost_stations_only,
        "base_cost": plan.base_cost,
        "saving": plan.saving,
        "saving_pct": plan.saving_pct,
        "replenish_saving_pct": plan.replenish_saving_pct,
        "optimal": plan.optimal,
        "mip_gap": plan.mip_gap,
        "solve_s": round(plan.solve_s, 3),
        "candidate_pairs": plan.n_edges,
        "meetings_per_leg": plan.meetings_per_leg,
        "needs_wh": plan.needs,
        "spares_wh": plan.spares,
        "meetings": [
            {
                "provider": m.provider,
                "consumer": m.consumer,
                "lat": round(m.lat, 5),
                "lon": round(m.lon, 5),
                "start_ts": m.start_ts,
                "end_ts": m.end_ts,
                "energy_wh": m.energy_wh,
                "discharged_wh": m.discharged_wh,
                "provider_detour_wh": m.provider_detour_wh,
                "provider_leg": m.provider_leg,
                "provider_slot": m.provider_slot,
                "consumer_leg": m.consumer_leg,
                "cost": m.cost,
                "provider_cost": m.provider_cost,
                "consumer_cost": m.consumer_cost,
                "outside_share": m.outside_share,
                "payment": m.payment,
                "provider_surplus": m.provider_surplus,
                "consumer_surplus": m.consumer_surplus,
            }
            for m in plan.meetings
        ],
        "stations": [
            {
                "consumer": o.consumer,
                "station": o.station,
                "energy_wh": o.energy_wh,
                "arrive_ts": o.arrive_ts,
                "cost": o.cost,
                "late": o.late,
            }
            for o in plan.stations
        ],
        "outside_options": {
            c: {"station": o.station, "cost": o.cost, "late": o.late} for c, o in sorted(plan.outside.items())
        },
    }


def plan_to_text(plan: Plan) -> str:
    d = plan.decimals
    lines = [
        f"{'provider':<10} {'consumer':<10} {'lat':>9} {'lon':>10} {'start':>5} {'end':>5} {'kWh':>7} "
        f"{'cost':>9} {'station':>9} {'pay':>9} {'P gain':>8} {'C gain':>8}"
    ]
    for m in plan.meetings:
        lines.append(
            f"{m.provider:<10} {m.consumer:<10} {m.lat:>9.4f} {m.lon:>10.4f} {_hm(m.start_ts):>5} "
            f"{_hm(m.end_ts):>5} {m.energy_wh / 1000:>7.2f} {_money(m.cost, d):>9} "
            f"{_money(m.outside_share, d):>9} {_money(m.payment, d):>9} "
            f"{_money(m.provider_surplus, d):>8} {_money(m.consumer_surplus, d):>8}"
        )
    for o in plan.stations:
        lines.append(
            f"{'station ' + o.station:<21} {o.consumer:<10} arrives {_hm(o.arrive_ts)}  "
            f"{o.energy_wh / 1000:.2f} kWh  cost {_money(o.cost, d)}{'  (late)' if o.late else ''}"
        )
    lines.append(
        f"consumers {len(plan.needs)}, providers {len(plan.spares)}, meetings {len(plan.meetings)}, "
        f"station fallbacks {len(plan.stations)}{'' if plan.optimal else f' (time limit: MIP gap {plan.mip_gap:.2%})'}"
    )
    lines.append(
        f"fleet cost: V2V {_money(plan.cost_v2v, d)} {plan.currency} vs stations only "
        f"{_money(plan.cost_stations_only, d)} {plan.currency}: saving {_money(plan.saving, d)} "
        f"({plan.saving_pct:.2f} % of the fleet cost, {plan.replenish_saving_pct:.2f} % of the recharging)"
    )
    return "\n".join(lines)
