"""Each side's outside option: what a buyer pays at a charging station, what a seller gets from the grid.

A buyer that does not trade drives from its area's centre to a station (one way, like the pair model's drive),
queues, charges and pays the station's price. Its station is the one cheapest for its whole need; energy a trade
leaves unserved is bought there too, so a V2V trade of q Wh is worth cost(need) - cost(need - q): the trip is saved
only when the whole need is served. Without stations the outside option is the grid import price at the buyer's door.
A seller's outside option is the grid export price. With stations, each side's time during a V2V transfer is costed
(`waiting_cost`), as the buyer's charging time at the station is. Integer arithmetic after the rounded Haversine
distance, rounded up as in costs.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .costs import CostParams, distance_m
from .errors import InvalidClearingParameter


@dataclass(frozen=True)
class Station:
    """A public charging station (integer units: token units per Wh, W, s)."""

    id: str
    lat: float
    lon: float
    price_per_wh: int
    power_w: int = 50_000  # DOMAIN: charging-station power
    queue_s: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise InvalidClearingParameter("station.id", self.id, "must be a non-empty string")
        for name, limit in (("lat", 90.0), ("lon", 180.0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or abs(v) > limit:
                raise InvalidClearingParameter(f"station.{name}", v, f"must be finite degrees within +-{limit}")
        for name, low, high in (("price_per_wh", 0, 10**9), ("power_w", 1, 10**9), ("queue_s", 0, 86_400)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
                raise InvalidClearingParameter(f"station.{name}", v, f"must be an int in {low}..{high}")


def station_cost(
    station: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    energy_wh: npt.ArrayLike,
    stations: tuple[Station, ...],
    costs: CostParams,
) -> np.ndarray:
    """Cost of buying energy_wh at the given station (index per element; broadcasts): drive there, queue, charge,
    pay. Zero for zero Wh: no trip."""
    q = np.asarray(energy_wh, dtype=np.int64)
    d = distance_m(lat, lon, _col(stations, "lat", np.float64)[station], _col(stations, "lon", np.float64)[station])
    travel_wh = _ceil_div(d * costs.consumption_wh_per_km, 1_000)
    travel_s = _ceil_div(d * 3_600, costs.speed_km_per_h * 1_000)
    charge_s = _ceil_div(q * 3_600, _col(stations, "power_w", np.int64)[station])
    wait_s = travel_s + _col(stations, "queue_s", np.int64)[station] + charge_s
    cost = (
        travel_wh * costs.energy_price_per_wh
        + _ceil_div(wait_s * costs.time_cost_per_h, 3_600)
        + q * _col(stations, "price_per_wh", np.int64)[station]
    )
    return np.asarray(np.where(q > 0, cost, 0))


def cheapest_station(
    lat: np.ndarray, lon: np.ndarray, need_wh: np.ndarray, stations: tuple[Station, ...], costs: CostParams
) -> np.ndarray:
    """Each buyer's station: the cheapest for its whole need (ties to the first station in the tuple)."""
    every = np.arange(len(stations))[None, :]
    table = station_cost(every, lat[:, None], lon[:, None], need_wh[:, None], stations, costs)
    return np.asarray(np.argmin(table, axis=1))


def buyer_saving(
    lat: np.ndarray,
    lon: np.ndarray,
    need_wh: np.ndarray,
    served_wh: np.ndarray,
    stations: tuple[Station, ...],
    costs: CostParams,
    grid_import_per_wh: int,
) -> np.ndarray:
    """What serving served_wh of each buyer's need by V2V saves it against its outside option (aligned arrays)."""
    need, served = np.asarray(need_wh, dtype=np.int64), np.asarray(served_wh, dtype=np.int64)
    if not stations:
        return np.asarray(served * grid_import_per_wh)
    if not len(need):
        return np.zeros(0, dtype=np.int64)
    where, key = np.unique(np.stack([lat, lon, need.astype(np.float64)]), axis=1, return_inverse=True)
    station = cheapest_station(where[0], where[1], where[2].astype(np.int64), stations, costs)[key.ravel()]
    full = station_cost(station, lat, lon, need, stations, costs)
    return np.asarray(full - station_cost(station, lat, lon, need - served, stations, costs))


def waiting_cost(transfer_s: np.ndarray, stations: tuple[Station, ...], costs: CostParams) -> np.ndarray:
    """One side's time during a V2V transfer: costed when stations (whose charging time is costed) are the outside
    option, zero against the abstract grid."""
    t = np.asarray(transfer_s, dtype=np.int64)
    return _ceil_div(t * costs.time_cost_per_h, 3_600) if stations else np.zeros_like(t)


def _col(stations: tuple[Station, ...], name: str, dtype: type) -> np.ndarray:
    return np.array([getattr(s, name) for s in stations], dtype=dtype)


def _ceil_div(a: np.ndarray, b: int | np.ndarray) -> np.ndarray:
    return np.asarray(-(-np.asarray(a, dtype=np.int64) // b))


def reservation_limit(
    lat: float, lon: float, need_wh: int, stations: tuple[Station, ...], costs: CostParams, grid_import_per_wh: int
) -> int:
    """A buyer's limit price derived from its outside option: its station's cost for the whole need, per Wh
    (rounded down, so a fill at the limit never costs more than the station). For a vehicle signing its order."""
    lat_a, lon_a, need = np.array([lat]), np.array([lon]), np.array([need_wh], dtype=np.int64)
    if need_wh <= 0:
        raise InvalidClearingParameter("need_wh", need_wh, "must be a positive int")
    full = buyer_saving(lat_a, lon_a, need, need, stations, costs, grid_import_per_wh)
    return int(full[0]) // need_wh
