"""The seller's automatic bidding policy: undercut the best bid seen, never below its own cost."""

from __future__ import annotations

from .config import PricingSettings


def cost_floor_per_wh(p: PricingSettings) -> int:
    """Selling a Wh costs what the grid would have paid for it (export price) plus the battery wear of cycling it."""
    return p.grid_export_price_per_wh + p.degradation_per_wh + p.margin_per_wh


def bid_price(p: PricingSettings, *, max_price_per_wh: int, best_price_per_wh: int | None = None) -> int | None:
    """The price to offer, or None when the buyer's maximum (or the best rival) is below this seller's floor.

    A signed bid is sealed (only the buyer sees it), so it shades between floor and maximum; an open on-chain
    auction with a known best bid is undercut by one step.
    """
    floor = cost_floor_per_wh(p)
    if best_price_per_wh is None:
        target = floor + (max_price_per_wh - floor) * p.shade_pct // 100
    else:
        target = min(best_price_per_wh - p.undercut_per_wh, max_price_per_wh)
    return target if floor <= target <= max_price_per_wh else None
