"""Dev-chain conveniences shared by the demo, the benchmarks and the tests: onboard a credentialed vehicle."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from eth_account.signers.local import LocalAccount

from v2vchain.audit.units import TokenUnits
from v2vchain.identity.did import did_for
from v2vchain.identity.registration import Credential, issue_credential

from .deploy import System

VEC = 10**6  # token units per VEC: the dev token has 6 decimals
DEV_UNITS = TokenUnits(6, "VEC")  # how demos print the dev token, exactly

GAS_MONEY_WEI = 10**18
CREDENTIAL_LIFETIME_S = 365 * 86_400


@dataclass
class Vehicle:
    name: str
    account: LocalAccount
    credential: Credential
    system: System  # bound to this vehicle's key

    @property
    def address(self) -> str:
        return str(self.account.address)


def credential_for(
    system: System, issuer: LocalAccount, account: LocalAccount, roles: int, lifetime_s: int = CREDENTIAL_LIFETIME_S
) -> Credential:
    chain = system.chain
    return issue_credential(
        issuer,
        registry=system.registry.address,
        chain_id=chain.chain_id,
        vehicle=account.address,
        did=did_for(account.address, chain.chain_id),
        roles=roles,
        expiry=chain.now() + lifetime_s,
    )


def onboard(
    system: System,
    issuer: LocalAccount,
    name: str,
    roles: int,
    *,
    tokens: int = 0,
    deposit: int = 0,
    account: LocalAccount | None = None,
    stake: int = 0,
) -> Vehicle:
    """A new key with gas money, dev tokens, a registered credential, the market approved, and a deposit (a seller's
    penalty cover; `stake` is the former name of the same deposit)."""
    chain = system.chain
    account = account or Account.create()
    chain.fund(account.address, GAS_MONEY_WEI)
    if tokens:
        system.token.mint(account.address, tokens)
    credential = credential_for(system, issuer, account, roles)
    system.registry.register(credential)
    own = system.as_(chain.sender(account))
    if tokens:
        own.token.approve(system.market.address, 2**256 - 1)
    if deposit or stake:
        own.market.deposit(deposit or stake)
    return Vehicle(name=name, account=account, credential=credential, system=own)


def add_issuer(system: System) -> LocalAccount:
    issuer: LocalAccount = Account.create()
    system.registry.add_issuer(issuer.address)
    return issuer
