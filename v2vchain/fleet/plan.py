"""Capacitated V2V matching for a fleet: an exact MILP (scipy's HiGHS) over the cheapest meeting of every pair.

Each consumer is served either by V2V (one provider, or several if its `split` flag allows) or by its best station.
A provider may serve several consumers within its spare energy; each leg of a van (the gap between two waypoints)
holds at most one meeting per slot (`meetings_per_leg` slots per provider leg, costs.slot_legs; one per consumer
leg), so the time windows of different meetings never interact and each meeting's own check is exact. Large fleets
are pruned (`k_best`): each consumer looks only at the max(5k, 40) providers whose waypoints come nearest its own,
and keeps the k cheapest of those.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

from .costs import (
    PairOption,
    ProviderPool,
    StationOption,
    VanState,
    energy_money,
    meeting_costs,
    pair_options,
    station_option,
    time_money,
    van_state,
)
from .errors import OutOfRange
from .schema import Fleet


@dataclass(frozen=True)
class Meeting:
    provider: str
    consumer: str
    lat: float
    lon: float
    start_ts: int
    end_ts: int
    energy_wh: int  # into the consumer's battery (its need share plus its own detour energy)
    discharged_wh: int  # out of the provider's battery
    provider_detour_wh: int  # the provider's own extra driving energy
    provider_leg: int
    consumer_leg: int
    cost: int  # provider_cost + consumer_cost
    provider_cost: int
    consumer_cost: int
    outside_share: int  # the consumer's station cost for the same share of its need
    payment: int  # consumer to provider: the provider's cost plus half the pair's saving
    provider_surplus: int
    consumer_surplus: int
    provider_slot: int | None = None  # which of the provider leg's slots; None: the whole leg


@dataclass(frozen=True)
class Plan:
    meetings: tuple[Meeting, ...]
    stations: tuple[StationOption, ...]  # consumers that fall back to a station in the V2V plan
    outside: dict[str, StationOption]  # every consumer's outside option
    needs: dict[str, int]
    spares: dict[str, int]
    base_cost: int  # route driving time + route energy from own batteries, the same in both plans
    cost_v2v: int
    cost_stations_only: int
    optimal: bool
    solve_s: float
    n_edges: int
    mip_gap: float = 0.0  # HiGHS's relative gap at the end (0 when proven optimal)
    currency: str = "CNY"
    decimals: int = 2
    meetings_per_leg: int = 1

    @property
    def saving(self) -> int:
        return self.cost_stations_only - self.cost_v2v

    @property
    def saving_pct(self) -> float:
        return round(100 * self.saving / self.cost_stations_only, 2) if self.cost_stations_only else 0.0

    @property
    def replenish_saving_pct(self) -> float:
        r = self.cost_stations_only - self.base_cost
        return round(100 * self.saving / r, 2) if r else 0.0


def plan_fleet(
    fleet: Fleet, *, k_best: int | None = None, time_limit_s: float = 60.0, meetings_per_leg: int = 1
) -> Plan:
    if isinstance(meetings_per_leg, bool) or not isinstance(meetings_per_leg, int) or not 1 <= meetings_per_leg <= 16:
        raise OutOfRange("meetings_per_leg", meetings_per_leg, "must be an int in 1..16")
    t_start = time.perf_counter()
    fleet = fleet.canonical()
    prices = fleet.prices
    states = [van_state(v, fleet.road_factor) for v in fleet.vans]
    consumers = [s for s in states if s.need_wh > 0]
    providers = [s for s in states if s.spare_wh > 0]
    base = sum(
        int(time_money(s.route_s, prices.time_cost_per_h))
        + int(energy_money(max(0, s.route_wh - s.need_wh), prices.energy_per_kwh))
        for s in states
    )
    outside = [station_option(c, fleet.stations, prices, fleet.road_factor) for c in consumers]
    edges: list[PairOption] = []
    pool = ProviderPool.build(providers, fleet.road_factor, meetings_per_leg)
    for ci, c in enumerate(consumers):
        near = pool.nearest(c, max(5 * k_best, 40)) if k_best else None
        opts = [o for o in pair_options(ci, c, pool, fleet, near) if o.cost_full < outside[ci].cost or c.van.split]
        if k_best:  # keep the k providers whose best option is cheapest per Wh (all their leg options)
            rank: dict[int, tuple[float, int]] = {}
            for o in opts:
                rank[o.p] = min(rank.get(o.p, (np.inf, o.p)), (o.cost_full / o.cap_wh, o.p))
            keep = set(sorted(rank, key=rank.__getitem__)[:k_best])
            opts = [o for o in opts if o.p in keep]
        edges.extend(opts)
    y, x, optimal, gap = _solve(consumers, providers, outside, edges, pool, time_limit_s)
    meetings, fallbacks = _assemble(fleet, consumers, providers, outside, edges, y, x, pool)
    stations_only = base + sum(o.cost for o in outside)
    v2v = base + sum(m.cost for m in meetings) + sum(o.cost for o in fallbacks)
    return Plan(
        tuple(meetings),
        tuple(fallbacks),
        {o.consumer: o for o in outside},
        {c.van.id: c.need_wh for c in consumers},
        {p.van.id: p.spare_wh for p in providers},
        base,
        v2v,
        stations_only,
        optimal,
        time.perf_counter() - t_start,
        len(edges),
        gap,
        prices.currency,
        prices.decimals,
        meetings_per_leg,
    )


def _solve(
    consumers: list[VanState],
    providers: list[VanState],
    outside: list[StationOption],
    edges: list[PairOption],
    pool: ProviderPool,
    time_limit_s: float,
) -> tuple[np.ndarray, np.ndarray, bool, float]:
    """Variables: z_c (consumer c goes to its station), y_e (meeting e happens), x_e (Wh of the need through e)."""
    nc, ne = len(consumers), len(edges)
    if ne == 0:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int), True, 0.0
    iz, iy, ix = 0, nc, nc + ne
    nv = nc + 2 * ne
    cost = np.zeros(nv)
    lo, hi = np.zeros(nv), np.ones(nv)
    for ci, station in enumerate(outside):
        cost[iz + ci] = station.cost
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    lb: list[float] = []
    ub: list[float] = []
    r = 0

    def add(entries: list[tuple[int, float]], low: float, high: float) -> None:
        nonlocal r
        for col, v in entries:
            rows.append(r)
            cols.append(col)
            vals.append(v)
        lb.append(low)
        ub.append(high)
        r += 1

    by_c: dict[int, list[int]] = {}
    by_p: dict[int, list[int]] = {}
    by_leg: dict[tuple[str, int, int], list[int]] = {}
    for e, o in enumerate(edges):
        by_c.setdefault(o.c, []).append(e)
        by_p.setdefault(o.p, []).append(e)
        leg, slot = pool.leg_slot(o.p, o.leg_p)  # a whole-leg meeting excludes every slot of its leg
        for part in range(pool.slots) if slot is None else (slot,):
            by_leg.setdefault(("p", o.p, leg * pool.slots + part), []).append(e)
        by_leg.setdefault(("c", o.c, o.leg_c), []).append(e)
        # cost = fixed * y + var * x, exact for x = cap (the unsplit case) and at x = 0
        var = (o.cost_full - o.cost_zero) / o.cap_wh
        cost[iy + e], cost[ix + e] = o.cost_zero, var
        hi[ix + e] = o.cap_wh
        add([(ix + e, 1.0), (iy + e, -float(o.cap_wh))], -np.inf, 0)  # x <= cap * y
        if not consumers[o.c].van.split:
            add([(ix + e, 1.0), (iy + e, -float(o.cap_wh))], 0, np.inf)  # x = cap * y
    for ci, c in enumerate(consumers):
        add([(iz + ci, float(c.need_wh))] + [(ix + e, 1.0) for e in by_c.get(ci, [])], c.need_wh, c.need_wh)
    for pi, es in by_p.items():
        p = providers[pi]
        ent = []
        for e in es:
            o = edges[e]
            k = 10_000 / p.van.v2v_efficiency_bps
            ent += [(ix + e, k), (iy + e, o.det_c_wh * k + 1 + o.det_p_wh)]
        add(ent, -np.inf, p.spare_wh)
    for es in by_leg.values():
        if len(es) > 1:
            add([(iy + e, 1.0) for e in es], -np.inf, 1)
    A = coo_array((vals, (rows, cols)), shape=(r, nv)).tocsr()
    integrality = np.zeros(nv)
    integrality[:ix] = 1  # z and y are binary; the Wh through an edge is continuous, made whole below
    res = milp(
        cost,
        constraints=LinearConstraint(A, lb, ub),
        integrality=integrality,
        bounds=Bounds(lo, hi),
        options={"time_limit": time_limit_s, "mip_rel_gap": 1e-4},
    )
    if res.x is None:  # no incumbent within the time limit: every consumer goes to its station
        return np.zeros(ne, dtype=int), np.zeros(ne, dtype=int), False, float("inf")
    y = np.rint(res.x[iy : iy + ne]).astype(np.int64)
    xf = np.where(y > 0, res.x[ix : ix + ne], 0.0)
    x = np.floor(xf + 1e-6).astype(np.int64)
    for es in by_c.values():  # whole Wh: floor every share, hand the remainder out in edge order, within caps
        need = consumers[edges[es[0]].c].need_wh
        short = need - int(x[es].sum())
        for e in es:
            if short <= 0:
                break
            if y[e] and x[e] < edges[e].cap_wh:
                add_wh = min(short, edges[e].cap_wh - int(x[e]))
                x[e] += add_wh
                short -= add_wh
    gap = float(getattr(res, "mip_gap", 0.0) or 0.0)
    return y, x, bool(res.status == 0), gap


def _assemble(
    fleet: Fleet,
    consumers: list[VanState],
    providers: list[VanState],
    outside: list[StationOption],
    edges: list[PairOption],
    y: np.ndarray,
    x: np.ndarray,
    pool: ProviderPool,
) -> tuple[list[Meeting], list[StationOption]]:
    prices = fleet.prices
    chosen: dict[int, list[tuple[PairOption, int]]] = {}
    for e, o in enumerate(edges):
        if y[e] and x[e] > 0:
            chosen.setdefault(o.c, []).append((o, int(x[e])))
    meetings: list[Meeting] = []
    fallbacks: list[StationOption] = []
    used: dict[int, int] = {}
    for ci, c in enumerate(consumers):
        opt = outside[ci]
        group = chosen.get(ci, [])
        drafts = []
        for o, share in group:
            p = providers[o.p]
            power = min(p.van.v2v_power_w, c.van.v2v_power_w)
            sc = meeting_costs(
                share + o.det_c_wh, o.det_p_wh, o.det_p_s, o.det_c_s, p.van.v2v_efficiency_bps, power, prices
            )
            pc, cc, out, tr = int(sc.provider), int(sc.consumer), int(sc.discharged_wh), int(sc.transfer_s)
            drafts.append((o, share, pc, cc, out, tr))
        total = sum(d[2] + d[3] for d in drafts)
        ok = bool(drafts) and sum(d[1] for d in drafts) == c.need_wh and total <= opt.cost
        ok = ok and all(used.get(d[0].p, 0) + d[4] + d[0].det_p_wh <= providers[d[0].p].spare_wh for d in drafts)
        if not ok:  # rounding made V2V dearer (or no meeting): the station is never worse
            fallbacks.append(opt)
            continue
        # the consumer's saving over its station, split by need share (the last share takes the remainder): each
        # meeting's outside share is its cost plus its part of the saving, so no meeting leaves a side below zero
        saving_left = opt.cost - total
        for n, (o, share, pc, cc, out, tr) in enumerate(drafts):
            used[o.p] = used.get(o.p, 0) + out + o.det_p_wh
            gain = saving_left if n == len(drafts) - 1 else (opt.cost - total) * share // c.need_wh
            saving_left -= gain
            part = pc + cc + gain
            payment = pc + gain // 2
            meetings.append(
                Meeting(
                    provider=providers[o.p].van.id,
                    consumer=c.van.id,
                    lat=o.lat,
                    lon=o.lon,
                    start_ts=o.earliest_ts,
                    end_ts=o.earliest_ts + tr,
                    energy_wh=share + o.det_c_wh,
                    discharged_wh=out,
                    provider_detour_wh=o.det_p_wh,
                    provider_leg=pool.leg_slot(o.p, o.leg_p)[0],
                    consumer_leg=o.leg_c,
                    cost=pc + cc,
                    provider_cost=pc,
                    consumer_cost=cc,
                    outside_share=part,
                    payment=payment,
                    provider_surplus=payment - pc,
                    consumer_surplus=part - cc - payment,
                    provider_slot=pool.leg_slot(o.p, o.leg_p)[1],
                )
            )
    meetings.sort(key=lambda m: (m.start_ts, m.provider, m.consumer))
    return meetings, fallbacks
