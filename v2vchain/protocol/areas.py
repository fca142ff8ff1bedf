"""Cloaked area ids as they appear on-chain: a geohash cell (a region, never a point) in a bytes32.

Readable rather than hashed so anyone can discover requests by region prefix ("u33d" covers "u33db").
"""

from __future__ import annotations

from v2vchain.errors import InvalidInput

PREFIX = b"gh:"
_ALPHABET = set("0123456789bcdefghjkmnpqrstuvwxyz")


def area_id(cell: str) -> bytes:
    if not cell or len(cell) > 12 or not set(cell) <= _ALPHABET:
        raise InvalidInput(f"{cell!r} is not a geohash cell of 1..12 characters")
    return (PREFIX + cell.encode()).ljust(32, b"\x00")


def cell_of(area: bytes) -> str:
    """The geohash cell inside an on-chain area id, or '' for an id that is not one (e.g. a hashed area)."""
    raw = bytes(area).rstrip(b"\x00")
    if not raw.startswith(PREFIX):
        return ""
    cell = raw[len(PREFIX) :].decode("ascii", errors="replace")
    return cell if cell and set(cell) <= _ALPHABET else ""


def within(area: bytes, region: str) -> bool:
    """True when the area lies inside `region`, or contains it (a coarser cloak covering the region)."""
    cell = cell_of(area)
    return bool(cell) and (cell.startswith(region) or region.startswith(cell))
