"""The Clearing desk: a deployed System with the batch Clearing, two operators, three buyers and three sellers,
and every transaction followed by the conservation check."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from web3.types import TxReceipt

from tests.support.assertions import reverts
from tests.support.builders import outsider
from v2vchain.chain.compiler import Build
from v2vchain.chain.connect import Chain
from v2vchain.contracts.clearing import ClearingClient
from v2vchain.deploy import ClearingParams, System, deploy
from v2vchain.devnet import Vehicle, add_issuer, onboard
from v2vchain.identity.registration import ROLE_BOTH, ROLE_BUYER, ROLE_SELLER
from v2vchain.protocol.areas import area_id
from v2vchain.protocol.clearing import PreparedClearing, Receipt, TradeInput
from v2vchain.protocol.orders import ChainOrder, SignedOrder
from v2vchain.protocol.routes import Route

TOKENS = 1_000_000_000  # 1,000 tokens each


DEPOSIT = 100_000_000  # 100 tokens in the Clearing for every buyer and seller


PARAMS = ClearingParams(penalty_bps=2_000, grace_period_s=3_600, max_trades=64, max_orders=128)


GRACE = PARAMS.grace_period_s


ENERGY = 10_000


BUY_LIMIT = 150


SELL_LIMIT = 50


PRICE = 100


AREA = area_id("u33dc0")  # the readable geohash encoding both venues share


BUY = 1


SELL = 2


class CheckedSender:
    """A Sender that checks the Clearing's books after every transaction it mines."""

    def __init__(self, inner: Any, desk: Desk) -> None:
        self.inner, self.desk = inner, desk

    @property
    def address(self) -> str:
        return str(self.inner.address)

    @property
    def account(self) -> Any:
        return self.inner.account

    def send(self, tx: dict[str, Any], *, action: str) -> TxReceipt:
        receipt = self.inner.send(tx, action=action)
        self.desk.assert_books_balance()
        return receipt


