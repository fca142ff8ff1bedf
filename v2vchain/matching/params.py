"""The parameters of a clearing, in one frozen object that the commitment on-chain can hash."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from .costs import CostParams
from .errors import InvalidClearingParameter
from .outside import Station
from .units import GRID_EXPORT_PER_WH, GRID_IMPORT_PER_WH


@dataclass(frozen=True)
class GridPrices:
    """The fallback for whoever is not matched: buyers import from the grid, sellers export to it."""

    import_per_wh: int = GRID_IMPORT_PER_WH
    export_per_wh: int = GRID_EXPORT_PER_WH

    def __post_init__(self) -> None:
        for name in ("import_per_wh", "export_per_wh"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidClearingParameter(name, value, "must be a non-negative int (token units per Wh)")


@dataclass(frozen=True)
class ClearingParams:
    """k splits a price gap (k = 1 gives all of it to sellers: price = bid); nearest_areas bounds the pairs
    the cost-aware mechanisms consider (each buyer's k nearest seller areas); stations are the buyers' outside
    option (none: the grid import price at the buyer's door)."""

    k: Fraction = Fraction(1, 2)
    grid: GridPrices = field(default_factory=GridPrices)
    costs: CostParams = field(default_factory=CostParams)
    nearest_areas: int = 8
    stations: tuple[Station, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, (int, Fraction)) or not 0 <= self.k <= 1:
            raise InvalidClearingParameter("k", self.k, "must be a Fraction (or 0 / 1) in [0, 1]; floats are refused")
        object.__setattr__(self, "k", Fraction(self.k))
        if not isinstance(self.nearest_areas, int) or isinstance(self.nearest_areas, bool) or self.nearest_areas < 1:
            raise InvalidClearingParameter("nearest_areas", self.nearest_areas, "must be an int >= 1")
        if not isinstance(self.stations, tuple) or not all(isinstance(s, Station) for s in self.stations):
            raise InvalidClearingParameter("stations", self.stations, "must be a tuple of Station")
