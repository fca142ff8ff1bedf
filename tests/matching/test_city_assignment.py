"""The city-scale assignment (v2vchain.matching.city_assignment) picks the object path's candidates and matching."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tests.support.columnar import as_keys, columnar_keys
from tests.support.strategies import FAST, PAIR_PRICES, order_sets
from v2vchain.matching import ClearingParams, Order, city_assignment, columnar, make_book, welfare_assignment
from v2vchain.matching.pairs import candidate_pairs


@FAST
@given(order_sets(max_buyers=10, max_sellers=10, prices=PAIR_PRICES), st.integers(1, 4))
def test_candidates_are_the_object_paths(orders: list[Order], nearest_areas: int) -> None:
    book = columnar.make_book(columnar.from_orders(orders))
    starts, sellers = city_assignment.candidate_sellers(book.buys, book.sells, nearest_areas)
    buyer = np.repeat(np.arange(len(book.buys)), np.diff(starts))
    expected = candidate_pairs(make_book(orders), nearest_areas)
    assert (buyer.tolist(), sellers.tolist()) == (expected[0].tolist(), expected[1].tolist())


@FAST
@given(order_sets(max_buyers=10, max_sellers=10, prices=PAIR_PRICES), st.integers(1, 4))
def test_trades_equal_the_object_paths(orders: list[Order], nearest_areas: int) -> None:
    params = ClearingParams(nearest_areas=nearest_areas)
    cleared = city_assignment.welfare_assignment(columnar.from_orders(orders), params)
    assert columnar_keys(orders, cleared) == as_keys(welfare_assignment(orders, params))


@FAST
@given(order_sets(max_buyers=10, max_sellers=10, prices=PAIR_PRICES))
def test_chunking_does_not_change_the_edges(orders: list[Order]) -> None:
    book = columnar.make_book(columnar.from_orders(orders))
    params = ClearingParams()
    whole = city_assignment.acceptable_edges(book.buys, book.sells, params)
    chunked = city_assignment.acceptable_edges(book.buys, book.sells, params, chunk_pairs=3)
    assert [a.tolist() for a in chunked] == [a.tolist() for a in whole]
