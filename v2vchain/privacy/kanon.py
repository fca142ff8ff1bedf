"""k-anonymity cloaking: publish the smallest geohash cell around the vehicle that holds at least k known vehicles.

An observer of the cell cannot tell the vehicle from the k-1 others in it. The guarantee is only as good as the
`known` positions: they must be vehicles that really are there (a node learns them from a venue or from other
nodes' cells), and a cell says nothing about where in it the vehicle stands, even near an edge.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from v2vchain.errors import InvalidInput

from . import geohash
from .geo import Position

MAX_PRECISION = 7  # ~153 m x 153 m: finer cells would name a parking space


class CellCounts:
    """How many known positions fall in every geohash cell of precision 1..max: built once, queried per vehicle."""

    def __init__(self, positions: Iterable[Position], max_precision: int = MAX_PRECISION) -> None:
        self.max_precision = max_precision
        self._counts: Counter[str] = Counter()
        for lat, lon in positions:
            cell = geohash.encode(lat, lon, max_precision)
            self._counts.update(cell[:n] for n in range(1, max_precision + 1))

    def count(self, cell: str) -> int:
        return self._counts[cell]


@dataclass(frozen=True)
class GeohashCloak:
    cell: str
    k: int
    anonymity: int  # known positions inside the cell; below k only when even a precision-1 cell lacks them

    @property
    def satisfied(self) -> bool:
        return self.anonymity >= self.k

    @property
    def centre(self) -> Position:
        """Where matching places the vehicle."""
        return geohash.decode(self.cell)

    def public(self) -> dict[str, Any]:
        """What the node publishes: the cell's name and k, no coordinates."""
        return {"kind": "geohash", "cell": self.cell, "k": self.k}


def k_anonymous_cell(
    position: Position, known: CellCounts | Iterable[Position], k: int, *, max_precision: int = MAX_PRECISION
) -> GeohashCloak:
    """The finest cell (precision max..1) containing `position` and >= k of the `known` positions.

    `known` is every vehicle position the node knows, itself included if it is to count towards k. When even the
    precision-1 cell holds fewer than k, that cell is returned with `satisfied` False: it still leaks little.
    """
    if k < 1:
        raise InvalidInput(f"k must be at least 1, got {k}")
    counts = known if isinstance(known, CellCounts) else CellCounts(known, max_precision)
    if counts.max_precision < max_precision:
        raise InvalidInput(f"counts go to precision {counts.max_precision}, cloak asks for {max_precision}")
    cell = geohash.encode(*position, precision=max_precision)
    for precision in range(max_precision, 0, -1):
        count = counts.count(cell[:precision])
        if count >= k or precision == 1:
            return GeohashCloak(cell=cell[:precision], k=k, anonymity=count)
    raise AssertionError("unreachable")
