"""The matching package's exceptions: each names the broken rule and carries the values a caller needs."""

from __future__ import annotations

from typing import Any

from v2vchain.errors import InvalidInput


class InvalidOrder(InvalidInput):
    """An order breaks a rule of its own (a field out of range, an absurd window)."""


class InvalidSide(InvalidOrder):
    def __init__(self, side: Any) -> None:
        self.side = side
        super().__init__(f"side must be BUY (1) or SELL (2), got {side!r}")


class InvalidOwner(InvalidOrder):
    def __init__(self, owner: Any) -> None:
        self.owner = owner
        super().__init__(f"owner must be a 0x-prefixed 20-byte hex address, got {owner!r}")


class EnergyOutOfRange(InvalidOrder):
    def __init__(self, energy_wh: Any, max_wh: int) -> None:
        self.energy_wh, self.max_wh = energy_wh, max_wh
        super().__init__(f"energy_wh must be an int in 1..{max_wh}, got {energy_wh!r}")


class PriceOutOfRange(InvalidOrder):
    def __init__(self, price_per_wh: Any, max_price_per_wh: int) -> None:
        self.price_per_wh, self.max_price_per_wh = price_per_wh, max_price_per_wh
        super().__init__(f"limit_price_per_wh must be an int in 1..{max_price_per_wh}, got {price_per_wh!r}")


class NonceOutOfRange(InvalidOrder):
    def __init__(self, nonce: Any) -> None:
        self.nonce = nonce
        super().__init__(f"nonce must be an int in 0..2**64-1, got {nonce!r}")


class RoutedOrderInColumns(InvalidOrder):
    """Order columns (a v2v-orders/1 file) hold parked orders only: a route has no column, and dropping it would
    sign and clear a different order."""

    def __init__(self, owner: str, nonce: int) -> None:
        self.owner, self.nonce = owner, nonce
        super().__init__(f"order ({owner}, {nonce}) carries a route; order columns hold parked orders only")


class InvalidArea(InvalidOrder):
    def __init__(self, area_id: Any, lat: Any, lon: Any, reason: str) -> None:
        self.area_id, self.lat, self.lon = area_id, lat, lon
        super().__init__(f"area {area_id!r} at ({lat!r}, {lon!r}): {reason}")


class InvalidWindow(InvalidOrder):
    def __init__(self, start_ts: Any, end_ts: Any, max_window_s: int) -> None:
        self.start_ts, self.end_ts, self.max_window_s = start_ts, end_ts, max_window_s
        super().__init__(
            f"window [{start_ts!r}, {end_ts!r}] must be ints with 0 < start < end < 2**40 "
            f"and at most {max_window_s} s long"
        )


class InvalidExpiry(InvalidOrder):
    def __init__(self, expiry_ts: Any, window_end_ts: int) -> None:
        self.expiry_ts, self.window_end_ts = expiry_ts, window_end_ts
        super().__init__(f"expiry_ts must be an int in 1..window_end_ts ({window_end_ts}), got {expiry_ts!r}")


class DuplicateOrder(InvalidOrder):
    """Two orders of one clearing share (owner, nonce): a replay, and it would make tie-breaks ambiguous."""

    def __init__(self, owner: str, nonce: int) -> None:
        self.owner, self.nonce = owner, nonce
        super().__init__(f"two orders from {owner} with nonce {nonce}")


class OwnerOnBothSides(InvalidOrder):
    """A vehicle buys or sells in one clearing, never both: a self-trade could only move the price."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        super().__init__(f"{owner} has both a BUY and a SELL order in one clearing")


class OrderSignatureMismatch(InvalidOrder):
    def __init__(self, owner: str, signer: str) -> None:
        self.owner, self.signer = owner, signer
        super().__init__(f"order of {owner} is signed by {signer}")


class InvalidClearingParameter(InvalidInput):
    def __init__(self, name: str, value: Any, reason: str) -> None:
        self.name, self.value = name, value
        super().__init__(f"{name}={value!r}: {reason}")
