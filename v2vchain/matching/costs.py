"""What it costs two vehicles to meet and transfer energy, in integer token units.

A pair's cost is its cheapest meeting along both plans (legs.py; meeting.py's candidate points and insertion, the
fleet planner's model): each vehicle's extra distance and drive time of inserting the meeting into its leg, the way
back included, costed as driving energy plus its driver's time; both drivers' time during the transfer at V2V power
(each side's own, as a station charge costs the buyer its charging time); and the seller's transfer losses and
battery wear.
A parked pair therefore pays the drive there and back (one of them comes to the other, or both meet between): twice
the one-way drive the model charged before routes. Infeasible when no meeting lets both stay for the transfer at V2V
power and still reach their next waypoints on time (a parked vehicle's end of window).

The only float step is the Haversine distance, rounded to whole metres (round half to even, numpy.rint); every
cost after it is integer arithmetic rounded up (ceil), so a cost is never understated and an auditor who
recomputes it gets the same integers.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .errors import InvalidClearingParameter
from .legs import OrderLegs
from .meeting import candidates, insert, together, whole_metres
from .units import GRID_IMPORT_PER_WH, TOKEN

# (low, high) of each parameter: wide enough for any vehicle, narrow enough that no product below leaves int64
# (distances up to half the Earth's circumference, 1 MWh orders)
_BOUNDS = {
    "consumption_wh_per_km": (0, 10**4),
    "speed_km_per_h": (1, 10**4),
    "time_cost_per_h": (0, 10**10),  # 10,000 tokens an hour: x the slowest antipodal detour fits int64
    "transfer_power_w": (1_000, 10**9),  # 1 kW: 1 MWh at 50 % efficiency is 7.2 million s, x time_cost fits
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
    """Each pair's cheapest meeting (one entry per pair, int64 unless noted)."""

    buyer_detour_m: np.ndarray  # the meeting inserted into the buyer's route: the extra metres, the way back included
    seller_detour_m: np.ndarray
    meeting_lat: np.ndarray  # float64: where they meet (a candidate point of meeting.candidates)
    meeting_lon: np.ndarray
    meeting_ts: np.ndarray  # when both are there
    together_s: np.ndarray  # how long both can stay there and still reach their next waypoints on time
    transfer_s: np.ndarray  # the transfer at V2V power
    buyer_travel_cost: np.ndarray  # the buyer's detour: driving energy and its driver's time
    seller_travel_cost: np.ndarray
    buyer_transfer_time_cost: np.ndarray  # the buyer's driver's time during the transfer
    seller_transfer_time_cost: np.ndarray
    seller_cost: np.ndarray  # transfer losses and battery degradation: the seller's alone
    total: np.ndarray

    @property
    def distance_m(self) -> np.ndarray:
        """Both detours."""
        return np.asarray(self.buyer_detour_m + self.seller_detour_m)

    @property
    def travel_cost(self) -> np.ndarray:
        return np.asarray(self.buyer_travel_cost + self.seller_travel_cost)

    @property
    def feasible(self) -> np.ndarray:
        """Both are at the meeting point for the whole transfer, and reach their next waypoints on time."""
        return np.asarray(self.together_s >= self.transfer_s)

    @property
    def buyer_share(self) -> np.ndarray:
        return np.asarray(self.buyer_travel_cost + self.buyer_transfer_time_cost)

    @property
    def seller_share(self) -> np.ndarray:
        return np.asarray(self.seller_travel_cost + self.seller_transfer_time_cost + self.seller_cost)

    def select(self, mask: np.ndarray) -> PairCosts:
        return PairCosts(*(getattr(self, f.name)[mask] for f in fields(PairCosts)))


def drive_s(dist_m: np.ndarray, params: CostParams) -> np.ndarray:
    return _ceil_div(np.asarray(dist_m, dtype=np.int64) * 3_600, params.speed_km_per_h * 1_000)


