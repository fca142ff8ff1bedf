"""Geohash (base32, longitude bit first): a public, hierarchical cell name whose prefix is the enclosing cell.

Our own implementation, so the encoding the cloaks publish is pinned by our tests rather than by a dependency.
"""

from __future__ import annotations

from v2vchain.errors import InvalidInput

from .errors import InvalidGeohash
from .geo import Position, check_position

BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"
_INDEX = {char: i for i, char in enumerate(BASE32)}
MAX_PRECISION = 12  # ~3.7 cm x 1.9 cm: beyond that double precision runs out
DIRECTIONS = {
    "n": (1, 0),
    "ne": (1, 1),
    "e": (0, 1),
    "se": (-1, 1),
    "s": (-1, 0),
    "sw": (-1, -1),
    "w": (0, -1),
    "nw": (1, -1),
}


def encode(lat: float, lon: float, precision: int = 7) -> str:
    check_position(lat, lon)
    if not 1 <= precision <= MAX_PRECISION:
        raise InvalidInput(f"geohash precision must be 1..{MAX_PRECISION}, got {precision}")
    lat_range, lon_range = [-90.0, 90.0], [-180.0, 180.0]
    chars: list[str] = []
    bits, value, even = 0, 0, True
    while len(chars) < precision:
        interval, coordinate = (lon_range, lon) if even else (lat_range, lat)
        mid = (interval[0] + interval[1]) / 2
        upper = coordinate >= mid
        value = value * 2 + upper
        interval[0 if upper else 1] = mid
        even, bits = not even, bits + 1
        if bits == 5:
            chars.append(BASE32[value])
            bits, value = 0, 0
    return "".join(chars)


def bounds(cell: str) -> tuple[float, float, float, float]:
    """(south, north, west, east) edges of the cell in degrees."""
    if not isinstance(cell, str) or not 1 <= len(cell) <= MAX_PRECISION or any(c not in _INDEX for c in cell):
        raise InvalidGeohash(f"not a geohash of 1..{MAX_PRECISION} base32 characters: {cell!r}")
    lat_range, lon_range = [-90.0, 90.0], [-180.0, 180.0]
    even = True
    for char in cell:
        for shift in range(4, -1, -1):
            interval = lon_range if even else lat_range
            mid = (interval[0] + interval[1]) / 2
            interval[0 if (_INDEX[char] >> shift) & 1 else 1] = mid
            even = not even
    return lat_range[0], lat_range[1], lon_range[0], lon_range[1]


def decode(cell: str) -> Position:
    """The centre of the cell."""
    south, north, west, east = bounds(cell)
    return (south + north) / 2, (west + east) / 2


def contains(cell: str, position: Position) -> bool:
    return encode(*position, precision=len(cell)) == cell


def neighbours(cell: str) -> dict[str, str]:
    """The eight same-size cells around `cell` by compass direction; none beyond a pole, wrapping at ±180°."""
    south, north, west, east = bounds(cell)
    lat, lon = (south + north) / 2, (west + east) / 2
    result = {}
    for name, (dy, dx) in DIRECTIONS.items():
        new_lat = lat + dy * (north - south)
        if -90.0 < new_lat < 90.0:
            new_lon = (lon + dx * (east - west) + 180.0) % 360.0 - 180.0
            result[name] = encode(new_lat, new_lon, len(cell))
    return result
