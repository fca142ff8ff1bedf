"""The batch Clearing's data exactly as Clearing.sol hashes and checks it: orders, trades, leaves, commitments.

A clearing goes through the contract in the shape `prepare_clearing` builds here: the signed orders (each an EIP-712
`Order` under the "V2V Clearing" domain) sorted by (owner, nonce), the trades as order indices + Wh + prices, the
routes of the orders that signed one (protocol/routes.py, in order-list order), and the trade Merkle root, computed
the way Clearing.sol computes it (protocol/merkle.py). Clearing ids are per operator:
(operator << 96) | the operator's own sequence number.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from enum import IntEnum
from fractions import Fraction
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from v2vchain.errors import InvalidInput

from .abi_values import bytes32, uint
from .merkle import MerkleTree, tagged_leaf
from .orders import SignedOrder, order_digest, order_set_hash

ZERO32 = b"\x00" * 32
TRADE_LEAF_TAG = keccak(text="v2vchain.Clearing.TradeLeaf.v1")
COMMITMENT_TAG = keccak(text="v2vchain.Clearing.Commitment.v2")
# On-chain ids of the mechanisms in v2vchain.matching.MECHANISMS (the commitment carries the id, not the name).
MECHANISM_IDS = {
    "double-auction-k": 1,
    "mcafee-trade-reduction": 2,
    "max-welfare-assignment": 3,
    "gale-shapley-buyer-proposing": 4,
    "gale-shapley-seller-proposing": 5,
}
_TRADE_TYPES = [
    "uint32",
    "uint32",
    "address",
    "address",
    "uint64",
    "uint64",
    "uint64",
    "uint96",
    "uint96",
    "uint40",
    "uint40",
]


class Shortfall(IntEnum):
    NONE = 0
    BUYER_FREE = 1
    SELLER_COVER = 2
    BUYER_ORDER_SPENT = 3
    SELLER_ORDER_SPENT = 4
    BUYER_INACTIVE = 5  # registration revoked, expired or without the role when the commit was mined
    SELLER_INACTIVE = 6


class Resolution(IntEnum):
    CONFIRMED = 0
    RECEIPT = 1
    FINALIZED = 2
    RECLAIMED = 3


def clearing_id_for(operator: str, seq: int) -> int:
    """The id of `operator`'s commit number `seq` (Clearing.nextClearingId)."""
    return (int(operator, 16) << 96) | uint("seq", seq, 96)


def operator_of(clearing_id: int) -> str:
    return to_checksum_address((clearing_id >> 96).to_bytes(20, "big"))


@dataclass(frozen=True)
class TradeInput:
    """What the operator commits per trade: indices into the order list, Wh, the buyer's and the seller's price."""

    buyer_order: int
    seller_order: int
    energy_wh: int
    price_per_wh: int
    seller_price_per_wh: int

    def as_tuple(self) -> tuple[int, int, int, int, int]:
        return (
            uint("buyer_order", self.buyer_order, 32),
            uint("seller_order", self.seller_order, 32),
            uint("energy_wh", self.energy_wh, 64),
            uint("price_per_wh", self.price_per_wh, 96),
            uint("seller_price_per_wh", self.seller_price_per_wh, 96),
        )


@dataclass(frozen=True)
class Trade:
    """A trade as its Merkle leaf holds it, derived from its two orders (Clearing._derive)."""

    buyer_order: int
    seller_order: int
    buyer: str
    seller: str
    buyer_nonce: int
    seller_nonce: int
    energy_wh: int
    price_per_wh: int
    seller_price_per_wh: int
    delivery_start_ts: int
    delivery_end_ts: int

    @property
    def payment(self) -> int:
        return self.energy_wh * self.price_per_wh

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.buyer_order,
            self.seller_order,
            self.buyer,
            self.seller,
            self.buyer_nonce,
            self.seller_nonce,
            self.energy_wh,
            self.price_per_wh,
            self.seller_price_per_wh,
            self.delivery_start_ts,
            self.delivery_end_ts,
        )


