"""What one vehicle's node does for it: open requests, sign and relay bids, close, confirm, finalize, deposit and
withdraw, recover.

The HTTP layer (node/app.py) only validates and delegates here; chain I/O goes through the v2vchain wrappers.
"""
from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any

import httpx
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from v2vchain.chain.connect import Chain, connect
from v2vchain.contracts.market import RequestStatus, SignedBid
from v2vchain.deploy import Deployment, System, attach
from v2vchain.errors import V2VError
from v2vchain.identity.did import did_for
from v2vchain.identity.registration import ROLE_SELLER
from v2vchain.protocol import areas, eip712, signatures

from . import pricing
from .config import NodeConfig
from .store import Store

SIGNED_BID_LIFETIME_S = 3_600
LAPLACE_CELL_PRECISION = 6  # ~1.2 km x 0.6 km: the region around the already-noised point
MAX_SIGNED_BIDS = 16  # the Market's bound on the bids relayed in one close
CLOSE_MARGIN_S = 30  # a bid expiring this close to the close may expire before the close is mined
RECEIPT_TIMEOUT_S = 5.0  # the receipt is delivered best-effort, after the confirmation is on-chain
MAX_OFFERS_PER_PEER = 100  # discovery answers beyond this are a malformed peer

# The seller's binding of its reply endpoint to its bid: signed with the seller's key, checked by the buyer, never
# on-chain. Without it anyone who sees a bid could resend it with their own URL and receive the meeting.
ENDPOINT_DOMAIN = ("V2V Node", "1")
ENDPOINT_TYPES = {
    "BidEndpoint": [
        {"name": "requestId", "type": "uint256"},
        {"name": "bidDigest", "type": "bytes32"},
        {"name": "sellerUrl", "type": "string"},
    ]
}

# The buyer's signature on each request its node lists in GET /p2p/requests, in the same node-only domain (chain id
# and market address in the domain): the seller bids only where the request's on-chain buyer vouches for the URL
# it asked. Without it any peer could list another buyer's request and collect the sealed bids meant for that buyer.
LISTING_TYPES = {
    "RequestListing": [
        {"name": "requestId", "type": "uint256"},
        {"name": "nodeUrl", "type": "string"},
    ]
}

log = logging.getLogger("v2vchain.node")


