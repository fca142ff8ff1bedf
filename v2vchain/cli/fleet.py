"""`v2v fleet plan FLEET.json [--json] [--map out.png] [--k-best K] [--meetings-per-leg M]`: the fleet's V2V plan
against stations only."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from v2vchain.fleet.errors import InvalidFleet
from v2vchain.fleet.plan import plan_fleet
from v2vchain.fleet.plot import draw_map
from v2vchain.fleet.report import plan_to_json, plan_to_text
from v2vchain.fleet.schema import load_fleet

fleet_app = typer.Typer(
    help="Plan V2V energy sharing inside a van fleet (routes, time windows, stations).", no_args_is_help=True
)


@fleet_app.callback()
def _group() -> None:
    """Fleet V2V planning."""


@fleet_app.command("plan")
def plan_cmd(
    fleet_file: Path = typer.Argument(..., exists=True, dir_okay=False, help="fleet JSON file"),
    as_json: bool = typer.Option(False, "--json", help="print the plan as JSON"),
    map_out: Path | None = typer.Option(None, "--map", help="draw routes, meetings and stations (PNG)"),
    k_best: int | None = typer.Option(None, "--k-best", min=1, help="keep only the K cheapest providers per consumer"),
    time_limit: float = typer.Option(60.0, "--time-limit", help="MILP time limit in seconds"),
    meetings_per_leg: int = typer.Option(
        1, "--meetings-per-leg", min=1, max=16, help="how many consumers a provider may meet on one leg of its route"
    ),
) -> None:
    """Match providers and consumers (cheapest meetings within both time windows) or send consumers to stations."""
    try:
        fleet = load_fleet(fleet_file)
        plan = plan_fleet(fleet, k_best=k_best, time_limit_s=time_limit, meetings_per_leg=meetings_per_leg)
    except InvalidFleet as e:
        typer.echo(f"invalid fleet: {e}", err=True)
        raise typer.Exit(2) from None
    if map_out is not None:
        draw_map(fleet, plan, map_out)
    if as_json:
        typer.echo(json.dumps(plan_to_json(plan), indent=2))
    else:
        typer.echo(plan_to_text(plan))
        if map_out is not None:
            typer.echo(f"map written to {map_out}")
