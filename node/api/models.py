"""Request and response shapes of the node's API: strict, so bad input is refused with a reason (422)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from node.peers import route_from_json
from node.route_cloak import PlannedStop, cloak_route
from node.store import INT64
from v2vchain.protocol.errors import InvalidRoute
from v2vchain.protocol.routes import MAX_TS

UINT64 = 2**64 - 1
# The node's store keeps request ids, bid nonces, energies and prices as SQLite INTEGER, a signed 64-bit number: larger
# ones are refused with a 422 (on-chain ids are a counter from 1, a node's own nonces a counter too, and no price per
# Wh comes near 2**63 token units, though the contract would take 96 bits).
RequestIdPath = Annotated[int, Path(gt=0, le=INT64)]
UINT96 = 2**96 - 1
MAX_ENERGY_WH = 1_000_000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class OpenRequest(Strict):
    energy_wh: int = Field(gt=0, le=MAX_ENERGY_WH)
    max_price_per_wh: int = Field(gt=0, le=INT64)
    bidding_s: int = Field(gt=0, le=7 * 86_400)
    delivery_lead_s: int = Field(default=300, ge=0, le=7 * 86_400)
    delivery_window_s: int = Field(default=3_600, gt=0, le=2 * 86_400)


class PlaceBid(Strict):
    request_id: int = Field(gt=0, le=INT64)
    buyer_url: str = Field(min_length=8, max_length=200, pattern=r"^https?://")
    price_per_wh: int | None = Field(default=None, gt=0, le=INT64)


class AutoBid(Strict):
    region: str = Field(default="", max_length=12, pattern=r"^[0-9bcdefghjkmnpqrstuvwxyz]*$")


class Confirm(Strict):
    delivered_wh: int = Field(ge=0, le=UINT64)


class Deposit(Strict):
    amount: int = Field(gt=0, le=UINT96)


class Withdraw(Strict):
    """Any part of the free balance; all of it when amount is left out."""

    amount: int | None = Field(default=None, gt=0, le=UINT96)


class SignedBidIn(Strict):
    request_id: int = Field(gt=0, le=INT64)
    seller: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    price_per_wh: int = Field(gt=0, le=INT64)
    energy_wh: int = Field(gt=0, le=MAX_ENERGY_WH)
    nonce: int = Field(ge=0, le=INT64)
    expiry_ts: int = Field(gt=0, le=2**40 - 1)
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")
    seller_url: str = Field(min_length=8, max_length=200, pattern=r"^https?://")
    endpoint_signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")  # the seller's, over (request, bid, seller_url)


class ReceiptIn(Strict):
    request_id: int = Field(gt=0, le=INT64)
    delivered_wh: int = Field(ge=0, le=UINT64)
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")


class Meet(Strict):
    """The exact meeting point, sent sealed to the winner only; default: this vehicle's own position."""

    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class Handshake(Strict):
    presentation: dict[str, Any]
    challenge: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$")


class ClearingHandshake(Handshake):
    """A cleared trade's handshake also carries the buyer's commitment to the access secret (no order holds it)."""

    access_hash: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$")
    access_signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")  # the buyer's TradeAccess signature


class ContactRequest(Strict):
    """A party's presentation, answering the operator's challenge (GET /p2p/challenge)."""

    presentation: dict[str, Any]


class SealedPoint(Strict):
    sealed: str = Field(pattern=r"^0x(?:[0-9a-fA-F]{2}){48,1000}$")  # whole bytes: an odd digit count is refused


ClearingIdPath = Annotated[str, Path(pattern=r"^[0-9]{1,78}$")]  # operator << 96 | seq: beyond JSON's safe integers
TradeIndexPath = Annotated[int, Path(ge=0, le=2**32 - 1)]


class WaypointIn(Strict):
    """A route's waypoint as an order signs it: a geohash cell, never a position."""

    cell: str = Field(min_length=1, max_length=12, pattern=r"^[0-9bcdefghjkmnpqrstuvwxyz]+$")
    arrive_ts: int = Field(gt=0, le=MAX_TS)
    depart_ts: int = Field(gt=0, le=MAX_TS)


