"""Failures of the location-privacy helpers."""

from __future__ import annotations

from v2vchain.errors import InvalidInput, V2VError


class InvalidGeohash(InvalidInput):
    """Not a geohash: empty, too long, or a character outside the geohash base32 alphabet."""


class SealBroken(V2VError):
    """A sealed message could not be opened: wrong recipient key, wrong request id, or altered in transit."""
