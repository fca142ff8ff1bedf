"""`fleet plan` through Typer's CliRunner: text, --json, --map, and a clear error for a bad file."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tests.support.fleets import two_vans
from v2vchain.cli.fleet import fleet_app
from v2vchain.fleet.generate import random_fleet

runner = CliRunner()


def write(tmp_path, data: dict):
    p = tmp_path / "fleet.json"
    p.write_text(json.dumps(data))
    return p


def test_json_output(tmp_path):
    r = runner.invoke(fleet_app, ["plan", str(write(tmp_path, two_vans())), "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert (d["cost_v2v"], d["cost_stations_only"], d["saving_pct"]) == (470, 794, 40.81)
    (m,) = d["meetings"]
    assert (m["provider"], m["consumer"], m["energy_wh"], m["lat"], m["lon"]) == ("P", "C", 1_224, 0.0, 0.0)
    assert (m["provider_surplus"], m["consumer_surplus"]) == (162, 162)


def test_text_table_and_map(tmp_path):
    out = tmp_path / "map.png"
    r = runner.invoke(fleet_app, ["plan", str(write(tmp_path, random_fleet(15, seed=2))), "--map", str(out)])
    assert r.exit_code == 0, r.output
    assert "fleet cost: V2V" in r.output and "stations only" in r.output and "provider" in r.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000


def test_json_and_map_together_with_pruning(tmp_path):
    out = tmp_path / "m.png"
    r = runner.invoke(
        fleet_app,
        ["plan", str(write(tmp_path, random_fleet(15, seed=2))), "--json", "--map", str(out), "--k-best", "2"],
    )
    assert r.exit_code == 0, r.output
    assert set(json.loads(r.output)) >= {"cost_v2v", "cost_stations_only", "saving_pct", "meetings"}
    assert out.exists()


def test_a_bad_fleet_exits_2_naming_the_field(tmp_path):
    d = two_vans()
    d["vans"][0]["soc_wh"] = -1
    r = runner.invoke(fleet_app, ["plan", str(write(tmp_path, d))])
    assert r.exit_code == 2
    assert "vans[0].soc_wh" in r.output


def test_meetings_per_leg_option_reaches_the_plan(tmp_path):
    r = runner.invoke(fleet_app, ["plan", str(write(tmp_path, two_vans())), "--json", "--meetings-per-leg", "3"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["meetings_per_leg"] == 3 and d["meetings"][0]["provider_leg"] == 0
