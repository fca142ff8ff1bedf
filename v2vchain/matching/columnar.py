"""Orders as columns, from a file on disk to the trades ready to commit: the k double auction and McAfee's trade
reduction over a million orders without a Python object per order (Order objects alone cost ~9 s at 1M).

On disk (`write`, `read`): one uncompressed .npz (numpy's zip of .npy arrays) holding `format` = "v2v-orders/1" and
one array per column; row i of every order column is order i, and `cell` indexes a table of cloaked areas. Every row
is a parked order (no route: its signed routeHash is zero; from_orders refuses a routed one):

    owner         uint8 (n, 20)  the owner's address, 20 bytes
    side          uint8          1 buy, 2 sell (Side)
    energy_wh     int64
    price_per_wh  int64          the limit price in token units per Wh
    nonce         uint64
    window_start  int64          unix seconds
    window_end    int64
    expiry        int64
    cell          uint32         row of the cell table
    cell_id       S12            the cell table: geohash cells (ASCII)
    cell_lat      float64        and the centres the cost model sees
    cell_lon      float64

`write` places each member's data at a multiple of 64 bytes in the file, so `read` maps the columns in place, read-only
(it copies a column np.savez left unaligned; numpy's reader for a compressed file), then checks every rule Order
checks, vectorised, and raises the error Order raises for the first bad row. The book and the crossing run the object
path's own functions (crossing.py, double_auction.cross, trade_reduction.allocate) on columns sorted by the same
canonical rule, so the trades are the same, in the same sequence. They come out as columns indexing the orders sorted
by (owner, nonce): the order list Clearing.commit publishes, which the book is sorted from.
"""

from __future__ import annotations

import math
import mmap
import struct
import tokenize
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, cast

import numpy as np

from v2vchain.errors import InvalidInput
from v2vchain.privacy.geohash import BASE32

from .crossing import segments
from .double_auction import MECHANISM as DOUBLE_AUCTION
from .double_auction import cross
from .errors import DuplicateOrder, InvalidArea, OwnerOnBothSides, RoutedOrderInColumns
from .legs import OrderLegs, parked_legs
from .orders import MAX_ENERGY_WH, MAX_PRICE_PER_WH, MAX_TS, MAX_WINDOW_S, Order, Side
from .params import ClearingParams
from .result import Trade
from .sorting import packed_prefix, sorted_rows, sorted_rows_and_ties
from .trade_reduction import MECHANISM as TRADE_REDUCTION
from .trade_reduction import allocate, marginal_position

FORMAT = "v2v-orders/1"
ORDER_COLUMNS: dict[str, np.dtype[Any]] = {
    "owner": np.dtype(np.uint8),
    "side": np.dtype(np.uint8),
    "energy_wh": np.dtype(np.int64),
    "price_per_wh": np.dtype(np.int64),
    "nonce": np.dtype(np.uint64),
    "window_start": np.dtype(np.int64),
    "window_end": np.dtype(np.int64),
    "expiry": np.dtype(np.int64),
    "cell": np.dtype(np.uint32),
}
CELL_COLUMNS: dict[str, np.dtype[Any]] = {
    "cell_id": np.dtype("S12"),
    "cell_lat": np.dtype(np.float64),
    "cell_lon": np.dtype(np.float64),
}
_ALIGN = 64  # write places every member's data at a multiple of 64 bytes in the file
_PAD_ID, _PAD_HEADER, _ZIP64_EXTRA = 0xD935, 4, 20  # the padding extra field (zipalign's id) and its header
_CHECK_CHUNK = 1 << 17  # rows per chunk of the range checks: ~1 MiB per int64 column, within the L2 cache
_ENERGY_BITS = MAX_ENERGY_WH.bit_length()  # 20: a price (< 2**30) and an energy pack into one int64
_GEOHASH_BYTE = np.zeros(256, dtype=bool)
_GEOHASH_BYTE[np.frombuffer(BASE32.encode(), np.uint8)] = True


