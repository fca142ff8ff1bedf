"""Distances and small offsets on the Earth, shared by the cloaks and the privacy benchmark."""

from __future__ import annotations

import math

from v2vchain.errors import InvalidInput

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius
Position = tuple[float, float]  # (latitude, longitude) in degrees


def check_position(lat: float, lon: float) -> None:
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):  # also false for NaN
        raise InvalidInput(f"not a position: latitude {lat!r}, longitude {lon!r}")


def haversine_m(a: Position, b: Position) -> float:
    """Great-circle distance in metres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def offset(position: Position, east_m: float, north_m: float) -> Position:
    """The point `east_m`, `north_m` away on the local tangent plane: exact enough for the few km a cloak moves."""
    lat, lon = position
    new_lat = lat + math.degrees(north_m / EARTH_RADIUS_M)
    new_lon = lon + math.degrees(east_m / (EARTH_RADIUS_M * max(math.cos(math.radians(lat)), 1e-12)))
    new_lat = max(-90.0, min(90.0, new_lat))
    return new_lat, (new_lon + 180.0) % 360.0 - 180.0
