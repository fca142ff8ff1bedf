"""A plan on a plain lon/lat map (matplotlib, Agg, no tiles): routes, stations, meetings."""

from __future__ import annotations

from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from .plan import Plan
from .schema import Fleet


def draw_map(fleet: Fleet, plan: Plan, out: str | Path) -> None:
    fleet = fleet.canonical()
    fig = Figure(figsize=(9, 8))  # no pyplot: no global figure state, no backend to choose
    ax = fig.subplots()
    cmap = matplotlib.colormaps["tab20"]
    for i, v in enumerate(fleet.vans):
        role = "consumer" if v.id in plan.needs else "provider" if v.id in plan.spares else "neutral"
        lons, lats = [w.lon for w in v.route], [w.lat for w in v.route]
        style = {"consumer": "--", "provider": "-", "neutral": ":"}[role]
        if v.parked:
            ax.plot(lons, lats, "s", color=cmap(i % 20), ms=6)
        else:
            ax.plot(lons, lats, style, color=cmap(i % 20), lw=1, alpha=0.8, marker=".", ms=3)
        if len(fleet.vans) <= 40:
            ax.annotate(v.id, (lons[0], lats[0]), fontsize=7, alpha=0.7)
    if fleet.stations:
        ax.plot(
            [s.lon for s in fleet.stations],
            [s.lat for s in fleet.stations],
            "^",
            color="black",
            ms=8,
            label="charging station",
        )
    if plan.meetings:
        ax.plot(
            [m.lon for m in plan.meetings], [m.lat for m in plan.meetings], "*", color="red", ms=13, label="V2V meeting"
        )
        if len(plan.meetings) <= 40:
            for m in plan.meetings:
                ax.annotate(
                    f"{m.provider}>{m.consumer} {m.energy_wh / 1000:.1f}kWh",
                    (m.lon, m.lat),
                    fontsize=7,
                    color="red",
                    xytext=(4, 4),
                    textcoords="offset points",
                )
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title(f"{fleet.name or 'fleet'}: V2V saves {plan.saving_pct:.2f} % (solid: providers, dashed: consumers)")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