class NodeError(V2VError):
    """A request to the node that cannot be honoured; `status` is the HTTP code the API answers with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class VehicleNode:
    config: NodeConfig
    account: LocalAccount
    chain: Chain
    system: System
    store: Store
    credential: dict[str, Any]

    @classmethod
    def start(cls, config: NodeConfig, account: LocalAccount) -> "VehicleNode":
        chain = connect(config.chain, account=account)
        deployment = Deployment(**json.loads(config.deployment.read_text()))
        system = attach(chain, deployment, chain.sender(account))
        credential = json.loads(config.credential.read_text())
        node = cls(config=config, account=account, chain=chain, system=system, store=Store(config.db),
                   credential=credential)
        node.recover()
        return node

    def close_resources(self) -> None:
        self.store.close()
        self.chain.close()

    @property
    def address(self) -> str:
        return str(self.account.address)

    @property
    def did(self) -> str:
        return did_for(self.address, self.chain.chain_id)

    # ------------------------------------------------------------------ identity and privacy

    def identity(self) -> dict[str, Any]:
        from v2vchain.identity.did import resolve_did
        from v2vchain.privacy.seal import public_bytes, x25519_key

        return {"name": self.config.name, "did": self.did, "address": self.address,
                "did_document": resolve_did(self.did), "credential": self.credential,
                "seal_public_key": "0x" + public_bytes(x25519_key(bytes(self.account.key))).hex(),
                "url": self.config.url}

    def cloak(self) -> str:
        """The geohash cell this vehicle publishes instead of its position.

        Drawn once per position and settings and kept: fresh Laplace noise on every request would let an observer
        average the published cells back to the true position.
        """
        from v2vchain.privacy import geohash, k_anonymous_cell, laplace_cloak

        position = (self.config.position.lat, self.config.position.lon)
        cloak = self.config.cloak
        key = keccak(text=json.dumps([position, cloak.model_dump()])).hex()
        kept = self.store.get_meta(f"cloak:{key}")
        if kept:
            return kept
        if cloak.method == "k-anonymity":
            crowd = [position, *((p.lat, p.lon) for p in self.config.known_positions)]
            cell = k_anonymous_cell(position, crowd, cloak.k).cell
        else:
            noisy = laplace_cloak(position, cloak.epsilon_per_m).point
            cell = geohash.encode(*noisy, precision=LAPLACE_CELL_PRECISION)
        self.store.set_meta(f"cloak:{key}", cell)
        return cell

    # ------------------------------------------------------------------ buyer

    def open_request(self, *, energy_wh: int, max_price_per_wh: int, bidding_s: int, delivery_lead_s: int,
                     delivery_window_s: int, area_cell: str) -> dict[str, Any]:
        """Open on-chain with the cloaked area. The intent, with the access secret, is recorded before sending,
        so a crash in between loses nothing: `recover` finds the request on-chain by its access hash."""
        secret = secrets.token_bytes(32)
        deadline = self.chain.now() + bidding_s
        start = deadline + delivery_lead_s
        fields = {"energy_wh": energy_wh, "max_price_per_wh": max_price_per_wh, "deadline_ts": deadline,
                  "delivery_start_ts": start, "delivery_end_ts": start + delivery_window_s, "area": area_cell}
        key = f"open:{keccak(secret).hex()}"
        self.store.begin(key, {**fields, "secret": secret.hex()})
        request_id = self.system.market.open(
            energy_wh=energy_wh, max_price_per_wh=max_price_per_wh, deadline_ts=deadline, delivery_start_ts=start,
            delivery_end_ts=start + delivery_window_s, area_id=areas.area_id(area_cell), access_hash=keccak(secret))
        self._record_opened(key, request_id, fields, secret.hex())
        return self.store.request(request_id) or {}

    def _record_opened(self, key: str, request_id: int, fields: dict[str, Any], secret_hex: str) -> None:
        self.store.put_secret(request_id, "access", secret_hex)
        self.store.upsert_request(request_id=request_id, role="buyer", buyer=self.address, status="open",
                                  buyer_url=self.config.url, **fields)
        self.store.finish(key, "done", request_id)

    def receive_bid(self, bid: SignedBid, seller_url: str, endpoint_signature: bytes) -> dict[str, Any]:
        """Check a seller's signed bid exactly as the contract will, and its signed reply endpoint, and keep it for
        the close: one bid per seller and request (a strictly cheaper one from the same seller replaces it)."""
        record = self.store.request(bid.request_id)
        if record is None or record["role"] != "buyer":
            raise NodeError(f"request {bid.request_id} is not one of this node's requests", 404)
        if record["status"] != "open":
            raise NodeError(f"request {bid.request_id} is {record['status']}, not open", 409)
        now = self.chain.now()
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
        endpoint_signer = self._signer(ENDPOINT_TYPES, endpoint_message(self.system.market._domain(), bid, seller_url),
                                       endpoint_signature, "reply endpoint", domain=self._endpoint_domain())
        if endpoint_signer != bid.seller:
            raise NodeError(f"the reply endpoint {seller_url} is not signed by the seller {bid.seller}", 401)
        if bid.nonce < self.system.market.min_bid_nonce(bid.seller):
            raise NodeError("the seller has cancelled this bid's nonce", 409)
        if not self.system.registry.is_active(bid.seller, ROLE_SELLER):
            raise NodeError(f"{bid.seller} is not an active registered seller", 403)
        refusal = self.store.put_seller_bid({
            "request_id": bid.request_id, "seller": bid.seller, "nonce": bid.nonce, "price_per_wh": bid.price_per_wh,
            "energy_wh": bid.energy_wh, "expiry_ts": bid.expiry_ts, "signature": bid.signature.hex(),
            "seller_url": seller_url})
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
        receipt = market.close_with_signed_bids(request_id, [_bid_from_row(r) for r in rows])
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
        bid = _bid_from_row(row)
        if bid.expiry_ts < now + CLOSE_MARGIN_S:
            return "EXPIRED"
        if bid.energy_wh != request.energy_wh:
            return "ENERGY_MISMATCH"
        try:
            signatures.verify_typed(market._domain(), eip712.BID_TYPES, bid.message(), bid.signature, bid.seller)
        except signatures.BadSignature:
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
        if account.free < cover or (cover == 0 and int(market._call("penaltyBps")) != 0):
            return "INSUFFICIENT_COVER"
        return None

    def confirm(self, request_id: int, delivered_wh: int) -> dict[str, Any]:
        """Confirm what the meter delivered, and hand the seller a signed receipt of the same figure. The full award
        settles at once; less stays pending (status "confirmed") until the window's end plus grace, then anyone
        finalizes it (`finalize`)."""
        record = self._own_request(request_id, "buyer")
        if not record.get("seller"):
            raise NodeError(f"request {request_id} is {record['status']}: no seller is awarded, nothing to confirm", 409)
        receipt_sig = self.system.market.sign_receipt(self.account, request_id=request_id, seller=record["seller"],
                                                      delivered_wh=delivered_wh)
        self.system.market.confirm_delivery(request_id, delivered_wh)  # on-chain first: never waits on the peer
        delivered = True
        try:
            peer_request("POST", record.get("seller_url"), "/p2p/receipts", {
                "request_id": request_id, "delivered_wh": delivered_wh, "signature": "0x" + receipt_sig.hex()},
                timeout=RECEIPT_TIMEOUT_S)
        except NodeError as exc:
            delivered = False
            log.warning("request %s: confirmed on-chain; the receipt did not reach the seller: %s", request_id, exc)
        return {**self.refresh(request_id), "receipt_delivered": delivered}

    # ------------------------------------------------------------------ seller

    def open_requests(self, region: str = "") -> list[dict[str, Any]]:
        """Requests open for bidding now, from the chain's own events, optionally within a cloaked region."""
        market = self.system.market
        logs = market.contract.events.RequestOpened.get_logs(from_block=self.system.deployment.block)
        now = self.chain.now()
        found = []
        for log in logs:
            args = log["args"]
            if args["deadline"] <= now or (region and not areas.within(args["areaId"], region)):
                continue
            request = market.request(int(args["requestId"]))
            if request.status != RequestStatus.OPEN:
                continue
            found.append({"request_id": request.request_id, "buyer": request.buyer, "energy_wh": request.energy_wh,
                          "max_price_per_wh": request.max_price_per_wh, "deadline_ts": request.deadline_ts,
                          "delivery_start_ts": request.delivery_start_ts,
                          "delivery_end_ts": request.delivery_end_ts, "area": areas.cell_of(args["areaId"])})
        return found

    def bid(self, request_id: int, buyer_url: str, price_per_wh: int | None = None) -> dict[str, Any]:
        """Sign a bid (never below this vehicle's cost floor) and send it to the buyer's node.

        A bid on a request this node opened itself is refused before anything is signed, sent or stored. The bid is
        recorded only once the buyer's node accepted it: a failed send leaves no record (its intent is marked
        failed), so automatic bidding tries that request again later."""
        request = self.system.market.request(request_id)
        if request.buyer.lower() == self.address.lower():
            raise NodeError(f"self-bid refused: request {request_id} was opened by this node's own address "
                            f"{self.address}", 409)
        held = self.store.request(request_id)
        if held is not None and held["role"] != "seller":
            raise NodeError(f"request {request_id} is held by this node as {held['role']}; it cannot bid on it", 409)
        if request.status != RequestStatus.OPEN:
            raise NodeError(f"request {request_id} is not open", 409)
        floor = pricing.cost_floor_per_wh(self.config.pricing)
        if price_per_wh is None:
            price_per_wh = pricing.bid_price(self.config.pricing, max_price_per_wh=request.max_price_per_wh)
            if price_per_wh is None:
                raise NodeError(f"the maximum {request.max_price_per_wh}/Wh is below this vehicle's floor {floor}/Wh",
                                409)
        elif price_per_wh < floor:
            raise NodeError(f"price {price_per_wh}/Wh is below this vehicle's cost floor {floor}/Wh")
        nonce = self.store.next_nonce(self.system.market.min_bid_nonce(self.address))
        signed = self.system.market.sign_bid(
            self.account, request_id=request_id, price_per_wh=price_per_wh, energy_wh=request.energy_wh,
            nonce=nonce, expiry_ts=request.deadline_ts + SIGNED_BID_LIFETIME_S)
        record = dict(request_id=request_id, role="seller", buyer=request.buyer, energy_wh=request.energy_wh,
                      max_price_per_wh=request.max_price_per_wh, deadline_ts=request.deadline_ts,
                      delivery_start_ts=request.delivery_start_ts, delivery_end_ts=request.delivery_end_ts, area="",
                      status="bid", price_per_wh=price_per_wh, buyer_url=buyer_url)
        endpoint_sig = sign_endpoint(self.account, self.chain.chain_id, self.system.market.address, signed,
                                     self.config.url)
        key = f"bid:{request_id}:{nonce}"
        self.store.begin(key, record)  # a crash mid-send leaves it pending: `recover` keeps the record then
        try:
            answer = self._post(buyer_url, "/p2p/bids", {**bid_to_json(signed), "seller_url": self.config.url,
                                                         "endpoint_signature": "0x" + endpoint_sig.hex()})
        except NodeError as exc:
            self.store.finish(key, "failed", str(exc)[:300])
            raise
        self.store.upsert_request(**record)
        self.store.finish(key, "done", request_id)
        return {"request_id": request_id, "price_per_wh": price_per_wh, "nonce": nonce, "buyer": answer}

    def listed_requests(self, region: str = "") -> list[dict[str, Any]]:
        """This buyer's open requests (what GET /p2p/requests answers), each signed by this node's key over its
        request id and this node's public URL, so a seller can check the lister is the request's buyer."""
        mine = {r["request_id"] for r in self.store.requests() if r["role"] == "buyer"}
        url = self.config.url.rstrip("/")
        return [{**r, "bid_url": url, "listing_signature": "0x" + sign_listing(
                    self.account, self.chain.chain_id, self.system.market.address, r["request_id"], url).hex()}
                for r in self.open_requests(region) if r["request_id"] in mine]

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
        except signatures.BadSignature as exc:
            return f"the listing is not signed by the request's buyer {buyer} for {peer}: {str(exc)[:150]}"
        return None

    def auto_bid(self, region: str = "") -> list[dict[str, Any]]:
        """Ask each peer for its open requests in the region and bid once on every one not yet bid on, and only
        where the peer's listing is signed by the request's on-chain buyer for that peer's URL."""
        placed = []
        for peer in self.config.peers:
            try:
                response = httpx.get(f"{peer}/p2p/requests", params={"region": region}, timeout=10)
                response.raise_for_status()
                offers = offered_requests(response.json())
            except (httpx.HTTPError, ValueError) as exc:  # one malformed or silent peer never stops the others
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
                    placed.append(self.bid(request_id, peer))
                except V2VError as exc:
                    log.info("no bid on request %s of peer %s: %s", request_id, peer, str(exc)[:200])
                    continue
        return placed

    def finalize(self, request_id: int) -> dict[str, Any]:
        """Settle a pending confirmation at the buyer's figure, once the window's end plus grace has passed."""
        record = self.store.request(request_id)
        if record is None:
            raise NodeError(f"request {request_id} is not one this node holds", 404)
        request = self.system.market.request(request_id)
        if request.status != RequestStatus.CONFIRMED:
            raise NodeError(f"request {request_id} is {request.status.name.lower()}, not pending a confirmation", 409)
        allowed_from = request.delivery_end_ts + self.system.market.grace_period_s()
        if self.chain.now() < allowed_from:
            raise NodeError(f"request {request_id} can be finalized from {allowed_from}", 409)
        self.system.market.finalize(request_id)
        return self.refresh(request_id)

    def claim(self, request_id: int) -> dict[str, Any]:
        """Settle with the buyer's signed meter receipt when the buyer has not confirmed, or confirmed less."""
        receipt = self.store.inbox(request_id, "receipt")
        if receipt is None:
            raise NodeError(f"no meter receipt for request {request_id}", 404)
        self.system.market.claim_with_receipt(request_id, int(receipt["delivered_wh"]),
                                              bytes.fromhex(receipt["signature"]))
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

    # ------------------------------------------------------------------ both roles

    def refresh(self, request_id: int) -> dict[str, Any]:
        """Bring one record in line with the chain, which is always right."""
        request = self.system.market.request(request_id)
        record = self.store.request(request_id) or {}
        status = request.status.name.lower()
        if record.get("role") == "seller" and request.status != RequestStatus.OPEN and request.seller != self.address:
            status = "lost"
        update: dict[str, Any] = {"status": status}
        if request.seller and status != "lost":
            update.update(seller=request.seller, price_per_wh=request.price_per_wh)
            if record.get("role") == "buyer":
                winner = [b for b in self.store.signed_bids(request_id) if b["seller"] == request.seller]
                if winner:
                    update["seller_url"] = winner[0]["seller_url"]
        if record:
            self.store.update_request(request_id, **update)
        return self.store.request(request_id) or {}

    def recover(self) -> None:
        """After a restart: intents left pending are settled from chain events, then every record re-read."""
        for intent in self.store.pending_intents():
            if intent["key"].startswith("open:"):
                self._recover_open(intent["key"], json.loads(intent["payload"]))
            elif intent["key"].startswith("bid:"):
                self._recover_bid(intent["key"], json.loads(intent["payload"]))
        for record in self.store.requests():
            self.refresh(int(record["request_id"]))

    def _recover_bid(self, key: str, record: dict[str, Any]) -> None:
        """A crash while a bid was being sent: the buyer may hold it and award it, so the seller record is kept (the
        chain then says whether it won)."""
        held = self.store.request(int(record["request_id"]))
        if held is None or held["role"] == "seller":
            self.store.upsert_request(**record)
        self.store.finish(key, "unknown")

    def _recover_open(self, key: str, payload: dict[str, Any]) -> None:
        """Was the request sent before the crash? Its access hash on-chain says so, whatever the node recorded."""
        secret_hex = payload.pop("secret")
        access = keccak(bytes.fromhex(secret_hex))
        market = self.system.market
        logs = market.contract.events.RequestOpened.get_logs(
            from_block=self.system.deployment.block, argument_filters={"buyer": self.address})
        match = next((log for log in logs if bytes(log["args"]["accessHash"]) == access), None)
        if match is None:
            self.store.finish(key, "not-sent")
        else:
            self._record_opened(key, int(match["args"]["requestId"]), payload, secret_hex)

    def watch_clearings(self) -> list[dict[str, Any]]:
        """Every committed clearing that used one of this vehicle's signed orders, with what each order filled (forged
        orders are refused by the contract at commit, so there is nothing left to challenge)."""
        from dataclasses import asdict

        from v2vchain.audit.order_watch import watch

        client = self.system.clearing
        if client is None:
            raise NodeError("the node's deployment record holds no batch Clearing", 404)
        return [asdict(f) for f in watch(client, self.address, from_block=self.system.deployment.block)]

    def trades(self) -> list[dict[str, Any]]:
        return [self.refresh(int(r["request_id"])) for r in self.store.requests()]

    def balances(self) -> dict[str, Any]:
        """The wallet, and the market account: free (withdrawable, pays escrows and penalty cover) and locked
        (penalties of this vehicle's best bids and awards)."""
        account = self.system.market.account(self.address)
        return {"address": self.address, "wallet": self.system.token.balance_of(self.address),
                "free": account.free, "locked": account.locked}

    def deposit(self, amount: int) -> dict[str, Any]:
        """Move tokens from the wallet into the market's free balance: a seller's penalty cover, or a buyer's
        payments (open escrows from free first)."""
        if amount > self.system.token.balance_of(self.address):
            raise NodeError(f"the wallet holds less than {amount}", 409)
        self.system.market.deposit(amount)
        return self.balances()

    def withdraw(self, amount: int | None = None) -> dict[str, Any]:
        """Withdraw `amount` of the free balance, or all of it."""
        free = self.system.market.account(self.address).free
        if free == 0:
            raise NodeError("nothing to withdraw", 409)
        if amount is not None and amount > free:
            raise NodeError(f"only {free} is free to withdraw", 409)
        return {"withdrawn": self.system.market.withdraw(amount)}

    # ------------------------------------------------------------------ helpers

    def _own_request(self, request_id: int, role: str) -> dict[str, Any]:
        record = self.store.request(request_id)
        if record is None or record["role"] != role:
            raise NodeError(f"request {request_id} is not one this node holds as {role}", 404)
        return self.refresh(request_id)

    def _signer(self, types: dict[str, Any], message: dict[str, Any], signature: bytes, what: str,
                domain: dict[str, Any] | None = None) -> str:
        """The signer under the contracts' strict rule (v2vchain.signatures): anything else is refused."""
        try:
            return signatures.recover_typed(domain or self.system.market._domain(), types, message, signature)
        except signatures.BadSignature as exc:
            raise NodeError(f"the {what}'s signature is refused: {exc}", 401) from None
        except Exception:
            raise NodeError(f"the {what}'s signature is malformed") from None

    def _endpoint_domain(self) -> dict[str, Any]:
        return eip712.domain(ENDPOINT_DOMAIN, self.chain.chain_id, self.system.market.address)

    def _post(self, base_url: str | None, path: str, payload: dict[str, Any]) -> Any:
        return peer_request("POST", base_url, path, payload)


