"""Each side's outside option: what a buyer pays at a charging station, what a seller gets from the grid.

A buyer that does not trade makes a detour to a station (the station inserted into a leg of its plan, as a V2V
meeting is: there and back for a parked vehicle), queues, charges and pays the station's price. Its station is the
cheapest for its whole need among the (station, leg)s whose detour, queue and charging fit the leg's time (it is
back on its plan by the leg's end: its next waypoint, a parked vehicle's window end), as the fleet planner's is
(fleet/costs.station_option); when none fits, the cheapest of all (the buyer charges late rather than not at all).
Energy a trade leaves unserved is bought there too, so a V2V trade of q Wh is worth cost(need) - cost(need - q):
the trip is saved only when the whole need is served. Without stations the outside option is the grid import price
at the buyer's door. A seller's outside option is the grid export price. The buyer's charging time at the station is
costed here, as both drivers' time during a V2V transfer is in every pair's cost (costs.py), so the two options
compare like for like. Integer arithmetic after the rounded Haversine distances, rounded up as in costs.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from v2vchain.protocol.routes import Route

from .costs import CostParams, drive_s, whole_chunks
from .errors import InvalidClearingParameter
from .legs import OrderLegs, parked_legs, route_legs_of
from .meeting import insert, whole_metres
from .orders import MAX_ENERGY_WH


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
        for name, low, high in (("price_per_wh", 0, 10**9), ("power_w", 1_000, 10**9), ("queue_s", 0, 86_400)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
                raise InvalidClearingParameter(f"station.{name}", v, f"must be an int in {low}..{high}")


CHUNK_LEG_STATIONS = 1 << 20  # (leg row, station) entries placed at once: ~8 MiB per array


def station_choice(
    legs: OrderLegs,
    orders: np.ndarray,
    need_wh: np.ndarray,
    stations: tuple[Station, ...],
    costs: CostParams,
    chunk_leg_stations: int = CHUNK_LEG_STATIONS,
) -> tuple[np.ndarray, np.ndarray]:
    """(station index, whole-metre detour) of each order's outside option for its whole need (aligned with orders),
    over whole orders at most ~chunk_leg_stations (leg row x station) entries at a time: a book of routed buyers
    has up to 15 legs each, so all at once would hold buyers x 15 x stations entries per array."""
    orders, need = np.asarray(orders, dtype=np.int64), np.asarray(need_wh, dtype=np.int64)
    slices = whole_chunks(legs.count[orders] * len(stations), chunk_leg_stations)
    if len(slices) == 1:
        return _station_choice(legs, orders, need, stations, costs)
    parts = [_station_choice(legs, orders[a:b], need[a:b], stations, costs) for a, b in slices]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _station_choice(
    legs: OrderLegs, orders: np.ndarray, need: np.ndarray, stations: tuple[Station, ...], costs: CostParams
) -> tuple[np.ndarray, np.ndarray]:
    """Each station inserted into each of an order's legs (meeting.insert, as a V2V meeting is: there and back for
    a parked vehicle). A (leg, station) fits when the buyer arrives (t0 + drive there), queues, charges its whole
    need at the station's power and still reaches the leg's end on time (t1 - drive on). Its station is the
    cheapest over the (leg, station)s that fit; when none fits, the cheapest over all (it charges late rather than
    not at all). Ties: the first station, at its shortest detour."""
    position, rows = legs.expand(orders)
    if not len(rows):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    s_lat, s_lon = _col(stations, "lat", np.float64)[None, :], _col(stations, "lon", np.float64)[None, :]
    at = insert(legs.ends(rows), s_lat, s_lon, whole_metres, lambda d: drive_s(d, costs))
    charge_s = _ceil_div(need[position][:, None] * 3_600, _col(stations, "power_w", np.int64)[None, :])
    fits = at.arrive_ts + _col(stations, "queue_s", np.int64)[None, :] + charge_s <= at.leave_ts
    first = np.flatnonzero(np.diff(position, prepend=-1))
    late = ~np.logical_or.reduceat(fits.any(axis=1), first)
    unset = np.iinfo(np.int64).max
    detour = np.minimum.reduceat(np.where(fits | late[position][:, None], at.detour, unset), first, axis=0)
    every = np.arange(len(stations))[None, :]
    table = station_cost(every, np.where(detour < unset, detour, 0), need[:, None], stations, costs)
    station = np.argmin(np.where(detour < unset, table, unset), axis=1)
    return np.asarray(station), np.asarray(detour[np.arange(len(orders)), station])


def station_cost(
    station: np.ndarray,
    detour_m: np.ndarray,
    energy_wh: npt.ArrayLike,
    stations: tuple[Station, ...],
    costs: CostParams,
) -> np.ndarray:
    """Cost of buying energy_wh at the given station (index per element; broadcasts) detour_m away: drive there and
    on, queue, charge, pay. Zero for zero Wh: no trip."""
    q = np.asarray(energy_wh, dtype=np.int64)
    d = np.asarray(detour_m, dtype=np.int64)
    travel_wh = _ceil_div(d * costs.consumption_wh_per_km, 1_000)
    charge_s = _ceil_div(q * 3_600, _col(stations, "power_w", np.int64)[station])
    wait_s = drive_s(d, costs) + _col(stations, "queue_s", np.int64)[station] + charge_s
    cost = (
        travel_wh * costs.energy_price_per_wh
        + _ceil_div(wait_s * costs.time_cost_per_h, 3_600)
        + q * _col(stations, "price_per_wh", np.int64)[station]
    )
    return np.asarray(np.where(q > 0, cost, 0))


def buyer_saving(
    legs: OrderLegs,
    buyer: np.ndarray,
    need_wh: np.ndarray,
    served_wh: np.ndarray,
    stations: tuple[Station, ...],
    costs: CostParams,
    grid_import_per_wh: int,
) -> np.ndarray:
    """What serving served_wh of each buyer's need by V2V saves it against its outside option (aligned arrays;
    buyer indexes legs, need_wh is that buyer's whole need)."""
    need, served = np.asarray(need_wh, dtype=np.int64), np.asarray(served_wh, dtype=np.int64)
    if not stations:
        return np.asarray(served * grid_import_per_wh)
    if not len(need):
        return np.zeros(0, dtype=np.int64)
    orders, first, key = np.unique(np.asarray(buyer), return_index=True, return_inverse=True)
    station, detour = station_choice(legs, orders, need[first], stations, costs)
    station, detour = station[key.ravel()], detour[key.ravel()]
    full = station_cost(station, detour, need, stations, costs)
    return np.asarray(full - station_cost(station, detour, need - served, stations, costs))


