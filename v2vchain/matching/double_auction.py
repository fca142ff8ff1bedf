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
from .crossing import filled, segments_of_curves
from .orders import Order
from .params import ClearingParams
from .pricing import k_price
from .result import ClearingResult, Trade, assemble

MECHANISM = "double-auction-k"


def double_auction(orders: Iterable[Order], params: ClearingParams) -> ClearingResult:
    return clear_double_auction(make_book(orders), params)


def clear_double_auction(book: Book, params: ClearingParams) -> ClearingResult:
    buy_idx, sell_idx, energy, price, buy_filled, sell_filled = cross(
        book.buys.price, book.buys.energy, book.sells.price, book.sells.energy, params.k
    )
    buys, sells = book.buys.orders, book.sells.orders
    trades = [
        Trade(buys[i], sells[j], q, price, price)
        for i, j, q in zip(buy_idx.tolist(), sell_idx.tolist(), energy.tolist())
    ]
    return assemble(MECHANISM, book, trades, buy_filled, sell_filled, params.grid)


def cross(
    bid: np.ndarray, bid_wh: np.ndarray, ask: np.ndarray, ask_wh: np.ndarray, k: Fraction
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, np.ndarray, np.ndarray]:
    """The flows (buyer index, seller index, Wh), the uniform price and how much of each bid and ask trades, on
    columns already in book order."""
    bid_cum, ask_cum = np.cumsum(bid_wh), np.cumsum(ask_wh)
    total = min(int(bid_cum[-1]), int(ask_cum[-1])) if len(bid) and len(ask) else 0
    # the traded volume: the first Wh where the bid no longer covers the ask. Bids fall and asks rise along the
    # curve, so a binary search over Wh (~33 steps), and flows are laid out only up to it
    volume, high_wh = 0, total
    while volume < high_wh:
        mid = (volume + high_wh) // 2
        if bid[np.searchsorted(bid_cum, mid, "right")] >= ask[np.searchsorted(ask_cum, mid, "right")]:
            volume = mid + 1
        else:
            high_wh = mid
    if volume == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, 0, np.zeros(len(bid), dtype=np.int64), np.zeros(len(ask), dtype=np.int64)
    buy_idx, sell_idx, energy = segments_of_curves(bid_cum, ask_cum, volume)
    low, high = int(ask[sell_idx[-1]]), int(bid[buy_idx[-1]])
    next_bid = np.searchsorted(bid_cum, volume, "right")  # the first bid with energy left
    next_ask = np.searchsorted(ask_cum, volume, "right")
    if next_bid < len(bid):
        low = max(low, int(bid[next_bid]))
    if next_ask < len(ask):
        high = min(high, int(ask[next_ask]))
    price = k_price(low, high, k)
    return buy_idx, sell_idx, energy, price, filled(bid_cum, bid_wh, volume), filled(ask_cum, ask_wh, volume)