def peer_request(method: str, base_url: str | None, path: str, payload: dict[str, Any] | None = None, *,
                 timeout: float = 30) -> Any:
    """One call to another vehicle's node; its refusals come back as NodeError 502 with the reason it gave."""
    if not base_url:
        raise NodeError(f"no address known for the counterparty of {path}", 409)
    try:
        response = httpx.request(method, f"{base_url}{path}", json=payload, timeout=timeout)
    except httpx.HTTPError as exc:
        raise NodeError(f"counterparty at {base_url} unreachable: {type(exc).__name__}", 502) from None
    if response.status_code >= 400:
        raise NodeError(f"counterparty refused {path}: {response.text[:300]}", 502)
    return response.json()


def offered_requests(answer: Any) -> list[dict[str, Any]]:
    """The offers in a peer's GET /p2p/requests answer, or ValueError when the answer is not the expected list of
    objects with a positive integer request_id (at most MAX_OFFERS_PER_PEER). Their signatures are checked later,
    one by one (`check_listing`): a bad one skips that offer, not the peer."""
    if not isinstance(answer, list):
        raise ValueError(f"expected a list of requests, got {type(answer).__name__}")
    if len(answer) > MAX_OFFERS_PER_PEER:
        raise ValueError(f"{len(answer)} requests offered, more than {MAX_OFFERS_PER_PEER}")
    for item in answer:
        request_id = item.get("request_id") if isinstance(item, dict) else None
        if type(request_id) is not int or not 0 < request_id < 2**64:
            raise ValueError(f"an offered request has no valid request_id: {str(item)[:100]}")
    return answer


