"""A vehicle's side of the batch clearing: sign an order with its key and hand it to an operator, watch where its
orders went, and deliver its cleared trades (the two meet as after an auction, node/meetings.py; the buyer confirms
on-chain and hands the seller a signed receipt; the seller claims with that receipt if the buyer does not confirm).
Each party learns the other's node URL from the operator, as an authenticated party of the trade, and only with the
counterparty's signature binding it to its order."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

from eth_utils import to_checksum_address

from v2vchain.audit.order_watch import watch
from v2vchain.chain.errors import ContractRevert
from v2vchain.contracts.clearing import ClearingClient
from v2vchain.identity.did import did_for
from v2vchain.protocol import areas, eip712
from v2vchain.protocol.clearing import PreparedClearing
from v2vchain.protocol.eip712 import TRADE_RECEIPT_TYPES
from v2vchain.protocol.orders import ChainOrder

from .core import NodeCore
from .errors import NodeError
from .peers import (
    ENDPOINT_DOMAIN,
    ORDER_ENDPOINT_TYPES,
    answer_field,
    order_endpoint_message,
    order_from_json,
    order_to_json,
    route_to_json,
    sign_order_endpoint,
)
from .route_cloak import PlannedStop, cloak_route

log = logging.getLogger("v2vchain.node")

SIDES = {"buy": 1, "sell": 2}
RECEIPT_TIMEOUT_S = 5.0
# A presentation of this node's credential answering `challenge` for the verifier whose DID is given.
Presenter = Callable[[str, str], dict[str, Any]]


class TraderRole(NodeCore):
    def _clearing_client(self) -> ClearingClient:
        if self.system.clearing is None:
            raise NodeError("the node's deployment record holds no batch Clearing", 404)
        return self.system.clearing

    # ------------------------------------------------------------------ orders

    def place_order(
        self,
        *,
        side: str,
        energy_wh: int,
        limit_price_per_wh: int,
        window_lead_s: int,
        window_s: int,
        expiry_s: int | None = None,
        operator_url: str = "",
        route: Sequence[PlannedStop] | None = None,
    ) -> dict[str, Any]:
        """Sign an order for the Clearing (a fresh nonce never below its floor), record it, and send it to the
        operator. A parked vehicle's order is at its cloaked cell for the window from now + window_lead_s; a
        moving one's carries its route (each stop's cell at the route precision) and runs from its first arrival
        to its last departure, in its first stop's cell. The record is kept whatever the operator answers: the
        signed order can be resent to another operator (`resend_orders`)."""
        client = self._clearing_client()
        url = (operator_url or self.config.operator_url).rstrip("/")
        if not url:
            raise NodeError("no operator URL: set operator_url in the config or give one", 409)
        now = self.chain.now()
        planned = None if route is None else cloak_route(route, self.config.cloak.route_precision)
        if planned is None:
            cell, start, end = self.cloak(), now + window_lead_s, now + window_lead_s + window_s
        elif planned.end_ts <= now:
            raise NodeError(f"the route's last departure {planned.end_ts} is not after the chain's time {now}", 400)
        else:
            cell, start, end = planned.waypoints[0].cell, planned.start_ts, planned.end_ts
        nonce = self.store.next_order_nonce(client.nonce_floor(self.address))
        order = ChainOrder(
            owner=self.address,
            side=SIDES[side],
            energy_wh=energy_wh,
            limit_price_per_wh=limit_price_per_wh,
            area_id=areas.area_id(cell),
            window_start_ts=start,
            window_end_ts=end,
            nonce=nonce,
            expiry_ts=min(end, now + expiry_s) if expiry_s else end,
            route=planned,
        )
        signed = client.sign_order(self.account, order)
        payload = order_to_json(signed)
        self.store.put_own_order(nonce, payload, url, "signed")
        return self._send_order(nonce, payload, url)

    def _send_order(self, nonce: int, payload: dict[str, Any], url: str) -> dict[str, Any]:
        client = self._clearing_client()
        endpoint = sign_order_endpoint(
            self.account, self.chain.chain_id, client.address, order_from_json(payload), self.config.url
        )
        body = {**payload, "node_url": self.config.url, "endpoint_signature": "0x" + endpoint.hex()}
        try:
            answer = self._peer("POST", url, "/p2p/orders", body)
        except NodeError as exc:
            self.store.update_own_order(nonce, "refused", str(exc)[:300])
            log.warning("order %s: the operator at %s did not take it: %s", nonce, url, exc)
            return {**payload, "status": "refused", "operator_url": url, "answer": str(exc)[:300]}
        self.store.update_own_order(nonce, "sent", answer)
        return {**payload, "status": "sent", "operator_url": url, "answer": answer}

    def resend_orders(self, operator_url: str) -> list[dict[str, Any]]:
        """Send every order not yet used (its nonce still at or above the floor) to another operator: the order is
        signed for the Clearing, not for an operator, so any operator can commit it, and only once."""
        floor = self._clearing_client().nonce_floor(self.address)
        sent = []
        for row in self.store.own_orders():
            if row["nonce"] < floor or row["payload"]["expiry_ts"] <= self.chain.now():
                continue
            self.store.put_own_order(row["nonce"], row["payload"], operator_url.rstrip("/"), "signed")
            sent.append(self._send_order(row["nonce"], row["payload"], operator_url.rstrip("/")))
        return sent

    def orders(self) -> list[dict[str, Any]]:
        """This vehicle's orders, each with what the clearings made of it (from the last watch)."""
        floor = self._clearing_client().nonce_floor(self.address)
        uses: dict[int, list[dict[str, Any]]] = {}
        for use in self.store.order_uses():
            uses.setdefault(int(use["nonce"]), []).append(use)
        return [
            {
                **row["payload"],
                "status": row["status"],
                "operator_url": row["operator_url"],
                "spent": row["nonce"] < floor,
                "used_in": uses.get(row["nonce"], []),
            }
            for row in self.store.own_orders()
        ]

    # ------------------------------------------------------------------ the watch

    def watch_once(self) -> dict[str, Any]:
        """Every commit that listed one of this vehicle's orders: kept in the store, and each opened trade recorded
        for delivery. Returns the new findings."""
        client = self._clearing_client()
        new = []
        published: dict[int, PreparedClearing] = {}
        for use in watch(client, self.address, from_block=self.system.deployment.block):
            finding = {**asdict(use), "clearing_id": str(use.clearing_id)}
            if self.store.put_order_use(use.clearing_id, use.order_index, use.nonce, finding):
                new.append(finding)
            for index in use.trades:
                if self.store.clearing_trade(use.clearing_id, index) is not None:
                    continue
                if use.clearing_id not in published:
                    published[use.clearing_id] = client.published(
                        use.clearing_id, from_block=self.system.deployment.block
                    )
                p = published[use.clearing_id]
                t = p.trades[index]
                role = "buyer" if t.buyer.lower() == self.address.lower() else "seller"
                own, other = (t.buyer_order, t.seller_order) if role == "buyer" else (t.seller_order, t.buyer_order)
                self.store.put_clearing_trade(
                    use.clearing_id,
                    index,
                    role,
                    {
                        "operator": use.operator,
                        "nonce": use.nonce,
                        "counterparty": t.seller if role == "buyer" else t.buyer,
                        "energy_wh": t.energy_wh,
                        "price_per_wh": t.price_per_wh if role == "buyer" else t.seller_price_per_wh,
                        "delivery_start_ts": t.delivery_start_ts,
                        "delivery_end_ts": t.delivery_end_ts,
                        # both routes as the commit's calldata published them (cells and times, never positions)
                        "route": route_to_json(p.orders[own].order.route),
                        "counterparty_route": route_to_json(p.orders[other].order.route),
                    },
                )
        return {"new": new, "uses": len(self.store.order_uses())}

    def watched(self) -> dict[str, Any]:
        return {"uses": self.store.order_uses(), "trades": self.clearing_trades()}

    def clearing_trades(self) -> list[dict[str, Any]]:
        """This vehicle's cleared trades, their status refreshed from the chain (open until settled or reclaimed)."""
        client = self._clearing_client()
        rows = []
        for row in self.store.clearing_trades():
            if row["status"] in ("open", "confirmed") and not client.is_trade_open(
                row["clearing_id"], row["trade_index"]
            ):
                self.store.update_clearing_trade(row["clearing_id"], row["trade_index"], status="closed")
                row["status"] = "closed"
            met = "meeting" if row["role"] == "seller" else "access_secret"  # the seller's point, the buyer's secret
            meeting = self.store.meeting_record(row["clearing_id"], row["trade_index"], met)
            rows.append({**row, "clearing_id": str(row["clearing_id"]), "meeting": meeting})
        return rows

    # ------------------------------------------------------------------ delivery

    def _own_trade(self, clearing_id: int, trade_index: int, role: str) -> dict[str, Any]:
        row = self.store.clearing_trade(clearing_id, trade_index)
        if row is None:
            self.watch_once()
            row = self.store.clearing_trade(clearing_id, trade_index)
        if row is None or row["role"] != role:
            raise NodeError(f"trade {trade_index} of clearing {clearing_id} is not one this node holds as {role}", 404)
        return row

    def confirm_clearing_trade(
        self, clearing_id: int, trade_index: int, delivered_wh: int, present: Presenter
    ) -> dict[str, Any]:
        """Buyer: confirm what the meter delivered on-chain (with the trade's Merkle proof), then hand the seller a
        signed receipt of the same figure, best effort (at the seller's URL, as `counterparty_url` learns it)."""
        self._own_trade(clearing_id, trade_index, "buyer")
        client = self._clearing_client()
        prepared = client.published(clearing_id, from_block=self.system.deployment.block)
        signature = client.sign_receipt(
            self.account, clearing_id=clearing_id, trade_index=trade_index, delivered_wh=delivered_wh
        )
        client.confirm_delivery(prepared, trade_index, delivered_wh)  # on-chain first: never waits on the peer
        receipt = {"delivered_wh": delivered_wh, "signature": "0x" + signature.hex()}
        self.store.update_clearing_trade(clearing_id, trade_index, status="confirmed", receipt=receipt)
        delivered = False
        try:
            seller_url = self.counterparty_url(clearing_id, trade_index, present)
            self._peer(
                "POST",
                seller_url,
                "/p2p/clearing-receipts",
                {"clearing_id": str(clearing_id), "trade_index": trade_index, **receipt},
                timeout=RECEIPT_TIMEOUT_S,
            )
            delivered = True
        except NodeError as exc:
            log.warning(
                "clearing %s trade %s: confirmed; the receipt did not reach the seller: %s",
                clearing_id,
                trade_index,
                exc,
            )
        trade = next(
            t
            for t in self.clearing_trades()
            if t["trade_index"] == trade_index and t["clearing_id"] == str(clearing_id)
        )
        return {**trade, "receipt_delivered": delivered}

    def counterparty_url(self, clearing_id: int, trade_index: int, present: Presenter) -> str:
        """The counterparty's node URL for a cleared trade, kept once learned. Asked of the operator that committed
        the clearing (at the URL this vehicle sent its order to), authenticated by a presentation answering the
        operator's challenge, and taken only with the counterparty's signature binding it to its traded order."""
        held = self.store.meeting_record(clearing_id, trade_index, "counterparty")
        if held is not None:
            return str(held["node_url"])
        row = self.store.clearing_trade(clearing_id, trade_index)
        if row is None:
            raise NodeError(f"trade {trade_index} of clearing {clearing_id} is not one this node holds", 404)
        sent_to = {o["nonce"]: o["operator_url"] for o in self.store.own_orders()}
        operator_url = sent_to.get(row.get("nonce"), "") or self.config.operator_url
        operator_did = did_for(to_checksum_address((clearing_id >> 96).to_bytes(20, "big")), self.chain.chain_id)
        asked = self._peer("GET", operator_url, "/p2p/challenge", timeout=RECEIPT_TIMEOUT_S)
        challenge = answer_field(asked, "challenge", "/p2p/challenge")
        path = f"/p2p/clearings/{clearing_id}/trades/{trade_index}/contact"
        presented = {"presentation": present(str(challenge), operator_did)}
        contact = self._peer("POST", operator_url, path, presented, timeout=RECEIPT_TIMEOUT_S)
        url = str(answer_field(contact, "node_url", path))
        self._check_contact(clearing_id, trade_index, row, url, str(answer_field(contact, "endpoint_signature", path)))
        self.store.put_meeting_record(clearing_id, trade_index, "counterparty", {"node_url": url})
        return url

    def _check_contact(self, clearing_id: int, trade_index: int, row: dict[str, Any], url: str, signature: str) -> None:
        """NodeError 502 unless `signature` is the counterparty's over its order in this trade and `url`."""
        client = self._clearing_client()
        published = client.published(clearing_id, from_block=self.system.deployment.block)
        trade = published.trades[trade_index]
        order = published.orders[trade.seller_order if row["role"] == "buyer" else trade.buyer_order]
        raw = bytes.fromhex(signature[2:]) if re.fullmatch(r"0x[0-9a-fA-F]{130}", signature) else b""
        domain = eip712.domain(ENDPOINT_DOMAIN, self.chain.chain_id, client.address)
        message = order_endpoint_message(order, self.chain.chain_id, client.address, url)
        try:
            signer = self._signer(ORDER_ENDPOINT_TYPES, message, raw, "counterparty's node URL", domain=domain)
        except NodeError as exc:
            raise NodeError(f"the operator's answer is refused: {exc}", 502) from None
        if signer.lower() != row["counterparty"].lower():
            raise NodeError(f"the node URL {url[:100]} is signed by {signer}, not by {row['counterparty']}", 502)

    def receive_clearing_receipt(
        self, clearing_id: int, trade_index: int, delivered_wh: int, signature: bytes
    ) -> dict[str, Any]:
        """Seller: keep the buyer's signed receipt for a cleared trade, checked under the strict rule."""
        row = self._own_trade(clearing_id, trade_index, "seller")
        message = {"clearingId": clearing_id, "tradeIndex": trade_index, "deliveredWh": delivered_wh}
        signer = self._signer(
            TRADE_RECEIPT_TYPES, message, signature, "receipt", domain=self._clearing_client().domain()
        )
        if signer.lower() != row["counterparty"].lower():
            raise NodeError(f"the receipt is signed by {signer}, not by the buyer", 401)
        stored, kept = self.store.put_clearing_receipt_if_larger(
            clearing_id, trade_index, delivered_wh, "0x" + signature.hex()
        )
        if not stored:
            raise NodeError(f"a receipt for {kept} Wh is already held", 409)
        return {"stored": True, "delivered_wh": delivered_wh}

    def claim_clearing_trade(self, clearing_id: int, trade_index: int) -> dict[str, Any]:
        """Seller: settle with the buyer's receipt when the buyer has not confirmed (or confirmed less)."""
        row = self._own_trade(clearing_id, trade_index, "seller")
        receipt = row.get("receipt")
        if not receipt:
            raise NodeError(f"no receipt held for clearing {clearing_id} trade {trade_index}", 404)
        client = self._clearing_client()
        prepared = client.published(clearing_id, from_block=self.system.deployment.block)
        try:
            client.claim_with_receipt(
                prepared, trade_index, int(receipt["delivered_wh"]), bytes.fromhex(receipt["signature"][2:])
            )
        except ContractRevert as exc:
            if exc.name != "TradeNotOpen":
                raise
        self.store.update_clearing_trade(clearing_id, trade_index, status="closed")
        return next(
            t
            for t in self.clearing_trades()
            if t["trade_index"] == trade_index and t["clearing_id"] == str(clearing_id)
        )

    def clearing_balances(self) -> dict[str, Any]:
        client = self._clearing_client()
        account = client.account(self.address)
        return {
            "address": self.address,
            "wallet": self.system.token.balance_of(self.address),
            "free": account.free,
            "locked": account.locked,
            "nonce_floor": account.nonce_floor,
        }

    def clearing_deposit(self, amount: int) -> dict[str, Any]:
        """Move tokens into the Clearing's free balance: a buyer's payments, a seller's penalty cover."""
        client = self._clearing_client()
        if amount > self.system.token.balance_of(self.address):
            raise NodeError(f"the wallet holds less than {amount}", 409)
        if self.system.token.allowance(self.address, client.address) < amount:
            self.system.token.approve(client.address, 2**256 - 1)
        client.deposit(amount)
        return self.clearing_balances()