@dataclass
class Desk:
    chain: Chain
    system: System
    clearing: ClearingClient  # signs as the admin (the Clearing's owner)
    issuer: Any
    operator: Vehicle
    rival: Vehicle  # a second operator
    buyers: list[Vehicle]
    sellers: list[Vehicle]
    outsider: Vehicle  # funded and approved, never registered

    def as_(self, vehicle: Vehicle) -> ClearingClient:
        return self.clearing.connect(CheckedSender(self.chain.sender(vehicle.account), self))

    @property
    def admin(self) -> ClearingClient:
        return self.clearing.connect(CheckedSender(self.clearing.sender, self))

    @property
    def everyone(self) -> list[Vehicle]:
        return [self.operator, self.rival, *self.buyers, *self.sellers, self.outsider]

    def order(
        self,
        vehicle: Vehicle,
        side: int,
        *,
        energy_wh: int = ENERGY,
        limit: int | None = None,
        nonce: int = 0,
        start: int | None = None,
        end: int | None = None,
        expiry: int | None = None,
        route: Route | None = None,
    ) -> ChainOrder:
        start = self.chain.now() + LEAD_S if start is None else start
        end = start + WINDOW_S if end is None else end
        return ChainOrder(
            owner=vehicle.address,
            side=side,
            energy_wh=energy_wh,
            limit_price_per_wh=(BUY_LIMIT if side == BUY else SELL_LIMIT) if limit is None else limit,
            area_id=AREA,
            window_start_ts=start,
            window_end_ts=end,
            nonce=nonce,
            expiry_ts=start if expiry is None else expiry,
            route=route,
        )

    def sign(self, vehicle: Vehicle, order: ChainOrder) -> SignedOrder:
        return self.clearing.sign_order(vehicle.account, order)

    def pairs(
        self, n: int = 2, *, nonce: int = 0, energy_wh: int = ENERGY, price: int = PRICE
    ) -> tuple[list[SignedOrder], list[TradeInput]]:
        """n one-to-one trades: buyer i with seller i, orders listed buyer, seller, buyer, seller, ..."""
        orders, trades = [], []
        for i in range(n):
            orders.append(self.sign(self.buyers[i], self.order(self.buyers[i], BUY, nonce=nonce, energy_wh=energy_wh)))
            orders.append(
                self.sign(self.sellers[i], self.order(self.sellers[i], SELL, nonce=nonce, energy_wh=energy_wh))
            )
            trades.append(TradeInput(2 * i, 2 * i + 1, energy_wh, price, price))
        return orders, trades

    def prepare(
        self, orders: Sequence[SignedOrder], trades: Sequence[TradeInput], *, operator: Vehicle | None = None, **kw: Any
    ) -> PreparedClearing:
        kw.setdefault("mechanism_id", 1)
        return self.as_(operator or self.operator).prepare(orders, trades, **kw)

    def commit(
        self, orders: Sequence[SignedOrder], trades: Sequence[TradeInput], *, operator: Vehicle | None = None, **kw: Any
    ) -> PreparedClearing:
        prepared = self.prepare(orders, trades, operator=operator, **kw)
        self.as_(operator or self.operator).commit(prepared)
        return prepared

    def committed(self, n: int = 2, **kw: Any) -> PreparedClearing:
        """n one-to-one trades, committed and funded."""
        return self.commit(*self.pairs(n, **kw))

    def receipt(self, prepared: PreparedClearing, i: int, wh: int | None = None) -> Receipt:
        buyer = next(b for b in self.buyers if b.address == prepared.trades[i].buyer)
        return self.clearing.receipt(buyer.account, prepared, i, wh)

    def buyer_of(self, prepared: PreparedClearing, i: int) -> Vehicle:
        return next(v for v in self.everyone if v.address == prepared.trades[i].buyer)

    def seller_of(self, prepared: PreparedClearing, i: int) -> Vehicle:
        return next(v for v in self.everyone if v.address == prepared.trades[i].seller)

    def at(self, ts: int, client: ClearingClient, fn: str, *args: Any) -> TxReceipt:
        """Send fn in a block stamped exactly ts (an explicit gas limit: estimation would run at today's time)."""
        self.chain.set_next_timestamp(ts)
        data = client.contract.encode_abi(fn, args=list(args))
        return client.sender.send({"to": client.address, "data": data, "gas": 5_000_000}, action=fn)

    def trade_args(self, prepared: PreparedClearing, i: int) -> tuple[Any, ...]:
        return (prepared.clearing_id, i, prepared.trades[i].as_tuple(), prepared.trade_proof(i))

    def to(self, ts: int) -> None:
        now = self.chain.now()
        if ts > now:
            self.chain.advance_time(ts - now)

    def free(self, v: Vehicle) -> int:
        return self.clearing.account(v.address).free

    def ledger(self) -> dict[str, Any]:
        """Every balance the Clearing can move: wallets, accounts, what it holds, escrows and has sunk."""
        c, token = self.clearing, self.system.token
        rows: dict[str, Any] = {v.name: (token.balance_of(v.address), c.account(v.address)) for v in self.everyone}
        rows["clearing"] = token.balance_of(c.address)
        rows["escrowed"] = c.escrowed()
        rows["sunk"] = c.sunk()
        return rows

    @contextlib.contextmanager
    def reverts(self, name: str, **arguments: Any) -> Iterator[Any]:
        """tests.conftest.reverts, and every balance of the ledger unchanged afterwards."""
        before = self.ledger()
        with reverts(name, **arguments) as info:
            yield info
        assert self.ledger() == before

    def assert_books_balance(self) -> None:
        """The Clearing holds exactly what its ledger owes (nothing was sent to it directly)."""
        c = self.clearing
        owed = sum(a.free + a.locked for a in (c.account(v.address) for v in self.everyone))
        assert self.system.token.balance_of(c.address) == owed + c.escrowed() + c.sunk()


def make_desk(chain: Chain, build: Build) -> Desk:
    system = deploy(chain, build=build, clearing=PARAMS)
    clearing = system.clearing
    assert clearing is not None
    issuer = add_issuer(system)

    def member(name: str, roles: int) -> Vehicle:
        vehicle = onboard(system, issuer, name, roles, tokens=TOKENS)
        own = clearing.connect(chain.sender(vehicle.account))
        vehicle.system.token.approve(clearing.address, 2**256 - 1)
        if roles != ROLE_BOTH:
            own.deposit(DEPOSIT)
        return vehicle

    operator = member("operator", ROLE_BOTH)
    rival = member("rival", ROLE_BOTH)
    buyers = [member(f"buyer{i}", ROLE_BUYER) for i in range(3)]
    sellers = [member(f"seller{i}", ROLE_SELLER) for i in range(3)]
    stranger = outsider(chain, system, tokens=TOKENS, spender=clearing.address)
    return Desk(chain, system, clearing, issuer, operator, rival, buyers, sellers, stranger)


LEAD_S = 3_600  # default orders: delivery from now + 1 h for 2 h


WINDOW_S = 7_200
