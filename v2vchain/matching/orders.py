"""A signed order as the clearing sees it: immutable, integer units, validated once at construction."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import IntEnum

from v2vchain.privacy.geohash import BASE32
from v2vchain.protocol.areas import area_id
from v2vchain.protocol.errors import InvalidRoute
from v2vchain.protocol.routes import Route

from .errors import (
    EnergyOutOfRange,
    InvalidArea,
    InvalidExpiry,
    InvalidOwner,
    InvalidSide,
    InvalidWindow,
    NonceOutOfRange,
    PriceOutOfRange,
)

MAX_ENERGY_WH = 1_000_000  # the Market's limit: one order is at most 1 MWh
MAX_PRICE_PER_WH = 10**9  # 1,000 tokens per Wh: far above any grid price, and Wh x price x 1M orders fits int64 sums
MAX_WINDOW_S = 2 * 86_400  # the Market's longest delivery window
MAX_TS = 2**40 - 1  # uint40
MAX_NONCE = 2**64 - 1  # uint64
_GEOHASH = frozenset(BASE32)
MAX_AREA_ID_CHARS = 12  # a geohash cell, encoded readably on-chain by v2vchain.areas.area_id
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


class Side(IntEnum):
    """1 and 2 (as the Registry's role flags), so an all-zero struct is never a valid order."""

    BUY = 1
    SELL = 2


@dataclass(frozen=True, slots=True)
class Order:
    """One side's offer for a clearing period.

    The area is a cloaked region (e.g. a geohash cell), never an exact position; its centre is public (it can be
    recomputed from the cell id), so it is not part of the signed message. A route (cloaked cells with times, inside
    the window) says where a moving vehicle will be; the order signs its hash (v2vchain.protocol.routes).
    """

    owner: str
    side: Side
    energy_wh: int
    limit_price_per_wh: int
    area_id: str
    area_lat: float
    area_lon: float
    window_start_ts: int
    window_end_ts: int
    nonce: int
    expiry_ts: int
    route: Route | None = None  # None: parked in its area for its whole window
    owner_key: int = field(init=False, repr=False, compare=False)  # first 64 bits of owner: a fast sort key

    def __post_init__(self) -> None:
        if not isinstance(self.owner, str) or not _ADDRESS.fullmatch(self.owner):
            raise InvalidOwner(self.owner)
        lowered = self.owner.lower()  # one spelling, so tie-breaks on owner do not depend on checksum case
        object.__setattr__(self, "owner", lowered)
        object.__setattr__(self, "owner_key", int(lowered[2:18], 16))
        if self.side not in (Side.BUY, Side.SELL) or isinstance(self.side, bool):
            raise InvalidSide(self.side)
        object.__setattr__(self, "side", Side(self.side))
        if not _int_in(self.energy_wh, 1, MAX_ENERGY_WH):
            raise EnergyOutOfRange(self.energy_wh, MAX_ENERGY_WH)
        if not _int_in(self.limit_price_per_wh, 1, MAX_PRICE_PER_WH):
            raise PriceOutOfRange(self.limit_price_per_wh, MAX_PRICE_PER_WH)
        if not _int_in(self.nonce, 0, MAX_NONCE):
            raise NonceOutOfRange(self.nonce)
        _check_area(self.area_id, self.area_lat, self.area_lon)
        start, end = self.window_start_ts, self.window_end_ts
        if not (_int_in(start, 1, MAX_TS) and _int_in(end, 1, MAX_TS) and start < end <= start + MAX_WINDOW_S):
            raise InvalidWindow(start, end, MAX_WINDOW_S)
        if not _int_in(self.expiry_ts, 1, end):
            raise InvalidExpiry(self.expiry_ts, end)
        if self.route is not None:
            if not isinstance(self.route, Route):
                raise InvalidRoute(f"expected a Route or None, got {type(self.route).__name__}")
            if not start <= self.route.start_ts <= self.route.end_ts <= end:
                raise InvalidRoute(
                    f"the route runs {self.route.start_ts}..{self.route.end_ts}, "
                    f"outside the order's window {start}..{end}"
                )

    @property
    def key(self) -> tuple[str, int]:
        """(owner, nonce): unique within a clearing, as on-chain where a nonce is spent once per signer."""
        return self.owner, self.nonce

    @property
    def area_word(self) -> bytes:
        """The bytes32 both venues see for the area: the readable geohash encoding of v2vchain.areas, so anyone can
        find orders by region and recompute a clearing's travel costs from chain data alone."""
        return area_id(self.area_id)

    @property
    def notional(self) -> int:
        """The most money this order can move: energy x limit price."""
        return self.energy_wh * self.limit_price_per_wh


def _int_in(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _check_area(area_id: object, lat: object, lon: object) -> None:
    if not isinstance(area_id, str) or not 0 < len(area_id) <= MAX_AREA_ID_CHARS or not set(area_id) <= _GEOHASH:
        raise InvalidArea(area_id, lat, lon, f"id must be a geohash cell of 1..{MAX_AREA_ID_CHARS} characters")
    for value, limit in ((lat, 90.0), (lon, 180.0)):
        if (
            not isinstance(value, (int, float))
            or isinstance(value, bool)
            or not math.isfinite(value)
            or abs(value) > limit
        ):
            raise InvalidArea(area_id, lat, lon, "centre must be finite degrees within (+-90, +-180)")
