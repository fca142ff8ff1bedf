"""The market with payment tokens that misbehave: re-entrant, fee-taking, silent (no return value), lying (false).

Each token (a fixture under contracts/test/) gets its own fresh embedded chain with a fresh Registry and Market
deployed against it, one buyer and one seller (its deposit made at setup where the token allows), rolled back to that
start after each test. After every test the books must still balance: no token created, lost, or stranded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak
from web3.contract import Contract

from tests.support.assertions import assert_books_balance, reverts
from tests.support.builders import deploy_test_token
from tests.support.world import PARAMS, STAKE, TOKENS, World, catch_up_with_the_clock
from v2vchain.chain.compiler import Build
from v2vchain.chain.connect import connect
from v2vchain.contracts.market import RequestStatus
from v2vchain.deploy import deploy
from v2vchain.devnet import Vehicle, add_issuer, onboard
from v2vchain.identity.registration import ROLE_BUYER, ROLE_SELLER

ENERGY, MAX_PRICE, PRICE = 10_000, 100, 80
CLOSE_REFUND = ENERGY * (MAX_PRICE - PRICE)
REENTRANCY = keccak(text="ReentrancyGuardReentrantCall()")[:4]  # OpenZeppelin ReentrancyGuardTransient


def make_hostile_world(build: Build, token_name: str, *, stake: int) -> World:
    """A fresh chain whose Market is paid in `token_name`: an issuer, a buyer and one seller (with a deposit of
    `stake` if it can make one)."""
    chain = connect("embedded")
    token = deploy_test_token(chain, build, token_name)
    system = deploy(chain, token_address=token.address, params=PARAMS, build=build)
    issuer = add_issuer(system)
    buyer = onboard(system, issuer, "buyer", ROLE_BUYER, tokens=TOKENS)
    seller = onboard(system, issuer, "seller", ROLE_SELLER, tokens=TOKENS, deposit=stake)
    nobody = Account.create()  # never funded: World wants an outsider, these tests need none
    outsider = Vehicle("outsider", nobody, credential=None, system=system.as_(chain.sender(nobody)))
    return World(
        chain=chain, system=system, issuer=issuer, buyer=buyer, sellers=[seller], outsider=outsider, extra=[token]
    )


@pytest.fixture(scope="module")
def hostile_worlds(build: Build) -> Callable[..., World]:
    """Builds each token's world once per module, on first use."""
    cache: dict[str, World] = {}

    def get(token_name: str, *, stake: int = STAKE) -> World:
        if token_name not in cache:
            cache[token_name] = make_hostile_world(build, token_name, stake=stake)
        return cache[token_name]

    return get


def _fresh(world: World) -> Iterator[World]:
    catch_up_with_the_clock(world.chain)
    snapshot = world.chain.snapshot()
    yield world
    assert_books_balance(world)
    world.chain.revert(snapshot)


@pytest.fixture
def reentrant(hostile_worlds: Callable[..., World]) -> Iterator[World]:
    yield from _fresh(hostile_worlds("ReentrantToken"))


@pytest.fixture
def fee_taking(hostile_worlds: Callable[..., World]) -> Iterator[World]:
    yield from _fresh(hostile_worlds("FeeOnTransferToken", stake=0))  # a deposit could never be made


@pytest.fixture
def no_return(hostile_worlds: Callable[..., World]) -> Iterator[World]:
    yield from _fresh(hostile_worlds("NoReturnToken", stake=0))  # the test deposits it


@pytest.fixture
def false_return(hostile_worlds: Callable[..., World]) -> Iterator[World]:
    yield from _fresh(hostile_worlds("FalseReturnToken"))


def token_of(world: World) -> Contract:
    return world.extra[0]


def awarded(world: World) -> int:
    return world.awarded(price=PRICE, energy_wh=ENERGY, max_price=MAX_PRICE)


def wallet(world: World, address: str) -> int:
    return world.system.token.balance_of(address)


def next_request_id(world: World) -> int:
    return int(world.market.contract.functions.nextRequestId().call())


# ---------------------------------------------------------------- re-entrant token


def arm(world: World, fn: str, *args: Any) -> None:
    """Make the token call market.fn(*args) from inside its next transfer or transferFrom."""
    token, market = token_of(world), world.market
    reentry = market.contract.encode_abi(fn, args=list(args))
    data = token.encode_abi("arm", args=[market.address, reentry])
    world.chain.sender(world.chain.funder).send({"to": token.address, "data": data}, action="ReentrantToken.arm")


def reentry_outcome(world: World) -> tuple[bool, bool, bytes]:
    """(whether the hook fired, whether the re-entrant call succeeded, what it returned or reverted with)."""
    f = token_of(world).functions
    return bool(f.reentered().call()), bool(f.reentrySucceeded().call()), bytes(f.reentryResult().call())