def listing_message(request_id: int, node_url: str) -> dict[str, Any]:
    return {"requestId": request_id, "nodeUrl": node_url}


def sign_listing(account: LocalAccount, chain_id: int, market_address: str, request_id: int, node_url: str) -> bytes:
    """The buyer's signature on its listing of `request_id` at `node_url` (GET /p2p/requests' listing_signature)."""
    return eip712.sign(account, eip712.domain(ENDPOINT_DOMAIN, chain_id, market_address), LISTING_TYPES,
                       listing_message(request_id, node_url))


def check_listing(endpoint_domain: dict[str, Any], request_id: int, node_url: str, signature: Any,
                  buyer: str) -> None:
    """BadSignature unless `signature` (0x-hex) is the request's buyer's, under the strict rule, over this request
    id and exactly the URL the seller asked."""
    if not isinstance(signature, str) or not signature.startswith("0x"):
        raise signatures.BadSignature("the listing carries no signature")
    try:
        raw = bytes.fromhex(signature[2:])
    except ValueError:
        raise signatures.BadSignature("the listing signature is not hex") from None
    signatures.verify_typed(endpoint_domain, LISTING_TYPES, listing_message(request_id, node_url), raw, buyer)


def bid_digest(market_domain: dict[str, Any], bid: SignedBid) -> bytes:
    """The EIP-712 digest the seller signed for this bid (what Market.bidDigest returns)."""
    from eth_account.messages import encode_typed_data

    encoded = encode_typed_data(domain_data=market_domain, message_types=eip712.BID_TYPES, message_data=bid.message())
    return keccak(b"\x19" + encoded.version + encoded.header + encoded.body)


