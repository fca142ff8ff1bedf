"""Cloaked areas as geohash cells: a vehicle reveals its cell, and everyone derives the same centre from it.

One geohash implementation serves the whole project (v2vchain.privacy.geohash); this module names what matching
needs of it."""

from __future__ import annotations

import numpy as np

from v2vchain.privacy.geohash import decode, encode


def geohash(lat: float, lon: float, precision: int = 6) -> str:
    """The cell holding (lat, lon); precision 6 is ~1.2 km x 0.6 km, precision 5 ~4.9 km x 4.9 km."""
    return encode(lat, lon, precision)


def geohash_centre(cell: str) -> tuple[float, float]:
    """The centre (lat, lon) of a cell: the only position the cost model ever sees."""
    return decode(cell)


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on the unit sphere: chord distance orders pairs exactly as great-circle distance does (k-d trees)."""
    phi, lam = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)))
