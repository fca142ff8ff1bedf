"""Our geohash: published vectors, round trips and neighbours."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from v2vchain.errors import InvalidInput
from v2vchain.privacy import geohash
from v2vchain.privacy.errors import InvalidGeohash

BRANDENBURG_GATE = (52.5163, 13.3777)
latitudes = st.floats(min_value=-90, max_value=90, allow_nan=False)
longitudes = st.floats(min_value=-180, max_value=180, allow_nan=False)


@pytest.mark.parametrize(
    ("position", "precision", "expected"),
    [
        ((57.64911, 10.40744), 11, "u4pruydqqvj"),  # the Wikipedia example
        (BRANDENBURG_GATE, 7, "u33db2m"),
        ((-25.382708, -49.265506), 8, "6gkzwgjz"),  # Curitiba
        ((0.0, 0.0), 1, "s"),
        ((-90.0, -180.0), 5, "00000"),
        ((90.0, 180.0), 5, "zzzzz"),
    ],
)
def test_known_vectors(position: tuple[float, float], precision: int, expected: str) -> None:
    assert geohash.encode(*position, precision=precision) == expected


def test_u33db_is_in_berlin_mitte() -> None:
    south, north, west, east = geohash.bounds("u33db")
    assert south <= BRANDENBURG_GATE[0] <= north and west <= BRANDENBURG_GATE[1] <= east
    assert geohash.decode("ezs42") == pytest.approx((42.605, -5.603), abs=1e-3)


@given(latitudes, longitudes, st.integers(1, 12))
def test_encoded_cell_contains_the_point_and_decodes_within_half_a_cell(lat: float, lon: float, n: int) -> None:
    cell = geohash.encode(lat, lon, n)
    south, north, west, east = geohash.bounds(cell)
    assert south <= lat <= north and west <= lon <= east
    centre = geohash.decode(cell)
    assert abs(centre[0] - lat) <= (north - south) / 2 and abs(centre[1] - lon) <= (east - west) / 2
    assert geohash.encode(*centre, precision=n) == cell


@given(latitudes, longitudes, st.integers(1, 12), st.integers(1, 12))
def test_a_prefix_is_the_enclosing_cell(lat: float, lon: float, n: int, m: int) -> None:
    short, long_ = sorted((n, m))
    assert geohash.encode(lat, lon, long_)[:short] == geohash.encode(lat, lon, short)


@given(st.floats(-85, 85), longitudes, st.integers(1, 9))
def test_neighbours_are_the_eight_adjacent_cells(lat: float, lon: float, n: int) -> None:
    cell = geohash.encode(lat, lon, n)
    south, north, west, east = geohash.bounds(cell)
    around = geohash.neighbours(cell)
    assert len(around) == 8 or n <= 2  # coarse cells touch a pole
    assert cell not in around.values()
    for direction, other in around.items():
        s, nn, w, e = geohash.bounds(other)
        assert (nn - s, e - w) == pytest.approx((north - south, east - west))
        if "n" in direction:
            assert s == pytest.approx(north)
        if "s" in direction:
            assert nn == pytest.approx(south)
        if direction in ("e", "w"):
            assert s == pytest.approx(south)


def test_neighbours_wrap_at_the_date_line_and_stop_at_the_poles() -> None:
    assert geohash.neighbours(geohash.encode(0.1, 179.99, 4))["e"] == geohash.encode(0.1, -179.99, 4)
    assert "n" not in geohash.neighbours(geohash.encode(89.99, 0, 4))
    assert geohash.neighbours("u33db")["w"] == "u336z"


@pytest.mark.parametrize("bad", ["", "u33da", "ailo", "U33DB", "u" * 13, None])
def test_not_a_geohash_is_rejected(bad: object) -> None:
    with pytest.raises(InvalidGeohash):
        geohash.decode(bad)


@pytest.mark.parametrize(("lat", "lon", "n"), [(91, 0, 5), (0, 181, 5), (float("nan"), 0, 5), (0, 0, 0), (0, 0, 13)])
def test_encode_rejects_impossible_input(lat: float, lon: float, n: int) -> None:
    with pytest.raises(InvalidInput):
        geohash.encode(lat, lon, n)
