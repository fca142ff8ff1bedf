"""The Market world: a deployed System with funded, credentialed buyers and sellers on the embedded chain."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount

from tests.support.builders import open_request, outsider
from v2vchain.chain.compiler import Build
from v2vchain.chain.connect import Chain
from v2vchain.deploy import MarketParams, System, deploy
from v2vchain.devnet import Vehicle, add_issuer, onboard
from v2vchain.identity.registration import ROLE_BUYER, ROLE_SELLER

TOKENS = 1_000_000_000  # 1,000 VEC each


DEPOSIT = 100_000_000  # 100 VEC deposited by each seller: penalty cover


STAKE = DEPOSIT  # the former name, kept for the tests that still say it


PARAMS = MarketParams(
    penalty_bps=2_000,
    grace_period_s=3_600,
    max_lead_time_s=7 * 86_400,
    max_delivery_window_s=2 * 86_400,
    relay_period_s=600,
)


@dataclass
class World:
    chain: Chain
    system: System  # signs as the admin
    issuer: LocalAccount
    buyer: Vehicle
    sellers: list[Vehicle]
    outsider: Vehicle  # funded and approved, but never registered
    extra: list[Any] = field(default_factory=list)

    @property
    def market(self) -> Any:
        return self.system.market

    @property
    def registry_address(self) -> str:
        return self.system.registry.address

    def accounts(self) -> list[str]:
        return [self.buyer.address, *(s.address for s in self.sellers), self.outsider.address]

    def ledger(self) -> dict[str, Any]:
        """Every balance the market can move: per account (wallet, free, locked), the market's own holding, its
        escrow and sink, and the token supply."""
        m, t = self.system.market, self.system.token
        rows: dict[str, Any] = {}
        for a in self.accounts():
            acct = m.account(a)
            rows[a] = (t.balance_of(a), acct.free, acct.locked)
        rows["market"] = t.balance_of(m.address)
        rows["escrowed"] = m.escrowed()
        rows["sunk"] = m.sunk()
        rows["supply"] = t.total_supply()
        return rows

    def books_balance(self) -> None:
        """The market holds exactly what it owes: sum(free + locked) + escrowed + sunk."""
        m = self.system.market
        assert self.system.token.balance_of(m.address) == m.books(self.accounts())

    def open_request(
        self,
        buyer: Vehicle | None = None,
        *,
        energy_wh: int = 10_000,
        max_price: int = 100,
        bidding_s: int = 600,
        lead_s: int = 300,
        window_s: int = 3_600,
    ) -> int:
        return open_request(
            (buyer or self.buyer).system.market,
            self.chain.now(),
            energy_wh=energy_wh,
            max_price=max_price,
            bidding_s=bidding_s,
            lead_s=lead_s,
            window_s=window_s,
        )

    def awarded(self, *, price: int = 80, seller: int = 0, **kw: Any) -> int:
        """A request that seller `seller` won at `price`."""
        request_id = self.open_request(**kw)
        self.sellers[seller].system.market.bid(request_id, price)
        self.to(self.market.request(request_id).deadline_ts)
        self.buyer.system.market.close(request_id)  # the relay period: the buyer closes at the deadline
        return request_id

    def to(self, ts: int) -> None:
        """Mine a block at ts (dev chain clock)."""
        now = self.chain.now()
        if ts > now:
            self.chain.advance_time(ts - now)


def make_world(chain: Chain, build: Build) -> World:
    system = deploy(chain, params=PARAMS, build=build)
    issuer = add_issuer(system)
    buyer = onboard(system, issuer, "buyer", ROLE_BUYER, tokens=TOKENS)
    sellers = [onboard(system, issuer, f"seller{i}", ROLE_SELLER, tokens=TOKENS, deposit=DEPOSIT) for i in range(3)]
    return World(
        chain=chain,
        system=system,
        issuer=issuer,
        buyer=buyer,
        sellers=sellers,
        outsider=outsider(chain, system, tokens=TOKENS, spender=system.market.address),
    )


def catch_up_with_the_clock(chain: Chain) -> None:
    """eth-tester stamps new blocks with the wall clock once it is ahead of the chain; a world restored from an old
    snapshot would otherwise jump forward under a test that pins timestamps relative to chain.now()."""
    lag = int(time.time()) - chain.now()
    if lag > 0:
        chain.advance_time(lag)
