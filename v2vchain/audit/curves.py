"""A batch clearing as supply and demand curves, from the audit index alone.

The index keeps each committed clearing's trades as published in its commit's calldata (audit/published.py), each
naming its buy and sell order's limit price and size. The curves are those orders: demand is the buy orders by limit,
highest first, supply the sell orders by limit, lowest first, each a step as wide as the order's energy. Orders the
operator published but matched to nobody are in the calldata only, not in the index, so they are not drawn.
"""

from __future__ import annotations

from typing import Any

from .ledger.clearing import Clearing, ClearingBooks
from .trades import MECHANISM_NAMES

CURVES_SHOWN = 6  # the most recent clearings


def clearing_curves(books: ClearingBooks | None, shown: int = CURVES_SHOWN) -> list[dict[str, Any]]:
    """The most recent published clearings, newest first, each with its demand and supply steps and prices."""
    if books is None:
        return []
    published = [c for c in books.clearings.values() if any(i >= 0 for i in c.trades)]
    recent = sorted(published, key=lambda c: c.committed.position, reverse=True)[:shown]
    return [curves_of(c) for c in recent]


def curves_of(c: Clearing) -> dict[str, Any]:
    trades = sorted((t for t in c.trades.values() if t.index >= 0), key=lambda t: t.index)
    demand: dict[tuple[str, int], dict[str, Any]] = {}
    supply: dict[tuple[str, int], dict[str, Any]] = {}
    for t in trades:
        a = t.a
        demand.setdefault(
            (t.buyer, int(a["buyerNonce"])),
            {"owner": t.buyer, "limit_per_wh": int(a["buyerLimit"]), "energy_wh": int(a["buyerOrderWh"])},
        )
        supply.setdefault(
            (t.seller, int(a["sellerNonce"])),
            {"owner": t.seller, "limit_per_wh": int(a["sellerLimit"]), "energy_wh": int(a["sellerOrderWh"])},
        )
    funded = [t for t in trades if t.funded]
    prices = sorted({t.price for t in funded})
    seller_prices = sorted({t.seller_price for t in funded})
    return {
        "clearing_id": str(c.clearing_id),  # beyond JSON's safe integers: operator << 96 | sequence
        "operator": c.operator,
        "mechanism": MECHANISM_NAMES.get(c.mechanism_id, f"mechanism-{c.mechanism_id}"),
        "committed_at": c.committed.timestamp,
        "trades": len(trades),
        "funded": len(funded),
        "traded_wh": sum(t.energy_wh for t in funded),
        # one uniform price (double auctions; McAfee's buyers), else None: each trade has its own (matchings)
        "clearing_price_per_wh": prices[0] if len(prices) == 1 else None,
        "seller_price_per_wh": seller_prices[0] if len(seller_prices) == 1 else None,
        "prices_per_wh": prices,
        "demand": sorted(demand.values(), key=lambda o: (-o["limit_per_wh"], o["owner"])),
        "supply": sorted(supply.values(), key=lambda o: (o["limit_per_wh"], o["owner"])),
    }
