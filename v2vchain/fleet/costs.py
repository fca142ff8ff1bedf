"""Cost model: needs and spares, the cheapest meeting of a provider and a consumer, and the station outside option.

All energies are integer Wh, times integer seconds, money integer smallest units; only distances are floats (metres).
Rounding is always up (ceil) against the plan: a detour costs at least what it says, a transfer takes at least as long.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from v2vchain.matching.meeting import LegEnds, candidates, haversine_m, insert, together

from .errors import InvalidFleet
from .schema import Fleet, Prices, Station, Van

MIN_CHUNK_WH = 500  # a split meeting delivers at least this much of the consumer's need

IntOrArray = int | np.ndarray  # an integer rate or divisor, alone or one per grid cell


def ceil_div(a: npt.ArrayLike, b: IntOrArray) -> np.ndarray:
    return -(-np.asarray(a, dtype=np.int64) // b)


def iceil(x: npt.ArrayLike) -> np.ndarray:
    """Round metres/seconds/Wh up to integers, forgiving float noise of 1e-6."""
    return np.ceil(np.asarray(x, dtype=np.float64) - 1e-6).astype(np.int64)


def energy_wh(dist_m: npt.ArrayLike, consumption_wh_per_km: IntOrArray) -> np.ndarray:
    return iceil(np.asarray(dist_m) * consumption_wh_per_km / 1_000)


def drive_s(dist_m: npt.ArrayLike, speed_kmh: IntOrArray) -> np.ndarray:
    return iceil(np.asarray(dist_m) * 3.6 / speed_kmh)


def energy_money(wh: npt.ArrayLike, price_per_kwh: int) -> np.ndarray:
    return ceil_div(np.asarray(wh, dtype=np.int64) * price_per_kwh, 1_000)


def time_money(seconds: npt.ArrayLike, price_per_h: int) -> np.ndarray:
    return ceil_div(np.asarray(seconds, dtype=np.int64) * price_per_h, 3_600)


@dataclass(frozen=True)
class Legs:
    """A van's legs: the gaps between consecutive waypoints where a meeting may be inserted. A parked van has one
    leg from its place back to its place over its whole window."""

    a_lat: np.ndarray
    a_lon: np.ndarray
    b_lat: np.ndarray
    b_lon: np.ndarray
    t0: np.ndarray  # leaves a (int s)
    t1: np.ndarray  # must be at b (int s)
    before_wh: np.ndarray  # route energy spent before the leg starts


def slot_legs(legs: Legs, slots: int, speed_kmh: int, road_factor: float) -> Legs:
    """Each leg cut into `slots` consecutive sub-legs, so a provider may hold one meeting in each: equal parts of
    the leg's straight line, each with its own drive time plus an equal share of the leg's slack. A van on time at
    every sub-leg's end is on time at the leg's end, so meetings in different sub-legs never interact and each
    meeting's own check stays exact. A parked van's window is cut into equal slots at its place."""
    if slots == 1:
        return legs
    n = len(legs.t0)
    f = np.arange(slots + 1) / slots
    lat = legs.a_lat[:, None] + f[None, :] * (legs.b_lat - legs.a_lat)[:, None]
    lon = legs.a_lon[:, None] + f[None, :] * (legs.b_lon - legs.a_lon)[:, None]
    drive = drive_s(haversine_m(lat[:, :-1], lon[:, :-1], lat[:, 1:], lon[:, 1:]) * road_factor, speed_kmh)
    slack = legs.t1 - legs.t0 - drive.sum(axis=1)
    at = np.concatenate([np.zeros((n, 1), dtype=np.int64), np.cumsum(drive, axis=1)], axis=1)
    tau = legs.t0[:, None] + at + np.arange(slots + 1)[None, :] * slack[:, None] // slots  # tau[:, -1] == t1
    return Legs(
        lat[:, :-1].ravel(),
        lon[:, :-1].ravel(),
        lat[:, 1:].ravel(),
        lon[:, 1:].ravel(),
        tau[:, :-1].ravel(),
        tau[:, 1:].ravel(),
        np.repeat(legs.before_wh, slots),
    )


def _concat(a: Legs, b: Legs) -> Legs:
    return Legs(*(np.concatenate([getattr(a, f.name), getattr(b, f.name)]) for f in fields(Legs)))


@dataclass(frozen=True)
class VanState:
    van: Van
    legs: Legs
    route_wh: int
    route_s: int
    need_wh: int  # energy to finish the route above the floor, missing
    spare_wh: int  # energy above route + floor


def van_state(van: Van, road_factor: float) -> VanState:
    r = van.route
    if van.parked:
        w = r[0]
        legs = Legs(
            np.array([w.lat]),
            np.array([w.lon]),
            np.array([w.lat]),
            np.array([w.lon]),
            np.array([w.arrive_ts]),
            np.array([w.depart_ts]),
            np.array([0], dtype=np.int64),
        )
        route_wh = route_s = 0
    else:
        lat = np.array([w.lat for w in r])
        lon = np.array([w.lon for w in r])
        d = haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:]) * road_factor
        leg_wh = energy_wh(d, van.consumption_wh_per_km)
        before = np.concatenate([[0], np.cumsum(leg_wh)[:-1]]).astype(np.int64)
        legs = Legs(
            lat[:-1],
            lon[:-1],
            lat[1:],
            lon[1:],
            np.array([w.depart_ts for w in r[:-1]]),
            np.array([w.arrive_ts for w in r[1:]]),
            before,
        )
        route_wh, route_s = int(leg_wh.sum()), int(drive_s(d, van.speed_kmh).sum())
    margin = van.soc_wh - route_wh - van.floor_wh
    return VanState(van, legs, route_wh, route_s, max(0, -margin), max(0, margin))


@dataclass(frozen=True)
class StationOption:
    consumer: str
    station: str
    leg: int
    energy_wh: int  # delivered into the battery: the need plus the detour's own energy
    bought_wh: int
    arrive_ts: int
    cost: int
    late: bool  # no station fits the consumer's windows (or its range): the cheapest is taken anyway


def station_option(c: VanState, stations: tuple[Station, ...], prices: Prices, road_factor: float) -> StationOption:
    if not stations:
        raise InvalidFleet("stations", [], f"van {c.van.id} needs energy and there is no charging station")
    v, L = c.van, c.legs
    s_lat = np.array([s.lat for s in stations])[None, :]
    s_lon = np.array([s.lon for s in stations])[None, :]
    leg = LegEnds(L.a_lat[:, None], L.a_lon[:, None], L.b_lat[:, None], L.b_lon[:, None], L.t0[:, None], L.t1[:, None])
    at = insert(leg, s_lat, s_lon, lambda d: d * road_factor, lambda d: drive_s(d, v.speed_kmh))
    det_wh, det_s = energy_wh(at.detour, v.consumption_wh_per_km), drive_s(at.detour, v.speed_kmh)
    q_in = c.need_wh + det_wh
    eff = np.array([s.efficiency_bps for s in stations])[None, :]
    power = np.array([s.power_w for s in stations])[None, :]
    queue_s = np.array([s.queue_min * 60 for s in stations])[None, :]
    price = np.array([s.price_per_kwh for s in stations])[None, :]
    bought = ceil_div(q_in * 10_000, eff)
    charge_s = ceil_div(bought * 3_600, power)
    arrive = at.arrive_ts
    ok_time = arrive + queue_s + charge_s <= at.leave_ts
    ok_range = v.soc_wh - L.before_wh[:, None] - energy_wh(at.to_m, v.consumption_wh_per_km) >= 0
    cost = ceil_div(bought * price, 1_000) + time_money(det_s + queue_s + charge_s, prices.time_cost_per_h)
    feasible = ok_time & ok_range
    late = not feasible.any()
    masked = np.where(feasible | late, cost, np.iinfo(np.int64).max)
    i, j = np.unravel_index(int(np.argmin(masked)), masked.shape)
    return StationOption(
        v.id, stations[j].id, int(i), int(q_in[i, j]), int(bought[i, j]), int(arrive[i, j]), int(cost[i, j]), late
    )


@dataclass(frozen=True)
class SideCosts:
    provider: np.ndarray
    consumer: np.ndarray
    discharged_wh: np.ndarray
    transfer_s: np.ndarray


def meeting_costs(
    q_in: npt.ArrayLike,
    det_p_wh: IntOrArray,
    det_p_s: IntOrArray,
    det_c_s: IntOrArray,
    eff_bps: IntOrArray,
    power_w: IntOrArray,
    prices: Prices,
) -> SideCosts:
    """Each side's cost of a meeting delivering q_in Wh into the consumer. The provider pays its detour energy, the
    energy it discharges (replacement value at the fleet's energy price, losses included), its battery wear and its
    time (detour + transfer); the consumer pays its time (detour + transfer). The consumer's detour energy is part
    of q_in, so it is paid through the provider's discharge."""
    q_out = ceil_div(np.asarray(q_in, dtype=np.int64) * 10_000, eff_bps)
    tr_s = ceil_div(q_out * 3_600, power_w)
    prov = (
        energy_money(q_out + det_p_wh, prices.energy_per_kwh)
        + energy_money(q_out, prices.battery_wear_per_kwh)
        + time_money(det_p_s + tr_s, prices.time_cost_per_h)
    )
    cons = time_money(det_c_s + tr_s, prices.time_cost_per_h)
    return SideCosts(prov, cons, q_out, tr_s)


@dataclass(frozen=True)
class PairOption:
    """The cheapest meeting of provider p and consumer c on one leg of each (indices into the plan's lists)."""

    p: int
    c: int
    leg_p: int
    leg_c: int
    lat: float
    lon: float
    earliest_ts: int  # both are there
    det_p_wh: int
    det_c_wh: int
    det_p_s: int
    det_c_s: int
    cap_wh: int  # most of the need this meeting can deliver (the whole need for an unsplit consumer)
    cost_full: int  # cost of delivering cap_wh
    cost_zero: int  # cost of the detours alone (for the split model's fixed part)


@dataclass(frozen=True)
class ProviderPool:
    """The providers' legs padded to one (provider, leg) grid, built once per plan."""

    a_lat: np.ndarray
    a_lon: np.ndarray
    b_lat: np.ndarray
    b_lon: np.ndarray
    t0: np.ndarray
    t1: np.ndarray
    valid: np.ndarray
    speed: np.ndarray
    consumption: np.ndarray
    eff: np.ndarray
    power: np.ndarray
    spare: np.ndarray
    dab: np.ndarray  # each leg's own (road) length
    n_legs: np.ndarray  # each provider's route legs
    slots: int = 1

    @staticmethod
    def build(providers: list[VanState], road_factor: float, slots: int = 1) -> ProviderPool:
        """With slots > 1, a provider's columns are its whole legs, then each leg's `slots` sub-legs (slot_legs): a
        meeting may use a whole leg (as with one slot) or one sub-leg, so more slots never remove an option."""
        legs = [p.legs for p in providers]
        if slots > 1:
            legs = [_concat(x, slot_legs(x, slots, p.van.speed_kmh, road_factor)) for x, p in zip(legs, providers)]
        n, nl = len(providers), max((len(x.t0) for x in legs), default=1)

        def pad(attr: str, fill: float) -> np.ndarray:
            out = np.full((n, nl), fill, dtype=np.float64 if attr.endswith(("lat", "lon")) else np.int64)
            for i, x in enumerate(legs):
                col = getattr(x, attr)
                out[i, : len(col)] = col
            return out

        valid = pad("t0", -1) >= 0

        def van(attr: str) -> np.ndarray:
            return np.array([getattr(p.van, attr) for p in providers], dtype=np.int64)

        a_lat, a_lon, b_lat, b_lon = pad("a_lat", 0), pad("a_lon", 0), pad("b_lat", 0), pad("b_lon", 0)
        return ProviderPool(
            a_lat,
            a_lon,
            b_lat,
            b_lon,
            pad("t0", 0),
            pad("t1", -1),
            valid,
            van("speed_kmh"),
            van("consumption_wh_per_km"),
            van("v2v_efficiency_bps"),
            van("v2v_power_w"),
            np.array([p.spare_wh for p in providers], dtype=np.int64),
            haversine_m(a_lat, a_lon, b_lat, b_lon) * road_factor,
            np.array([len(p.legs.t0) for p in providers], dtype=np.int64),
            slots,
        )

    def leg_slot(self, p: int, column: int) -> tuple[int, int | None]:
        """(route leg, slot) of a provider's column; slot None for the whole leg."""
        n_legs = int(self.n_legs[p])
        if column < n_legs:
            return column, None
        return (column - n_legs) // self.slots, (column - n_legs) % self.slots

    def nearest(self, c: VanState, k: int) -> np.ndarray:
        """The k providers whose leg ends come nearest the consumer's waypoints (a cheap pre-filter)."""
        n = len(self.spare)
        if n <= k:
            return np.arange(n)
        lat = np.concatenate([c.legs.a_lat, c.legs.b_lat])[:, None, None]
        lon = np.concatenate([c.legs.a_lon, c.legs.b_lon])[:, None, None]
        d = np.minimum(
            haversine_m(lat, lon, self.a_lat[None], self.a_lon[None]),
            haversine_m(lat, lon, self.b_lat[None], self.b_lon[None]),
        )
        d = np.where(self.valid[None], d, np.inf).min(axis=(0, 2))
        return np.sort(np.lexsort((np.arange(n), d))[:k])


def pair_options(
    c_idx: int, c: VanState, pool: ProviderPool, fleet: Fleet, subset: np.ndarray | None = None
) -> list[PairOption]:
    """The best meeting point for every (provider, provider leg, consumer leg) that can serve consumer c, vectorised
    over the providers in `subset` (all by default). One option per leg pair (not just per pair) lets the matching
    route around the one-meeting-per-leg rule."""
    ids = np.arange(len(pool.spare)) if subset is None else np.asarray(subset)
    if len(ids) == 0:
        return []
    prices, road = fleet.prices, fleet.road_factor
    n, nl = len(ids), pool.valid.shape[1]

    def g(arr: np.ndarray) -> np.ndarray:  # (provider, leg) grid -> 4-d
        return arr[ids][None, :, :, None]

    def pv(arr: np.ndarray) -> np.ndarray:  # per provider -> 4-d
        return arr[ids][None, :, None, None]

    valid = pool.valid[ids]
    # axes: (consumer leg k, provider n, provider leg l, candidate m)
    p_leg = LegEnds(g(pool.a_lat), g(pool.a_lon), g(pool.b_lat), g(pool.b_lon), g(pool.t0), g(pool.t1))
    L = c.legs
    c_leg = LegEnds(*(x[:, None, None, None] for x in (L.a_lat, L.a_lon, L.b_lat, L.b_lon, L.t0, L.t1)))
    m_lat, m_lon = candidates(p_leg, c_leg, (len(L.t0), n, nl, 1))
    sp_p, cons_p = pv(pool.speed), pv(pool.consumption)
    at_p = insert(p_leg, m_lat, m_lon, lambda d: d * road, lambda d: drive_s(d, sp_p), g(pool.dab))
    at_c = insert(c_leg, m_lat, m_lon, lambda d: d * road, lambda d: drive_s(d, c.van.speed_kmh))
    det_p, det_c = at_p.detour, at_c.detour
    eff, power = pv(pool.eff), np.minimum(pv(pool.power), c.van.v2v_power_w)
    spare = pv(pool.spare)
    det_p_wh, det_p_s = energy_wh(det_p, cons_p), drive_s(det_p, sp_p)
    det_c_wh, det_c_s = energy_wh(det_c, c.van.consumption_wh_per_km), drive_s(det_c, c.van.speed_kmh)
    start, tau = together(at_p, at_c)
    reach = c.van.soc_wh - L.before_wh[:, None, None, None] - energy_wh(at_c.to_m, c.van.consumption_wh_per_km) >= 0
    ok = valid[None, :, :, None] & reach & (tau >= 0)
    # most Wh into the consumer the time allows, and the provider's spare allows (1 Wh rounding margin)
    out_max = np.minimum(np.maximum(tau, 0) * power // 3_600, spare - det_p_wh - 1)
    in_max = np.maximum(out_max, 0) * eff // 10_000 - det_c_wh
    if c.van.split:
        cap = np.minimum(in_max, c.need_wh)
        ok &= cap >= min(MIN_CHUNK_WH, c.need_wh)
    else:
        cap = np.broadcast_to(np.int64(c.need_wh), in_max.shape)
        ok &= in_max >= c.need_wh
    cap = np.where(ok, cap, 1)
    full = meeting_costs(cap + det_c_wh, det_p_wh, det_p_s, det_c_s, eff, power, prices)
    cost_full = full.provider + full.consumer
    score = np.where(ok, cost_full / cap if c.van.split else cost_full, np.inf)
    best = np.argmin(score, axis=3)  # the best candidate point for each (consumer leg, provider, provider leg)
    kk, ii, ll = np.nonzero(np.isfinite(np.take_along_axis(score, best[..., None], axis=3)[..., 0]))
    zero = meeting_costs(det_c_wh, det_p_wh, det_p_s, det_c_s, eff, power, prices)
    cost_zero = zero.provider + zero.consumer
    out = []
    for k, i, l in sorted(zip(kk.tolist(), ii.tolist(), ll.tolist()), key=lambda t: (t[1], t[2], t[0])):
        ix = (k, i, l, int(best[k, i, l]))
        out.append(
            PairOption(
                p=int(ids[i]),
                c=c_idx,
                leg_p=int(l),
                leg_c=int(k),
                lat=float(m_lat[ix]),
                lon=float(m_lon[ix]),
                earliest_ts=int(start[ix]),
                det_p_wh=int(det_p_wh[ix]),
                det_c_wh=int(det_c_wh[ix]),
                det_p_s=int(det_p_s[ix]),
                det_c_s=int(det_c_s[ix]),
                cap_wh=int(cap[ix]),
                cost_full=int(cost_full[ix]),
                cost_zero=int(cost_zero[ix]),
            )
        )
    return out
