"""A self-contained Market bench for the exploit tests and the invariant machine (independent of tests/conftest.py's
World, so these suites do not move when the shared fixture does).

Actors: two buyers (the second holds both roles, so it can try to bid on its own request), three sellers with a
deposit of penalty cover, an outsider (funded and approved, never registered), the admin (owner) and the issuer.

Timing on eth-tester: a transaction (and its gas estimate, where every revert here is caught) runs at the pending
block's timestamp, which is latest + 1 while the chain clock is ahead of the wall clock. The bench is moved a day
ahead of the wall clock, and `at(ts)` mines a block at ts - 1 so that the next transaction runs exactly at ts.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from tests.support.builders import deploy_test_token, open_request, outsider
from v2vchain.chain.compiler import Build
from v2vchain.chain.connect import Chain, connect
from v2vchain.deploy import MarketParams, System, deploy
from v2vchain.devnet import GAS_MONEY_WEI, Vehicle, add_issuer, credential_for, onboard
from v2vchain.identity.registration import ROLE_BOTH, ROLE_BUYER, ROLE_SELLER

TOKENS = 1_000_000_000
COVER = 1_000_000  # each seller's deposit: the penalty cover of 5 trades of 10 kWh at 100/Wh (20 %)
PARAMS = MarketParams(
    penalty_bps=2_000,
    grace_period_s=3_600,
    max_lead_time_s=7 * 86_400,
    max_delivery_window_s=2 * 86_400,
    relay_period_s=600,
)
ACCESS = keccak(b"access")
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
CHAIN_AHEAD_OF_WALL_S = 86_400


@dataclass
class Bench:
    chain: Chain
    system: System  # signs as the admin (the owner)
    issuer: LocalAccount
    issuer_system: System  # signs as the issuer (it revokes)
    buyers: list[Vehicle]  # buyers[1] holds both roles
    sellers: list[Vehicle]
    outsider: Vehicle  # funded and approved, never registered
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def market(self) -> Any:
        return self.system.market

    @property
    def token(self) -> Any:
        return self.system.token

    @property
    def admin(self) -> str:
        return str(self.system.deployment.admin)

    def vehicles(self) -> list[Vehicle]:
        return [*self.buyers, *self.sellers, self.outsider]

    def now(self) -> int:
        """The timestamp the next transaction runs at."""
        return int(self.chain.w3.eth.get_block("pending")["timestamp"])

    def at(self, ts: int) -> None:
        """Make ts the next transaction's timestamp."""
        latest = self.chain.now()
        if ts - 1 > latest:
            self.chain.advance_time(ts - 1 - latest)
        assert self.now() == ts, f"the clock went to {self.now()}, not {ts}"

    def wallet(self, address: str) -> int:
        return int(self.token.balance_of(address))

    def funds(self, address: str) -> int:
        """Everything an account owns: its wallet plus its free and locked balances in the market."""
        return self.wallet(address) + self.market.account(address).total

    def open(
        self,
        buyer: Vehicle | None = None,
        *,
        energy_wh: int = 10_000,
        max_price: int = 100,
        bidding_s: int = 600,
        lead_s: int = 300,
        window_s: int = 3_600,
        relayer: str | None = None,
    ) -> int:
        return open_request(
            (buyer or self.buyers[0]).system.market,
            self.now(),
            energy_wh=energy_wh,
            max_price=max_price,
            bidding_s=bidding_s,
            lead_s=lead_s,
            window_s=window_s,
            relayer=relayer,
            access=ACCESS,
        )

    def awarded(self, *, price: int = 80, seller: int = 0, buyer: Vehicle | None = None, **kw: Any) -> int:
        """A request that sellers[seller] won at `price`, closed by its buyer at the deadline."""
        buyer = buyer or self.buyers[0]
        rid = self.open(buyer, **kw)
        self.sellers[seller].system.market.bid(rid, price)
        self.at(self.market.request(rid).deadline_ts)
        buyer.system.market.close(rid)
        return rid

    def reregister(self, vehicle: Vehicle, issuer: LocalAccount, roles: int, *, lifetime_s: int) -> Any:
        credential = credential_for(self.system, issuer, vehicle.account, roles, lifetime_s=lifetime_s)
        self.system.registry.register(credential)
        return credential


def make_bench(build: Build, *, token_fixture: str | None = None, cover: int = COVER) -> Bench:
    """A fresh embedded chain; `token_fixture` names a test token (contracts/test/) to pay in instead of the dev
    token (kept in extra["token"])."""
    chain = connect("embedded")
    fixture = None if token_fixture is None else deploy_test_token(chain, build, token_fixture)
    token_address = None if fixture is None else fixture.address
    system = deploy(chain, params=PARAMS, build=build, token_address=token_address)
    issuer = add_issuer(system)
    chain.fund(issuer.address, GAS_MONEY_WEI)
    buyers = [
        onboard(system, issuer, "buyer0", ROLE_BUYER, tokens=TOKENS),
        onboard(system, issuer, "buyer1", ROLE_BOTH, tokens=TOKENS, stake=cover),
    ]
    sellers = [onboard(system, issuer, f"seller{i}", ROLE_SELLER, tokens=TOKENS, stake=cover) for i in range(3)]
    stranger = outsider(chain, system, tokens=TOKENS, spender=system.market.address)
    chain.advance_time(max(1, int(time.time()) + CHAIN_AHEAD_OF_WALL_S - chain.now()))
    return Bench(
        chain=chain,
        system=system,
        issuer=issuer,
        issuer_system=system.as_(chain.sender(issuer)),
        buyers=buyers,
        sellers=sellers,
        outsider=stranger,
        extra={"token": fixture},
    )


@contextlib.contextmanager
def fresh(bench: Bench) -> Iterator[Bench]:
    """The bench, rolled back after use (and kept ahead of the wall clock)."""
    if bench.chain.now() < time.time() + 3_600:
        bench.chain.advance_time(int(time.time()) + CHAIN_AHEAD_OF_WALL_S - bench.chain.now())
    snapshot = bench.chain.snapshot()
    try:
        yield bench
    finally:
        bench.chain.revert(snapshot)


def high_s(signature: bytes) -> bytes:
    """The malleable twin of a valid signature: s' = n - s, v flipped (27 <-> 28). ecrecover accepts it."""
    s = SECP256K1_N - int.from_bytes(signature[32:64], "big")
    return signature[:32] + s.to_bytes(32, "big") + bytes([55 - signature[64]])


def raw_v(signature: bytes) -> bytes:
    """The same signature with v as 0/1 instead of 27/28."""
    return signature[:64] + bytes([signature[64] - 27])