def _col(stations: tuple[Station, ...], name: str, dtype: type) -> np.ndarray:
    return np.array([getattr(s, name) for s in stations], dtype=dtype)


def _ceil_div(a: np.ndarray, b: int | np.ndarray) -> np.ndarray:
    return np.asarray(-(-np.asarray(a, dtype=np.int64) // b))


def reservation_limit(
    lat: float,
    lon: float,
    need_wh: int,
    stations: tuple[Station, ...],
    costs: CostParams,
    grid_import_per_wh: int,
    route: Route | None = None,
) -> int:
    """A buyer's limit price derived from its outside option: its station's cost for the whole need, per Wh
    (rounded down, so a fill at the limit never costs more than the station). For a vehicle signing its order:
    parked at (lat, lon), or on `route` (its cheapest station detour along it)."""
    if not isinstance(need_wh, int) or isinstance(need_wh, bool) or not 0 < need_wh <= MAX_ENERGY_WH:
        raise InvalidClearingParameter("need_wh", need_wh, f"must be an int in 1..{MAX_ENERGY_WH} (an order's energy)")
    if route is None:
        legs = parked_legs(np.array([lat]), np.array([lon]), np.zeros(1, np.int64), np.ones(1, np.int64))
    else:
        legs = route_legs_of(route)
    need, one = np.array([need_wh], dtype=np.int64), np.zeros(1, dtype=np.int64)
    full = buyer_saving(legs, one, need, need, stations, costs, grid_import_per_wh)
    return int(full[0]) // need_wh
