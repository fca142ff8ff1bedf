"""The Clearing's orders as signed and checked on-chain: an EIP-712 `Order` under the "V2V Clearing" domain, its
digest, and the hash over a clearing's order set."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address

from v2vchain.matching.orders import Order as MatchingOrder

from . import eip712
from .abi_values import bytes32, uint
from .eip712 import CLEARING_DOMAIN, ORDER_TYPES
from .errors import InvalidRoute
from .routes import Route, route_hash


@dataclass(frozen=True)
class ChainOrder:
    """An order in the exact fields its owner signs and the contract reads (the area as its bytes32 hash).

    The owner signs its route's hash (`route_hash`: keccak of the route's packed encoding, zero for none). An order
    read back from a commit whose published route does not decode (the audit names it) keeps those bytes as
    `raw_route`, so its signed hash is still its own.
    """

    owner: str
    side: int
    energy_wh: int
    limit_price_per_wh: int
    area_id: bytes
    window_start_ts: int
    window_end_ts: int
    nonce: int
    expiry_ts: int
    route: Route | None = None
    raw_route: bytes | None = None  # published route bytes no Route decodes; never beside a route

    def __post_init__(self) -> None:
        if self.route is not None and not isinstance(self.route, Route):
            raise InvalidRoute(f"expected a Route or None, got {type(self.route).__name__}")
        if self.route is not None and self.raw_route is not None:
            raise InvalidRoute("an order carries its route or the raw bytes of one, not both")

    @property
    def route_bytes(self) -> bytes:
        """What the order adds to a commit's `routes`: its route's packed encoding, b"" when parked."""
        if self.raw_route is not None:
            return bytes(self.raw_route)
        return b"" if self.route is None else self.route.encode()

    @property
    def route_hash(self) -> bytes:
        return route_hash(self.route) if self.raw_route is None else keccak(bytes(self.raw_route))

    @classmethod
    def of(cls, order: MatchingOrder) -> ChainOrder:
        return cls(
            owner=to_checksum_address(order.owner),
            side=int(order.side),
            energy_wh=order.energy_wh,
            limit_price_per_wh=order.limit_price_per_wh,
            area_id=order.area_word,
            window_start_ts=order.window_start_ts,
            window_end_ts=order.window_end_ts,
            nonce=order.nonce,
            expiry_ts=order.expiry_ts,
            route=order.route,
        )

    @property
    def key(self) -> tuple[str, int]:
        return self.owner.lower(), self.nonce

    def message(self) -> dict[str, Any]:
        """The EIP-712 message: the same as v2vchain.matching.signing.order_message of the matching order."""
        return {
            "owner": self.owner,
            "side": self.side,
            "energyWh": self.energy_wh,
            "limitPricePerWh": self.limit_price_per_wh,
            "areaId": self.area_id,
            "windowStart": self.window_start_ts,
            "windowEnd": self.window_end_ts,
            "routeHash": self.route_hash,
            "nonce": self.nonce,
            "expiry": self.expiry_ts,
        }

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.owner,
            uint("side", self.side, 8),
            uint("energy_wh", self.energy_wh, 64),
            uint("limit_price_per_wh", self.limit_price_per_wh, 96),
            bytes32("area_id", self.area_id),
            uint("window_start_ts", self.window_start_ts, 40),
            uint("window_end_ts", self.window_end_ts, 40),
            bytes32("route_hash", self.route_hash),
            uint("nonce", self.nonce, 64),
            uint("expiry_ts", self.expiry_ts, 40),
        )


@dataclass(frozen=True)
class SignedOrder:
    order: ChainOrder
    signature: bytes  # 65 bytes r || s || v

    @property
    def v(self) -> int:
        return self.signature[64] if len(self.signature) == 65 else 0

    @property
    def r(self) -> bytes:
        return self.signature[:32].rjust(32, b"\x00")

    @property
    def s(self) -> bytes:
        return self.signature[32:64].rjust(32, b"\x00")

    def as_tuple(self) -> tuple[Any, ...]:
        return (self.order.as_tuple(), self.v, self.r, self.s)


def order_digest(order: ChainOrder, chain_id: int, contract: str) -> bytes:
    domain = eip712.domain(CLEARING_DOMAIN, chain_id, contract)
    signable = encode_typed_data(domain_data=domain, message_types=ORDER_TYPES, message_data=order.message())
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def order_set_hash(digests: Sequence[bytes]) -> bytes:
    """keccak of the orders' EIP-712 digests in list order (ClearingCommitted.orderSetHash)."""
    return keccak(b"".join(digests))
