"""k-anonymity cloaking: the published cell holds the vehicle and at least k known vehicles, and is the finest such."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from v2vchain.errors import InvalidInput
from v2vchain.privacy import CellCounts, geohash, k_anonymous_cell

BERLIN = st.tuples(st.floats(52.40, 52.65), st.floats(13.15, 13.65))  # all inside geohash "u"
CLUSTER = st.tuples(st.floats(52.5160, 52.5170), st.floats(13.3770, 13.3780))  # ~110 m x 70 m


def inside(cell: str, positions: list[tuple[float, float]]) -> int:
    return sum(geohash.contains(cell, p) for p in positions)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(BERLIN, CLUSTER), min_size=1, max_size=60), st.integers(1, 25), st.data())
def test_published_cell_contains_the_vehicle_and_at_least_k_known(
    known: list[tuple[float, float]], k: int, data: st.DataObject
) -> None:
    me = data.draw(st.sampled_from(known))
    cloak = k_anonymous_cell(me, known, k)
    assert geohash.contains(cloak.cell, me)
    assert cloak.anonymity == inside(cloak.cell, known)
    if len(known) >= k:
        assert cloak.satisfied and cloak.anonymity >= k
    if len(cloak.cell) < 7:  # minimal: the next finer cell around the vehicle would not do
        assert inside(geohash.encode(*me, precision=len(cloak.cell) + 1), known) < k


def test_k_of_one_counting_oneself_gives_the_finest_cell() -> None:
    me = (52.5163, 13.3777)
    assert k_anonymous_cell(me, [me], 1).cell == "u33db2m"


def test_too_few_vehicles_gives_the_coarsest_cell_flagged_unsatisfied() -> None:
    me = (52.5163, 13.3777)
    cloak = k_anonymous_cell(me, [me, (52.52, 13.40)], 5)
    assert (cloak.cell, cloak.anonymity, cloak.satisfied) == ("u", 2, False)


def test_counts_built_once_give_the_same_cloak_as_a_list() -> None:
    known = [(52.5 + i * 0.001, 13.4 + i * 0.0007) for i in range(40)]
    counts = CellCounts(known)
    for me in known[::7]:
        assert k_anonymous_cell(me, counts, 6) == k_anonymous_cell(me, known, 6)


def test_public_form_names_only_the_cell_and_k() -> None:
    cloak = k_anonymous_cell((52.5163, 13.3777), [(52.5163, 13.3777)] * 3, 3)
    assert cloak.public() == {"kind": "geohash", "cell": "u33db2m", "k": 3}


@pytest.mark.parametrize("k", [0, -1])
def test_k_below_one_is_refused(k: int) -> None:
    with pytest.raises(InvalidInput):
        k_anonymous_cell((52.5, 13.4), [], k)