class SignedOrderIn(Strict):
    """A vehicle's order for the batch Clearing, signed under the Clearing's EIP-712 domain (POST /p2p/orders)."""

    owner: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    side: int = Field(ge=1, le=2)  # 1 buy, 2 sell
    energy_wh: int = Field(gt=0, le=MAX_ENERGY_WH)
    limit_price_per_wh: int = Field(gt=0, le=UINT96)
    area_id: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$")
    window_start_ts: int = Field(gt=0, le=2**40 - 1)
    window_end_ts: int = Field(gt=0, le=2**40 - 1)
    nonce: int = Field(ge=0, le=INT64)
    expiry_ts: int = Field(gt=0, le=2**40 - 1)
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")
    node_url: str = Field(default="", max_length=200, pattern=r"^(https?://.+)?$")  # where its trades' receipts go
    endpoint_signature: str = Field(default="", pattern=r"^(0x[0-9a-fA-F]{130})?$")  # the owner's, over order + URL
    route: list[WaypointIn] | None = None  # 2..8 waypoints; its hash is what the signature covers

    @field_validator("route")
    @classmethod
    def _route(cls, route: list[WaypointIn] | None) -> list[WaypointIn] | None:
        if route is not None:
            try:
                route_from_json([w.model_dump() for w in route])
            except InvalidRoute as exc:
                raise ValueError(exc.reason) from None
        return route


class StopIn(Strict):
    """A stop of the vehicle's trip: its exact position stays on the node (the order signs its geohash cell at the
    node's `cloak.route_precision`), and when the vehicle is there (absolute Unix seconds)."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    arrive_ts: int = Field(gt=0, le=MAX_TS)
    depart_ts: int = Field(gt=0, le=MAX_TS)

    def planned(self) -> PlannedStop:
        return (self.lat, self.lon, self.arrive_ts, self.depart_ts)


class PlaceOrder(Strict):
    """A parked vehicle's order (its cloaked cell, the window from window_lead_s for window_s), or a moving one's:
    `route`, 2..8 stops, sets the window to [first arrive, last depart] and the area to the first stop's cell."""

    side: Literal["buy", "sell"]
    energy_wh: int = Field(gt=0, le=MAX_ENERGY_WH)
    limit_price_per_wh: int = Field(gt=0, le=10**9)
    window_lead_s: int = Field(default=300, ge=0, le=7 * 86_400)
    window_s: int = Field(default=3_600, gt=0, le=2 * 86_400)
    expiry_s: int | None = Field(default=None, gt=0, le=9 * 86_400)
    operator_url: str = Field(default="", max_length=200, pattern=r"^(https?://.+)?$")
    route: list[StopIn] | None = None

    @field_validator("route")
    @classmethod
    def _route(cls, route: list[StopIn] | None) -> list[StopIn] | None:
        if route is not None:
            try:
                planned = cloak_route([stop.planned() for stop in route], precision=1)  # valid at any precision
            except InvalidRoute as exc:
                raise ValueError(exc.reason) from None
            if planned.start_ts == planned.end_ts:  # the order's window would be empty: the Clearing refuses it
                raise ValueError(f"the route arrives and departs at {planned.start_ts} only: its window is empty")
        return route

    @model_validator(mode="after")
    def _one_window(self) -> PlaceOrder:
        given = sorted({"window_lead_s", "window_s"} & self.model_fields_set)
        if self.route is not None and given:
            raise ValueError(
                f"route conflicts with {' and '.join(given)}: a routed order's window is its first stop's arrive_ts "
                "to its last stop's depart_ts"
            )
        return self


class ResendOrders(Strict):
    operator_url: str = Field(min_length=8, max_length=200, pattern=r"^https?://")


class ClearingReceiptIn(Strict):
    clearing_id: str = Field(pattern=r"^[0-9]{1,78}$")
    trade_index: int = Field(ge=0, le=2**32 - 1)
    delivered_wh: int = Field(ge=0, le=UINT64)
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")
