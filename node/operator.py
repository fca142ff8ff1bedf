"""The operator's side of the batch clearing: take vehicles' signed orders (checked exactly as Clearing.sol will check
them), keep them durably, and every interval clear those received before the interval's cut with the configured
mechanism, commit the clearing and record it.

An order is signed for the Clearing contract, not for an operator: any operator may commit it, and a nonce is spent
once, so a vehicle whose operator stopped resends its signed orders to another one.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from v2vchain.audit.clearing_audit import matching_order
from v2vchain.chain.errors import ContractRevert
from v2vchain.contracts.clearing import ClearingClient
from v2vchain.contracts.registry import RegistryClient
from v2vchain.errors import V2VError
from v2vchain.identity.registration import ROLE_BUYER, ROLE_SELLER
from v2vchain.matching import MECHANISMS, ClearingParams
from v2vchain.matching.orders import MAX_ENERGY_WH, MAX_PRICE_PER_WH, Order
from v2vchain.protocol import areas, eip712, signatures
from v2vchain.protocol.clearing import MECHANISM_IDS, PreparedClearing, params_hash, trade_inputs
from v2vchain.protocol.eip712 import ORDER_TYPES
from v2vchain.protocol.errors import BadSignature
from v2vchain.protocol.orders import SignedOrder

from .config import OperatorSettings
from .core import NodeCore
from .errors import NodeError
from .peers import (
    ENDPOINT_DOMAIN,
    ORDER_ENDPOINT_TYPES,
    order_endpoint_message,
    order_from_json,
    order_to_json,
    route_to_json,
)

log = logging.getLogger("v2vchain.node")

_RUN_LOCK = threading.Lock()  # one interval at a time: the timer and POST /clearings/run never overlap


def clearing_params(settings: OperatorSettings) -> ClearingParams:
    return ClearingParams(k=Fraction(settings.k), nearest_areas=settings.nearest_areas)


def signature_refusal(client: ClearingClient, signed: SignedOrder) -> str | None:
    """Why Clearing._verifyOrders would refuse this order's signature (the strict rule, the Clearing's domain)."""
    try:
        signatures.verify_typed(
            client.domain(), ORDER_TYPES, signed.order.message(), signed.signature, signed.order.owner
        )
    except BadSignature as exc:
        return f"the order's signature is refused: {exc}"
    except Exception:  # a malformed signature or field, whatever the library calls it
        return "the order's signature is malformed"
    return None


def route_refusal(signed: SignedOrder) -> str | None:
    """Why the mechanisms could not plan with this order's route: one outside its window (the contract checks only
    that the published route is the one signed)."""
    o, route = signed.order, signed.order.route
    if route is not None and not o.window_start_ts <= route.start_ts <= route.end_ts <= o.window_end_ts:
        return (
            f"the route runs {route.start_ts}..{route.end_ts}, outside the order's window "
            f"{o.window_start_ts}..{o.window_end_ts}"
        )
    return None


def chain_refusal(
    client: ClearingClient, registry: RegistryClient, signed: SignedOrder, now: int, margin_s: int = 0
) -> str | None:
    """Why this order could not trade in a commit mined around `now` (plus margin_s), or None."""
    o = signed.order
    if o.side not in (1, 2):
        return f"side {o.side} is neither buy (1) nor sell (2)"
    if not 0 < o.energy_wh <= MAX_ENERGY_WH or not 0 < o.limit_price_per_wh <= MAX_PRICE_PER_WH:
        return "energy or limit price out of range"
    if not areas.cell_of(o.area_id):
        return "the area is not a readable geohash cell"
    if o.window_start_ts >= o.window_end_ts:
        return "the delivery window is empty"
    if o.window_end_ts <= now + margin_s:
        return f"the delivery window ends at {o.window_end_ts}, not in the future"
    if o.expiry_ts <= now + margin_s:
        return f"the order expires at {o.expiry_ts}"
    floor = client.nonce_floor(o.owner)
    if o.nonce < floor:
        return f"nonce {o.nonce} is below the owner's floor {floor} (spent or cancelled)"
    role = ROLE_BUYER if o.side == 1 else ROLE_SELLER
    if not registry.is_active(o.owner, role):
        return f"{o.owner} is not an active registered {'buyer' if role == ROLE_BUYER else 'seller'}"
    expiry = registry.vehicle(o.owner).expiry
    if expiry <= now + margin_s:  # expired when mined: its trade would be skipped
        return f"{o.owner}'s credential expires at {expiry}, before a commit sent now is surely mined"
    return None


def fair_share(orders: Sequence[SignedOrder], limit: int) -> list[SignedOrder]:
    """At most `limit` orders, taken round-robin over owners (each owner's in arrival order), so an interval over
    its capacity serves every owner before any owner's second order; the rest wait for the next interval."""
    queues: dict[str, list[SignedOrder]] = {}
    for signed in orders:
        queues.setdefault(signed.order.owner.lower(), []).append(signed)
    chosen: list[SignedOrder] = []
    depth = 0
    while len(chosen) < limit and any(len(q) > depth for q in queues.values()):
        chosen.extend(q[depth] for q in queues.values() if len(q) > depth)
        depth += 1
    return chosen[:limit]


@dataclass
class Plan:
    """One interval's outcome before the commit: the clearing to send (None when nothing trades) and the orders
    dropped on the way, with why."""

    prepared: PreparedClearing | None
    candidates: list[SignedOrder]
    dropped: dict[tuple[str, int], str]


def plan_clearing(
    client: ClearingClient,
    registry: RegistryClient,
    orders: Sequence[SignedOrder],
    settings: OperatorSettings,
    now: int,
) -> Plan:
    """Check every order as the contract will, run the mechanism over the survivors, keep the trades the contract
    would take (distinct owners, overlapping windows ending in the future, a penalty that does not round to zero),
    and prepare the clearing for this operator's next id. A forged, spent or expired order never reaches the commit,
    so no order can make it revert."""
    dropped: dict[tuple[str, int], str] = {}
    valid: list[SignedOrder] = []
    seen: set[tuple[str, int]] = set()
    for signed in orders:
        key = signed.order.key
        if key in seen:
            continue
        seen.add(key)
        reason = (
            signature_refusal(client, signed)
            or route_refusal(signed)
            or chain_refusal(client, registry, signed, now, settings.margin_s)
        )
        if reason:
            dropped[key] = reason
        else:
            valid.append(signed)
    candidates = fair_share(valid, settings.max_orders)
    if not candidates:
        return Plan(None, candidates, dropped)
    params = clearing_params(settings)
    result = MECHANISMS[settings.mechanism]([matching_order(o) for o in candidates], params)
    penalty_bps = client.penalty_bps()
    kept = []
    for t in result.trades:
        start = max(t.buyer.window_start_ts, t.seller.window_start_ts)
        end = min(t.buyer.window_end_ts, t.seller.window_end_ts)
        if t.buyer.owner == t.seller.owner or start >= end or end <= now + settings.margin_s:
            continue
        if penalty_bps and client.penalty_for(t.energy_wh, t.seller_price_per_wh) == 0:
            continue
        kept.append(t)
    if not kept:
        return Plan(None, candidates, dropped)
    inputs = trade_inputs(candidates, kept)
    marginal = _marginal_pair(candidates, result.marginal)
    prepared = client.prepare(
        candidates,
        inputs,
        mechanism_id=MECHANISM_IDS[settings.mechanism],
        params_hash=params_hash(params),
        marginal=marginal,
    )
    return Plan(prepared, candidates, dropped)


def _marginal_pair(orders: Sequence[SignedOrder], marginal: tuple[Order, Order] | None) -> tuple[int, int] | None:
    """Trade reduction's dropped marginal (buy, sell), as the mechanism named them, by their index in the list."""
    if marginal is None:
        return None
    at = {(o.order.owner.lower(), o.order.nonce): k for k, o in enumerate(orders)}
    buy, sell = marginal
    return at[(buy.owner, buy.nonce)], at[(sell.owner, sell.nonce)]


class OperatorRole(NodeCore):
    def _settings(self) -> OperatorSettings:
        if self.config.operator is None:
            raise NodeError("this node is not a clearing operator (no `operator` section in its config)", 404)
        return self.config.operator

    def _clearing(self) -> ClearingClient:
        if self.system.clearing is None:
            raise NodeError("the node's deployment record holds no batch Clearing", 404)
        return self.system.clearing

    def receive_order(self, signed: SignedOrder, node_url: str, endpoint_signature: bytes = b"") -> dict[str, Any]:
        """Check a vehicle's signed order exactly as the contract will, then keep it for the next interval. A node
        URL (where receipts for its trades go) is kept only when the owner signed it for this order."""
        self._settings()
        client = self._clearing()
        reason = signature_refusal(client, signed)
        if reason:
            raise NodeError(reason, 401)
        if node_url:
            message = order_endpoint_message(signed, self.chain.chain_id, client.address, node_url)
            signer = self._signer(
                ORDER_ENDPOINT_TYPES,
                message,
                endpoint_signature,
                "node URL",
                domain=eip712.domain(ENDPOINT_DOMAIN, self.chain.chain_id, client.address),
            )
            if signer.lower() != signed.order.owner.lower():
                raise NodeError(f"the node URL {node_url} is not signed by the order's owner", 401)
        reason = route_refusal(signed) or chain_refusal(client, self.system.registry, signed, self.chain.now())
        if reason:
            status = 403 if "registered" in reason else 409 if "nonce" in reason else 400
            raise NodeError(reason, status)
        seq = self.store.add_collected_order(
            signed.order.owner,
            signed.order.nonce,
            order_to_json(signed),
            node_url,
            "0x" + endpoint_signature.hex() if node_url else "",
            max_pending=self._settings().max_pending_per_owner,
        )
        if seq is None:
            raise NodeError(f"order nonce {signed.order.nonce} of {signed.order.owner} is already held", 409)
        return {"accepted": True, "owner": signed.order.owner, "nonce": signed.order.nonce, "seq": seq}

    def run_interval(self) -> dict[str, Any]:
        """Clear the pending orders received up to now (the cut); orders arriving meanwhile wait for the next."""
        settings = self._settings()
        client = self._clearing()
        with _RUN_LOCK:
            self.recover_operator()  # an earlier commit whose receipt never came (a timeout): the chain says
            cut = self.store.last_order_seq()
            rows = self.store.collected_orders(status="pending", up_to=cut)
            orders = [order_from_json(r["payload"]) for r in rows]
            plan = plan_clearing(client, self.system.registry, orders, settings, self.chain.now())
            for (owner, nonce), reason in plan.dropped.items():
                self.store.mark_order(owner, nonce, "dropped", reason=reason)
            summary: dict[str, Any] = {
                "cut": cut,
                "orders": len(rows),
                "candidates": len(plan.candidates),
                "dropped": [{"owner": o, "nonce": n, "reason": r} for (o, n), r in plan.dropped.items()],
            }
            if plan.prepared is None:
                return {**summary, "clearing_id": None, "trades": 0, "opened": 0}
            prepared = plan.prepared
            key = f"commit:{prepared.clearing_id}"
            self.store.begin(key, {"clearing_id": str(prepared.clearing_id), "cut": cut})
            try:
                client.commit(prepared)
            except ContractRevert as exc:
                self.store.finish(key, "reverted", exc.name)
                raise NodeError(f"the commit of clearing {prepared.clearing_id} reverted: {exc}", 409) from None
            record = self._record_commit(prepared.clearing_id, cut)
            self.store.finish(key, "done", str(prepared.clearing_id))
            return {**summary, **record, "clearing_id": str(prepared.clearing_id)}

    def _record_commit(self, clearing_id: int, cut: int) -> dict[str, Any]:
        """Record a mined commit from the chain (its event and calldata), and mark the orders its opened trades
        used: their owners' nonce floors are past them now."""
        client = self._clearing()
        commit = next(c for c in client.commits(from_block=self.system.deployment.block, clearing_id=clearing_id))
        published = client.published(clearing_id, from_block=self.system.deployment.block)
        unfunded = set(commit.unfunded)
        for i, x in enumerate(published.inputs):
            if i in unfunded:
                continue
            for k in (x.buyer_order, x.seller_order):
                o = published.orders[k].order
                self.store.mark_order(o.owner, o.nonce, "used", clearing_id=clearing_id)
        record = {
            "clearing_id": clearing_id,
            "seq": clearing_id & (2**96 - 1),
            "cut": cut,
            "mechanism": self._settings().mechanism,
            "tx_hash": "0x" + commit.tx_hash.hex(),
            "trades": commit.trade_count,
            "opened": commit.opened_trades,
            "orders": commit.order_count,
            "unfunded": sorted(unfunded),
            "committed_ts": self.chain.now(),
        }
        self.store.add_clearing(record)
        return record

    def recover_operator(self) -> None:
        """A commit whose outcome the node did not see (a crash mid-send): the chain says whether it was mined."""
        if self.config.operator is None or self.system.clearing is None:
            return
        for intent in self.store.pending_intents():
            if not intent["key"].startswith("commit:"):
                continue
            info = json.loads(intent["payload"])
            clearing_id = int(info["clearing_id"])
            if self.system.clearing.commits(from_block=self.system.deployment.block, clearing_id=clearing_id):
                self._record_commit(clearing_id, int(info["cut"]))
                self.store.finish(intent["key"], "done", str(clearing_id))
            else:
                self.store.finish(intent["key"], "not-sent")

    def operator_clearings(self) -> list[dict[str, Any]]:
        """This operator's recorded clearings, each with its trades, as the chain publishes them. The parties' node
        URLs are not in it: each party asks for its counterparty's (`operator_contact`)."""
        self._settings()
        client = self._clearing()
        result = []
        for record in self.store.clearings():
            try:
                published = client.published(record["clearing_id"], from_block=self.system.deployment.block)
            except V2VError:
                continue
            trades = [
                {
                    "trade_index": i,
                    "buyer": t.buyer,
                    "seller": t.seller,
                    "energy_wh": t.energy_wh,
                    "price_per_wh": t.price_per_wh,
                    "seller_price_per_wh": t.seller_price_per_wh,
                    "delivery_start_ts": t.delivery_start_ts,
                    "delivery_end_ts": t.delivery_end_ts,
                    "buyer_route": route_to_json(published.orders[t.buyer_order].order.route),  # public in calldata
                    "seller_route": route_to_json(published.orders[t.seller_order].order.route),
                    "opened": i not in record["unfunded"],
                }
                for i, t in enumerate(published.trades)
            ]
            result.append({**record, "clearing_id": str(record["clearing_id"]), "trade_list": trades})
        return result

    def operator_trade_parties(self, clearing_id: int, trade_index: int) -> tuple[str, str]:
        """(buyer, seller) of an opened trade of one of this operator's recorded clearings, else NodeError 404."""
        self._settings()
        record = next((c for c in self.store.clearings() if c["clearing_id"] == clearing_id), None)
        if record is None or trade_index in record["unfunded"]:
            raise NodeError(f"clearing {clearing_id} has no opened trade {trade_index} committed by this operator", 404)
        trades = self._clearing().published(clearing_id, from_block=self.system.deployment.block).trades
        if trade_index >= len(trades):
            raise NodeError(f"clearing {clearing_id} has no trade {trade_index}", 404)
        return trades[trade_index].buyer, trades[trade_index].seller

    def operator_contact(self, clearing_id: int, trade_index: int, party: str) -> dict[str, Any]:
        """For `party` of a trade (already authenticated by the caller): its counterparty's node URL with the
        counterparty's own signature binding it to the order that traded, which the party checks. The operator
        cannot put another URL there, and gives it to nobody else."""
        trade = self._clearing().published(clearing_id, from_block=self.system.deployment.block).trades[trade_index]
        buyer = party.lower() == trade.buyer.lower()
        counterparty, nonce = (trade.seller, trade.seller_nonce) if buyer else (trade.buyer, trade.buyer_nonce)
        held = self.store.collected_order(counterparty, nonce)
        if held is None or not held["node_url"] or not held["endpoint_signature"]:
            raise NodeError(f"the operator holds no node URL signed by {counterparty} for its order {nonce}", 404)
        return {
            "counterparty": counterparty,
            "nonce": nonce,
            "node_url": held["node_url"],
            "endpoint_signature": held["endpoint_signature"],
        }

    def collected(self) -> list[dict[str, Any]]:
        self._settings()
        return [
            {k: v for k, v in r.items() if k != "payload"}
            | {"side": r["payload"]["side"], "route": r["payload"].get("route")}
            for r in self.store.collected_orders()
        ]
