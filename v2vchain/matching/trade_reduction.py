"""McAfee's trade reduction (McAfee 1992, "A dominant strategy double auction"): budget balanced, the operator
keeps the spread; truthful in price for unit orders.

Orders are McAfee's units: with bids b1 >= b2 >= ... and asks s1 <= s2 <= ... (book order), k is the last index
with b_k >= s_k. If both b_{k+1} and s_{k+1} exist and p0 = floor((b_{k+1} + s_{k+1}) / 2) lies in [s_k, b_k],
the first k buyers and sellers trade at p0; otherwise the first k-1 trade, buyers paying b_k and sellers receiving
s_k. Energy is divisible: the traders' volume is min(demand, supply), and the longer side is rationed in proportion
to its orders' energy (largest remainder; leftover Wh to the larger remainder, then lower nonce, then owner), so a
trader's share never depends on its own price. Flows are then laid out in book order.

McAfee's truthfulness theorem covers unit orders (every order the same energy); the tests check it there. With
divisible orders a seller can gain by under-reporting, because its price decides its place in the book and so which
orders trade beside it (tests/matching/test_trade_reduction.py pins such a book).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .book import Book, SideBook, make_book
from .crossing import segments
from .orders import Order
from .params import ClearingParams
from .result import ClearingResult, Trade, assemble

MECHANISM = "mcafee-trade-reduction"


def trade_reduction(orders: Iterable[Order], params: ClearingParams) -> ClearingResult:
    return clear_trade_reduction(make_book(orders), params)


def clear_trade_reduction(book: Book, params: ClearingParams) -> ClearingResult:
    buy_alloc, sell_alloc, buyer_price, seller_price = allocate(book)
    buy_idx, sell_idx, energy = segments(buy_alloc, sell_alloc)  # every flow > 0 Wh: an order rationed to 0 ends none
    buys, sells = book.buys.orders, book.sells.orders
    trades = [
        Trade(buys[i], sells[j], q, buyer_price, seller_price)
        for i, j, q in zip(buy_idx.tolist(), sell_idx.tolist(), energy.tolist())
    ]
    at = marginal_position(book.buys.price, book.sells.price)
    marginal = None if at is None else (buys[at], sells[at])
    return assemble(MECHANISM, book, trades, buy_alloc, sell_alloc, params.grid, marginal=marginal)


def allocate(book: Book) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Each order's traded Wh (aligned with the book) and the buyers' and sellers' prices: the first `traders` orders
    of each side trade, the longer side rationed (only those orders are scaled; the others trade nothing)."""
    traders, buyer_price, seller_price = mcafee_prices(book.buys.price, book.sells.price)
    buy_first, sell_first = book.buys.energy[:traders], book.sells.energy[:traders]
    volume = min(int(buy_first.sum()), int(sell_first.sum()))
    buy_alloc = _padded(_ration(book.buys, buy_first, volume), len(book.buys))
    return buy_alloc, _padded(_ration(book.sells, sell_first, volume), len(book.sells)), buyer_price, seller_price


def mcafee_prices(bid: np.ndarray, ask: np.ndarray) -> tuple[int, int, int]:
    """(number of trading orders per side, buyers' price, sellers' price) on prices in book order."""
    m = min(len(bid), len(ask))
    crosses = bid[:m] >= ask[:m]  # True..True False..False
    k = int(np.argmin(crosses)) if m and not crosses.all() else m
    if k == 0:
        return 0, 0, 0
    b_k, s_k = int(bid[k - 1]), int(ask[k - 1])
    if k < len(bid) and k < len(ask):
        p0 = (int(bid[k]) + int(ask[k])) // 2
        if s_k <= p0 <= b_k:
            return k, p0, p0
    return k - 1, b_k, s_k


def marginal_position(bid: np.ndarray, ask: np.ndarray) -> int | None:
    """The book position (the same on both sides) of the marginal pair McAfee drops, whose limits are the two prices
    and which Clearing.commit must name; None when no spread needs it (all k pairs trade at p0, or b_k = s_k)."""
    traders, buyer_price, seller_price = mcafee_prices(bid, ask)
    return traders if buyer_price != seller_price else None


def _padded(alloc: np.ndarray, n: int) -> np.ndarray:
    """alloc for the first orders of a side, nothing for the other n - len(alloc)."""
    padded = np.zeros(n, dtype=np.int64)
    padded[: len(alloc)] = alloc
    return padded


def _ration(side: SideBook, alloc: np.ndarray, volume: int) -> np.ndarray:
    """Scale alloc down to `volume` Wh in proportion (Hamilton's largest remainder), independently of prices."""
    total = int(alloc.sum())
    if total <= volume:
        return alloc
    if int(alloc.max()) * volume < 2**63:
        scaled = alloc * volume
    else:  # Python ints beyond int64
        scaled = alloc.astype(object) * volume
    share, remainder = (np.asarray(column, dtype=np.int64) for column in np.divmod(scaled, total))  # < total: fits
    leftover = volume - int(share.sum())
    if leftover:
        share[_largest_remainders(side, remainder, leftover)] += 1
    return share


def _largest_remainders(side: SideBook, remainder: np.ndarray, count: int) -> np.ndarray:
    """The positions of the first `count` orders by (remainder descending, nonce, owner key, position): only the
    membership matters, so every order above the count-th largest remainder, and those at it ordered by the rest of
    the rule. One numpy.sort of the remainders and a lexsort of the one tied group (a lexsort of every order with a
    remainder took ~24 ms of a 1M-order clearing: its remainders take few values). count < the number of orders with
    a remainder, the only ones that can get a Wh."""
    owed = np.flatnonzero(remainder)  # the others (most of a long side, at remainder 0) would all tie
    owed_remainder = remainder[owed]
    threshold = np.sort(owed_remainder)[-count]
    above = owed[owed_remainder > threshold]
    tied = owed[owed_remainder == threshold]
    nonce, owner_key = side.tie_keys(tied)
    first = np.lexsort((tied, owner_key, nonce))[: count - len(above)]
    return np.concatenate((above, tied[first]))
