"""The seller's side: discover listed requests from peers, bid (signed, never below the cost floor) only where the
request's buyer vouches for the lister, and claim with the buyer's signed meter receipt."""

from __future__ import annotations

import logging
from typing import Any

from v2vchain.contracts.market import RequestStatus
from v2vchain.errors import V2VError
from v2vchain.protocol import eip712
from v2vchain.protocol.errors import BadSignature

from . import pricing
from .core import NodeCore
from .errors import NodeError
from .peers import (
    bid_to_json,
    check_listing,
    offered_requests,
    sign_endpoint,
)
from .store import INT64

log = logging.getLogger("v2vchain.node")

SIGNED_BID_LIFETIME_S = 3_600


class SellerRole(NodeCore):
    def bid(
        self, request_id: int, buyer_url: str, price_per_wh: int | None = None, *, vouched: bool = False
    ) -> dict[str, Any]:
        """Sign a bid (never below this vehicle's cost floor) and send it to the buyer's node.

        A bid on a request this node opened itself is refused before anything is signed, sent or stored. Unless the
        caller has already checked it (`vouched`, automatic bidding), `buyer_url` must list the request with the
        on-chain buyer's signature over that very URL, as automatic bidding requires: an owner's mistyped or planted
        URL never receives a sealed price. The bid is recorded only once the buyer's node accepted it: a failed send
        leaves no record (its intent is marked failed), so automatic bidding tries that request again later."""
        request = self.system.market.request(request_id)
        if request.buyer.lower() == self.address.lower():
            raise NodeError(
                f"self-bid refused: request {request_id} was opened by this node's own address {self.address}", 409
            )
        if max(request.max_price_per_wh, request.energy_wh) > INT64:
            raise NodeError(
                f"request {request_id} carries a price or energy beyond the 64-bit numbers this node stores: "
                "not bid on",
                409,
            )
        held = self.store.request(request_id)
        if held is not None and held["role"] != "seller":
            raise NodeError(f"request {request_id} is held by this node as {held['role']}; it cannot bid on it", 409)
        if request.status != RequestStatus.OPEN:
            raise NodeError(f"request {request_id} is not open", 409)
        floor = pricing.cost_floor_per_wh(self.config.pricing)
        if price_per_wh is None:
            price_per_wh = pricing.bid_price(self.config.pricing, max_price_per_wh=request.max_price_per_wh)
            if price_per_wh is None:
                raise NodeError(
                    f"the maximum {request.max_price_per_wh}/Wh is below this vehicle's floor {floor}/Wh", 409
                )
        elif price_per_wh < floor:
            raise NodeError(f"price {price_per_wh}/Wh is below this vehicle's cost floor {floor}/Wh")
        if not vouched:
            self._check_vouched(request_id, buyer_url)
        nonce = self.store.next_nonce(self.system.market.min_bid_nonce(self.address))
        signed = self.system.market.sign_bid(
            self.account,
            request_id=request_id,
            price_per_wh=price_per_wh,
            energy_wh=request.energy_wh,
            nonce=nonce,
            expiry_ts=request.deadline_ts + SIGNED_BID_LIFETIME_S,
        )
        record = dict(
            request_id=request_id,
            role="seller",
            buyer=request.buyer,
            energy_wh=request.energy_wh,
            max_price_per_wh=request.max_price_per_wh,
            deadline_ts=request.deadline_ts,
            delivery_start_ts=request.delivery_start_ts,
            delivery_end_ts=request.delivery_end_ts,
            area="",
            status="bid",
            price_per_wh=price_per_wh,
            buyer_url=buyer_url,
        )
        endpoint_sig = sign_endpoint(
            self.account, self.chain.chain_id, self.system.market.address, signed, self.config.url
        )
        key = f"bid:{request_id}:{nonce}"
        self.store.begin(key, record)  # a crash mid-send leaves it pending: `recover` keeps the record then
        try:
            answer = self._post(
                buyer_url,
                "/p2p/bids",
                {**bid_to_json(signed), "seller_url": self.config.url, "endpoint_signature": "0x" + endpoint_sig.hex()},
            )
        except NodeError as exc:
            self.store.finish(key, "failed", str(exc)[:300])
            raise
        self.store.upsert_request(**record)
        self.store.finish(key, "done", request_id)
        return {"request_id": request_id, "price_per_wh": price_per_wh, "nonce": nonce, "buyer": answer}

    def _check_vouched(self, request_id: int, buyer_url: str) -> None:
        """NodeError 409 unless the node at `buyer_url` lists `request_id` signed by its on-chain buyer for that URL."""
        try:
            offers = offered_requests(self._peer("GET", buyer_url, "/p2p/requests", timeout=10))
        except ValueError as exc:
            raise NodeError(f"{buyer_url[:200]} answered its listing with something unusable: {exc}", 502) from None
        offer = next((o for o in offers if o["request_id"] == request_id), None)
        refusal = self._listing_refusal(buyer_url, offer) if offer else f"it does not list request {request_id}"
        if refusal:
            raise NodeError(f"no bid sent to {buyer_url[:200]}: {refusal}", 409)

    def _listing_refusal(self, peer: str, offer: dict[str, Any]) -> str | None:
        """Why a peer's listing of a request is not the request's buyer vouching for that peer, or None."""
        request_id = offer["request_id"]
        peer = peer.rstrip("/")
        bid_url = offer.get("bid_url")
        if bid_url is not None and (not isinstance(bid_url, str) or bid_url.rstrip("/") != peer):
            return f"it names another bid URL {str(offer['bid_url'])[:100]}"
        buyer = self.system.market.request(request_id).buyer
        try:
            check_listing(self._endpoint_domain(), request_id, peer, offer.get("listing_signature"), buyer)
        except BadSignature as exc:
            return f"the listing is not signed by the request's buyer {buyer} for {peer}: {str(exc)[:150]}"
        return None

    def auto_bid(self, region: str = "") -> list[dict[str, Any]]:
        """Ask each peer for its open requests in the region and bid once on every one not yet bid on, and only
        where the peer's listing is signed by the request's on-chain buyer for that peer's URL."""
        placed = []
        for peer in self.config.peers:
            try:
                offers = offered_requests(
                    self._peer("GET", peer, "/p2p/requests", params={"region": region}, timeout=10)
                )
            except (NodeError, ValueError) as exc:  # one malformed, silent or unverifiable peer never stops the others
                log.warning("peer %s skipped: its discovery answer is unusable (%s)", peer, str(exc)[:200])
                continue
            for offer in offers:
                request_id = offer["request_id"]
                if self.store.request(request_id) is not None:
                    continue
                try:
                    refusal = self._listing_refusal(peer, offer)
                except V2VError as exc:
                    log.info("no bid on request %s of peer %s: %s", request_id, peer, str(exc)[:200])
                    continue
                if refusal:
                    log.warning("listing of request %s by peer %s skipped: %s", request_id, peer, refusal)
                    continue
                try:
                    placed.append(self.bid(request_id, peer, vouched=True))
                except V2VError as exc:
                    log.info("no bid on request %s of peer %s: %s", request_id, peer, str(exc)[:200])
                    continue
        return placed

    def claim(self, request_id: int) -> dict[str, Any]:
        """Settle with the buyer's signed meter receipt when the buyer has not confirmed, or confirmed less."""
        receipt = self.store.inbox(request_id, "receipt")
        if receipt is None:
            raise NodeError(f"no meter receipt for request {request_id}", 404)
        self.system.market.claim_with_receipt(
            request_id, int(receipt["delivered_wh"]), bytes.fromhex(receipt["signature"])
        )
        return self.refresh(request_id)

    def receive_receipt(self, request_id: int, delivered_wh: int, signature: bytes) -> dict[str, Any]:
        record = self._own_request(request_id, "seller")
        message = {"requestId": request_id, "seller": self.address, "deliveredWh": delivered_wh}
        signer = self._signer(eip712.RECEIPT_TYPES, message, signature, "receipt")
        if signer != record["buyer"]:
            raise NodeError(f"the receipt is signed by {signer}, not by the buyer", 401)
        kept = self.store.put_receipt_if_larger(request_id, delivered_wh, signature.hex())
        if kept > delivered_wh:
            raise NodeError(f"a receipt for {kept} Wh is already held; a receipt for less never replaces it", 409)
        return {"stored": True, "delivered_wh": kept}
