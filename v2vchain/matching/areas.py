"""Cloaked areas as geohash cells: a vehicle reveals its cell, and everyone derives the same centre from it."""
from __future__ import annotations

import numpy as np

_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(_BASE32)}


def geohash(lat: float, lon: float, precision: int = 6) -> str:
    """The cell holding (lat, lon); precision 6 is ~1.2 km x 0.6 km, precision 5 ~4.9 km x 4.9 km."""
    lat_lo, lat_hi, lon_lo, lon_hi = -90.0, 90.0, -180.0, 180.0
    chars, bits, value, even = [], 0, 0, True
    while len(chars) < precision:
        if even:
            mid = (lon_lo + lon_hi) / 2
            value, lon_lo, lon_hi = (value * 2 + 1, mid, lon_hi) if lon >= mid else (value * 2, lon_lo, mid)
        else:
            mid = (lat_lo + lat_hi) / 2
            value, lat_lo, lat_hi = (value * 2 + 1, mid, lat_hi) if lat >= mid else (value * 2, lat_lo, mid)
        even, bits = not even, bits + 1
        if bits == 5:
            chars.append(_BASE32[value])
            bits, value = 0, 0
    return "".join(chars)


def geohash_centre(cell: str) -> tuple[float, float]:
    """The centre (lat, lon) of a cell: the only position the cost model ever sees."""
    lat_lo, lat_hi, lon_lo, lon_hi = -90.0, 90.0, -180.0, 180.0
    even = True
    for char in cell:
        value = _INDEX[char]
        for shift in range(4, -1, -1):
            bit = (value >> shift) & 1
            if even:
                mid = (lon_lo + lon_hi) / 2
                lon_lo, lon_hi = (mid, lon_hi) if bit else (lon_lo, mid)
            else:
                mid = (lat_lo + lat_hi) / 2
                lat_lo, lat_hi = (mid, lat_hi) if bit else (lat_lo, mid)
            even = not even
    return (lat_lo + lat_hi) / 2, (lon_lo + lon_hi) / 2


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on the unit sphere: chord distance orders pairs exactly as great-circle distance does (k-d trees)."""
    phi, lam = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)))
