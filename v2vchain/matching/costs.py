"""What it costs two vehicles to meet and transfer energy, in integer token units.

The only float step is the Haversine distance, rounded to whole metres (round half to even, numpy.rint); every
cost after it is integer arithmetic rounded up (ceil), so a cost is never understated and an auditor who
recomputes it gets the same integers. The arrays version is the one implementation; the scalar one wraps it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .errors import InvalidClearingParameter
from .units import GRID_IMPORT_PER_WH, TOKEN

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius
# (low, high) of each parameter: wide enough for any vehicle, narrow enough that no product below leaves int64
# (distances up to half the Earth's circumference, 1 MWh orders)
_BOUNDS = {
    "consumption_wh_per_km": (0, 10**4),
    "speed_km_per_h": (1, 10**4),
    "time_cost_per_h": (0, 10**11),
    "transfer_power_w": (1, 10**9),
    "efficiency_bps": (5_000, 10_000),
    "degradation_per_kwh": (0, 10**9),
    "energy_price_per_wh": (0, 10**9),
}


@dataclass(frozen=True)
class CostParams:
    """The pair cost model's parameters; defaults from published electric-van fleet data unless noted."""

    consumption_wh_per_km: int = 180  # a car's driving consumption
    speed_km_per_h: int = 30  # urban speed (002: vans at 10-60 km/h)
    time_cost_per_h: int = 5 * TOKEN  # 002's time cost of 5 per hour, in tokens
    transfer_power_w: int = 30_000  # V2V DC transfer power
    efficiency_bps: int = 9_700  # 97 % transfer efficiency
    degradation_per_kwh: int = 20 * 1_000  # 2 p per kWh cycled through the seller's battery (our assumption)
    energy_price_per_wh: int = GRID_IMPORT_PER_WH  # travel energy and transfer losses are replaced from the grid

    def __post_init__(self) -> None:
        for f in fields(self):
            value, (low, high) = getattr(self, f.name), _BOUNDS[f.name]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise InvalidClearingParameter(f.name, value, f"must be an int in {low}..{high}")


@dataclass(frozen=True)
class PairCosts:
    """Each field an int64 array (one entry per pair), or an int for one pair."""

    distance_m: np.ndarray
    travel_s: np.ndarray
    transfer_s: np.ndarray
    travel_cost: np.ndarray  # driving energy and drivers' time: shared, the two meet halfway
    seller_cost: np.ndarray  # transfer losses and battery degradation: the seller's alone
    total: np.ndarray

    @property
    def required_s(self) -> np.ndarray:
        """How long the two windows must overlap: drive there, then transfer."""
        return np.asarray(self.travel_s + self.transfer_s)

    @property
    def buyer_share(self) -> np.ndarray:
        return np.asarray(self.travel_cost // 2)

    @property
    def seller_share(self) -> np.ndarray:
        return np.asarray(self.total - self.buyer_share)


def distance_m(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Haversine great-circle distance between area centres, in whole metres."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(np.rint(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h, 1.0))))).astype(np.int64)


def pair_costs(dist_m: np.ndarray, energy_wh: np.ndarray, params: CostParams) -> PairCosts:
    """Costs of pairs `dist_m` apart delivering `energy_wh` to the buyer (integer arrays in, integer arrays out)."""
    d, q = np.asarray(dist_m, dtype=np.int64), np.asarray(energy_wh, dtype=np.int64)
    travel_wh = _ceil_div(d * params.consumption_wh_per_km, 1_000)
    travel_s = _ceil_div(d * 3_600, params.speed_km_per_h * 1_000)
    time_cost = _ceil_div(travel_s * params.time_cost_per_h, 3_600)
    discharged_wh = _ceil_div(q * 10_000, params.efficiency_bps)  # what leaves the seller's battery
    transfer_s = _ceil_div(discharged_wh * 3_600, params.transfer_power_w)
    travel_cost = travel_wh * params.energy_price_per_wh + time_cost
    seller_cost = (discharged_wh - q) * params.energy_price_per_wh + _ceil_div(
        discharged_wh * params.degradation_per_kwh, 1_000
    )
    return PairCosts(
        distance_m=d,
        travel_s=travel_s,
        transfer_s=transfer_s,
        travel_cost=travel_cost,
        seller_cost=seller_cost,
        total=travel_cost + seller_cost,
    )


def window_overlap_s(start1: np.ndarray, end1: np.ndarray, start2: np.ndarray, end2: np.ndarray) -> np.ndarray:
    return np.asarray(np.minimum(end1, end2) - np.maximum(start1, start2))


def _ceil_div(a: np.ndarray, b: int | np.ndarray) -> np.ndarray:
    return -(-a // b)
