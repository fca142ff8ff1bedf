"""One view of a clearing's trades and rests, from the object path or the columnar path, for comparing the two."""

from __future__ import annotations

import numpy as np

from v2vchain.matching import Order, columnar
from v2vchain.matching.result import ClearingResult


def as_keys(result: ClearingResult) -> tuple[list, list]:
    trades = [(t.buyer.key, t.seller.key, t.energy_wh, t.price_per_wh, t.seller_price_per_wh) for t in result.trades]
    rests = [(u.order.key, u.energy_wh) for u in result.unmatched_buyers + result.unmatched_sellers]
    return trades, sorted(rests)


def columnar_keys(orders: list[Order], cleared: columnar.ClearedColumns) -> tuple[list, list]:
    """The same view of the columnar result, read through the commit's order list."""
    cols = columnar.from_orders(orders)
    keys = [orders[r].key for r in cleared.order_rows.tolist()]
    trades = [
        (keys[b], keys[s], q, p, sp)
        for b, s, q, p, sp in zip(
            cleared.buyer_order.tolist(),
            cleared.seller_order.tolist(),
            cleared.energy_wh.tolist(),
            cleared.price_per_wh.tolist(),
            cleared.seller_price_per_wh.tolist(),
        )
    ]
    rest = cols.energy_wh - cleared.traded_wh
    rests = [(orders[r].key, int(rest[r])) for r in np.flatnonzero(rest > 0).tolist()]
    return trades, sorted(rests)
