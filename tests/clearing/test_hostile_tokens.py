"""The Clearing paid in tokens that misbehave (fixtures under contracts/test/): a fee-taking token is refused at
deposit, a re-entrant one cannot re-enter a withdrawal; the books balance afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_utils import keccak

from tests.support.assertions import reverts
from tests.support.builders import deploy_test_token
from tests.support.desk import PARAMS
from v2vchain.chain.compiler import Build
from v2vchain.chain.connect import connect
from v2vchain.contracts.clearing import ClearingClient
from v2vchain.deploy import deploy
from v2vchain.devnet import add_issuer, onboard
from v2vchain.identity.registration import ROLE_BUYER

REENTRANCY = keccak(text="ReentrancyGuardReentrantCall()")[:4]


def _world(build: Build, token_name: str) -> tuple[Any, ClearingClient, Any]:
    """A fresh chain whose Clearing is paid in token_name, and one registered buyer holding 1,000 of it."""
    chain = connect("embedded")
    token = deploy_test_token(chain, build, token_name)
    system = deploy(chain, token_address=token.address, build=build, clearing=PARAMS)
    clearing = system.clearing
    assert clearing is not None
    buyer = onboard(system, add_issuer(system), "buyer", ROLE_BUYER, tokens=1_000_000_000)
    buyer.system.token.approve(clearing.address, 2**256 - 1)
    return buyer, clearing.connect(chain.sender(buyer.account)), token


@pytest.fixture(scope="module")
def reentrant(build: Build) -> Iterator[tuple[Any, ClearingClient, Any]]:
    yield _world(build, "ReentrantToken")


def test_a_fee_on_transfer_deposit_reverts_with_FeeOnTransferToken(build: Build) -> None:
    buyer, clearing, token = _world(build, "FeeOnTransferToken")
    with reverts("FeeOnTransferToken", expected=1_000_000, received=990_000):
        clearing.deposit(1_000_000)
    assert clearing.account(buyer.address).free == 0
    assert token.functions.balanceOf(clearing.address).call() == 0


def test_reentering_withdraw_during_a_withdrawal_is_refused(reentrant: tuple[Any, ClearingClient, Any]) -> None:
    buyer, clearing, token = reentrant
    clearing.deposit(10_000)
    reentry = clearing.contract.encode_abi("withdraw", args=[1])
    funder = clearing.contract.w3.eth.accounts[0]
    token.functions.arm(clearing.address, reentry).transact({"from": funder})
    wallet = token.functions.balanceOf(buyer.address).call()
    clearing.withdraw(10_000)
    f = token.functions
    assert (f.reentered().call(), f.reentrySucceeded().call(), bytes(f.reentryResult().call())) == (
        True,
        False,
        REENTRANCY,
    )
    assert token.functions.balanceOf(buyer.address).call() == wallet + 10_000
    assert token.functions.balanceOf(clearing.address).call() == clearing.account(buyer.address).free == 0