@dataclass(frozen=True)
class OrderColumns:
    """A set of orders as parallel arrays (dtypes as in the module docstring)."""

    owner: np.ndarray
    side: np.ndarray
    energy_wh: np.ndarray
    price_per_wh: np.ndarray
    nonce: np.ndarray
    window_start: np.ndarray
    window_end: np.ndarray
    expiry: np.ndarray
    cell: np.ndarray
    cell_id: np.ndarray
    cell_lat: np.ndarray
    cell_lon: np.ndarray

    def __len__(self) -> int:
        return len(self.side)

    @cached_property
    def owner_key(self) -> np.ndarray:
        """The owner's first 8 bytes as a number: Order.owner_key, the fast sort key."""
        return _word(self.owner, 0, 8)


def _word(owner: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Bytes [start, stop) of each address (a 4- or 8-byte span) as a big-endian number, so numeric order is address
    order: a strided big-endian view of the rows converted in one pass (5x faster than gathering the bytes)."""
    if not len(owner):
        return np.zeros(0, dtype=np.uint64)
    owner = np.ascontiguousarray(owner)
    view = np.ndarray((len(owner),), dtype=f">u{stop - start}", buffer=owner, offset=start, strides=(20,))
    return view.astype(np.uint64)


def from_orders(orders: Sequence[Order]) -> OrderColumns:
    """The edge in: Order objects as columns, one cell-table row per distinct (area id, centre); parked orders only
    (RoutedOrderInColumns)."""
    routed = next((o for o in orders if o.route is not None), None)
    if routed is not None:
        raise RoutedOrderInColumns(routed.owner, routed.nonce)
    cells: dict[tuple[str, float, float], int] = {}
    cell = [cells.setdefault((o.area_id, o.area_lat, o.area_lon), len(cells)) for o in orders]
    owner = np.frombuffer(b"".join(bytes.fromhex(o.owner[2:]) for o in orders), np.uint8).reshape(len(orders), 20)
    return OrderColumns(
        owner=owner.copy(),
        side=np.array([int(o.side) for o in orders], np.uint8),
        energy_wh=np.array([o.energy_wh for o in orders], np.int64),
        price_per_wh=np.array([o.limit_price_per_wh for o in orders], np.int64),
        nonce=np.array([o.nonce for o in orders], np.uint64),
        window_start=np.array([o.window_start_ts for o in orders], np.int64),
        window_end=np.array([o.window_end_ts for o in orders], np.int64),
        expiry=np.array([o.expiry_ts for o in orders], np.int64),
        cell=np.array(cell, np.uint32),
        cell_id=np.array([c[0].encode() for c in cells], CELL_COLUMNS["cell_id"]),
        cell_lat=np.array([c[1] for c in cells], np.float64),
        cell_lon=np.array([c[2] for c in cells], np.float64),
    )


def to_order(cols: OrderColumns, row: int) -> Order:
    """The edge out: one row as an Order (which checks it)."""
    cell = int(cols.cell[row])
    return Order(
        owner="0x" + cols.owner[row].tobytes().hex(),
        side=cast(Side, int(cols.side[row])),  # unchecked here: Order raises InvalidSide for 0 or 3
        energy_wh=int(cols.energy_wh[row]),
        limit_price_per_wh=int(cols.price_per_wh[row]),
        area_id=cols.cell_id[cell].decode("ascii", "replace"),
        area_lat=float(cols.cell_lat[cell]),
        area_lon=float(cols.cell_lon[cell]),
        window_start_ts=int(cols.window_start[row]),
        window_end_ts=int(cols.window_end[row]),
        nonce=int(cols.nonce[row]),
        expiry_ts=int(cols.expiry[row]),
    )


def write(path: str | Path, cols: OrderColumns) -> None:
    """np.savez's file (an uncompressed .npz that np.load reads), with every member's data 64-byte aligned in the
    file by a padding extra field, so that read maps each column in place."""
    arrays = {"format": np.array(FORMAT), **{name: getattr(cols, name) for name in (*ORDER_COLUMNS, *CELL_COLUMNS)}}
    with open(path, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            # the member's .npy starts after the local header (30 bytes), its name, this padding and the zip64
            # extra (20 bytes, forced below); the .npy header itself is a multiple of 64 bytes
            before = f.tell() + 30 + len(info.filename) + _PAD_HEADER + _ZIP64_EXTRA
            info.extra = struct.pack("<HH", _PAD_ID, -before % _ALIGN) + bytes(-before % _ALIGN)
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def read(path: str | Path) -> OrderColumns:
    """The orders in a file, checked as Order checks them (InvalidInput for a file that is not this format). The
    columns of a stored file are read-only views of one private read-only map of it (see _mapped_arrays)."""
    arrays = _mapped_arrays(path)
    if arrays is None:  # compressed or otherwise unusual members: numpy's own reader
        arrays = _loaded_arrays(path)
    if "format" not in arrays or arrays["format"].dtype.kind != "U" or str(arrays["format"]) != FORMAT:
        raise InvalidInput(f"{path} is not a {FORMAT} order file")
    for name, dtype in {**ORDER_COLUMNS, **CELL_COLUMNS}.items():
        if name not in arrays or arrays[name].dtype != np.dtype(dtype):
            raise InvalidInput(f"{path}: column {name} is missing or not {np.dtype(dtype)}")
    del arrays["format"]
    cols = OrderColumns(**arrays)
    validate(cols)
    return cols


# what numpy and zipfile raise for a file that is not what it claims: a bad CRC or header, a compression method it
# lacks, an .npy header that does not parse (tokenize), a member cut short (EOFError), corrupt deflate data (zlib)
_UNREADABLE = (
    OSError,
    ValueError,
    EOFError,
    NotImplementedError,
    zipfile.BadZipFile,
    struct.error,
    tokenize.TokenError,
    SyntaxError,
    zlib.error,
    RuntimeError,  # zipfile: an encrypted member
)


def _loaded_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """The columns by numpy's own reader (every member read into memory); InvalidInput for a file it cannot read."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in ("format", *ORDER_COLUMNS, *CELL_COLUMNS) if name in archive.files}
    except (*_UNREADABLE, MemoryError) as error:  # MemoryError: a member whose header claims more than exists
        raise InvalidInput(f"{path} is not a {FORMAT} order file: {type(error).__name__}: {error}") from None


def _expected_dtype(name: str, dtype: np.dtype[Any]) -> bool:
    """The member's dtype is the one its column must have (format: a non-empty unicode string)."""
    if name == "format":
        return dtype.kind == "U" and dtype.itemsize > 0
    return dtype == {**ORDER_COLUMNS, **CELL_COLUMNS}[name]


def _mapped_arrays(path: str | Path) -> dict[str, np.ndarray] | None:
    """The columns of an .npz whose members are stored (np.savez, write), as views of one read-only private map of
    the file: no copy (a 70 MiB read into memory cost ~7 ms of the ~40 ms a 1M-order clearing took; mapped, the
    checks that read every row fault the pages in from the page cache, 16 at a time). A column whose data is not
    aligned to its type (np.savez places members anywhere; write aligns them) is copied out. None when a member is
    compressed, Fortran-ordered, of an object dtype or not where its headers say.
    The map shows the file as it is: the file must not change while its orders are cleared (write a new file and
    rename it into place; a mapped file that is replaced keeps its old contents for this map)."""
    wanted = {f"{name}.npy": name for name in ("format", *ORDER_COLUMNS, *CELL_COLUMNS)}
    try:
        with zipfile.ZipFile(path) as archive, open(path, "rb", buffering=0) as f:
            members = []  # (name, shape, dtype, data offset in the file)
            for info in archive.infolist():
                name = wanted.get(info.filename)
                if name is None:
                    continue
                if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 1:  # compressed or encrypted
                    return None
                f.seek(info.header_offset)
                local = f.read(30)
                if len(local) != 30 or local[:4] != b"PK\x03\x04":
                    return None
                name_len, extra_len = struct.unpack("<HH", local[26:30])
                start = info.header_offset + 30 + name_len + extra_len
                f.seek(start)
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
                elif version == (2, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
                else:
                    return None
                if not _expected_dtype(name, dtype):  # a subarray or empty dtype would not even view as one
                    raise InvalidInput(f"{path}: column {name} is not {ORDER_COLUMNS.get(name, 'its type')}: {dtype}")
                if fortran or f.tell() - start + math.prod(shape) * dtype.itemsize != info.file_size:
                    return None
                members.append((name, shape, dtype, f.tell()))
            data = np.frombuffer(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ), np.uint8)
    except _UNREADABLE as error:
        raise InvalidInput(f"{path} is not a {FORMAT} order file: {error}") from error
    arrays: dict[str, np.ndarray] = {}
    for name, shape, dtype, at in members:
        end = at + math.prod(shape) * dtype.itemsize
        if end > len(data):
            return None
        column = data[at:end]
        arrays[name] = (column if at % dtype.alignment == 0 else column.copy()).view(dtype).reshape(shape)
    return arrays


def validate(cols: OrderColumns) -> None:
    """Raise what Order would raise for the first row that breaks one of its rules."""
    shapes = {name: getattr(cols, name).shape for name in (*ORDER_COLUMNS, *CELL_COLUMNS)}
    n = shapes["side"][0] if len(shapes["side"]) == 1 else -1  # a file's column may have any shape
    cells = shapes["cell_id"][0] if len(shapes["cell_id"]) == 1 else -1
    want = {name: (n,) for name in ORDER_COLUMNS} | {"owner": (n, 20)} | {name: (cells,) for name in CELL_COLUMNS}
    if n < 0 or cells < 0 or shapes != want:
        raise InvalidInput(f"columns of unequal lengths or of the wrong shapes: {shapes}")
    if n and int(cols.cell.max()) >= cells:
        row = int(np.argmax(cols.cell >= cells))
        raise InvalidArea(int(cols.cell[row]), None, None, f"row {row} names a cell beyond the {cells}-row table")
    if n and not _all_rows_valid(cols):
        _raise_for_first_bad_row(cols)


def _all_rows_valid(cols: OrderColumns) -> bool:
    """Every Order rule as a range test on whole columns: minima and maxima (SIMD reductions, no mask per rule),
    a chunk of rows at a time, so each chunk is read from cache by its second reduction and the window differences
    go to one small scratch buffer. Within a chunk each test runs only if the ones before it held, so the
    differences cannot overflow (1 <= start, expiry and end <= MAX_TS)."""
    valid_cells = _valid_cells(cols)
    if not (valid_cells.all() or valid_cells[cols.cell].all()):
        return False
    n = len(cols)
    scratch = np.empty(min(n, _CHECK_CHUNK), dtype=np.int64)
    for chunk in range(0, n, _CHECK_CHUNK):
        rows = slice(chunk, chunk + _CHECK_CHUNK)
        start, end, expiry = cols.window_start[rows], cols.window_end[rows], cols.expiry[rows]
        ranges = (
            (cols.side[rows], 1, 2),
            (cols.energy_wh[rows], 1, MAX_ENERGY_WH),
            (cols.price_per_wh[rows], 1, MAX_PRICE_PER_WH),
            (start, 1, MAX_TS),
            (end, 1, MAX_TS),
            (expiry, 1, MAX_TS),
        )
        if not all(int(column.min()) >= low and int(column.max()) <= high for column, low, high in ranges):
            return False
        window = np.subtract(end, start, out=scratch[: len(end)])
        if not (int(window.min()) >= 1 and int(window.max()) <= MAX_WINDOW_S):
            return False
        if int(np.subtract(end, expiry, out=window).min()) < 0:
            return False
    return True


def _raise_for_first_bad_row(cols: OrderColumns) -> None:
    """A mask of the rows that break a rule, and Order's own error for the first of them."""
    n = len(cols)
    start, end, expiry = cols.window_start, cols.window_end, cols.expiry
    # in place, one bool buffer for every test; x - 1 as uint64 > limit - 1 is x < 1 or x > limit (exact with wrap)
    bad = (cols.side - np.uint8(1)) > 1  # neither BUY (1) nor SELL (2)
    scratch, test = np.empty(n, dtype=np.int64), np.empty(n, dtype=bool)
    for column, limit in ((cols.energy_wh, MAX_ENERGY_WH), (cols.price_per_wh, MAX_PRICE_PER_WH)):
        np.subtract(column, 1, out=scratch)
        bad |= np.greater(scratch.view(np.uint64), np.uint64(limit - 1), out=test)
    bad |= np.logical_not(_valid_cells(cols)[cols.cell], out=test)
    bad |= np.less(start, 1, out=test)
    bad |= np.greater(end, MAX_TS, out=test)
    bad |= np.greater_equal(start, end, out=test)
    bad |= np.greater(np.subtract(end, start, out=scratch), MAX_WINDOW_S, out=test)
    bad |= np.less(expiry, 1, out=test)
    bad |= np.greater(expiry, end, out=test)
    to_order(cols, int(np.argmax(bad)))  # raises the object path's own error for that row


def _valid_cells(cols: OrderColumns) -> np.ndarray:
    raw = cols.cell_id.view(np.uint8).reshape(-1, 12)
    used = raw != 0
    padded_at_end = (np.diff(used.astype(np.int8), axis=1) <= 0).all(axis=1)  # NULs only after the id
    ids_ok = used[:, 0] & padded_at_end & (_GEOHASH_BYTE[raw] | ~used).all(axis=1)
    lat, lon = cols.cell_lat, cols.cell_lon
    return np.asarray(ids_ok & np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90.0) & (np.abs(lon) <= 180.0))


