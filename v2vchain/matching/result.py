"""What every mechanism returns: integer trades, the grid fallback of what was not traded, and the books' totals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .book import Book
from .orders import Order
from .params import GridPrices


class Trade(NamedTuple):
    """One delivery: buyer pays price_per_wh, seller receives seller_price_per_wh (the two differ only under trade
    reduction, where the operator keeps the spread)."""

    buyer: Order
    seller: Order
    energy_wh: int
    price_per_wh: int
    seller_price_per_wh: int

    @property
    def payment(self) -> int:
        return self.energy_wh * self.price_per_wh

    @property
    def receipt(self) -> int:
        return self.energy_wh * self.seller_price_per_wh


class Unmatched(NamedTuple):
    """The part of an order no vehicle took, and what the grid charges (buyer) or pays (seller) for it."""

    order: Order
    energy_wh: int
    grid_price_per_wh: int


@dataclass(frozen=True)
class Satisfaction:
    """Stable matching's second-stage score: the rank (1 = first choice) of each trade's partner."""

    buyer_ranks: tuple[int, ...]  # aligned with trades: the buyer's rank of its seller
    seller_ranks: tuple[int, ...]

    @property
    def mean_buyer_rank(self) -> float:
        return sum(self.buyer_ranks) / len(self.buyer_ranks) if self.buyer_ranks else 0.0

    @property
    def mean_seller_rank(self) -> float:
        return sum(self.seller_ranks) / len(self.seller_ranks) if self.seller_ranks else 0.0


@dataclass(frozen=True)
class ClearingResult:
    mechanism: str
    trades: tuple[Trade, ...]
    unmatched_buyers: tuple[Unmatched, ...]
    unmatched_sellers: tuple[Unmatched, ...]
    grid: GridPrices
    satisfaction: Satisfaction | None = None
    marginal: tuple[Order, Order] | None = None  # trade reduction's dropped (buyer, seller): the commit names them

    @property
    def energy_wh(self) -> int:
        return sum(t.energy_wh for t in self.trades)

    @property
    def buyers_paid(self) -> int:
        return sum(t.payment for t in self.trades)

    @property
    def sellers_received(self) -> int:
        return sum(t.receipt for t in self.trades)

    @property
    def operator_surplus(self) -> int:
        """Trade reduction's spread, kept by the operator (zero for every other mechanism)."""
        return self.buyers_paid - self.sellers_received

    @property
    def buyers_saving(self) -> int:
        """What buyers saved on the traded energy against importing it from the grid."""
        return self.energy_wh * self.grid.import_per_wh - self.buyers_paid

    @property
    def sellers_saving(self) -> int:
        """What sellers earned on the traded energy above exporting it to the grid."""
        return self.sellers_received - self.energy_wh * self.grid.export_per_wh


def assemble(
    mechanism: str,
    book: Book,
    trades: Sequence[Trade],
    buy_traded: np.ndarray,
    sell_traded: np.ndarray,
    grid: GridPrices,
    satisfaction: Satisfaction | None = None,
    marginal: tuple[Order, Order] | None = None,
) -> ClearingResult:
    """The result, with each order's untraded rest (its energy minus what it traded, aligned with the book)."""
    return ClearingResult(
        mechanism=mechanism,
        trades=tuple(trades),
        unmatched_buyers=_rests(book.buys.orders, book.buys.energy - buy_traded, grid.import_per_wh),
        unmatched_sellers=_rests(book.sells.orders, book.sells.energy - sell_traded, grid.export_per_wh),
        grid=grid,
        satisfaction=satisfaction,
        marginal=marginal,
    )


def _rests(orders: tuple[Order, ...], rest: np.ndarray, grid_price: int) -> tuple[Unmatched, ...]:
    index = np.flatnonzero(rest > 0)
    return tuple(Unmatched(orders[i], r, grid_price) for i, r in zip(index.tolist(), rest[index].tolist()))
