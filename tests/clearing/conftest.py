"""A deployed System with the batch Clearing beside it: three buyers, three sellers (all with deposits in the
Clearing) and an operator with a posted bond, rolled back to that start after each test."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from tests.conftest import catch_up_with_the_clock, reverts
from v2vchain.chain import Chain, connect
from v2vchain.clearing_deploy import ClearingDeployParams, deploy_clearing
from v2vchain.compiler import Build
from v2vchain.contracts.clearing import ChainOrder, ClearingClient, PreparedClearing, SignedOrder, TradeInput
from v2vchain.deploy import System, deploy
from v2vchain.devnet import GAS_MONEY_WEI, Vehicle, add_issuer, onboard
from v2vchain.identity import ROLE_BOTH, ROLE_BUYER, ROLE_SELLER

TOKENS = 1_000_000_000  # 1,000 tokens each
DEPOSIT = 100_000_000  # 100 tokens in the Clearing for every buyer and seller
PARAMS = ClearingDeployParams(challenge_window_s=600, operator_bond=50_000_000, penalty_bps=2_000,
                              grace_period_s=3_600, max_trades=64, max_orders=128)
BOND = 2 * PARAMS.operator_bond
ENERGY, BUY_LIMIT, SELL_LIMIT, PRICE = 10_000, 150, 50, 100
AREA = b"\x42" * 32
BUY, SELL = 1, 2


@dataclass
class Desk:
    chain: Chain
    system: System
    clearing: ClearingClient  # signs as the admin
    issuer: LocalAccount
    operator: Vehicle
    buyers: list[Vehicle]
    sellers: list[Vehicle]
    outsider: Vehicle  # funded and approved, never registered

    def as_(self, vehicle: Vehicle) -> ClearingClient:
        return self.clearing.connect(self.chain.sender(vehicle.account))  # type: ignore[return-value]

    @property
    def everyone(self) -> list[Vehicle]:
        return [self.operator, *self.buyers, *self.sellers, self.outsider]

    def order(self, vehicle: Vehicle, side: int, *, energy_wh: int = ENERGY, limit: int | None = None,
              nonce: int = 0, start: int | None = None, end: int | None = None,
              expiry: int | None = None) -> ChainOrder:
        start = self.chain.now() + 3_600 if start is None else start
        end = start + 7_200 if end is None else end
        return ChainOrder(owner=vehicle.address, side=side, energy_wh=energy_wh,
                          limit_price_per_wh=(BUY_LIMIT if side == BUY else SELL_LIMIT) if limit is None else limit,
                          area_id=AREA, window_start_ts=start, window_end_ts=end, nonce=nonce,
                          expiry_ts=start if expiry is None else expiry)

    def sign(self, vehicle: Vehicle, order: ChainOrder) -> SignedOrder:
        return self.clearing.sign_order(vehicle.account, order)

    def pairs(self, n: int = 2, *, nonce: int = 0, energy_wh: int = ENERGY,
              price: int = PRICE) -> tuple[list[SignedOrder], list[TradeInput]]:
        """n one-to-one trades: buyer i with seller i, orders listed buyer, seller, buyer, seller, ..."""
        orders, trades = [], []
        for i in range(n):
            orders.append(self.sign(self.buyers[i], self.order(self.buyers[i], BUY, nonce=nonce, energy_wh=energy_wh)))
            orders.append(self.sign(self.sellers[i], self.order(self.sellers[i], SELL, nonce=nonce,
                                                                 energy_wh=energy_wh)))
            trades.append(TradeInput(2 * i, 2 * i + 1, energy_wh, price, price))
        return orders, trades

    def prepare(self, orders: Sequence[SignedOrder], trades: Sequence[TradeInput], **kw: Any) -> PreparedClearing:
        return self.clearing.prepare(orders, trades, mechanism_id=kw.pop("mechanism_id", 1), **kw)

    def commit(self, orders: Sequence[SignedOrder], trades: Sequence[TradeInput], *,
               operator: Vehicle | None = None) -> PreparedClearing:
        prepared = self.prepare(orders, trades)
        self.as_(operator or self.operator).commit(prepared)
        return prepared

    def settled(self, n: int = 2, **kw: Any) -> PreparedClearing:
        """n one-to-one trades committed, the window passed, and settled."""
        prepared = self.commit(*self.pairs(n, **kw))
        self.after_window(prepared)
        self.clearing.settle(prepared)
        return prepared

    def after_window(self, prepared: PreparedClearing) -> None:
        self.to(self.clearing.clearing(prepared.clearing_id).challenge_deadline_ts)

    def at(self, ts: int, client: ClearingClient, fn: str, *args: Any) -> Any:
        """Send fn in a block stamped exactly ts (an explicit gas limit: estimation would run at today's time)."""
        self.chain.set_next_timestamp(ts)
        data = client.contract.encode_abi(fn, args=list(args))
        return client.sender.send({"to": client.address, "data": data, "gas": 3_000_000}, action=fn)

    def to(self, ts: int) -> None:
        now = self.chain.now()
        if ts > now:
            self.chain.advance_time(ts - now)

    def ledger(self) -> dict[str, Any]:
        """Every balance the Clearing can move: wallets, accounts, bonds, what it holds and escrows."""
        c, token = self.clearing, self.system.token
        rows: dict[str, Any] = {v.name: (token.balance_of(v.address), c.account(v.address), c.bond(v.address))
                                for v in self.everyone}
        rows["clearing"] = token.balance_of(c.address)
        rows["escrowed"] = c.escrowed()
        return rows

    @contextlib.contextmanager
    def reverts(self, name: str, **arguments: Any) -> Iterator[Any]:
        """tests.conftest.reverts, and every balance of the ledger unchanged afterwards."""
        before = self.ledger()
        with reverts(name, **arguments) as info:
            yield info
        assert self.ledger() == before

    def assert_books_balance(self) -> None:
        """The Clearing holds exactly what its ledger owes: free + locked + bonds + escrow (nothing sent to it)."""
        c = self.clearing
        owed = sum(c.account(v.address).free + c.account(v.address).locked + c.bond(v.address).total
                   for v in self.everyone)
        assert self.system.token.balance_of(c.address) == owed + c.escrowed()


def make_desk(chain: Chain, build: Build) -> Desk:
    system = deploy(chain, build=build)
    clearing = deploy_clearing(system, PARAMS)
    issuer = add_issuer(system)

    def member(name: str, roles: int) -> Vehicle:
        vehicle = onboard(system, issuer, name, roles, tokens=TOKENS)
        own = clearing.connect(chain.sender(vehicle.account))
        vehicle.system.token.approve(clearing.address, 2**256 - 1)
        if name == "operator":
            own.post_bond(BOND)  # type: ignore[attr-defined]
        else:
            own.deposit(DEPOSIT)  # type: ignore[attr-defined]
        return vehicle

    operator = member("operator", ROLE_BOTH)
    buyers = [member(f"buyer{i}", ROLE_BUYER) for i in range(3)]
    sellers = [member(f"seller{i}", ROLE_SELLER) for i in range(3)]
    outsider_account = Account.create()
    chain.fund(outsider_account.address, GAS_MONEY_WEI)
    system.token.mint(outsider_account.address, TOKENS)
    outsider_system = system.as_(chain.sender(outsider_account))
    outsider_system.token.approve(clearing.address, 2**256 - 1)
    outsider = Vehicle("outsider", outsider_account, credential=None, system=outsider_system)  # type: ignore[arg-type]
    return Desk(chain, system, clearing, issuer, operator, buyers, sellers, outsider)


@pytest.fixture(scope="session")
def _desk(build: Build) -> Iterator[Desk]:
    yield make_desk(connect("embedded"), build)


@pytest.fixture
def desk(_desk: Desk) -> Iterator[Desk]:
    catch_up_with_the_clock(_desk.chain)
    snapshot = _desk.chain.snapshot()
    yield _desk
    _desk.chain.revert(snapshot)