def test_reentering_withdraw_during_a_withdrawal_is_refused_and_only_the_credit_leaves(reentrant: World) -> None:
    world = reentrant
    awarded(world)
    buyer = world.buyer
    mine, held = wallet(world, buyer.address), wallet(world, world.market.address)
    arm(world, "withdraw", 1)
    assert buyer.system.market.withdraw() == CLOSE_REFUND
    assert reentry_outcome(world) == (True, False, REENTRANCY)
    assert wallet(world, buyer.address) == mine + CLOSE_REFUND
    assert wallet(world, world.market.address) == held - CLOSE_REFUND
    assert wallet(world, token_of(world).address) == 0


def test_reentering_withdraw_during_a_partial_withdrawal_of_a_deposit_is_refused(reentrant: World) -> None:
    world = reentrant
    seller = world.sellers[0]
    mine, held = wallet(world, seller.address), wallet(world, world.market.address)
    arm(world, "withdraw", STAKE // 2)
    seller.system.market.withdraw(STAKE // 2)
    assert reentry_outcome(world) == (True, False, REENTRANCY)
    assert wallet(world, seller.address) == mine + STAKE // 2
    assert wallet(world, world.market.address) == held - STAKE // 2
    assert world.market.account(seller.address).free == STAKE - STAKE // 2


def test_reentering_deposit_during_the_pull_of_a_deposit_is_refused(reentrant: World) -> None:
    world = reentrant
    seller = world.sellers[0]
    arm(world, "deposit", 1)
    seller.system.market.deposit(1_000)
    assert reentry_outcome(world) == (True, False, REENTRANCY)
    assert world.market.account(seller.address).free == STAKE + 1_000


def test_reentering_confirm_during_the_escrow_pull_of_open_is_refused(reentrant: World) -> None:
    world = reentrant
    earlier = awarded(world)
    arm(world, "confirmDelivery", earlier, 0)
    world.open_request(energy_wh=ENERGY, max_price=MAX_PRICE)
    assert reentry_outcome(world) == (True, False, REENTRANCY)
    assert world.market.request(earlier).status == RequestStatus.AWARDED


def test_an_unarmed_reentrant_token_trades_like_any_other(reentrant: World) -> None:
    """Control: the hook is what the tests above exercise, not some other failure of this token."""
    world = reentrant
    awarded(world)
    assert world.buyer.system.market.withdraw() == CLOSE_REFUND
    assert reentry_outcome(world) == (False, False, b"")


# ---------------------------------------------------------------- fee-on-transfer token


def test_open_with_a_fee_on_transfer_token_reverts_with_FeeOnTransferToken(fee_taking: World) -> None:
    world = fee_taking
    before, first_id = world.ledger(), next_request_id(world)
    escrow = ENERGY * MAX_PRICE
    with reverts("FeeOnTransferToken", expected=escrow, received=escrow * 99 // 100):
        world.open_request(energy_wh=ENERGY, max_price=MAX_PRICE)
    assert world.ledger() == before
    assert next_request_id(world) == first_id
    assert world.market.request(first_id).status == RequestStatus.NONE


def test_deposit_with_a_fee_on_transfer_token_reverts_with_FeeOnTransferToken(fee_taking: World) -> None:
    world = fee_taking
    seller = world.sellers[0]
    before = world.ledger()
    with reverts("FeeOnTransferToken", expected=STAKE, received=STAKE * 99 // 100):
        seller.system.market.deposit(STAKE)
    assert world.ledger() == before
    assert world.market.account(seller.address).total == 0


# ---------------------------------------------------------------- token returning nothing (USDT-like)


def test_a_full_trade_settles_and_pays_out_with_a_token_that_returns_nothing(no_return: World) -> None:
    world = no_return
    buyer, seller = world.buyer, world.sellers[0]
    seller.system.market.deposit(STAKE)
    request_id = awarded(world)
    world.to(world.market.request(request_id).delivery_end_ts + PARAMS.grace_period_s)
    buyer.system.market.confirm_delivery(request_id, 6_000)  # after grace: settles at once
    paid = 6_000 * PRICE
    assert buyer.system.market.withdraw() == ENERGY * MAX_PRICE - paid
    assert seller.system.market.withdraw() == paid + STAKE
    assert wallet(world, buyer.address) == TOKENS - paid
    assert wallet(world, seller.address) == TOKENS + paid
    assert wallet(world, world.market.address) == 0


# ---------------------------------------------------------------- token returning false


def test_withdraw_with_a_token_returning_false_reverts_with_SafeERC20FailedOperation_and_keeps_the_balance(
    false_return: World,
) -> None:
    world = false_return
    awarded(world)
    buyer = world.buyer
    before = world.ledger()
    with reverts("SafeERC20FailedOperation", token=token_of(world).address):
        buyer.system.market.withdraw()
    assert world.market.free_of(buyer.address) == CLOSE_REFUND
    assert world.ledger() == before


def test_withdrawing_a_deposit_with_a_token_returning_false_reverts_and_keeps_the_deposit(
    false_return: World,
) -> None:
    world = false_return
    seller = world.sellers[0]
    before = world.ledger()
    with reverts("SafeERC20FailedOperation", token=token_of(world).address):
        seller.system.market.withdraw(STAKE)
    assert world.market.account(seller.address).free == STAKE
    assert world.ledger() == before
