"""The buyer's side of a reverse auction: open with a cloaked area, take sealed signed bids checked as the contract
checks them, close by relaying the best, confirm the delivery on-chain first and then hand the seller its receipt."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from eth_utils import keccak

from v2vchain.contracts.market import SignedBid
from v2vchain.identity.registration import ROLE_SELLER
from v2vchain.protocol import areas, eip712, signatures
from v2vchain.protocol.errors import BadSignature

from .block_cache import HEAD_TTL_S
from .core import NodeCore
from .errors import NodeError
from .peers import (
    ENDPOINT_TYPES,
    bid_from_row,
    endpoint_message,
    sign_listing,
)

log = logging.getLogger("v2vchain.node")

MAX_SIGNED_BIDS = 16  # the Market's bound on the bids relayed in one close
CLOSE_MARGIN_S = 30  # a bid expiring this close to the close may expire before the close is mined
RECEIPT_TIMEOUT_S = 5.0  # the receipt is delivered best-effort, after the confirmation is on-chain


class BuyerRole(NodeCore):
    def open_request(
        self,
        *,
        energy_wh: int,
        max_price_per_wh: int,
        bidding_s: int,
        delivery_lead_s: int,
        delivery_window_s: int,
        area_cell: str,
    ) -> dict[str, Any]:
        """Open on-chain with the cloaked area. The intent, with the access secret, is recorded before sending,
        so a crash in between loses nothing: `recover` finds the request on-chain by its access hash."""
        secret = secrets.token_bytes(32)
        deadline = self.chain.now() + bidding_s
        start = deadline + delivery_lead_s
        fields = {
            "energy_wh": energy_wh,
            "max_price_per_wh": max_price_per_wh,
            "deadline_ts": deadline,
            "delivery_start_ts": start,
            "delivery_end_ts": start + delivery_window_s,
            "area": area_cell,
        }
        key = f"open:{keccak(secret).hex()}"
        self.store.begin(key, {**fields, "secret": secret.hex()})
        request_id = self.system.market.open(
            energy_wh=energy_wh,
            max_price_per_wh=max_price_per_wh,
            deadline_ts=deadline,
            delivery_start_ts=start,
            delivery_end_ts=start + delivery_window_s,
            area_id=areas.area_id(area_cell),
            access_hash=keccak(secret),
        )
        self._record_opened(key, request_id, fields, secret.hex())
        return self.store.request(request_id) or {}

    def _record_opened(self, key: str, request_id: int, fields: dict[str, Any], secret_hex: str) -> None:
        self.store.put_secret(request_id, "access", secret_hex)
        self.store.upsert_request(
            request_id=request_id, role="buyer", buyer=self.address, status="open", buyer_url=self.config.url, **fields
        )
        self.store.finish(key, "done", request_id)

    def receive_bid(self, bid: SignedBid, seller_url: str, endpoint_signature: bytes) -> dict[str, Any]:
        """Check a seller's signed bid exactly as the contract will, and its signed reply endpoint, and keep it for
        the close: one bid per seller and request (a strictly cheaper one from the same seller replaces it)."""
        record = self.store.request(bid.request_id)
        if record is None or record["role"] != "buyer":
            raise NodeError(f"request {bid.request_id} is not one of this node's requests", 404)
        if record["status"] != "open":
            raise NodeError(f"request {bid.request_id} is {record['status']}, not open", 409)
        _, now = self.blocks.head(max_age_s=HEAD_TTL_S)
        if now >= record["deadline_ts"]:
            raise NodeError(f"bidding on request {bid.request_id} closed at {record['deadline_ts']}", 409)
        if bid.expiry_ts < record["deadline_ts"]:
            raise NodeError(f"bid expires at {bid.expiry_ts}, before the close at {record['deadline_ts']}")
        if bid.energy_wh != record["energy_wh"]:
            raise NodeError(f"bid is for {bid.energy_wh} Wh, the request is for {record['energy_wh']} Wh")
        if not 0 < bid.price_per_wh <= record["max_price_per_wh"]:
            raise NodeError(f"price {bid.price_per_wh} is outside 1..{record['max_price_per_wh']}")
        if bid.seller == self.address:
            raise NodeError("a buyer cannot bid on its own request")
        signer = self._signer(eip712.BID_TYPES, bid.message(), bid.signature, "bid")
        if signer != bid.seller:
            raise NodeError(f"the bid is signed by {signer}, not by the seller {bid.seller}", 401)
        endpoint_signer = self._signer(
            ENDPOINT_TYPES,
            endpoint_message(self._market_domain(), bid, seller_url),
            endpoint_signature,
            "reply endpoint",
            domain=self._endpoint_domain(),
        )
        if endpoint_signer != bid.seller:
            raise NodeError(f"the reply endpoint {seller_url} is not signed by the seller {bid.seller}", 401)
        if bid.nonce < self.blocks.get(("floor", bid.seller), lambda: self.system.market.min_bid_nonce(bid.seller)):
            raise NodeError("the seller has cancelled this bid's nonce", 409)
        if not self.blocks.get(("seller", bid.seller), lambda: self.system.registry.is_active(bid.seller, ROLE_SELLER)):
            raise NodeError(f"{bid.seller} is not an active registered seller", 403)
        refusal = self.store.put_seller_bid(
            {
                "request_id": bid.request_id,
                "seller": bid.seller,
                "nonce": bid.nonce,
                "price_per_wh": bid.price_per_wh,
                "energy_wh": bid.energy_wh,
                "expiry_ts": bid.expiry_ts,
                "signature": bid.signature.hex(),
                "seller_url": seller_url,
            }
        )
        if refusal:
            raise NodeError(refusal, 409)
        return {"accepted": True, "request_id": bid.request_id, "price_per_wh": bid.price_per_wh}

    def close(self, request_id: int) -> dict[str, Any]:
        """Relay the best signed bids in one call: the contract passes over any it rejects (SignedBidRejected) and
        awards the best valid one; the rejected ones are marked, with the reason, in the node's store. The buyer
        closes, so the relay period after the deadline is no obstacle."""
        record = self._own_request(request_id, "buyer")
        if self.chain.now() < record["deadline_ts"]:
            raise NodeError(f"bidding is open until {record['deadline_ts']}", 409)
        rows = self._relayable_bids(request_id)
        market = self.system.market
        receipt = market.close_with_signed_bids(request_id, [bid_from_row(r) for r in rows])
        for rejected in market.rejected_bids(receipt):
            self.store.reject_seller(request_id, rows[rejected.index]["seller"], rejected.reason.name)
        return self.refresh(request_id)

    def _relayable_bids(self, request_id: int) -> list[dict[str, Any]]:
        """The best bids the chain would accept now, cheapest first, at most MAX_SIGNED_BIDS: each is checked
        against the chain's state (nonce floor, expiry, active seller, free cover) before it takes a slot, and a
        seller caught once with a bid the chain would refuse is dropped for the whole request. So no set of stale
        or hostile bids can crowd the valid ones out of the close."""
        market = self.system.market
        request = market.request(request_id)
        now = self.chain.now()
        dropped: set[str] = set()
        chosen: list[dict[str, Any]] = []
        for row in self.store.signed_bids(request_id):
            seller = row["seller"]
            if seller in dropped:
                continue
            reason = self._chain_refusal(row, request, now)
            if reason:
                dropped.add(seller)
                self.store.reject_seller(request_id, seller, reason)
                log.info("request %s: dropped seller %s before the close (%s)", request_id, seller, reason)
                continue
            chosen.append(row)
            if len(chosen) == MAX_SIGNED_BIDS:
                break
        return chosen

    def _chain_refusal(self, row: dict[str, Any], request: Any, now: int) -> str | None:
        """Why Market._checkSignedBid would refuse this bid now, or None."""
        market = self.system.market
        bid = bid_from_row(row)
        if bid.expiry_ts < now + CLOSE_MARGIN_S:
            return "EXPIRED"
        if bid.energy_wh != request.energy_wh:
            return "ENERGY_MISMATCH"
        try:
            signatures.verify_typed(market._domain(), eip712.BID_TYPES, bid.message(), bid.signature, bid.seller)
        except BadSignature:
            return "BAD_SIGNATURE"
        if bid.seller.lower() == request.buyer.lower():
            return "SELF_BID"
        if not 0 < bid.price_per_wh <= request.max_price_per_wh:
            return "ABOVE_MAX"
        account = market.account(bid.seller)
        if bid.nonce < account.nonce_floor:
            return "CANCELLED"
        if not self.system.registry.is_active(bid.seller, ROLE_SELLER):
            return "NOT_ACTIVE_SELLER"
        cover = market.penalty_for(bid.energy_wh, bid.price_per_wh)
        if account.free < cover or (cover == 0 and market.penalty_bps() != 0):
            return "INSUFFICIENT_COVER"
        return None

    def confirm(self, request_id: int, delivered_wh: int) -> dict[str, Any]:
        """Confirm what the meter delivered, and hand the seller a signed receipt of the same figure. The full award
        settles at once; less stays pending (status "confirmed") until the window's end plus grace, then anyone
        finalizes it (`finalize`)."""
        record = self._own_request(request_id, "buyer")
        if not record.get("seller"):
            raise NodeError(
                f"request {request_id} is {record['status']}: no seller is awarded, nothing to confirm", 409
            )
        receipt_sig = self.system.market.sign_receipt(
            self.account, request_id=request_id, seller=record["seller"], delivered_wh=delivered_wh
        )
        self.system.market.confirm_delivery(request_id, delivered_wh)  # on-chain first: never waits on the peer
        delivered = True
        try:
            self._peer(
                "POST",
                record.get("seller_url"),
                "/p2p/receipts",
                {"request_id": request_id, "delivered_wh": delivered_wh, "signature": "0x" + receipt_sig.hex()},
                timeout=RECEIPT_TIMEOUT_S,
            )
        except NodeError as exc:
            delivered = False
            log.warning("request %s: confirmed on-chain; the receipt did not reach the seller: %s", request_id, exc)
        return {**self.refresh(request_id), "receipt_delivered": delivered}

    def listed_requests(self, region: str = "") -> list[dict[str, Any]]:
        """This buyer's open requests (what GET /p2p/requests answers), each signed by this node's key over its
        request id and this node's public URL, so a seller can check the lister is the request's buyer. A listing's
        signature never changes, so each is made once."""
        mine = {r["request_id"] for r in self.store.requests() if r["role"] == "buyer"}
        url = self.config.url.rstrip("/")
        return [
            {**r, "bid_url": url, "listing_signature": self._listing_signature(r["request_id"], url)}
            for r in self.open_requests(region)
            if r["request_id"] in mine
        ]

    def _listing_signature(self, request_id: int, url: str) -> str:
        key = (request_id, url)
        if key not in self.listing_signatures:
            signature = sign_listing(self.account, self.chain.chain_id, self.system.market.address, request_id, url)
            self.listing_signatures[key] = "0x" + signature.hex()
        return self.listing_signatures[key]
