"""Uniform-price double auction with k-pricing (Xu et al.): one venue, one clearing period, divisible energy.

Bids sorted descending and asks ascending (book.py's tie-break), laid out Wh by Wh; every Wh where the bid still
covers the ask trades. A large order may be split across several counterparties, and the marginal order may be
part-filled (its rest goes to the grid). Everyone trades at one price: k-pricing inside the interval of
market-clearing prices [max(last ask, first unfilled bid), min(last bid, first unfilled ask)], so no filled order
is beyond its limit and no unfilled order would have accepted the price. Location and windows are ignored: the
venue is one place and one period. Buyers pay exactly what sellers receive.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

import numpy as np

from .book import Book, make_book
from .crossing import filled, segments
from .orders import Order
from .params import ClearingParams
from .pricing import k_price
from .result import ClearingResult, Trade, assemble

MECHANISM = "double-auction-k"


def double_auction(orders: Iterable[Order], params: ClearingParams) -> ClearingResult:
    return clear_double_auction(make_book(orders), params)


def clear_double_auction(book: Book, params: ClearingParams) -> ClearingResult:
    buy_idx, sell_idx, energy, price = cross(
        book.buys.price, book.buys.energy, book.sells.price, book.sells.energy, params.k
    )
    volume = int(energy.sum())
    buys, sells = book.buys.orders, book.sells.orders
    trades = [
        Trade(buys[i], sells[j], q, price, price)
        for i, j, q in zip(buy_idx.tolist(), sell_idx.tolist(), energy.tolist())
    ]
    return assemble(
        MECHANISM, book, trades, filled(book.buys.energy, volume), filled(book.sells.energy, volume), params.grid
    )


def cross(
    bid: np.ndarray, bid_wh: np.ndarray, ask: np.ndarray, ask_wh: np.ndarray, k: Fraction
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The flows (buyer index, seller index, Wh) and the uniform price, on columns already in book order."""
    buy_idx, sell_idx, energy = segments(bid_wh, ask_wh)
    crosses = bid[buy_idx] >= ask[sell_idx]  # True..True False..False: bids fall and asks rise along the curve
    crossing = len(crosses) if crosses.all() else int(np.argmin(crosses))
    if crossing == 0:
        return buy_idx[:0], sell_idx[:0], energy[:0], 0
    buy_idx, sell_idx, energy = buy_idx[:crossing], sell_idx[:crossing], energy[:crossing]
    volume = int(energy.sum())
    low, high = int(ask[sell_idx[-1]]), int(bid[buy_idx[-1]])
    next_bid = np.searchsorted(np.cumsum(bid_wh), volume, "right")  # the first bid with energy left
    next_ask = np.searchsorted(np.cumsum(ask_wh), volume, "right")
    if next_bid < len(bid):
        low = max(low, int(bid[next_bid]))
    if next_ask < len(ask):
        high = min(high, int(ask[next_ask]))
    return buy_idx, sell_idx, energy, k_price(low, high, k)