def derive_trade(orders: Sequence[SignedOrder], x: TradeInput) -> Trade:
    """The leaf fields of one trade, as Clearing._derive writes them; the rules are the contract's to check."""
    b, s = orders[x.buyer_order].order, orders[x.seller_order].order
    return Trade(
        buyer_order=x.buyer_order,
        seller_order=x.seller_order,
        buyer=b.owner,
        seller=s.owner,
        buyer_nonce=b.nonce,
        seller_nonce=s.nonce,
        energy_wh=x.energy_wh,
        price_per_wh=x.price_per_wh,
        seller_price_per_wh=x.seller_price_per_wh,
        delivery_start_ts=max(b.window_start_ts, s.window_start_ts),
        delivery_end_ts=min(b.window_end_ts, s.window_end_ts),
    )


def trade_leaf(contract: str, clearing_id: int, index: int, trade: Trade) -> bytes:
    return tagged_leaf(
        ["bytes32", "address", "uint256", "uint256", *_TRADE_TYPES],
        [TRADE_LEAF_TAG, contract, clearing_id, index, *trade.as_tuple()],
    )


@dataclass(frozen=True)
class Receipt:
    """A meter receipt the buyer signed, as settleReceipts takes it."""

    trade_index: int
    delivered_wh: int
    signature: bytes

    def as_tuple(self) -> tuple[int, int, bytes]:
        return (
            uint("trade_index", self.trade_index, 32),
            uint("delivered_wh", self.delivered_wh, 64),
            bytes(self.signature),
        )


@dataclass(frozen=True)
class PreparedClearing:
    """Everything one clearing puts on-chain, and the tree that proves its trades."""

    contract: str
    chain_id: int
    clearing_id: int
    mechanism_id: int
    params_hash: bytes
    orders: tuple[SignedOrder, ...]
    inputs: tuple[TradeInput, ...]
    trades: tuple[Trade, ...]
    marginal_buy: int = 0
    marginal_sell: int = 0
    routes: bytes = b""  # commitClearing's `routes`: the routed orders' encodings, in order-list order
    order_digests: tuple[bytes, ...] = field(default=(), repr=False)
    trade_tree: MerkleTree | None = field(default=None, repr=False)

    @property
    def operator(self) -> str:
        return operator_of(self.clearing_id)

    @property
    def trades_root(self) -> bytes:
        assert self.trade_tree is not None
        return self.trade_tree.root

    @property
    def order_set_hash(self) -> bytes:
        return order_set_hash(self.order_digests)

    def header(self) -> tuple[int, int, bytes, bytes, int, int]:
        return (
            self.clearing_id,
            self.mechanism_id,
            self.params_hash,
            self.trades_root,
            self.marginal_buy,
            self.marginal_sell,
        )

    def commit_args(self) -> tuple[Any, ...]:
        """commitClearing's arguments: header, signed orders, trades, routes."""
        return (
            self.header(),
            [o.as_tuple() for o in self.orders],
            [x.as_tuple() for x in self.inputs],
            self.routes,
        )

    def trade_proof(self, index: int) -> list[bytes]:
        assert self.trade_tree is not None
        return self.trade_tree.proof(index)

    def commitment(self) -> bytes:
        """The hash ClearingCommitted carries: every header field bound to chain id, contract and operator."""
        return keccak(
            abi_encode(
                [
                    "bytes32",
                    "uint256",
                    "address",
                    "uint256",
                    "address",
                    "uint16",
                    "bytes32",
                    "bytes32",
                    "bytes32",
                    "uint32",
                    "uint32",
                    "uint256",
                    "uint256",
                ],
                [
                    COMMITMENT_TAG,
                    self.chain_id,
                    self.contract,
                    self.clearing_id,
                    self.operator,
                    self.mechanism_id,
                    self.params_hash,
                    self.order_set_hash,
                    self.trades_root,
                    self.marginal_buy,
                    self.marginal_sell,
                    len(self.trades),
                    len(self.orders),
                ],
            )
        )


def _sort_key(o: SignedOrder) -> tuple[int, int]:
    return int(o.order.owner, 16), o.order.nonce