def travel_cost(dist_m: np.ndarray, params: CostParams) -> np.ndarray:
    """Driving dist_m metres: its energy, replaced from the grid, and the driver's time."""
    d = np.asarray(dist_m, dtype=np.int64)
    travel_wh = _ceil_div(d * params.consumption_wh_per_km, 1_000)
    return np.asarray(
        travel_wh * params.energy_price_per_wh + _ceil_div(drive_s(d, params) * params.time_cost_per_h, 3_600)
    )


def transfer_terms(energy_wh: np.ndarray, params: CostParams) -> tuple[np.ndarray, np.ndarray]:
    """(seconds, the seller's losses and wear) of delivering energy_wh into the buyer at V2V power."""
    q = np.asarray(energy_wh, dtype=np.int64)
    discharged_wh = _ceil_div(q * 10_000, params.efficiency_bps)  # what leaves the seller's battery
    transfer_s = _ceil_div(discharged_wh * 3_600, params.transfer_power_w)
    seller_cost = (discharged_wh - q) * params.energy_price_per_wh + _ceil_div(
        discharged_wh * params.degradation_per_kwh, 1_000
    )
    return transfer_s, np.asarray(seller_cost)


def transfer_time_cost(transfer_s: np.ndarray, params: CostParams) -> np.ndarray:
    """One driver's time while its vehicle transfers for transfer_s seconds."""
    return _ceil_div(np.asarray(transfer_s, dtype=np.int64) * params.time_cost_per_h, 3_600)


def whole_chunks(rows: np.ndarray, limit: int) -> list[tuple[int, int]]:
    """[a, b) slices of consecutive items, each item `rows[i]` rows, at most ~limit rows a slice (an item is never
    cut: it belongs to the slice its last row falls in); one slice when all fit."""
    ends = np.cumsum(rows)
    if not len(ends) or ends[-1] <= limit:
        return [(0, len(ends))]
    chunk = (ends - 1) // limit
    splits = [0, *(np.flatnonzero(np.diff(chunk)) + 1).tolist(), len(ends)]
    return list(zip(splits, splits[1:]))


CHUNK_LEG_PAIRS = 1 << 15  # (buyer leg, seller leg) rows costed at once: ~2 MiB per candidate array


def pair_costs(
    buyer_legs: OrderLegs,
    seller_legs: OrderLegs,
    buyer: np.ndarray,
    seller: np.ndarray,
    energy_wh: np.ndarray,
    params: CostParams,
    chunk_leg_pairs: int = CHUNK_LEG_PAIRS,
) -> PairCosts:
    """_pair_costs over whole pairs at most ~chunk_leg_pairs leg rows at a time: a pair of 8-waypoint routes has
    15 x 15 leg rows of 7 candidates, so a book of routed orders all in a few cells (every buyer a candidate of
    every seller) would otherwise hold pairs x 1,575 entries per array at once (11 GB for 200 x 200)."""
    buyer, seller = np.asarray(buyer, dtype=np.int64), np.asarray(seller, dtype=np.int64)
    energy = np.asarray(energy_wh, dtype=np.int64)
    slices = whole_chunks(buyer_legs.count[buyer] * seller_legs.count[seller], chunk_leg_pairs)
    if len(slices) == 1:
        return _pair_costs(buyer_legs, seller_legs, buyer, seller, energy, params)
    parts = [_pair_costs(buyer_legs, seller_legs, buyer[a:b], seller[a:b], energy[a:b], params) for a, b in slices]
    return PairCosts(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(PairCosts)))