def endpoint_message(market_domain: dict[str, Any], bid: SignedBid, seller_url: str) -> dict[str, Any]:
    return {"requestId": bid.request_id, "bidDigest": bid_digest(market_domain, bid), "sellerUrl": seller_url}


def sign_endpoint(account: LocalAccount, chain_id: int, market_address: str, bid: SignedBid, seller_url: str) -> bytes:
    """The seller's signature binding `seller_url` to its bid (what POST /p2p/bids carries as endpoint_signature)."""
    market_domain = eip712.domain(eip712.MARKET_DOMAIN, chain_id, market_address)
    return eip712.sign(account, eip712.domain(ENDPOINT_DOMAIN, chain_id, market_address), ENDPOINT_TYPES,
                       endpoint_message(market_domain, bid, seller_url))


def bid_to_json(bid: SignedBid) -> dict[str, Any]:
    return {"request_id": bid.request_id, "seller": bid.seller, "price_per_wh": bid.price_per_wh,
            "energy_wh": bid.energy_wh, "nonce": bid.nonce, "expiry_ts": bid.expiry_ts,
            "signature": "0x" + bid.signature.hex()}


def _bid_from_row(row: dict[str, Any]) -> SignedBid:
    return SignedBid(request_id=row["request_id"], seller=row["seller"], price_per_wh=row["price_per_wh"],
                     energy_wh=row["energy_wh"], nonce=row["nonce"], expiry_ts=row["expiry_ts"],
                     signature=bytes.fromhex(row["signature"]))

