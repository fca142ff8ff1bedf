"""Fleet JSON validation: every rejection is a typed error naming the JSON path of the bad field."""

from __future__ import annotations

import json

import pytest

from tests.support.fleets import T, fleet, van, wp
from v2vchain.errors import InvalidInput
from v2vchain.fleet import (
    BadWindow,
    DuplicateId,
    InvalidFleet,
    MissingField,
    OutOfRange,
    WrongType,
    fleet_to_json,
    load_fleet,
    parse_fleet,
)


def good() -> dict:
    return fleet(
        [
            van("P", 60_000, place=wp(0.0, T, T + 36_000)),
            van("C", 9_000, route=[wp(0.0, T, T + 3_600), wp(0.1, T + 10_800)]),
        ]
    )


def test_a_good_fleet_parses_and_round_trips():
    f = parse_fleet(good())
    assert [v.id for v in f.vans] == ["P", "C"] and f.vans[0].parked and not f.vans[1].parked
    assert f.vans[1].floor_wh == 8_000
    assert parse_fleet(json.loads(json.dumps(fleet_to_json(f)))) == f


@pytest.mark.parametrize(
    "mutate, error, field",
    [
        (lambda d: d["vans"][1].pop("soc_wh"), MissingField, "vans[1].soc_wh"),
        (lambda d: d.pop("prices"), MissingField, "prices"),
        (lambda d: d["prices"].pop("time_cost_per_h"), MissingField, "prices.time_cost_per_h"),
        (lambda d: d["vans"][1].update(soc_wh=9_000.5), WrongType, "vans[1].soc_wh"),
        (lambda d: d["vans"][1].update(soc_wh=True), WrongType, "vans[1].soc_wh"),
        (lambda d: d["vans"][1].update(soc_wh=90_000), OutOfRange, "vans[1].soc_wh"),
        (lambda d: d["vans"][0].update(v2v_efficiency_bps=10_001), OutOfRange, "vans[0].v2v_efficiency_bps"),
        (lambda d: d["vans"][1]["route"][1].update(lat=91.0), OutOfRange, "vans[1].route[1].lat"),
        (lambda d: d["vans"][1]["route"][0].update(lon="116.4"), WrongType, "vans[1].route[0].lon"),
        (lambda d: d["vans"][1]["route"][0].update(depart_ts=T - 1), BadWindow, "vans[1].route[0].depart_ts"),
        (lambda d: d["vans"][1]["route"][1].update(arrive_ts=T + 100), BadWindow, "vans[1].route[1].arrive_ts"),
        (lambda d: d["vans"][1].update(route=[wp(0.0, T)]), WrongType, "vans[1].route"),
        (lambda d: d["vans"][0].update(route=[wp(0.0, T), wp(0.1, T + 9_000)]), InvalidFleet, "vans[0].route"),
        (lambda d: d["vans"][1].update(id="P"), DuplicateId, "vans[1].id"),
        (lambda d: d["vans"][1].update(split="yes"), WrongType, "vans[1].split"),
        (lambda d: d["stations"][0].update(power_w=0), OutOfRange, "stations[0].power_w"),
        (lambda d: d["stations"][0].pop("price_per_kwh"), MissingField, "stations[0].price_per_kwh"),
        (lambda d: d.update(road_factor=0.5), OutOfRange, "road_factor"),
        (lambda d: d.update(vans={}), WrongType, "vans"),
    ],
)
def test_each_bad_field_is_named(mutate, error, field):
    d = good()
    mutate(d)
    with pytest.raises(error) as e:
        parse_fleet(d)
    assert e.value.field == field
    assert field in str(e.value)
    assert isinstance(e.value, InvalidInput)


def test_a_file_that_is_not_json(tmp_path):
    p = tmp_path / "f.json"
    p.write_text("{nope")
    with pytest.raises(InvalidFleet, match="not valid JSON"):
        load_fleet(p)