def prepare_clearing(
    *,
    contract: str,
    chain_id: int,
    clearing_id: int,
    orders: Sequence[SignedOrder],
    trades: Sequence[TradeInput],
    mechanism_id: int,
    params_hash: bytes = ZERO32,
    marginal: tuple[int, int] | None = None,
    sort_orders: bool = True,
    routes: bytes | None = None,
) -> PreparedClearing:
    """The orders sorted by (owner, nonce) as the contract requires, trade and marginal indices remapped to match.

    `marginal` names the dropped marginal (buy, sell) orders of trade reduction, as indices into `orders`.
    `routes` defaults to the sorted orders' own routes, concatenated; given, it is sent as it is (a test of what the
    contract refuses). sort_orders=False sends the list as given.
    """
    if not trades:
        raise InvalidInput("a clearing needs at least one trade")
    for i, x in enumerate(trades):
        for name in ("buyer_order", "seller_order"):
            index = getattr(x, name)
            if not isinstance(index, int) or not 0 <= index < len(orders):
                raise InvalidInput(f"trade {i}: {name}={index!r} is not an index into the {len(orders)} orders")
    marginal_buy, marginal_sell = marginal or (0, 0)
    if sort_orders:
        order = sorted(range(len(orders)), key=lambda k: _sort_key(orders[k]))
        for a, b in zip(order, order[1:]):
            if _sort_key(orders[a]) == _sort_key(orders[b]):
                raise InvalidInput(f"orders {a} and {b} are the same (owner, nonce): an order is listed once")
        where = {old: new for new, old in enumerate(order)}
        orders = [orders[k] for k in order]
        trades = [
            TradeInput(where[x.buyer_order], where[x.seller_order], x.energy_wh, x.price_per_wh, x.seller_price_per_wh)
            for x in trades
        ]
        if marginal is not None:
            marginal_buy, marginal_sell = where[marginal_buy], where[marginal_sell]
    contract = to_checksum_address(contract)
    for o in orders:
        o.order.as_tuple()  # every field in range of its Solidity type, before anything is hashed
    for x in trades:
        x.as_tuple()
    if routes is None:
        routes = b"".join(o.order.route_bytes for o in orders)
    digests = tuple(order_digest(o.order, chain_id, contract) for o in orders)
    derived = tuple(derive_trade(orders, x) for x in trades)
    return PreparedClearing(
        contract=contract,
        chain_id=chain_id,
        clearing_id=uint("clearing_id", clearing_id),
        mechanism_id=uint("mechanism_id", mechanism_id, 16),
        params_hash=bytes32("params_hash", params_hash),
        orders=tuple(orders),
        inputs=tuple(trades),
        trades=derived,
        marginal_buy=uint("marginal_buy", marginal_buy, 32),
        marginal_sell=uint("marginal_sell", marginal_sell, 32),
        routes=bytes(routes),
        order_digests=digests,
        trade_tree=MerkleTree([trade_leaf(contract, clearing_id, i, t) for i, t in enumerate(derived)]),
    )


def trade_inputs(orders: Sequence[SignedOrder], trades: Iterable[Any]) -> list[TradeInput]:
    """Mechanism trades (v2vchain.matching.Trade: buyer, seller, energy_wh, price_per_wh[, seller_price_per_wh])
    as indices into `orders`, matched by (owner, nonce)."""
    index = {o.order.key: k for k, o in enumerate(orders)}
    result = []
    for t in trades:
        keys = [(str(side.owner).lower(), side.nonce) for side in (t.buyer, t.seller)]
        missing = [k for k in keys if k not in index]
        if missing:
            raise InvalidInput(f"trade refers to an order not in the order set: {missing[0]}")
        result.append(
            TradeInput(
                index[keys[0]],
                index[keys[1]],
                t.energy_wh,
                t.price_per_wh,
                getattr(t, "seller_price_per_wh", t.price_per_wh),
            )
        )
    return result


def params_hash(params: Any) -> bytes:
    """keccak of the canonical JSON of a mechanism's parameters (dataclasses, Fractions as "n/d")."""

    def plain(value: Any) -> Any:
        if is_dataclass(value) and not isinstance(value, type):
            return {k: plain(v) for k, v in asdict(value).items()}
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, Fraction):
            return f"{value.numerator}/{value.denominator}"
        return value

    return keccak(text=json.dumps(plain(params), sort_keys=True, separators=(",", ":")))
