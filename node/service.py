"""What one vehicle's node does for it: the buyer's and the seller's roles over one core, started from its config
and recovered after a restart.

The HTTP layer (node/api) only validates and delegates here; chain I/O goes through the v2vchain clients.
"""

from __future__ import annotations

import json
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from v2vchain.chain.connect import connect
from v2vchain.deploy import Deployment, attach

from .buyer import BuyerRole
from .config import NodeConfig
from .operator import OperatorRole
from .seller import SellerRole
from .store import Store
from .timers import Timers
from .trader import TraderRole


class VehicleNode(BuyerRole, SellerRole, OperatorRole, TraderRole):
    @classmethod
    def start(cls, config: NodeConfig, account: LocalAccount) -> VehicleNode:
        chain = connect(config.chain, account=account)
        deployment = Deployment(**json.loads(config.deployment.read_text()))
        system = attach(chain, deployment, chain.sender(account))
        credential = json.loads(config.credential.read_text())
        node = cls(
            config=config, account=account, chain=chain, system=system, store=Store(config.db), credential=credential
        )
        node.recover()
        return node

    def recover(self) -> None:
        """After a restart: intents left pending are settled from chain events, then every record re-read."""
        for intent in self.store.pending_intents():
            if intent["key"].startswith("open:"):
                self._recover_open(intent["key"], json.loads(intent["payload"]))
            elif intent["key"].startswith("bid:"):
                self._recover_bid(intent["key"], json.loads(intent["payload"]))
        for record in self.store.requests():
            self.refresh(int(record["request_id"]))
        self.recover_operator()

    def timers(self) -> Timers:
        """The operator's intervals and the vehicle's clearing watch, each on its configured period."""
        timers = Timers()
        if self.config.operator is not None:
            timers.every("clearing interval", self.config.operator.interval_s, self.run_interval)
        if self.system.clearing is not None:
            timers.every("clearing watch", self.config.clearing_watch_s, self.watch_once)
        return timers

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
            from_block=self.system.deployment.block, argument_filters={"buyer": self.address}
        )
        match = next((log for log in logs if bytes(log["args"]["accessHash"]) == access), None)
        if match is None:
            self.store.finish(key, "not-sent")
        else:
            self._record_opened(key, int(match["args"]["requestId"]), payload, secret_hex)
