"""Geohash cells: the cloaked area a vehicle reveals, and the centre everyone derives from it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from v2vchain.matching.areas import geohash, geohash_centre


def test_known_cell_decodes_to_its_published_centre() -> None:
    lat, lon = geohash_centre("ezs42")  # the example of the geohash's own description
    assert (round(lat, 3), round(lon, 3)) == (42.605, -5.603)


def test_berlin_centre_falls_in_cell_u33dc0() -> None:
    assert geohash(52.52, 13.405, 6) == "u33dc0"


@given(st.floats(-89.9, 89.9), st.floats(-179.9, 179.9), st.integers(1, 9))
def test_the_centre_of_a_cell_lies_in_that_cell(lat: float, lon: float, precision: int) -> None:
    cell = geohash(lat, lon, precision)
    assert geohash(*geohash_centre(cell), precision) == cell
