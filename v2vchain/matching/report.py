"""Each side's net surplus against its outside option, costed with one pair model whatever the mechanism: for
comparing clearings.

A buyer's net surplus is what its station (outside.py; the grid import price without stations) would have charged
for the energy it received, minus what it paid and its share of the pair's cheapest meeting (costs.py: its detour
and its time during the transfer); a seller's is what it received minus the grid export it forwent and its share
(detour, time during the transfer, losses and wear). A trade with no meeting that fits both plans (mechanisms blind
to routes and windows) delivers nothing and moves no money, but both sides still make their detours to its cheapest
meeting point and the buyer still buys at its station. Welfare is the sum of the net surpluses and the operator's
spread, so a clearing that leaves its users worse off than their outside options scores below zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .costs import pair_costs
from .legs import order_legs
from .outside import buyer_saving
from .params import ClearingParams
from .result import ClearingResult

OrderKey = tuple[str, int]


@dataclass(frozen=True)
class NetSurplus:
    """Per order (by (owner, nonce)) that traded: its net surplus against its outside option, in token units."""

    buyers: dict[OrderKey, int]
    sellers: dict[OrderKey, int]
    operator: int  # trade reduction's spread on delivered trades
    delivered_wh: int
    infeasible_trades: int
    mean_detour_km: float

    @property
    def welfare(self) -> int:
        return sum(self.buyers.values()) + sum(self.sellers.values()) + self.operator


@dataclass(frozen=True)
class Summary:
    mechanism: str
    trades: int
    delivered_wh: int
    infeasible_trades: int  # no meeting fits both plans with the transfer: nothing delivered
    mean_detour_km: float
    buyers_net: int
    sellers_net: int
    operator_surplus: int
    buyers_worse_off: int  # buyers left below their outside option
    sellers_worse_off: int

    @property
    def welfare(self) -> int:
        return self.buyers_net + self.sellers_net + self.operator_surplus


def net_surpluses(result: ClearingResult, params: ClearingParams) -> NetSurplus:
    t = result.trades
    q = _column([x.energy_wh for x in t])
    each = np.arange(len(t))
    legs = order_legs([x.buyer for x in t]), order_legs([x.seller for x in t])
    costs = pair_costs(*legs, each, each, q, params.costs)
    ok = costs.feasible
    delivered = np.where(ok, q, 0)
    payment = np.where(ok, q * _column([x.price_per_wh for x in t]), 0)
    receipt = np.where(ok, q * _column([x.seller_price_per_wh for x in t]), 0)
    # no transfer: no time transferring, no losses, no wear; only the detours
    buyer_net = np.where(ok, -payment - costs.buyer_share, -costs.buyer_travel_cost)
    seller_net = np.where(ok, receipt - q * params.grid.export_per_wh - costs.seller_share, -costs.seller_travel_cost)
    buyers = _by_order([x.buyer.key for x in t], buyer_net)
    sellers = _by_order([x.seller.key for x in t], seller_net)
    served = _by_order([x.buyer.key for x in t], delivered)
    first = {x.buyer.key: x.buyer for x in reversed(t)}
    keys = list(served)
    saving = buyer_saving(
        order_legs([first[k] for k in keys]),
        np.arange(len(keys)),
        _column([first[k].energy_wh for k in keys]),
        _column([served[k] for k in keys]),
        params.stations,
        params.costs,
        params.grid.import_per_wh,
    )
    for k, s in zip(keys, saving.tolist()):
        buyers[k] += s
    return NetSurplus(
        buyers=buyers,
        sellers=sellers,
        operator=int((payment - receipt).sum()),
        delivered_wh=int(delivered.sum()),
        infeasible_trades=int((~ok).sum()),
        mean_detour_km=float(costs.distance_m.mean()) / 1000 if len(t) else 0.0,
    )


def summarise(result: ClearingResult, params: ClearingParams) -> Summary:
    n = net_surpluses(result, params)
    return Summary(
        mechanism=result.mechanism,
        trades=len(result.trades),
        delivered_wh=n.delivered_wh,
        infeasible_trades=n.infeasible_trades,
        mean_detour_km=n.mean_detour_km,
        buyers_net=sum(n.buyers.values()),
        sellers_net=sum(n.sellers.values()),
        operator_surplus=n.operator,
        buyers_worse_off=sum(v < 0 for v in n.buyers.values()),
        sellers_worse_off=sum(v < 0 for v in n.sellers.values()),
    )


def ranked(summaries: list[Summary]) -> list[Summary]:
    """Best clearing first: by welfare against the outside options (never by volume), then by mechanism name."""
    return sorted(summaries, key=lambda s: (-s.welfare, s.mechanism))


def _by_order(keys: list[OrderKey], values: np.ndarray) -> dict[OrderKey, int]:
    out: dict[OrderKey, int] = {}
    for k, v in zip(keys, values.tolist()):
        out[k] = out.get(k, 0) + v
    return out


def _column(values: list[Any], dtype: type = np.int64) -> np.ndarray:
    return np.array(values, dtype=dtype)
