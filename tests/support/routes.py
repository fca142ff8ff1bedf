"""Routes for tests: a trip through neighbouring cells inside a window, and packed bytes no Route would build."""

from __future__ import annotations

from v2vchain.protocol.areas import area_id
from v2vchain.protocol.routes import Route, Waypoint

CELLS = ("u33dc0", "u33dc1", "u33dc4", "u33dc5", "u33dch", "u33dcj", "u33dcn", "u33dcp", "u33dcq")


def trip(start: int, end: int, waypoints: int = 4, first: int = 0) -> Route:
    """`waypoints` consecutive CELLS from `first`, the window [start, end] shared out evenly: the vehicle stays a
    quarter of each share in its cell and drives on to the next for the rest (where it can meet another)."""
    step = (end - start) // waypoints
    cells = CELLS[first : first + waypoints]
    return Route(tuple(Waypoint(c, start + k * step, start + k * step + step // 4) for k, c in enumerate(cells)))


def packed(cells: list[bytes], start: int, step: int = 60) -> bytes:
    """The packed encoding of these 32-byte cell words, however many, each `step` seconds after the last."""
    body = b"".join(
        c + (start + k * step).to_bytes(5, "big") + (start + (k + 1) * step).to_bytes(5, "big")
        for k, c in enumerate(cells)
    )
    return bytes([len(cells)]) + body


def packed_trip(n: int, start: int) -> bytes:
    """n waypoints of valid cells: what a Route of n would encode to, for any n (1 and 9 included)."""
    return packed([area_id(CELLS[k % len(CELLS)]) for k in range(n)], start)
