"""One line of numbers per clearing, costed with the same pair model whatever the mechanism: for comparisons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .costs import distance_m, pair_costs, window_overlap_s
from .params import ClearingParams
from .result import ClearingResult


@dataclass(frozen=True)
class Summary:
    mechanism: str
    trades: int
    energy_wh: int
    gains: int  # sum of q x (bid - ask)
    pair_costs: int  # every trade is one meeting, costed by the pair model
    buyers_saving: int
    sellers_saving: int
    operator_surplus: int
    mean_detour_km: float
    infeasible_trades: int  # windows too short for drive + transfer (mechanisms blind to windows)

    @property
    def welfare(self) -> int:
        return self.gains - self.pair_costs


def summarise(result: ClearingResult, params: ClearingParams) -> Summary:
    t = result.trades
    q = _column([x.energy_wh for x in t])
    dist = distance_m(
        _column([x.buyer.area_lat for x in t], np.float64),
        _column([x.buyer.area_lon for x in t], np.float64),
        _column([x.seller.area_lat for x in t], np.float64),
        _column([x.seller.area_lon for x in t], np.float64),
    )
    costs = pair_costs(dist, q, params.costs)
    overlap = window_overlap_s(
        _column([x.buyer.window_start_ts for x in t]),
        _column([x.buyer.window_end_ts for x in t]),
        _column([x.seller.window_start_ts for x in t]),
        _column([x.seller.window_end_ts for x in t]),
    )
    gains = sum(x.energy_wh * (x.buyer.limit_price_per_wh - x.seller.limit_price_per_wh) for x in t)
    return Summary(
        mechanism=result.mechanism,
        trades=len(t),
        energy_wh=result.energy_wh,
        gains=gains,
        pair_costs=int(costs.total.sum()),
        buyers_saving=result.buyers_saving,
        sellers_saving=result.sellers_saving,
        operator_surplus=result.operator_surplus,
        mean_detour_km=float(dist.mean()) / 1000 if len(t) else 0.0,
        infeasible_trades=int((overlap < costs.required_s).sum()),
    )


def _column(values: list[Any], dtype: type = np.int64) -> np.ndarray:
    return np.array(values, dtype=dtype)