def _pair_costs(
    buyer_legs: OrderLegs,
    seller_legs: OrderLegs,
    buyer: np.ndarray,
    seller: np.ndarray,
    energy_wh: np.ndarray,
    params: CostParams,
) -> PairCosts:
    """The cheapest meeting of each (buyer[i], seller[i]) delivering energy_wh[i]: over every buyer leg x seller leg
    x candidate point, the least total detour cost among the points where both fit the transfer in their legs'
    times; when none fits, the least among all (and the pair is infeasible). Ties: the first in (buyer leg, seller
    leg, candidate) order."""
    buyer, seller = np.asarray(buyer, dtype=np.int64), np.asarray(seller, dtype=np.int64)
    transfer_s, seller_cost = transfer_terms(energy_wh, params)
    per_pair = buyer_legs.count[buyer] * seller_legs.count[seller]
    pair = np.repeat(np.arange(len(buyer)), per_pair)
    block = np.cumsum(per_pair) - per_pair  # each pair's first (buyer leg, seller leg) row
    within = np.arange(len(pair)) - block[pair]
    n_seller_legs = seller_legs.count[seller][pair]
    b_rows = buyer_legs.first[buyer][pair] + within // n_seller_legs
    s_rows = seller_legs.first[seller][pair] + within % n_seller_legs
    b, s = buyer_legs.ends(b_rows), seller_legs.ends(s_rows)
    stays = bool(np.array_equal(b.a_lat, b.b_lat) and np.array_equal(b.a_lon, b.b_lon))
    stays = stays and bool(np.array_equal(s.a_lat, s.b_lat) and np.array_equal(s.a_lon, s.b_lon))
    m_lat, m_lon = candidates(s, b, (len(pair), 1), stays)  # all parked (city scale): 3 points, not 7

    def drive(d: np.ndarray) -> np.ndarray:
        return drive_s(d, params)

    at_s = insert(s, m_lat, m_lon, whole_metres, drive, stays=stays)
    at_b = insert(b, m_lat, m_lon, whole_metres, drive, stays=stays)
    meets, together_s = together(at_s, at_b)
    b_cost, s_cost = travel_cost(at_b.detour, params), travel_cost(at_s.detour, params)
    ok = together_s >= transfer_s[pair][:, None]
    best = _cheapest(pair, block, b_cost + s_cost, ok)

    def pick(x: np.ndarray) -> np.ndarray:
        return np.asarray(x.ravel()[best])

    travel_b, travel_s = pick(b_cost), pick(s_cost)
    waiting = transfer_time_cost(transfer_s, params)  # each driver's own; CostParams has one time cost for both
    return PairCosts(
        buyer_detour_m=pick(at_b.detour),
        seller_detour_m=pick(at_s.detour),
        meeting_lat=pick(m_lat),
        meeting_lon=pick(m_lon),
        meeting_ts=pick(meets),
        together_s=pick(together_s),
        transfer_s=transfer_s,
        buyer_travel_cost=travel_b,
        seller_travel_cost=travel_s,
        buyer_transfer_time_cost=waiting,
        seller_transfer_time_cost=waiting,
        seller_cost=seller_cost,
        total=np.asarray(travel_b + travel_s + 2 * waiting + seller_cost),
    )


def _cheapest(pair: np.ndarray, block: np.ndarray, cost: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Per pair, the flat index (into rows x candidates) of its cheapest feasible candidate, or of its cheapest
    candidate when none is feasible; the first on ties."""
    width = cost.shape[1]
    if not len(block):
        return np.zeros(0, dtype=np.int64)
    starts = block * width
    any_ok = np.logical_or.reduceat(ok.any(axis=1), block)
    eligible = (ok | ~any_ok[pair][:, None]).ravel()
    score = np.where(eligible, cost.ravel(), np.iinfo(np.int64).max)
    least = np.minimum.reduceat(score, starts)
    index = np.arange(len(score))
    counts = np.diff(np.append(starts, len(score)))
    return np.asarray(np.minimum.reduceat(np.where(score == np.repeat(least, counts), index, len(score)), starts))


def _ceil_div(a: np.ndarray, b: int | np.ndarray) -> np.ndarray:
    return np.asarray(-(-a // b))
