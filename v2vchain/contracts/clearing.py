"""The Clearing's typed client: commit, per-trade delivery, batch settlement with buyer-signed receipts, and the
published clearing rebuilt by anyone from the calldata of its commit transaction (`ClearingClient.published`),
routes included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3.types import TxReceipt

from v2vchain.matching.orders import Order as MatchingOrder
from v2vchain.protocol import eip712
from v2vchain.protocol.abi_values import uint
from v2vchain.protocol.calldata import decode_call
from v2vchain.protocol.clearing import ZERO32, PreparedClearing, Receipt, Trade, TradeInput, prepare_clearing
from v2vchain.protocol.eip712 import CLEARING_DOMAIN, ORDER_TYPES, TRADE_RECEIPT_TYPES
from v2vchain.protocol.errors import InvalidRoute
from v2vchain.protocol.orders import ChainOrder, SignedOrder
from v2vchain.protocol.routes import Route, route_segments

from .errors import ClearingDataUnavailable
from .vault import VaultClient


@dataclass(frozen=True)
class Commit:
    """One ClearingCommitted event, with the trade indices its transaction reported unfunded."""

    clearing_id: int
    operator: str
    mechanism_id: int
    trade_count: int
    order_count: int
    opened_trades: int
    escrowed: int
    tx_hash: bytes
    unfunded: tuple[int, ...]


class ClearingClient(VaultClient):
    # ------------------------------------------------------------ orders and commit
    def domain(self) -> dict[str, Any]:
        return eip712.domain(CLEARING_DOMAIN, self.chain_id, self.address)

    def sign_order(self, account: LocalAccount, order: MatchingOrder | ChainOrder) -> SignedOrder:
        chain_order = order if isinstance(order, ChainOrder) else ChainOrder.of(order)
        return SignedOrder(chain_order, eip712.sign(account, self.domain(), ORDER_TYPES, chain_order.message()))

    def prepare(
        self,
        orders: Sequence[SignedOrder],
        trades: Sequence[TradeInput],
        *,
        mechanism_id: int,
        params_hash: bytes = ZERO32,
        clearing_id: int | None = None,
        marginal: tuple[int, int] | None = None,
        sort_orders: bool = True,
        routes: bytes | None = None,
    ) -> PreparedClearing:
        """A clearing for this sender's next id (nobody else can take it; leaves are bound to it); `routes` defaults
        to the orders' own (protocol.clearing.prepare_clearing)."""
        return prepare_clearing(
            contract=self.address,
            chain_id=self.chain_id,
            clearing_id=self.next_clearing_id() if clearing_id is None else clearing_id,
            orders=orders,
            trades=trades,
            mechanism_id=mechanism_id,
            params_hash=params_hash,
            marginal=marginal,
            sort_orders=sort_orders,
            routes=routes,
        )

    def commit(self, prepared: PreparedClearing) -> TxReceipt:
        return self._transact("commitClearing", *prepared.commit_args())

    # ------------------------------------------------------------ delivery
    def confirm_delivery(
        self, prepared: PreparedClearing, trade_index: int, delivered_wh: int, *, proof: Sequence[bytes] | None = None
    ) -> TxReceipt:
        return self._transact(
            "confirmDelivery", *self._trade_args(prepared, trade_index, proof), uint("delivered_wh", delivered_wh, 64)
        )

    def claim_with_receipt(
        self, prepared: PreparedClearing, trade_index: int, delivered_wh: int, buyer_signature: bytes
    ) -> TxReceipt:
        return self._transact(
            "claimWithReceipt",
            *self._trade_args(prepared, trade_index, None),
            uint("delivered_wh", delivered_wh, 64),
            buyer_signature,
        )

    def finalize(self, prepared: PreparedClearing, trade_index: int) -> TxReceipt:
        return self._transact("finalize", *self._trade_args(prepared, trade_index, None))

    def reclaim(self, prepared: PreparedClearing, trade_index: int) -> TxReceipt:
        return self._transact("reclaim", *self._trade_args(prepared, trade_index, None))

    def settle_receipts(
        self, prepared: PreparedClearing, receipts: Sequence[Receipt], trades: Sequence[Trade] | None = None
    ) -> TxReceipt:
        """Settle many trades in one call; `trades` defaults to the clearing's whole list (hashed to its root)."""
        trades = prepared.trades if trades is None else trades
        return self._transact(
            "settleReceipts", prepared.clearing_id, [t.as_tuple() for t in trades], [r.as_tuple() for r in receipts]
        )

    def sign_receipt(self, buyer: LocalAccount, *, clearing_id: int, trade_index: int, delivered_wh: int) -> bytes:
        message = {"clearingId": clearing_id, "tradeIndex": trade_index, "deliveredWh": delivered_wh}
        return eip712.sign(buyer, self.domain(), TRADE_RECEIPT_TYPES, message)

    def receipt(
        self, buyer: LocalAccount, prepared: PreparedClearing, trade_index: int, delivered_wh: int | None = None
    ) -> Receipt:
        """The buyer's signed receipt for a trade (its whole energy unless told)."""
        wh = prepared.trades[trade_index].energy_wh if delivered_wh is None else delivered_wh
        return Receipt(
            trade_index,
            wh,
            self.sign_receipt(buyer, clearing_id=prepared.clearing_id, trade_index=trade_index, delivered_wh=wh),
        )

    def _trade_args(self, prepared: PreparedClearing, index: int, proof: Sequence[bytes] | None) -> tuple[Any, ...]:
        uint("trade_index", index)
        trade = prepared.trades[index]
        return (
            prepared.clearing_id,
            index,
            trade.as_tuple(),
            list(prepared.trade_proof(index) if proof is None else proof),
        )

    # ------------------------------------------------------------ views
    def next_clearing_id(self, operator: str | None = None) -> int:
        return int(self._call("nextClearingId", operator or self.sender.address))

    def trades_root(self, clearing_id: int) -> bytes:
        return bytes(self._call("tradesRootOf", uint("clearing_id", clearing_id)))

    def is_trade_open(self, clearing_id: int, trade_index: int) -> bool:
        return bool(self._call("isTradeOpen", clearing_id, trade_index))

    def confirmed_wh(self, clearing_id: int, trade_index: int) -> int:
        return int(self._call("confirmedWh", clearing_id, trade_index))

    # ------------------------------------------------------------ audit
    def commits(self, *, from_block: int = 0, clearing_id: int | None = None) -> list[Commit]:
        """Every ClearingCommitted event (or one clearing's), each with the trades its commit left unfunded."""
        filters = {"clearingId": clearing_id} if clearing_id is not None else None
        logs = self.contract.events.ClearingCommitted().get_logs(from_block=from_block, argument_filters=filters)
        result = []
        for log in logs:
            a = log["args"]
            receipt = self.contract.w3.eth.get_transaction_receipt(log["transactionHash"])
            unfunded = tuple(
                int(e["args"]["tradeIndex"])
                for e in self.events(receipt, "TradeUnfunded")
                if int(e["args"]["clearingId"]) == int(a["clearingId"])
            )
            result.append(
                Commit(
                    int(a["clearingId"]),
                    to_checksum_address(a["operator"]),
                    int(a["mechanismId"]),
                    int(a["tradeCount"]),
                    int(a["orderCount"]),
                    int(a["openedTrades"]),
                    int(a["escrowedAmount"]),
                    bytes(log["transactionHash"]),
                    unfunded,
                )
            )
        return result

    def published(self, clearing_id: int, *, from_block: int = 0) -> PreparedClearing:
        """Rebuild a committed clearing from the calldata of its commit transaction, checked against its event.

        Works when the operator called the contract directly (the calldata is the transaction's input); a commit
        made through another contract needs a trace, and is reported as unavailable.
        """
        logs = self.contract.events.ClearingCommitted().get_logs(
            from_block=from_block, argument_filters={"clearingId": clearing_id}
        )
        if not logs:
            raise ClearingDataUnavailable(f"no ClearingCommitted event for clearing {clearing_id}")
        event = logs[-1]
        tx = self.contract.w3.eth.get_transaction(event["transactionHash"])
        args = decode_call(self.contract.get_function_by_name("commitClearing").abi, bytes(tx["input"]))
        if args is None:
            raise ClearingDataUnavailable(
                f"clearing {clearing_id}: transaction 0x{bytes(event['transactionHash']).hex()} is not a direct "
                "commit call"
            )
        header, raw_orders, raw_trades = args["header"], args["orders"], args["trades"]
        blob = bytes(args["routes"])
        try:
            segments = route_segments(blob, [bytes(o["order"]["routeHash"]) for o in raw_orders])
        except InvalidRoute as exc:  # the contract refuses such a commit: this transaction is not one it accepted
            raise ClearingDataUnavailable(f"clearing {clearing_id}: {exc}") from exc
        orders = [
            SignedOrder(_chain_order(o["order"], segment), bytes(o["r"]) + bytes(o["s"]) + bytes([o["v"]]))
            for o, segment in zip(raw_orders, segments)
        ]
        inputs = [
            TradeInput(t["buyerOrder"], t["sellerOrder"], t["energyWh"], t["pricePerWh"], t["sellerPricePerWh"])
            for t in raw_trades
        ]
        prepared = prepare_clearing(
            contract=self.address,
            chain_id=self.chain_id,
            clearing_id=header["clearingId"],
            orders=orders,
            trades=inputs,
            mechanism_id=header["mechanismId"],
            params_hash=bytes(header["paramsHash"]),
            marginal=(header["marginalBuy"], header["marginalSell"]),
            sort_orders=False,
        )
        args_ev = event["args"]
        if prepared.trades_root != bytes(args_ev["tradesRoot"]) or prepared.order_set_hash != bytes(
            args_ev["orderSetHash"]
        ):
            raise ClearingDataUnavailable(f"clearing {clearing_id}: the calldata does not hash to the committed roots")
        return prepared


def _chain_order(o: dict[str, Any], segment: bytes | None) -> ChainOrder:
    """A published order with its route decoded; a route that does not decode (its owner signed it, the contract
    does not read cells or times) stays raw bytes, for the audit to report."""
    try:
        route, raw = (None if segment is None else Route.decode(segment)), None
    except InvalidRoute:
        route, raw = None, segment
    return ChainOrder(
        owner=to_checksum_address(o["owner"]),
        side=o["side"],
        energy_wh=o["energyWh"],
        limit_price_per_wh=o["limitPricePerWh"],
        area_id=bytes(o["areaId"]),
        window_start_ts=o["windowStart"],
        window_end_ts=o["windowEnd"],
        nonce=o["nonce"],
        expiry_ts=o["expiry"],
        route=route,
        raw_route=raw,
    )
