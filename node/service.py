"""What one vehicle's node does for it: open requests, sign and relay bids, close, confirm, finalize, deposit and
withdraw, recover.

The HTTP layer (node/app.py) only validates and delegates here; chain I/O goes through the v2vchain wrappers.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import httpx
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from v2vchain import areas, eip712
from v2vchain.chain import Chain, connect
from v2vchain.contracts.market import RequestStatus, SignedBid
from v2vchain.deploy import Deployment, System, attach
from v2vchain.errors import ContractRevert, InvalidInput, V2VError
from v2vchain.identity import ROLE_SELLER, did_for

from . import pricing
from .config import NodeConfig
from .store import Store

SIGNED_BID_LIFETIME_S = 3_600
LAPLACE_CELL_PRECISION = 6  # ~1.2 km x 0.6 km: the region around the already-noised point
MAX_SIGNED_BIDS = 16  # the Market's bound on the bids relayed in one close


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
        from v2vchain.identity import resolve_did
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

    def receive_bid(self, bid: SignedBid, seller_url: str) -> dict[str, Any]:
        """Check a seller's signed bid exactly as the contract will, and keep it for the close."""
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
        if bid.nonce < self.system.market.min_bid_nonce(bid.seller):
            raise NodeError("the seller has cancelled this bid's nonce", 409)
        if not self.system.registry.is_active(bid.seller, ROLE_SELLER):
            raise NodeError(f"{bid.seller} is not an active registered seller", 403)
        stored = self.store.add_signed_bid({
            "request_id": bid.request_id, "seller": bid.seller, "nonce": bid.nonce, "price_per_wh": bid.price_per_wh,
            "energy_wh": bid.energy_wh, "expiry_ts": bid.expiry_ts, "signature": bid.signature.hex(),
            "seller_url": seller_url})
        if not stored:
            raise NodeError(f"bid nonce {bid.nonce} from {bid.seller} was already received (replay)", 409)
        return {"accepted": True, "request_id": bid.request_id, "price_per_wh": bid.price_per_wh}

    def close(self, request_id: int) -> dict[str, Any]:
        """Relay the best signed bids in one call: the contract passes over any it rejects (SignedBidRejected) and
        awards the best valid one; the rejected ones are marked, with the reason, in the node's store. The buyer
        closes, so the relay period after the deadline is no obstacle."""
        record = self._own_request(request_id, "buyer")
        if self.chain.now() < record["deadline_ts"]:
            raise NodeError(f"bidding is open until {record['deadline_ts']}", 409)
        rows = self.store.signed_bids(request_id)[:MAX_SIGNED_BIDS]
        market = self.system.market
        receipt = market.close_with_signed_bids(request_id, [_bid_from_row(r) for r in rows])
        for rejected in market.rejected_bids(receipt):
            row = rows[rejected.index]
            self.store.reject_bid(request_id, row["seller"], row["nonce"], rejected.reason.name)
        return self.refresh(request_id)

    def confirm(self, request_id: int, delivered_wh: int) -> dict[str, Any]:
        """Confirm what the meter delivered, and hand the seller a signed receipt of the same figure. The full award
        settles at once; less stays pending (status "confirmed") until the window's end plus grace, then anyone
        finalizes it (`finalize`)."""
        record = self._own_request(request_id, "buyer")
        receipt_sig = self.system.market.sign_receipt(self.account, request_id=request_id, seller=record["seller"],
                                                      delivered_wh=delivered_wh)
        self._post(record.get("seller_url"), "/p2p/receipts", {
            "request_id": request_id, "delivered_wh": delivered_wh, "signature": "0x" + receipt_sig.hex()})
        self.system.market.confirm_delivery(request_id, delivered_wh)
        return self.refresh(request_id)

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
        """Sign a bid (never below this vehicle's cost floor) and send it to the buyer's node."""
        request = self.system.market.request(request_id)
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
        self.store.upsert_request(
            request_id=request_id, role="seller", buyer=request.buyer, energy_wh=request.energy_wh,
            max_price_per_wh=request.max_price_per_wh, deadline_ts=request.deadline_ts,
            delivery_start_ts=request.delivery_start_ts, delivery_end_ts=request.delivery_end_ts, area="",
            status="bid", price_per_wh=price_per_wh, buyer_url=buyer_url)
        answer = self._post(buyer_url, "/p2p/bids", {**bid_to_json(signed), "seller_url": self.config.url})
        return {"request_id": request_id, "price_per_wh": price_per_wh, "nonce": nonce, "buyer": answer}

    def auto_bid(self, region: str = "") -> list[dict[str, Any]]:
        """Ask each peer for its open requests in the region and bid once on every one not yet bid on."""
        placed = []
        for peer in self.config.peers:
            try:
                offered = httpx.get(f"{peer}/p2p/requests", params={"region": region}, timeout=10).json()
            except (httpx.HTTPError, ValueError):
                continue
            for item in offered:
                if self.store.request(int(item["request_id"])) is not None:
                    continue
                try:
                    placed.append(self.bid(int(item["request_id"]), peer))
                except (NodeError, ContractRevert, InvalidInput):
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
        self.store.put_inbox(request_id, "receipt", {"delivered_wh": delivered_wh, "signature": signature.hex()})
        return {"stored": True}

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
        for record in self.store.requests():
            self.refresh(int(record["request_id"]))

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

        from v2vchain.clearing_deploy import load_clearing
        from v2vchain.clearing_watch import watch

        path = self.config.clearing_deployment
        client = load_clearing(self.system, path) if path else None
        if client is None:
            raise NodeError("no batch Clearing deployment is configured for this node (clearing_deployment)", 404)
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

    def _signer(self, types: dict[str, Any], message: dict[str, Any], signature: bytes, what: str) -> str:
        try:
            return eip712.recover(self.system.market._domain(), types, message, signature)
        except Exception:
            raise NodeError(f"the {what}'s signature is malformed") from None

    def _post(self, base_url: str | None, path: str, payload: dict[str, Any]) -> Any:
        return peer_request("POST", base_url, path, payload)


def peer_request(method: str, base_url: str | None, path: str, payload: dict[str, Any] | None = None) -> Any:
    """One call to another vehicle's node; its refusals come back as NodeError 502 with the reason it gave."""
    if not base_url:
        raise NodeError(f"no address known for the counterparty of {path}", 409)
    try:
        response = httpx.request(method, f"{base_url}{path}", json=payload, timeout=30)
    except httpx.HTTPError as exc:
        raise NodeError(f"counterparty at {base_url} unreachable: {type(exc).__name__}", 502) from None
    if response.status_code >= 400:
        raise NodeError(f"counterparty refused {path}: {response.text[:300]}", 502)
    return response.json()


def bid_to_json(bid: SignedBid) -> dict[str, Any]:
    return {"request_id": bid.request_id, "seller": bid.seller, "price_per_wh": bid.price_per_wh,
            "energy_wh": bid.energy_wh, "nonce": bid.nonce, "expiry_ts": bid.expiry_ts,
            "signature": "0x" + bid.signature.hex()}


def _bid_from_row(row: dict[str, Any]) -> SignedBid:
    return SignedBid(request_id=row["request_id"], seller=row["seller"], price_per_wh=row["price_per_wh"],
                     energy_wh=row["energy_wh"], nonce=row["nonce"], expiry_ts=row["expiry_ts"],
                     signature=bytes.fromhex(row["signature"]))

