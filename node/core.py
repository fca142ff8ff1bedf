"""One vehicle's node: its key, chain, deployment, store and credential, and what both roles share (identity,
the cloaked cell, requests open on-chain, the record of each request brought in line with the chain, balances)."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from v2vchain.audit.order_watch import watch
from v2vchain.chain.connect import Chain
from v2vchain.contracts.market import RequestStatus
from v2vchain.deploy import System
from v2vchain.identity.did import did_for, resolve_did
from v2vchain.privacy import geohash, k_anonymous_cell, laplace_cloak
from v2vchain.privacy.seal import public_bytes, x25519_key
from v2vchain.protocol import areas, eip712
from v2vchain.protocol.errors import BadSignature
from v2vchain.protocol.recover import TypedHasher

from .block_cache import HEAD_TTL_S, BlockCache
from .config import NodeConfig
from .errors import NodeError
from .peers import (
    ENDPOINT_DOMAIN,
    peer_request,
)
from .store import Store

log = logging.getLogger("v2vchain.node")

LAPLACE_CELL_PRECISION = 6  # ~1.2 km x 0.6 km: the region around the already-noised point


@dataclass
class NodeCore:
    config: NodeConfig
    account: LocalAccount
    chain: Chain
    system: System
    store: Store
    credential: dict[str, Any]
    blocks: BlockCache = field(init=False, repr=False)
    listing_signatures: dict[tuple[int, str], str] = field(init=False, repr=False, default_factory=dict)
    hashers: dict[tuple[Any, ...], TypedHasher] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.blocks = BlockCache(self.chain)

    def close_resources(self) -> None:
        self.store.close()
        self.chain.close()

    @property
    def address(self) -> str:
        return str(self.account.address)

    @property
    def did(self) -> str:
        """At the current chain id, read once a block (a chain can change its id)."""
        self.blocks.head(max_age_s=HEAD_TTL_S)
        return self.blocks.get("did", lambda: did_for(self.address, self.chain.chain_id))

    @cached_property
    def seal_public_key(self) -> str:
        """The X25519 key counterparties seal meeting points to: derived from the vehicle key, so derived once."""
        return "0x" + public_bytes(x25519_key(bytes(self.account.key))).hex()

    def identity(self) -> dict[str, Any]:

        return {
            "name": self.config.name,
            "did": self.did,
            "address": self.address,
            "did_document": resolve_did(self.did),
            "credential": self.credential,
            "seal_public_key": self.seal_public_key,
            "url": self.config.url,
        }

    def cloak(self) -> str:
        """The geohash cell this vehicle publishes instead of its position.

        Drawn once per position and settings and kept: fresh Laplace noise on every request would let an observer
        average the published cells back to the true position.
        """
        position = (self.config.position.lat, self.config.position.lon)
        cloak = self.config.cloak
        # the route precision does not move this cell: changing it must not draw (and so reveal) a fresh one
        key = keccak(text=json.dumps([position, cloak.model_dump(exclude={"route_precision"})])).hex()
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

    def open_requests(self, region: str = "") -> list[dict[str, Any]]:
        """Requests open for bidding now, from the chain's own events, optionally within a cloaked region (read once
        a block)."""
        _, now = self.blocks.head()
        rows = self.blocks.get("open", lambda: self._open_on_chain(now))
        return [dict(row) for area, row in rows if not region or areas.within(area, region)]

    def _open_on_chain(self, now: int) -> list[tuple[bytes, dict[str, Any]]]:
        market = self.system.market
        logs = market.contract.events.RequestOpened.get_logs(from_block=self.system.deployment.block)
        found = []
        for log in logs:
            args = log["args"]
            if args["deadline"] <= now:
                continue
            request = market.request(int(args["requestId"]))
            if request.status != RequestStatus.OPEN:
                continue
            found.append(
                (
                    bytes(args["areaId"]),
                    {
                        "request_id": request.request_id,
                        "buyer": request.buyer,
                        "energy_wh": request.energy_wh,
                        "max_price_per_wh": request.max_price_per_wh,
                        "deadline_ts": request.deadline_ts,
                        "delivery_start_ts": request.delivery_start_ts,
                        "delivery_end_ts": request.delivery_end_ts,
                        "area": areas.cell_of(args["areaId"]),
                    },
                )
            )
        return found

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

    def watch_clearings(self) -> list[dict[str, Any]]:
        """Every committed clearing that used one of this vehicle's signed orders, with what each order filled (forged
        orders are refused by the contract at commit, so there is nothing left to challenge)."""

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
        return {
            "address": self.address,
            "wallet": self.system.token.balance_of(self.address),
            "free": account.free,
            "locked": account.locked,
        }

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

    def _own_request(self, request_id: int, role: str) -> dict[str, Any]:
        record = self.store.request(request_id)
        if record is None or record["role"] != role:
            raise NodeError(f"request {request_id} is not one this node holds as {role}", 404)
        return self.refresh(request_id)

    def _signer(
        self,
        types: dict[str, Any],
        message: dict[str, Any],
        signature: bytes,
        what: str,
        domain: dict[str, Any] | None = None,
    ) -> str:
        """The signer under the contracts' strict rule (v2vchain.signatures), recovered with libsecp256k1 through a
        hasher made once per domain and type (protocol/recover.py, identical to eth-account): anything else is
        refused."""
        domain = domain or self._market_domain()
        key = (tuple(sorted(domain.items())), eip712.type_string(types))
        try:
            hasher = self.hashers.get(key)
            if hasher is None:
                hasher = self.hashers[key] = TypedHasher(domain, types)
            return hasher.recover(message, signature)
        except BadSignature as exc:
            raise NodeError(f"the {what}'s signature is refused: {exc}", 401) from None
        except Exception:
            raise NodeError(f"the {what}'s signature is malformed") from None

    def _endpoint_domain(self) -> dict[str, Any]:
        """The "V2V Node" domain at the current chain id (read once a block: a chain can change its id)."""
        return self.blocks.get(
            "endpoint-domain", lambda: eip712.domain(ENDPOINT_DOMAIN, self.chain.chain_id, self.system.market.address)
        )

    def _market_domain(self) -> dict[str, Any]:
        """The Market's EIP-712 domain at the current chain id (read once a block)."""
        return self.blocks.get("market-domain", self.system.market._domain)

    def _peer(
        self,
        method: str,
        url: str | None,
        path: str,
        payload: dict[str, Any] | None = None,
        *,
        timeout: float = 30,
        params: dict[str, str] | None = None,
    ) -> Any:
        """One call to another node: over TLS pinned by its URL, or plain HTTP only under the "plain-http" opt-in."""
        return peer_request(method, url, path, payload, allow_plain=not self.config.tls, timeout=timeout, params=params)

    def _post(self, base_url: str | None, path: str, payload: dict[str, Any]) -> Any:
        return self._peer("POST", base_url, path, payload)
