"""The order book of one clearing: checked as a set, split by side, sorted by the one tie-break rule.

Canonical order (every mechanism's tie-break): buyers by limit price descending, sellers ascending; then nonce
ascending; then owner address ascending (lower-case hex). (owner, nonce) is unique in a book, so the order is total
and any permutation of the input yields the same book.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .errors import DuplicateOrder, OwnerOnBothSides
from .legs import OrderLegs, order_legs
from .orders import MAX_PRICE_PER_WH, Order, Side


class SideBook:
    """One side's orders in canonical order; the sort keys' columns come with it, the others on first use."""

    def __init__(self, side: Side, orders: Sequence[Order]) -> None:
        self.side = side
        n = len(orders)
        price = np.fromiter((o.limit_price_per_wh for o in orders), np.int64, n)
        nonce = np.fromiter((o.nonce for o in orders), np.uint64, n)
        owner_key = np.fromiter((o.owner_key for o in orders), np.uint64, n)
        index = _canonical_order(side, orders, price, nonce, owner_key)
        self.orders: tuple[Order, ...] = tuple(map(orders.__getitem__, index.tolist()))
        self.price, self.nonce, self.owner_key = price[index], nonce[index], owner_key[index]

    def __len__(self) -> int:
        return len(self.orders)

    def tie_keys(self, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(nonce, owner key) of the orders at these positions: the keys a rationing's ties are broken by."""
        return self.nonce[at], self.owner_key[at]

    def _column(self, name: str, dtype: type) -> np.ndarray:
        return np.fromiter((getattr(o, name) for o in self.orders), dtype, len(self.orders))

    @cached_property
    def energy(self) -> np.ndarray:
        return self._column("energy_wh", np.int64)

    @cached_property
    def lat(self) -> np.ndarray:
        return self._column("area_lat", np.float64)

    @cached_property
    def lon(self) -> np.ndarray:
        return self._column("area_lon", np.float64)

    @cached_property
    def start(self) -> np.ndarray:
        return self._column("window_start_ts", np.int64)

    @cached_property
    def end(self) -> np.ndarray:
        return self._column("window_end_ts", np.int64)

    @cached_property
    def legs(self) -> OrderLegs:
        return order_legs(self.orders)


@dataclass(frozen=True)
class Book:
    buys: SideBook
    sells: SideBook


def make_book(orders: Iterable[Order]) -> Book:
    """Check the set (no duplicate (owner, nonce), no owner on both sides) and sort each side canonically."""
    orders = list(orders)
    _check_set(orders)
    buys = [o for o in orders if o.side is Side.BUY]
    sells = [o for o in orders if o.side is Side.SELL]
    return Book(SideBook(Side.BUY, buys), SideBook(Side.SELL, sells))


def sort_key(order: Order) -> tuple[int, int, str]:
    """The canonical key in Python (for tests and audits); _canonical_order is its vectorised twin."""
    price = order.limit_price_per_wh
    return (-price if order.side is Side.BUY else price), order.nonce, order.owner


def _canonical_order(
    side: Side, orders: Sequence[Order], price: np.ndarray, nonce: np.ndarray, owner_key: np.ndarray
) -> np.ndarray:
    if not len(orders):
        return np.zeros(0, dtype=np.int64)
    if side is Side.BUY:
        price = MAX_PRICE_PER_WH - price
    if int(nonce.max()) < 2**33:  # price < 2**30, so (price, nonce) packs into one int64 key: one sort fewer
        index = np.lexsort((owner_key, (price << 33) | nonce.astype(np.int64)))
    else:
        index = np.lexsort((owner_key, nonce, price))
    # owner_key is the owner's first 64 bits: rows equal on all three keys are re-sorted on the full address
    same = (
        (price[index[1:]] == price[index[:-1]])
        & (nonce[index[1:]] == nonce[index[:-1]])
        & (owner_key[index[1:]] == owner_key[index[:-1]])
    )
    for run_start, run_end in _runs(same):
        index[run_start:run_end] = sorted(index[run_start:run_end].tolist(), key=lambda i: orders[i].owner)
    return index


def _check_set(orders: Sequence[Order]) -> None:
    owner_key = np.fromiter((o.owner_key for o in orders), np.uint64, len(orders))
    index = np.argsort(owner_key, kind="stable")
    same = owner_key[index[1:]] == owner_key[index[:-1]]
    sides: dict[str, Side] = {}
    seen: set[tuple[str, int]] = set()
    for run_start, run_end in _runs(same):  # only owners with several orders (or a 64-bit prefix clash)
        for i in index[run_start:run_end].tolist():
            order = orders[i]
            if order.key in seen:
                raise DuplicateOrder(order.owner, order.nonce)
            seen.add(order.key)
            if sides.setdefault(order.owner, order.side) is not order.side:
                raise OwnerOnBothSides(order.owner)


def _runs(same_as_next: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of >= 2 consecutive equal rows, given row i == row i+1 flags."""
    if not same_as_next.any():
        return []
    flags = np.concatenate(([False], same_as_next, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(flags))
    return [(int(a), int(b) + 1) for a, b in zip(edges[::2], edges[1::2])]
