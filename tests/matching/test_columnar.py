"""The columnar path (v2vchain.matching.columnar) gives the object path's results, trade for trade, and refuses what
Order and make_book refuse."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.columnar import as_keys, columnar_keys
from tests.support.strategies import CELLS, FAST, T0, order, order_sets
from v2vchain.errors import InvalidInput, V2VError
from v2vchain.matching import ClearingParams, Order, Side, columnar, double_auction, trade_reduction
from v2vchain.matching.errors import (
    DuplicateOrder,
    InvalidArea,
    InvalidSide,
    InvalidWindow,
    OwnerOnBothSides,
    PriceOutOfRange,
    RoutedOrderInColumns,
)
from v2vchain.matching.orders import MAX_ENERGY_WH, MAX_PRICE_PER_WH, MAX_TS, MAX_WINDOW_S
from v2vchain.protocol.clearing import TradeInput, trade_inputs
from v2vchain.protocol.orders import ChainOrder, SignedOrder
from v2vchain.protocol.routes import Route, Waypoint

PARAMS = ClearingParams()


@st.composite
def hard_books(draw: st.DrawFn) -> list[Order]:
    """Books that defeat the packed sort key: owners sharing their first 8 bytes, nonces up to 2**64 - 1, prices
    across the whole range."""
    n = draw(st.integers(0, 14))
    lows = draw(st.lists(st.integers(1, 2**96 - 1), min_size=n, max_size=n, unique=True))
    orders = []
    for k, low in enumerate(lows):
        side = Side.BUY if k < n // 2 else Side.SELL
        owner = (draw(st.integers(0, 2)) << 96) | low
        price = draw(st.sampled_from((1, 2, 100, 10**9 - 1, 10**9)))
        nonce = draw(st.sampled_from((0, 1, 2**33, 2**64 - 1)))
        orders.append(order(owner, side, draw(st.integers(1, 5_000)), price, draw(st.sampled_from(CELLS)), nonce=nonce))
    return orders


@FAST
@given(order_sets(max_buyers=12, max_sellers=12))
def test_double_auction_trades_equal_the_object_path(orders: list[Order]) -> None:
    cleared = columnar.double_auction(columnar.from_orders(orders), PARAMS)
    assert columnar_keys(orders, cleared) == as_keys(double_auction(orders, PARAMS))


@FAST
@given(order_sets(max_buyers=12, max_sellers=12))
def test_trade_reduction_trades_equal_the_object_path(orders: list[Order]) -> None:
    cleared = columnar.trade_reduction(columnar.from_orders(orders), PARAMS)
    assert columnar_keys(orders, cleared) == as_keys(trade_reduction(orders, PARAMS))


@FAST
@given(order_sets(max_buyers=12, max_sellers=12))
def test_trade_reductions_marginal_pair_is_the_object_paths(orders: list[Order]) -> None:
    cleared = columnar.trade_reduction(columnar.from_orders(orders), PARAMS)
    expected = trade_reduction(orders, PARAMS).marginal
    listed = cleared.order_rows.tolist()
    named = None if cleared.marginal is None else tuple(orders[listed[i]] for i in cleared.marginal)
    assert named == expected


def test_a_double_auction_names_no_marginal_pair() -> None:
    cols = columnar.from_orders([order(1, Side.BUY, price=100), order(2, Side.SELL, price=50)])
    assert columnar.double_auction(cols, PARAMS).marginal is None


@FAST
@given(hard_books())
def test_tie_breaks_on_shared_owner_prefixes_and_wide_nonces_equal_the_object_path(orders: list[Order]) -> None:
    cols = columnar.from_orders(orders)
    assert columnar_keys(orders, columnar.double_auction(cols, PARAMS)) == as_keys(double_auction(orders, PARAMS))
    assert columnar_keys(orders, columnar.trade_reduction(cols, PARAMS)) == as_keys(trade_reduction(orders, PARAMS))


@FAST
@given(st.one_of(order_sets(prices=(1, MAX_PRICE_PER_WH)), hard_books()))
def test_the_packed_sort_word_orders_a_book_as_the_general_sort_does(orders: list[Order]) -> None:
    cols = columnar.from_orders(orders)
    commit_order = columnar.make_book(cols).commit_order
    packed = columnar._book_order_packed(cols, commit_order, columnar.book_key(cols))
    general = columnar._book_order(cols, commit_order, columnar.book_key(cols))
    assert packed is None or [c.tolist() for c in packed] == [c.tolist() for c in general]


def test_a_book_whose_sort_word_would_pass_64_bits_takes_the_general_sort() -> None:
    orders = [order(1, Side.BUY, price=MAX_PRICE_PER_WH, nonce=2**64 - 1), order(2, Side.SELL, price=1)]
    cols = columnar.from_orders(orders)
    commit_order = columnar.make_book(cols).commit_order
    assert columnar._book_order_packed(cols, commit_order, columnar.book_key(cols)) is None


@FAST
@given(hard_books())
def test_trades_index_the_orders_sorted_by_owner_and_nonce(orders: list[Order]) -> None:
    cleared = columnar.double_auction(columnar.from_orders(orders), PARAMS)
    listed = sorted(orders, key=lambda o: (int(o.owner, 16), o.nonce))  # Clearing.commit's order list
    assert [orders[r] for r in cleared.order_rows.tolist()] == listed


@FAST
@given(order_sets())
def test_a_file_round_trips_to_the_same_orders(tmp_path_factory: pytest.TempPathFactory, orders: list[Order]) -> None:
    path = tmp_path_factory.mktemp("orders") / "book.npz"
    columnar.write(path, columnar.from_orders(orders))
    cols = columnar.read(path)
    assert [columnar.to_order(cols, i) for i in range(len(cols))] == orders


def test_trades_at_the_edge_are_the_object_paths_trades() -> None:
    orders = [
        order(1, Side.BUY, 3_000, 120),
        order(2, Side.BUY, 2_000, 90, nonce=4),
        order(3, Side.SELL, 4_000, 60),
        order(4, Side.SELL, 2_000, 100),
    ]
    cols = columnar.from_orders(orders)
    assert columnar.trades(cols, columnar.double_auction(cols, PARAMS)) == list(double_auction(orders, PARAMS).trades)


def _written(tmp_path, orders: list[Order], **change: object):
    cols = columnar.from_orders(orders)
    for name, (row, value) in change.items():
        getattr(cols, name)[row] = value
    path = tmp_path / "book.npz"
    columnar.write(path, cols)
    return path


@pytest.mark.parametrize(
    "change, error",
    [
        ({"price_per_wh": (1, 0)}, PriceOutOfRange),
        ({"side": (0, 3)}, InvalidSide),
        ({"window_end": (1, T0)}, InvalidWindow),
        ({"cell": (0, 99)}, InvalidArea),
        ({"cell_lat": (0, 91.0)}, InvalidArea),
    ],
)
def test_read_refuses_a_row_order_refuses(tmp_path, change: dict, error: type) -> None:
    path = _written(tmp_path, [order(1, Side.BUY), order(2, Side.SELL)], **change)
    with pytest.raises(error):
        columnar.read(path)


EDGES = {
    "side": (0, 1, 2, 3, 255),
    "energy_wh": (-1, 0, 1, MAX_ENERGY_WH, MAX_ENERGY_WH + 1, -(2**63)),
    "price_per_wh": (-1, 0, 1, MAX_PRICE_PER_WH, MAX_PRICE_PER_WH + 1, 2**63 - 1),
    "window_start": (-(2**63), 0, 1, T0 - MAX_WINDOW_S, T0, T0 + 7_199, T0 + 7_200, MAX_TS, 2**63 - 1),
    "window_end": (-(2**63), 0, 1, T0, T0 + 1, T0 + MAX_WINDOW_S, T0 + MAX_WINDOW_S + 1, MAX_TS, MAX_TS + 1),
    "expiry": (-(2**63), 0, 1, T0, T0 + 7_200, T0 + 7_201, MAX_TS + 1, 2**63 - 1),
}


def _error_of(check: Callable[[], object]) -> type | None:
    try:
        check()
    except V2VError as error:
        return type(error)
    return None


@FAST
@given(st.sampled_from(sorted(EDGES)), st.integers(0, 2), st.data())
def test_the_column_checks_refuse_exactly_what_order_refuses(name: str, row: int, data: st.DataObject) -> None:
    cols = columnar.from_orders([order(1, Side.BUY), order(2, Side.SELL), order(3, Side.BUY)])
    getattr(cols, name)[row] = data.draw(st.sampled_from(EDGES[name]))
    assert _error_of(lambda: columnar.validate(cols)) == _error_of(lambda: columnar.to_order(cols, row))


def test_a_bad_row_past_the_first_chunk_of_checks_is_refused() -> None:
    one = columnar.from_orders([order(1, Side.BUY)])
    n = 2**17 + 2
    cols = columnar.OrderColumns(
        **{name: np.repeat(getattr(one, name), n, axis=0) for name in columnar.ORDER_COLUMNS},
        **{name: getattr(one, name) for name in columnar.CELL_COLUMNS},
    )
    columnar.validate(cols)
    cols.price_per_wh[n - 1] = 0
    with pytest.raises(PriceOutOfRange):
        columnar.validate(cols)


def test_read_maps_a_written_files_columns_in_place(tmp_path) -> None:
    cols = columnar.read(_written(tmp_path, [order(1, Side.BUY), order(2, Side.SELL)]))
    columns = [getattr(cols, name) for name in (*columnar.ORDER_COLUMNS, *columnar.CELL_COLUMNS)]
    assert [(c.flags.writeable, c.ctypes.data % 64) for c in columns] == [(False, 0)] * len(columns)


def test_a_file_numpy_saved_with_unaligned_columns_reads_as_a_written_one(tmp_path) -> None:
    orders = [order(1, Side.BUY), order(2, Side.SELL, nonce=5)]
    saved = tmp_path / "saved.npz"
    with np.load(_written(tmp_path, orders)) as archive:
        np.savez(saved, **{name: archive[name] for name in archive.files})
    cols = columnar.read(saved)
    assert [columnar.to_order(cols, i) for i in range(len(cols))] == orders


def test_read_refuses_a_file_of_another_format(tmp_path) -> None:
    path = tmp_path / "other.npz"
    np.savez(path, format=np.array("something/1"))
    with pytest.raises(InvalidInput):
        columnar.read(path)


def test_a_compressed_file_reads_as_the_stored_one(tmp_path) -> None:
    orders = [order(1, Side.BUY), order(2, Side.SELL)]
    stored = _written(tmp_path, orders)
    packed = tmp_path / "packed.npz"
    with np.load(stored) as archive:
        np.savez_compressed(packed, **{name: archive[name] for name in archive.files})
    cols = columnar.read(packed)
    assert [columnar.to_order(cols, i) for i in range(len(cols))] == orders


def test_read_refuses_a_truncated_or_foreign_file(tmp_path) -> None:
    data = _written(tmp_path, [order(1, Side.BUY), order(2, Side.SELL)]).read_bytes()
    for k, content in enumerate((data[: len(data) // 2], b"not a zip file")):
        path = tmp_path / f"bad{k}.npz"
        path.write_bytes(content)
        with pytest.raises(InvalidInput):
            columnar.read(path)


def test_clearing_refuses_an_order_listed_twice() -> None:
    cols = columnar.from_orders([order(1, Side.BUY, nonce=3), order(1, Side.BUY, price=90, nonce=3)])
    with pytest.raises(DuplicateOrder):
        columnar.double_auction(cols, PARAMS)


def test_order_columns_refuse_a_routed_order_by_name() -> None:
    """A v2v-orders/1 file has no route column: a routed order put into columns would be signed and cleared parked."""
    route = Route((Waypoint("u33dc0", T0, T0 + 600), Waypoint("u33dc1", T0 + 900, T0 + 1_800)))
    with pytest.raises(RoutedOrderInColumns):
        columnar.from_orders([order(1, Side.BUY), order(2, Side.BUY, nonce=1, route=route)])


def test_clearing_refuses_an_owner_on_both_sides() -> None:
    cols = columnar.from_orders([order(1, Side.BUY, nonce=0), order(1, Side.SELL, nonce=1)])
    with pytest.raises(OwnerOnBothSides):
        columnar.trade_reduction(cols, PARAMS)


@FAST
@given(order_sets(max_buyers=10, max_sellers=10))
def test_trade_columns_are_the_inputs_a_commit_takes(orders: list[Order]) -> None:
    cleared = columnar.trade_reduction(columnar.from_orders(orders), PARAMS)
    listed = [SignedOrder(ChainOrder.of(orders[r]), b"") for r in cleared.order_rows.tolist()]
    expected = trade_inputs(listed, trade_reduction(orders, PARAMS).trades)
    assert [
        TradeInput(*row)
        for row in zip(
            cleared.buyer_order.tolist(),
            cleared.seller_order.tolist(),
            cleared.energy_wh.tolist(),
            cleared.price_per_wh.tolist(),
            cleared.seller_price_per_wh.tolist(),
        )
    ] == expected