class ColumnSide:
    """One side in canonical order, with SideBook's column names, so the object path's functions run on it. `order`:
    each order's index in the commit's order list (what a trade names); its file row is looked up when asked."""

    def __init__(
        self, cols: OrderColumns, commit_order: np.ndarray, order: np.ndarray, price: np.ndarray, energy: np.ndarray
    ) -> None:
        self.cols, self.commit_order, self.order = cols, commit_order, order
        self.price, self.energy = price, energy  # cols.price_per_wh[rows], cols.energy_wh[rows]

    def __len__(self) -> int:
        return len(self.order)

    @cached_property
    def rows(self) -> np.ndarray:
        """The file rows in canonical order."""
        return np.asarray(self.commit_order[self.order])

    def tie_keys(self, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """SideBook.tie_keys, gathered for these positions only (a rationing asks for a few hundred of 1M)."""
        rows = self.commit_order[self.order[at]]
        return self.cols.nonce[rows], _word(self.cols.owner[rows], 0, 8)

    @cached_property
    def lat(self) -> np.ndarray:
        return np.asarray(self.cols.cell_lat[self.cols.cell[self.rows]])

    @cached_property
    def lon(self) -> np.ndarray:
        return np.asarray(self.cols.cell_lon[self.cols.cell[self.rows]])

    @cached_property
    def start(self) -> np.ndarray:
        return np.asarray(self.cols.window_start[self.rows])

    @cached_property
    def end(self) -> np.ndarray:
        return np.asarray(self.cols.window_end[self.rows])

    @cached_property
    def legs(self) -> OrderLegs:
        """Column files carry no routes: every order is parked in its cell."""
        return parked_legs(self.lat, self.lon, self.start, self.end)


@dataclass(frozen=True)
class ColumnBook:
    buys: ColumnSide
    sells: ColumnSide
    commit_order: np.ndarray  # file rows sorted by (owner, nonce): the order list a commit publishes


def make_book(cols: OrderColumns) -> ColumnBook:
    """book.make_book on columns: check the set, sort each side by (price, nonce, owner), buyers' price descending.
    First the commit's order list (rows by owner, then nonce), which the set checks need anyway; then both sides in
    one sort of the orders in that list by (-price for a buyer and price for a seller, nonce, index in the list): a
    price is at least 1, so buyers come first, by price descending, and within one price and nonce the list's order
    is the owners' order. The sorted indices are the commit's own (no inverse permutation to build for the trades)."""

    def owner(rows: np.ndarray) -> tuple[np.ndarray, ...]:  # the full address, as lexsort keys (last primary)
        picked = cols.owner[rows]
        return _word(picked, 16, 20), _word(picked, 8, 16), _word(picked, 0, 8)

    # the owners' first 8 bytes in a throwaway buffer, which the sort packs in place
    commit_order, pair = sorted_rows_and_ties(
        _word(cols.owner, 0, 8), lambda at: (cols.nonce[at], *owner(at)), overwrite=True
    )
    _check_set(cols, commit_order, pair)
    key = book_key(cols)
    order, price, energy = _book_order_packed(cols, commit_order, key) or _book_order(cols, commit_order, key)
    nb = int(np.count_nonzero(cols.side == Side.BUY))
    buys, sells = slice(0, nb), slice(nb, None)
    return ColumnBook(
        ColumnSide(cols, commit_order, order[buys], price[buys], energy[buys]),
        ColumnSide(cols, commit_order, order[sells], price[sells], energy[sells]),
        commit_order,
    )


def book_key(cols: OrderColumns) -> np.ndarray:
    """The book's primary sort key: -price for a buyer, price for a seller."""
    key: np.ndarray = np.multiply(cols.side, 2, dtype=np.int64)  # side 1 (buy) or 2 (sell): validate checked
    key -= 3  # -1 or 1
    key *= cols.price_per_wh
    return key


def _book_order_packed(
    cols: OrderColumns, commit_order: np.ndarray, key: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(list indices, prices, energies) in book order when (key, nonce, list index, energy) pack into 64 bits (at 1M
    orders: a key and a nonce of 24 bits between them): one numpy.sort of one word per order, every column read back
    from the sorted words, no gather after the sort. The energy rides in the low bits, below the unique index, so it
    never decides the order. None when they do not fit; else the key's buffer is the words'."""
    n = len(key)
    if not n:
        return None
    low = int(key.min())
    key_bits, nonce_bits = (int(key.max()) - low).bit_length(), int(cols.nonce.max()).bit_length()
    index_bits, energy_bits = max(1, (n - 1).bit_length()), int(cols.energy_wh.max()).bit_length()
    below_key = nonce_bits + index_bits + energy_bits
    if key_bits + below_key > 64:
        return None
    packed = np.subtract(key, low, out=key).view(np.uint64)  # >= 0
    if key_bits:
        packed <<= np.uint64(below_key)
    scratch = np.left_shift(cols.nonce, np.uint64(index_bits + energy_bits))
    packed |= scratch
    packed |= cols.energy_wh.view(np.uint64)
    packed = packed[commit_order]  # by list index, which goes in between
    index = np.arange(0, ((n - 1) << energy_bits) + 1, 1 << energy_bits, dtype=np.uint64)  # i << energy_bits
    packed |= index
    packed.sort()
    energy_mask, index_mask = np.uint64((1 << energy_bits) - 1), np.uint64((1 << index_bits) - 1)
    energy = np.bitwise_and(packed, energy_mask, out=scratch).view(np.int64)
    order = np.right_shift(packed, np.uint64(energy_bits), out=index)
    order &= index_mask
    packed >>= np.uint64(below_key)
    price = packed.view(np.int64)
    price += low
    return order.view(np.int64), np.abs(price, out=price), energy


def _book_order(
    cols: OrderColumns, commit_order: np.ndarray, key: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """_book_order_packed for any book: the sort of a packed prefix of (key, nonce, owner), then an exact lexsort of
    only the orders whose kept bits tie (huge prices and nonces only make more of them tie), then one gather of the
    prices and energies."""
    prefix = packed_prefix(key, cols.nonce, cols.owner_key)[commit_order]  # monotone in (key, nonce, list index)
    order = sorted_rows(prefix, lambda at: (at, cols.nonce[commit_order[at]], key[commit_order[at]]), overwrite=True)
    rows = commit_order[order]
    # price and energy in book order with one random gather, not two: packed into one word per row (a price is
    # < 2**30 and an energy < 2**20: validate checked), then split in sequential passes
    packed = np.left_shift(cols.price_per_wh, _ENERGY_BITS)
    packed |= cols.energy_wh
    packed = packed[rows]
    energy = packed & ((1 << _ENERGY_BITS) - 1)
    packed >>= _ENERGY_BITS
    return order, packed, energy


def _check_set(cols: OrderColumns, commit_order: np.ndarray, pair: np.ndarray) -> None:
    """book._check_set: no (owner, nonce) twice, no owner on both sides; rows of one owner are adjacent here. pair:
    the positions i where commit_order[i] and [i + 1] may share an owner (their sort prefixes tie): few, unless
    owners repeat."""
    a, b = commit_order[pair], commit_order[pair + 1]
    same_owner = (cols.owner[a] == cols.owner[b]).all(axis=1)
    duplicate = same_owner & (cols.nonce[a] == cols.nonce[b])
    both = same_owner & (cols.side[a] != cols.side[b])
    if duplicate.any() or both.any():
        first = int(np.argmax(duplicate | both))
        row = int(a[first])
        owner = "0x" + cols.owner[row].tobytes().hex()
        if duplicate[first]:
            raise DuplicateOrder(owner, int(cols.nonce[row]))
        raise OwnerOnBothSides(owner)


@dataclass(frozen=True)
class ClearedColumns:
    """A clearing as columns: trade i delivers energy_wh[i] from seller_order[i] to buyer_order[i], both indices into
    the commit's order list (the file rows `order_rows`, sorted by (owner, nonce)); `marginal`, for trade reduction,
    the (buyer, seller) indices in that list of the dropped pair the commit names. What each order traded is kept
    in book order, and laid out per file row (`traded_wh`) only when asked: a commit does not need it. A uniform
    price comes as a read-only broadcast of the one price."""

    mechanism: str
    order_rows: np.ndarray
    buyer_order: np.ndarray
    seller_order: np.ndarray
    energy_wh: np.ndarray
    price_per_wh: np.ndarray
    seller_price_per_wh: np.ndarray
    marginal: tuple[int, int] | None
    book: ColumnBook
    buy_traded: np.ndarray  # aligned with book.buys
    sell_traded: np.ndarray

    def __len__(self) -> int:
        return len(self.energy_wh)

    @cached_property
    def traded_wh(self) -> np.ndarray:
        """Wh traded per file row."""
        traded = np.zeros(len(self.order_rows), dtype=np.int64)
        traded[self.book.buys.rows] = self.buy_traded
        traded[self.book.sells.rows] = self.sell_traded
        return traded


def double_auction(cols: OrderColumns, params: ClearingParams) -> ClearedColumns:
    """double_auction.clear_double_auction on columns."""
    book = make_book(cols)
    buy_idx, sell_idx, energy, price, buy_filled, sell_filled = cross(
        book.buys.price, book.buys.energy, book.sells.price, book.sells.energy, params.k
    )
    return cleared(DOUBLE_AUCTION, book, buy_idx, sell_idx, energy, price, price, buy_filled, sell_filled)


def trade_reduction(cols: OrderColumns, params: ClearingParams) -> ClearedColumns:
    """trade_reduction.clear_trade_reduction on columns (params unused there too: McAfee's prices are its own)."""
    book = make_book(cols)
    buy_alloc, sell_alloc, buyer_price, seller_price = allocate(book)  # type: ignore[arg-type]  # SideBook's columns
    buy_idx, sell_idx, energy = segments(buy_alloc, sell_alloc)  # every flow > 0 Wh
    return cleared(
        TRADE_REDUCTION,
        book,
        buy_idx,
        sell_idx,
        energy,
        buyer_price,
        seller_price,
        buy_alloc,
        sell_alloc,
        marginal_position(book.buys.price, book.sells.price),
    )


def cleared(
    mechanism: str,
    book: ColumnBook,
    buy_idx: np.ndarray,
    sell_idx: np.ndarray,
    energy: np.ndarray,
    price: int | np.ndarray,
    seller_price: int | np.ndarray,
    buy_traded: np.ndarray,
    sell_traded: np.ndarray,
    marginal_at: int | None = None,
) -> ClearedColumns:
    """The result columns from flows between book positions (prices: one for all, or one per flow; marginal_at:
    the book position, on both sides, of trade reduction's dropped pair)."""
    marginal = None
    if marginal_at is not None:
        marginal = int(book.buys.order[marginal_at]), int(book.sells.order[marginal_at])
    return ClearedColumns(
        mechanism=mechanism,
        order_rows=book.commit_order,
        buyer_order=book.buys.order[buy_idx],
        seller_order=book.sells.order[sell_idx],
        energy_wh=energy,
        price_per_wh=np.broadcast_to(np.asarray(price, dtype=np.int64), energy.shape),  # read-only: one price,
        seller_price_per_wh=np.broadcast_to(np.asarray(seller_price, dtype=np.int64), energy.shape),  # no copies
        marginal=marginal,
        book=book,
        buy_traded=buy_traded,
        sell_traded=sell_traded,
    )


def trades(cols: OrderColumns, cleared: ClearedColumns) -> list[Trade]:
    """The edge out: the trades as result.Trade objects, with an Order built only for each trading row."""
    rows = cleared.order_rows
    involved = np.concatenate((cleared.buyer_order, cleared.seller_order))
    orders = {k: to_order(cols, int(rows[k])) for k in involved.tolist()}
    return [
        Trade(orders[b], orders[s], q, p, sp)
        for b, s, q, p, sp in zip(
            cleared.buyer_order.tolist(),
            cleared.seller_order.tolist(),
            cleared.energy_wh.tolist(),
            cleared.price_per_wh.tolist(),
            cleared.seller_price_per_wh.tolist(),
        )
    ]
