"""Where a meeting's trade lives: a Market request (the reverse auction) or a trade of a committed Clearing. Each venue
says who the two parties are, where the seller's node is, and what the buyer committed to as the access secret's
hash; node/meetings.py runs one handshake, sealed point and access check over either.

A Market request carries the access hash on-chain (RequestOpened). A Clearing order carries none (a hash per order
would cost every trade calldata), so the buyer commits to it off-chain instead: an EIP-712 `TradeAccess` over
(clearing id, trade index, access hash), signed with the buyer's key and checked against the trade's published buyer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from eth_utils import keccak

from v2vchain.identity.access import access_hash, new_access_secret
from v2vchain.protocol import eip712

from .errors import NodeError
from .peers import ENDPOINT_DOMAIN
from .service import VehicleNode
from .trader import Presenter

ACCESS_TYPES = {
    "TradeAccess": [
        {"name": "clearingId", "type": "uint256"},
        {"name": "tradeIndex", "type": "uint256"},
        {"name": "accessHash", "type": "bytes32"},
    ]
}


@dataclass(frozen=True)
class TradeRef:
    """A trade to meet for: (market, request id) or (clearing, clearing id, trade index)."""

    venue: Literal["market", "clearing"]
    index: int  # the request id, or the trade's index in its clearing
    clearing_id: int = 0

    @property
    def seal_id(self) -> int:
        """What a sealed box is bound to: a request id as it is, a cleared trade the hash of its clearing id and
        index, so a box opens for no other trade of either venue."""
        if self.venue == "market":
            return self.index
        return int.from_bytes(
            keccak(b"v2vchain/clearing-trade" + self.clearing_id.to_bytes(32, "big") + self.index.to_bytes(32, "big"))
        )

    @property
    def p2p(self) -> str:
        """The seller node's peer path for this trade's meeting."""
        if self.venue == "market":
            return f"/p2p/meetings/{self.index}"
        return f"/p2p/clearings/{self.clearing_id}/trades/{self.index}"

    def as_json(self) -> dict[str, Any]:
        if self.venue == "market":
            return {"request_id": self.index}
        return {"clearing_id": str(self.clearing_id), "trade_index": self.index}


@dataclass(frozen=True)
class BuyerSide:
    seller: str
    seller_url: str
    secret_hex: str
    handshake: dict[str, Any]  # what the buyer's handshake carries besides its presentation


class Venue(Protocol):
    def buyer_side(self, ref: TradeRef, present: Presenter) -> BuyerSide: ...

    def seller_side(self, ref: TradeRef, handshake: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The buyer this node (as the trade's seller) must verify, and what to keep once it is verified."""
        ...

    def committed_access_hash(self, ref: TradeRef, verified: dict[str, Any]) -> bytes: ...

    def put(self, ref: TradeRef, kind: str, payload: dict[str, Any]) -> None: ...

    def get(self, ref: TradeRef, kind: str) -> dict[str, Any] | None: ...


class MarketVenue:
    def __init__(self, node: VehicleNode) -> None:
        self.node = node

    def buyer_side(self, ref: TradeRef, present: Presenter) -> BuyerSide:
        record = self.node._own_request(ref.index, "buyer")
        if record["status"] not in ("awarded",):
            raise NodeError(f"request {ref.index} is {record['status']}: there is no winner to meet", 409)
        secret = self.node.store.secret(ref.index)
        if secret is None:
            raise NodeError(f"the access secret of request {ref.index} is missing", 500)
        return BuyerSide(record["seller"], record.get("seller_url") or "", secret[1], {})

    def seller_side(self, ref: TradeRef, handshake: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        record = self.node._own_request(ref.index, "seller")
        if record["status"] != "awarded" or record.get("seller") != self.node.address:
            raise NodeError(f"request {ref.index} is not awarded to this vehicle", 409)
        return record["buyer"], {"ok": True}

    def committed_access_hash(self, ref: TradeRef, verified: dict[str, Any]) -> bytes:
        system = self.node.system
        logs = system.market.contract.events.RequestOpened.get_logs(
            from_block=system.deployment.block, argument_filters={"requestId": ref.index}
        )
        if not logs:
            raise NodeError(f"no RequestOpened event for request {ref.index}", 404)
        return bytes(logs[0]["args"]["accessHash"])

    def put(self, ref: TradeRef, kind: str, payload: dict[str, Any]) -> None:
        self.node.store.put_inbox(ref.index, kind, payload)

    def get(self, ref: TradeRef, kind: str) -> dict[str, Any] | None:
        return self.node.store.inbox(ref.index, kind)


class ClearingVenue:
    def __init__(self, node: VehicleNode) -> None:
        self.node = node

    def _domain(self) -> dict[str, Any]:
        return eip712.domain(ENDPOINT_DOMAIN, self.node.chain.chain_id, self.node._clearing_client().address)

    def _open_trade(self, ref: TradeRef, role: str) -> dict[str, Any]:
        row = self.node._own_trade(ref.clearing_id, ref.index, role)
        if not self.node._clearing_client().is_trade_open(ref.clearing_id, ref.index):
            raise NodeError(f"trade {ref.index} of clearing {ref.clearing_id} is closed: nothing to meet for", 409)
        return row

    def buyer_side(self, ref: TradeRef, present: Presenter) -> BuyerSide:
        """The seller and its URL (from the operator, signed by the seller), and this trade's access secret: made
        once, kept before anything is sent, its hash signed for the seller."""
        row = self._open_trade(ref, "buyer")
        url = self.node.counterparty_url(ref.clearing_id, ref.index, present)
        fresh = {"access_secret": new_access_secret().hex()}
        kept = self.node.store.keep_meeting_record(ref.clearing_id, ref.index, "access_secret", fresh)
        secret = str(kept["access_secret"])
        committed = access_hash(bytes.fromhex(secret))
        message = {"clearingId": ref.clearing_id, "tradeIndex": ref.index, "accessHash": committed}
        signature = eip712.sign(self.node.account, self._domain(), ACCESS_TYPES, message)
        handshake = {"access_hash": "0x" + committed.hex(), "access_signature": "0x" + signature.hex()}
        return BuyerSide(row["counterparty"], url, secret, handshake)

    def seller_side(self, ref: TradeRef, handshake: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The trade's buyer, and its access hash once the commitment is found signed by that buyer."""
        buyer = str(self._open_trade(ref, "seller")["counterparty"])
        committed = bytes.fromhex(str(handshake.get("access_hash", ""))[2:])
        message = {"clearingId": ref.clearing_id, "tradeIndex": ref.index, "accessHash": committed}
        signature = bytes.fromhex(str(handshake.get("access_signature", ""))[2:])
        signer = self.node._signer(ACCESS_TYPES, message, signature, "access commitment", domain=self._domain())
        if signer.lower() != buyer.lower():
            raise NodeError(f"the access commitment is signed by {signer}, not by the trade's buyer {buyer}", 401)
        return buyer, {"ok": True, "access_hash": "0x" + committed.hex()}

    def committed_access_hash(self, ref: TradeRef, verified: dict[str, Any]) -> bytes:
        return bytes.fromhex(str(verified["access_hash"])[2:])

    def put(self, ref: TradeRef, kind: str, payload: dict[str, Any]) -> None:
        self.node.store.put_meeting_record(ref.clearing_id, ref.index, kind, payload)

    def get(self, ref: TradeRef, kind: str) -> dict[str, Any] | None:
        return self.node.store.meeting_record(ref.clearing_id, ref.index, kind)
