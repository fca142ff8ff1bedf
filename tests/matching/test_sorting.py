"""sorting.sorted_rows is np.lexsort, whatever the prefix leaves tied; McAfee's rationing hands out its leftover Wh
in the lexsort order it always used."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tests.support.strategies import FAST
from v2vchain.matching.sorting import sorted_rows
from v2vchain.matching.trade_reduction import _ration


@FAST
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 2**64 - 1)), max_size=40))
def test_sorted_rows_is_lexsort_given_any_monotone_prefix(rows: list[tuple[int, int, int]]) -> None:
    a, b, c = (np.array([r[i] for r in rows], dtype=np.uint64) for i in range(3))
    index = sorted_rows(a, lambda at: (np.arange(len(rows))[at], c[at], b[at], a[at]))
    assert index.tolist() == np.lexsort((np.arange(len(rows)), c, b, a)).tolist()


@FAST
@given(
    st.lists(
        st.tuples(st.sampled_from((0, 100, 300, 700)), st.integers(0, 3), st.sampled_from((1, 2, 2**63))),
        min_size=1,
        max_size=30,
    ),
    st.floats(0, 1),
)
def test_rationing_gives_leftover_wh_in_the_lexsort_order_it_always_used(
    rows: list[tuple[int, int, int]], fraction: float
) -> None:
    alloc = np.array([r[0] for r in rows], dtype=np.int64)
    nonce = np.array([r[1] for r in rows], dtype=np.uint64)
    owner_key = np.array([r[2] for r in rows], dtype=np.uint64)
    side = SimpleNamespace(nonce=nonce, owner_key=owner_key, tie_keys=lambda at: (nonce[at], owner_key[at]))
    volume = int(alloc.sum() * fraction)
    expected = alloc * volume // max(int(alloc.sum()), 1)
    if int(alloc.sum()) > volume:
        remainder = alloc * volume % int(alloc.sum())
        expected[np.lexsort((side.owner_key, side.nonce, -remainder))[: volume - int(expected.sum())]] += 1
    else:
        expected = alloc
    assert _ration(side, alloc, volume).tolist() == expected.tolist()
