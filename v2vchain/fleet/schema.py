"""The fleet JSON schema: vans with routes (or one parked place), charging stations and prices.

Integer units for every value that could reach a contract: energy in Wh, power in W, times in Unix seconds, money in
the currency's smallest unit (fen for CNY), efficiencies and SOC floors in basis points. Floats only for coordinates
and for `road_factor` (road distance / great-circle distance).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import BadWindow, DuplicateId, InvalidFleet, MissingField, OutOfRange, WrongType

MAX_TS = 2**40
MAX_WH = 10**7  # 10 MWh: no van battery comes near
MAX_W = 10**7


@dataclass(frozen=True)
class Waypoint:
    lat: float
    lon: float
    arrive_ts: int  # the van is here from arrive_ts ...
    depart_ts: int  # ... until depart_ts (its planned time window)


@dataclass(frozen=True)
class Van:
    id: str
    route: tuple[Waypoint, ...]  # one waypoint = a parked vehicle (its place and the window it stays there)
    soc_wh: int
    battery_wh: int
    consumption_wh_per_km: int
    v2v_power_w: int
    v2v_efficiency_bps: int
    speed_kmh: int
    soc_floor_bps: int = 1_000
    split: bool = False  # a consumer may take its need from several providers

    @property
    def parked(self) -> bool:
        return len(self.route) == 1

    @property
    def floor_wh(self) -> int:
        return -(-self.battery_wh * self.soc_floor_bps // 10_000)


@dataclass(frozen=True)
class Station:
    id: str
    lat: float
    lon: float
    power_w: int
    price_per_kwh: int
    queue_min: int = 0
    efficiency_bps: int = 10_000


@dataclass(frozen=True)
class Prices:
    currency: str
    decimals: int  # smallest units in one currency unit = 10**decimals
    time_cost_per_h: int
    energy_per_kwh: int  # the fleet's own energy (depot price): values transferred and detour energy
    battery_wear_per_kwh: int = 0


@dataclass(frozen=True)
class Fleet:
    vans: tuple[Van, ...]
    stations: tuple[Station, ...]
    prices: Prices
    road_factor: float = 1.0
    name: str = ""

    def canonical(self) -> Fleet:
        """The same fleet with vans and stations sorted by id: every plan is computed on this order."""
        return Fleet(
            tuple(sorted(self.vans, key=lambda v: v.id)),
            tuple(sorted(self.stations, key=lambda s: s.id)),
            self.prices,
            self.road_factor,
            self.name,
        )


def _get(obj: dict[str, Any], key: str, path: str, default: Any = ...) -> Any:
    if key not in obj:
        if default is ...:
            raise MissingField(f"{path}.{key}" if path else key)
        return default
    return obj[key]


def _int(obj: dict[str, Any], key: str, path: str, lo: int, hi: int, default: Any = ...) -> int:
    v = _get(obj, key, path, default)
    name = f"{path}.{key}" if path else key
    if isinstance(v, bool) or not isinstance(v, int):
        raise WrongType(name, v, "an integer")
    if not lo <= v <= hi:
        raise OutOfRange(name, v, f"must be in {lo}..{hi}")
    return v


def _float(obj: dict[str, Any], key: str, path: str, lo: float, hi: float, default: Any = ...) -> float:
    v = _get(obj, key, path, default)
    name = f"{path}.{key}" if path else key
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise WrongType(name, v, "a finite number")
    if not lo <= v <= hi:
        raise OutOfRange(name, v, f"must be in {lo}..{hi}")
    return float(v)


def _str(obj: dict[str, Any], key: str, path: str, default: Any = ...) -> str:
    v = _get(obj, key, path, default)
    name = f"{path}.{key}" if path else key
    if not isinstance(v, str) or not v:
        raise WrongType(name, v, "a non-empty string")
    return v


def _obj(v: Any, path: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise WrongType(path, v, "an object")
    return v


def _waypoint(raw: Any, path: str) -> Waypoint:
    d = _obj(raw, path)
    wp = Waypoint(
        _float(d, "lat", path, -90, 90),
        _float(d, "lon", path, -180, 180),
        _int(d, "arrive_ts", path, 0, MAX_TS),
        _int(d, "depart_ts", path, 0, MAX_TS),
    )
    if wp.depart_ts < wp.arrive_ts:
        raise BadWindow(f"{path}.depart_ts", wp.depart_ts, f"must not be before arrive_ts ({wp.arrive_ts})")
    return wp


def _van(raw: Any, path: str) -> Van:
    d = _obj(raw, path)
    vid = _str(d, "id", path)
    if ("route" in d) == ("place" in d):
        raise InvalidFleet(f"{path}.route", d.get("route"), "give exactly one of `route` (moving) or `place` (parked)")
    route: tuple[Waypoint, ...]
    if "place" in d:
        route = (_waypoint(d["place"], f"{path}.place"),)
    else:
        r = d["route"]
        if not isinstance(r, list) or len(r) < 2:
            raise WrongType(f"{path}.route", r, "a list of at least 2 waypoints (use `place` for a parked van)")
        route = tuple(_waypoint(w, f"{path}.route[{i}]") for i, w in enumerate(r))
        for i in range(1, len(route)):
            if route[i].arrive_ts < route[i - 1].depart_ts:
                raise BadWindow(
                    f"{path}.route[{i}].arrive_ts",
                    route[i].arrive_ts,
                    f"must not be before the previous waypoint's depart_ts ({route[i - 1].depart_ts})",
                )
    battery = _int(d, "battery_wh", path, 1, MAX_WH)
    split = d.get("split", False)
    if not isinstance(split, bool):
        raise WrongType(f"{path}.split", split, "a boolean")
    return Van(
        id=vid,
        route=route,
        soc_wh=_int(d, "soc_wh", path, 0, battery),
        battery_wh=battery,
        consumption_wh_per_km=_int(d, "consumption_wh_per_km", path, 1, 100_000),
        v2v_power_w=_int(d, "v2v_power_w", path, 1, MAX_W),
        v2v_efficiency_bps=_int(d, "v2v_efficiency_bps", path, 1, 10_000),
        speed_kmh=_int(d, "speed_kmh", path, 1, 300),
        soc_floor_bps=_int(d, "soc_floor_bps", path, 0, 10_000, 1_000),
        split=split,
    )


def _station(raw: Any, path: str) -> Station:
    d = _obj(raw, path)
    return Station(
        id=_str(d, "id", path),
        lat=_float(d, "lat", path, -90, 90),
        lon=_float(d, "lon", path, -180, 180),
        power_w=_int(d, "power_w", path, 1, MAX_W),
        price_per_kwh=_int(d, "price_per_kwh", path, 0, 10**9),
        queue_min=_int(d, "queue_min", path, 0, 10_000, 0),
        efficiency_bps=_int(d, "efficiency_bps", path, 1, 10_000, 10_000),
    )


def parse_fleet(raw: Any) -> Fleet:
    """Validate a decoded fleet JSON object; raise an InvalidFleet subclass naming the first bad field."""
    d = _obj(raw, "fleet")
    p = _obj(_get(d, "prices", ""), "prices")
    prices = Prices(
        currency=_str(p, "currency", "prices", "CNY"),
        decimals=_int(p, "decimals", "prices", 0, 18, 2),
        time_cost_per_h=_int(p, "time_cost_per_h", "prices", 0, 10**12),
        energy_per_kwh=_int(p, "energy_per_kwh", "prices", 0, 10**12),
        battery_wear_per_kwh=_int(p, "battery_wear_per_kwh", "prices", 0, 10**12, 0),
    )
    vans_raw = _get(d, "vans", "")
    if not isinstance(vans_raw, list):
        raise WrongType("vans", vans_raw, "a list")
    st_raw = d.get("stations", [])
    if not isinstance(st_raw, list):
        raise WrongType("stations", st_raw, "a list")
    vans = tuple(_van(v, f"vans[{i}]") for i, v in enumerate(vans_raw))
    stations = tuple(_station(s, f"stations[{i}]") for i, s in enumerate(st_raw))
    groups: tuple[tuple[str, Sequence[Van | Station]], ...] = (("vans", vans), ("stations", stations))
    for kind, items in groups:
        seen: set[str] = set()
        for i, it in enumerate(items):
            if it.id in seen:
                raise DuplicateId(f"{kind}[{i}].id", it.id, "duplicate id")
            seen.add(it.id)
    road = _float(d, "road_factor", "", 1.0, 10.0, 1.0)
    name = d.get("name", "")
    return Fleet(vans, stations, prices, road, name if isinstance(name, str) else "")


def load_fleet(path: str | Path) -> Fleet:
    try:
        raw = json.loads(Path(path).read_text())
    except json.JSONDecodeError as e:
        raise InvalidFleet("fleet", str(path), f"not valid JSON: {e}") from e
    return parse_fleet(raw)


def fleet_to_json(fleet: Fleet) -> dict[str, Any]:
    def wp(w: Waypoint) -> dict[str, Any]:
        return {"lat": w.lat, "lon": w.lon, "arrive_ts": w.arrive_ts, "depart_ts": w.depart_ts}

    vans = []
    for v in fleet.vans:
        d: dict[str, Any] = {"id": v.id}
        if v.parked:
            d["place"] = wp(v.route[0])
        else:
            d["route"] = [wp(w) for w in v.route]
        d.update(
            soc_wh=v.soc_wh,
            battery_wh=v.battery_wh,
            consumption_wh_per_km=v.consumption_wh_per_km,
            v2v_power_w=v.v2v_power_w,
            v2v_efficiency_bps=v.v2v_efficiency_bps,
            speed_kmh=v.speed_kmh,
            soc_floor_bps=v.soc_floor_bps,
            split=v.split,
        )
        vans.append(d)
    p = fleet.prices
    return {
        "name": fleet.name,
        "road_factor": fleet.road_factor,
        "prices": {
            "currency": p.currency,
            "decimals": p.decimals,
            "time_cost_per_h": p.time_cost_per_h,
            "energy_per_kwh": p.energy_per_kwh,
            "battery_wear_per_kwh": p.battery_wear_per_kwh,
        },
        "stations": [
            {
                "id": s.id,
                "lat": s.lat,
                "lon": s.lon,
                "power_w": s.power_w,
                "price_per_kwh": s.price_per_kwh,
                "queue_min": s.queue_min,
                "efficiency_bps": s.efficiency_bps,
            }
            for s in fleet.stations
        ],
        "vans": vans,
    }
