"""One view of a clearing's trades and rests, from the object path or the columnar path, for comparing the two."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

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


def file_members(orders: list[Order], **replaced: np.ndarray) -> dict[str, np.ndarray]:
    """The members of an order file of these orders (format included), some replaced."""
    cols = columnar.from_orders(orders)
    names = (*columnar.ORDER_COLUMNS, *columnar.CELL_COLUMNS)
    return {"format": np.array(columnar.FORMAT), **{n: getattr(cols, n) for n in names}, **replaced}


def saved(path: Path, orders: list[Order], *, compressed: bool = False, **replaced: np.ndarray) -> Path:
    """numpy's own .npz of the orders' members, some replaced: any dtype and shape numpy writes."""
    (np.savez_compressed if compressed else np.savez)(path, **file_members(orders, **replaced))
    return path


def claiming(path: Path, orders: list[Order], name: str, shape: tuple[int, ...]) -> Path:
    """A compressed order file whose member `name` has a header claiming `shape` and holds 64 bytes of data."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, array in file_members(orders).items():
            buffer = io.BytesIO()
            if member == name:
                header = {"descr": array.dtype.str, "fortran_order": False, "shape": shape}
                np.lib.format.write_array_header_1_0(buffer, header)
                buffer.write(bytes(64))
            else:
                np.lib.format.write_array(buffer, array)
            archive.writestr(f"{member}.npy", buffer.getvalue())
    return path
