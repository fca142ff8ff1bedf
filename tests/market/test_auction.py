"""The Market's reverse auction: opening a request, bidding on it, closing it, and pausing new trades.

Each test states one rule. Revert tests name the custom error and its key arguments, and check that no
money moved; scenario tests end by checking that the token and the market's books still balance.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak

from tests.support.assertions import reverts
from tests.support.builders import AREA
from tests.support.world import PARAMS, STAKE, TOKENS, World
from v2vchain import devnet
from v2vchain.contracts.market import ZERO_ADDRESS, RequestStatus
from v2vchain.devnet import GAS_MONEY_WEI, Vehicle
from v2vchain.errors import InvalidInput
from v2vchain.identity.registration import ROLE_BOTH, ROLE_BUYER, ROLE_SELLER

MAX_ENERGY_WH = 1_000_000
MAX_AMOUNT = 2**96 - 1
BPS = 10_000
ACCESS = keccak(b"secret")
LEAD = PARAMS.max_lead_time_s
WINDOW = PARAMS.max_delivery_window_s
GAS = 1_000_000


# ---------------------------------------------------------------- helpers


def penalty(energy_wh: int, price: int) -> int:
    """The no-show penalty the contract locks: energy x price x penaltyBps / 10000, rounded down."""
    return energy_wh * price * PARAMS.penalty_bps // BPS


def send_at(world: World, ts: int, client: Any, fn: str, *args: Any) -> Any:
    """client.fn(*args) mined in a block stamped exactly ts (so block.timestamp == ts).

    Gas estimation is skipped on purpose: eth-tester estimates at the current time, not at the pinned one,
    so it would report (or miss) a revert with a different nowTs. A mined failure is decoded by replay.
    """
    world.chain.set_next_timestamp(ts)
    data = client.contract.encode_abi(fn, args=list(args))
    return client.sender.send({"to": client.address, "data": data, "gas": GAS}, action=f"{type(client).__name__}.{fn}")


def open_pinned(
    world: World,
    now: int,
    *,
    deadline: int,
    start: int | None = None,
    end: int | None = None,
    buyer: Vehicle | None = None,
    energy_wh: int = 10_000,
    max_price: int = 100,
) -> int:
    """Open at block.timestamp == now; returns the request id."""
    start = deadline if start is None else start
    end = start + 3_600 if end is None else end
    market = (buyer or world.buyer).system.market
    receipt = send_at(
        world, now, market, "open", energy_wh, max_price, deadline, start, end, AREA, ACCESS, ZERO_ADDRESS
    )
    return int(market.events(receipt, "RequestOpened")[0]["args"]["requestId"])


def open_at(
    world: World,
    *,
    deadline: int,
    start: int | None = None,
    end: int | None = None,
    energy_wh: int = 10_000,
    max_price: int = 100,
    buyer: Vehicle | None = None,
) -> int:
    """Open with explicit times (delivery defaults to a one-hour window starting at the deadline)."""
    start = deadline if start is None else start
    end = start + 3_600 if end is None else end
    return (buyer or world.buyer).system.market.open(
        energy_wh=energy_wh,
        max_price_per_wh=max_price,
        deadline_ts=deadline,
        delivery_start_ts=start,
        delivery_end_ts=end,
        area_id=AREA,
        access_hash=ACCESS,
    )


def next_request_id(world: World) -> int:
    return int(world.market._call("nextRequestId"))


def is_paused(world: World) -> bool:
    return bool(world.market._call("paused"))


def block_ts(world: World, receipt: Any) -> int:
    return int(world.chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"])


def known_accounts(world: World, extra: tuple[Vehicle, ...] = ()) -> list[str]:
    return [*world.accounts(), *(v.address for v in extra), world.issuer.address, world.system.deployment.admin]


def ledger(world: World, *extra: Vehicle) -> dict[str, Any]:
    """world.ledger() plus the rows of vehicles a test onboarded itself."""
    rows = world.ledger()
    m, t = world.market, world.system.token
    for v in extra:
        acct = m.account(v.address)
        rows[v.address] = (t.balance_of(v.address), acct.free, acct.locked)
    return rows


def assert_books_balance(world: World, *extra: Vehicle) -> None:
    """Token supply == all wallets + the market; the market holds exactly sum(free + locked) + escrowed + sunk, and
    escrowed is what the open, awarded and pending requests hold."""
    token, market = world.system.token, world.market
    accounts = known_accounts(world, extra)
    held = token.balance_of(market.address)
    assert token.total_supply() == sum(token.balance_of(a) for a in accounts) + held
    escrows = 0
    for request_id in range(1, next_request_id(world)):
        r = market.request(request_id)
        if r.status == RequestStatus.OPEN:
            escrows += r.max_escrow
        elif r.status in (RequestStatus.AWARDED, RequestStatus.CONFIRMED):
            escrows += r.energy_wh * r.price_per_wh
    assert market.escrowed() == escrows
    owed = sum(market.account(a).total for a in accounts)
    sunk = market.sunk()
    assert held == owed + escrows + sunk, f"market holds {held}, books say {owed}+{escrows}+{sunk}"


def onboard(world: World, name: str, roles: int, *, tokens: int = TOKENS, deposit: int = 0) -> Vehicle:
    return devnet.onboard(world.system, world.issuer, name, roles, tokens=tokens, deposit=deposit)


def cover(world: World, vehicle: Vehicle | str) -> tuple[int, int]:
    """(free, locked) of a vehicle's market account."""
    acct = world.market.account(vehicle if isinstance(vehicle, str) else vehicle.address)
    return acct.free, acct.locked


def onboard_short_lived(world: World, lifetime_s: int) -> Vehicle:
    """A funded, approved buyer whose credential expires lifetime_s after now."""
    account = Account.create()
    world.chain.fund(account.address, GAS_MONEY_WEI)
    world.system.token.mint(account.address, TOKENS)
    credential = devnet.credential_for(world.system, world.issuer, account, ROLE_BUYER, lifetime_s=lifetime_s)
    world.system.registry.register(credential)
    own = world.system.as_(world.chain.sender(account))
    own.token.approve(world.market.address, 2**256 - 1)
    return Vehicle("short-lived", account, credential, own)


def revoke(world: World, vehicle: Vehicle) -> None:
    world.chain.fund(world.issuer.address, 10**18)
    world.system.registry.connect(world.chain.sender(world.issuer)).revoke(vehicle.address)


def bid(world: World, seller: int, request_id: int, price: int) -> Any:
    return world.sellers[seller].system.market.bid(request_id, price)


# ---------------------------------------------------------------- open: success


def test_open_stores_the_request_as_open_with_its_terms_and_no_bidder(world: World) -> None:
    deadline = world.chain.now() + 600
    request_id = open_at(
        world, deadline=deadline, start=deadline + 300, end=deadline + 3_900, energy_wh=12_345, max_price=77
    )
    r = world.market.request(request_id)
    assert r.status == RequestStatus.OPEN
    assert (r.buyer, r.energy_wh, r.max_price_per_wh) == (world.buyer.address, 12_345, 77)
    assert (r.deadline_ts, r.delivery_start_ts, r.delivery_end_ts) == (deadline, deadline + 300, deadline + 3_900)
    assert (r.seller, r.price_per_wh) == (None, 0)


def test_open_emits_RequestOpened_with_the_request_terms(world: World) -> None:
    deadline = world.chain.now() + 600
    receipt = world.buyer.system.market._transact(
        "open", 12_345, 77, deadline, deadline + 300, deadline + 3_900, AREA, ACCESS, ZERO_ADDRESS
    )
    events = world.market.events(receipt, "RequestOpened")
    assert len(events) == 1
    args = events[0]["args"]
    assert args["requestId"] == next_request_id(world) - 1
    assert args["buyer"] == world.buyer.address
    assert bytes(args["areaId"]) == AREA
    assert (args["energyWh"], args["maxPricePerWh"]) == (12_345, 77)
    assert (args["deadline"], args["deliveryStart"], args["deliveryEnd"]) == (
        deadline,
        deadline + 300,
        deadline + 3_900,
    )
    assert bytes(args["accessHash"]) == ACCESS


def test_open_escrows_energy_times_max_price_from_the_buyer_wallet_into_the_market(world: World) -> None:
    token = world.system.token
    wallet, held = token.balance_of(world.buyer.address), token.balance_of(world.market.address)
    world.open_request(energy_wh=12_345, max_price=77)
    assert token.balance_of(world.buyer.address) == wallet - 12_345 * 77
    assert token.balance_of(world.market.address) == held + 12_345 * 77
    assert world.market.free_of(world.buyer.address) == 0
    assert world.market.escrowed() == 12_345 * 77
    assert_books_balance(world)


def test_open_escrows_from_the_buyer_free_balance_first_and_pulls_only_the_shortfall(world: World) -> None:
    token, market = world.system.token, world.buyer.system.market
    market.deposit(300_000)
    wallet = token.balance_of(world.buyer.address)
    world.open_request(energy_wh=10_000, max_price=100)  # escrow 1_000_000: 300_000 free + 700_000 pulled
    assert token.balance_of(world.buyer.address) == wallet - 700_000
    assert market.free_of(world.buyer.address) == 0
    world.open_request(energy_wh=1_000, max_price=100)
    assert token.balance_of(world.buyer.address) == wallet - 800_000
    assert_books_balance(world)


def test_open_fully_covered_by_the_free_balance_pulls_nothing_from_the_wallet(world: World) -> None:
    token, market = world.system.token, world.buyer.system.market
    market.deposit(2_000_000)
    wallet = token.balance_of(world.buyer.address)
    world.open_request(energy_wh=10_000, max_price=100)
    assert token.balance_of(world.buyer.address) == wallet
    assert market.free_of(world.buyer.address) == 1_000_000
    assert_books_balance(world)


def test_request_ids_increase_by_one_per_open(world: World) -> None:
    first = world.open_request()
    second = world.open_request()
    third = world.open_request()
    assert (second, third) == (first + 1, first + 2)
    assert next_request_id(world) == third + 1


def test_a_rejected_open_does_not_consume_a_request_id(world: World) -> None:
    first = world.open_request()
    with reverts("ZeroPrice"):
        world.open_request(max_price=0)
    assert world.open_request() == first + 1


def test_open_with_energy_exactly_MAX_ENERGY_WH_is_accepted(world: World) -> None:
    request_id = world.open_request(energy_wh=MAX_ENERGY_WH, max_price=1)
    assert world.market.request(request_id).energy_wh == MAX_ENERGY_WH


def test_open_whose_escrow_is_exactly_uint96_max_is_accepted(world: World) -> None:
    assert MAX_AMOUNT % 5 == 0
    world.system.token.mint(world.buyer.address, MAX_AMOUNT)
    request_id = world.open_request(energy_wh=5, max_price=MAX_AMOUNT // 5)
    assert world.market.request(request_id).max_escrow == MAX_AMOUNT
    assert_books_balance(world)


def test_open_with_deadline_exactly_max_lead_time_ahead_is_accepted(world: World) -> None:
    now = world.chain.now() + 10
    request_id = open_pinned(world, now, deadline=now + LEAD)
    assert world.market.request(request_id).deadline_ts == now + LEAD


def test_open_with_delivery_starting_at_the_deadline_is_accepted(world: World) -> None:
    deadline = world.chain.now() + 600
    request_id = open_at(world, deadline=deadline, start=deadline)
    assert world.market.request(request_id).delivery_start_ts == deadline


def test_open_with_window_exactly_max_delivery_window_is_accepted(world: World) -> None:
    deadline = world.chain.now() + 600
    request_id = open_at(world, deadline=deadline, start=deadline, end=deadline + WINDOW)
    assert world.market.request(request_id).delivery_end_ts == deadline + WINDOW


def test_open_with_delivery_start_exactly_max_lead_time_after_deadline_is_accepted(world: World) -> None:
    deadline = world.chain.now() + 600
    request_id = open_at(world, deadline=deadline, start=deadline + LEAD)
    assert world.market.request(request_id).delivery_start_ts == deadline + LEAD


# ---------------------------------------------------------------- open: rejected terms


@pytest.mark.parametrize("energy_wh", [0, MAX_ENERGY_WH + 1], ids=["zero", "max_plus_one"])
def test_open_with_energy_out_of_range_reverts_with_EnergyOutOfRange(world: World, energy_wh: int) -> None:
    before = world.ledger()
    with reverts("EnergyOutOfRange", energyWh=energy_wh, maxEnergyWh=MAX_ENERGY_WH):
        world.open_request(energy_wh=energy_wh, max_price=1)
    assert world.ledger() == before


def test_open_with_zero_max_price_reverts_with_ZeroPrice(world: World) -> None:
    before = world.ledger()
    with reverts("ZeroPrice"):
        world.open_request(max_price=0)
    assert world.ledger() == before


def test_open_whose_escrow_exceeds_uint96_reverts_with_AmountTooLarge(world: World) -> None:
    price = MAX_AMOUNT // MAX_ENERGY_WH + 1
    before = world.ledger()
    with reverts("AmountTooLarge", amount=MAX_ENERGY_WH * price, max=MAX_AMOUNT):
        world.open_request(energy_wh=MAX_ENERGY_WH, max_price=price)
    assert world.ledger() == before


def test_open_with_deadline_equal_to_now_reverts_with_BadDeadline(world: World) -> None:
    now = world.chain.now() + 10
    before = world.ledger()
    with reverts("BadDeadline", deadline=now, nowTs=now, latest=now + LEAD):
        open_pinned(world, now, deadline=now)
    assert world.ledger() == before


def test_open_with_deadline_in_the_past_reverts_with_BadDeadline(world: World) -> None:
    now = world.chain.now() + 10
    before = world.ledger()
    with reverts("BadDeadline", deadline=now - 60, nowTs=now, latest=now + LEAD):
        open_pinned(world, now, deadline=now - 60)
    assert world.ledger() == before


def test_open_with_deadline_beyond_max_lead_time_reverts_with_BadDeadline(world: World) -> None:
    now = world.chain.now() + 10
    before = world.ledger()
    with reverts("BadDeadline", deadline=now + LEAD + 1, nowTs=now, latest=now + LEAD):
        open_pinned(world, now, deadline=now + LEAD + 1)
    assert world.ledger() == before


def test_open_with_delivery_start_before_deadline_reverts_with_BadDeliveryWindow(world: World) -> None:
    deadline = world.chain.now() + 600
    before = world.ledger()
    with reverts("BadDeliveryWindow", start=deadline - 1, end=deadline + 3_600):
        open_at(world, deadline=deadline, start=deadline - 1, end=deadline + 3_600)
    assert world.ledger() == before


@pytest.mark.parametrize("end_offset", [0, -1], ids=["end_equals_start", "end_before_start"])
def test_open_with_delivery_end_not_after_start_reverts_with_BadDeliveryWindow(world: World, end_offset: int) -> None:
    deadline = world.chain.now() + 600
    start = deadline + 300
    before = world.ledger()
    with reverts("BadDeliveryWindow", start=start, end=start + end_offset):
        open_at(world, deadline=deadline, start=start, end=start + end_offset)
    assert world.ledger() == before


def test_open_with_window_longer_than_max_delivery_window_reverts_with_BadDeliveryWindow(world: World) -> None:
    deadline = world.chain.now() + 600
    before = world.ledger()
    with reverts("BadDeliveryWindow", start=deadline, end=deadline + WINDOW + 1):
        open_at(world, deadline=deadline, start=deadline, end=deadline + WINDOW + 1)
    assert world.ledger() == before


def test_open_with_delivery_start_beyond_deadline_plus_max_lead_time_reverts_with_BadDeliveryWindow(
    world: World,
) -> None:
    deadline = world.chain.now() + 600
    start = deadline + LEAD + 1
    before = world.ledger()
    with reverts("BadDeliveryWindow", start=start, end=start + 3_600):
        open_at(world, deadline=deadline, start=start)
    assert world.ledger() == before


# ---------------------------------------------------------------- open: rejected callers


def test_open_by_unregistered_caller_reverts_with_NotRegistered(world: World) -> None:
    before = world.ledger()
    with reverts("NotRegistered", vehicle=world.outsider.address):
        world.open_request(buyer=world.outsider)
    assert world.ledger() == before


def test_open_by_seller_only_vehicle_reverts_with_MissingRole(world: World) -> None:
    seller = world.sellers[0]
    before = world.ledger()
    with reverts("MissingRole", vehicle=seller.address, roles=ROLE_SELLER, required=ROLE_BUYER):
        world.open_request(buyer=seller)
    assert world.ledger() == before


def test_open_by_revoked_buyer_reverts_with_CredentialRevoked(world: World) -> None:
    revoke(world, world.buyer)
    before = world.ledger()
    with reverts("CredentialRevoked", vehicle=world.buyer.address):
        world.open_request()
    assert world.ledger() == before


def test_open_by_buyer_whose_credential_has_expired_reverts_with_CredentialExpired(world: World) -> None:
    """Expiry is exclusive: from the expiry second on, the credential no longer lets the buyer trade."""
    buyer = onboard_short_lived(world, lifetime_s=120)
    expiry = buyer.credential.expiry
    before = ledger(world, buyer)
    with reverts("CredentialExpired", vehicle=buyer.address, expiry=expiry, nowTs=expiry):
        open_pinned(world, expiry, deadline=expiry + 600, buyer=buyer)
    assert ledger(world, buyer) == before


def test_open_by_buyer_long_after_credential_expiry_reverts_with_CredentialExpired(world: World) -> None:
    buyer = onboard_short_lived(world, lifetime_s=120)
    world.chain.advance_time(3_600)
    before = ledger(world, buyer)
    with reverts("CredentialExpired", vehicle=buyer.address, expiry=buyer.credential.expiry):
        world.open_request(buyer=buyer)
    assert ledger(world, buyer) == before


def test_open_by_buyer_without_allowance_reverts_with_the_token_ERC20InsufficientAllowance(world: World) -> None:
    """SafeERC20 passes the token's own error through: the buyer learns what the token refused."""
    buyer = onboard(world, "no-allowance", ROLE_BUYER, tokens=0)
    world.system.token.mint(buyer.address, TOKENS)  # funded, but the market was never approved
    before = ledger(world, buyer)
    with reverts("ERC20InsufficientAllowance", spender=world.market.address, allowance=0, needed=10_000 * 100):
        world.open_request(buyer=buyer)
    assert ledger(world, buyer) == before


def test_open_by_buyer_without_balance_reverts_with_the_token_ERC20InsufficientBalance(world: World) -> None:
    buyer = onboard(world, "no-balance", ROLE_BUYER, tokens=0)
    buyer.system.token.approve(world.market.address, 2**256 - 1)  # approved, but owns nothing
    before = ledger(world, buyer)
    with reverts("ERC20InsufficientBalance", sender=buyer.address, balance=0, needed=10_000 * 100):
        world.open_request(buyer=buyer)
    assert ledger(world, buyer) == before


def test_open_by_buyer_short_of_the_escrow_by_one_reverts_with_ERC20InsufficientBalance(world: World) -> None:
    buyer = onboard(world, "one-short", ROLE_BUYER, tokens=10_000 * 100 - 1)
    before = ledger(world, buyer)
    with reverts("ERC20InsufficientBalance", balance=10_000 * 100 - 1, needed=10_000 * 100):
        world.open_request(buyer=buyer, energy_wh=10_000, max_price=100)
    assert ledger(world, buyer) == before


# ---------------------------------------------------------------- open: Python-side validation


@pytest.mark.parametrize(
    "energy_wh", [-1, 1.5, "10000", True, 2**64], ids=["negative", "float", "str", "bool", "above_uint64"]
)
def test_open_with_invalid_energy_raises_InvalidInput_before_sending(world: World, energy_wh: Any) -> None:
    block = world.chain.w3.eth.block_number
    nonce = world.chain.w3.eth.get_transaction_count(world.buyer.address)
    with pytest.raises(InvalidInput, match="energy_wh"):
        world.open_request(energy_wh=energy_wh)
    assert world.chain.w3.eth.block_number == block
    assert world.chain.w3.eth.get_transaction_count(world.buyer.address) == nonce


# ---------------------------------------------------------------- pause


def test_only_the_owner_may_pause_others_revert_with_OwnableUnauthorizedAccount(world: World) -> None:
    with reverts("OwnableUnauthorizedAccount", account=world.buyer.address):
        world.buyer.system.market.pause()
    assert is_paused(world) is False


def test_only_the_owner_may_unpause(world: World) -> None:
    world.market.pause()
    with reverts("OwnableUnauthorizedAccount", account=world.buyer.address):
        world.buyer.system.market.unpause()
    assert is_paused(world) is True


def test_pause_and_unpause_emit_Paused_and_Unpaused_with_the_owner(world: World) -> None:
    admin = world.system.deployment.admin
    (paused,) = world.market.events(world.market.pause(), "Paused")
    (unpaused,) = world.market.events(world.market.unpause(), "Unpaused")
    assert paused["args"]["account"] == unpaused["args"]["account"] == admin


def test_pausing_twice_reverts_with_EnforcedPause_and_unpausing_twice_with_ExpectedPause(world: World) -> None:
    world.market.pause()
    with reverts("EnforcedPause"):
        world.market.pause()
    world.market.unpause()
    with reverts("ExpectedPause"):
        world.market.unpause()


def test_open_while_paused_reverts_with_EnforcedPause(world: World) -> None:
    world.market.pause()
    before = world.ledger()
    with reverts("EnforcedPause"):
        world.open_request()
    assert world.ledger() == before


def test_open_after_unpausing_is_accepted_again(world: World) -> None:
    world.market.pause()
    world.market.unpause()
    request_id = world.open_request()
    assert world.market.request(request_id).status == RequestStatus.OPEN


def test_bid_while_paused_reverts_with_EnforcedPause(world: World) -> None:
    request_id = world.open_request()
    world.market.pause()
    before = world.ledger()
    with reverts("EnforcedPause"):
        bid(world, 0, request_id, 90)
    assert world.ledger() == before
    assert world.market.request(request_id).seller is None


def test_signed_bids_relayed_at_close_while_paused_revert_with_EnforcedPause(world: World) -> None:
    """Pausing stops new bids, including an off-chain bid relayed at close: it neither wins nor locks cover."""
    request_id = world.open_request()
    r = world.market.request(request_id)
    signed = world.market.sign_bid(
        world.sellers[0].account,
        request_id=request_id,
        price_per_wh=90,
        energy_wh=r.energy_wh,
        nonce=1,
        expiry_ts=r.deadline_ts + 3_600,
    )
    world.market.pause()
    world.to(r.deadline_ts)
    with reverts("EnforcedPause"):
        world.buyer.system.market.close_with_signed_bids(request_id, [signed])
    assert world.market.request(request_id).seller is None
    assert world.market.account(world.sellers[0].address).locked == 0


def test_close_works_while_paused(world: World) -> None:
    """Pausing stops new trades only: a request already open can still be closed and awarded."""
    request_id = world.open_request(energy_wh=10_000, max_price=100)
    bid(world, 0, request_id, 80)
    world.market.pause()
    world.to(world.market.request(request_id).deadline_ts)
    world.buyer.system.market.close(request_id)
    assert world.market.request(request_id).status == RequestStatus.AWARDED
    assert world.market.free_of(world.buyer.address) == 10_000 * 20


def test_withdraw_works_while_paused(world: World) -> None:
    """Pausing never holds users' money: any part of a free balance can leave."""
    seller = world.sellers[0]
    wallet = world.system.token.balance_of(seller.address)
    world.market.pause()
    assert seller.system.market.withdraw(STAKE // 4) == STAKE // 4
    assert seller.system.market.withdraw() == STAKE - STAKE // 4
    assert world.system.token.balance_of(seller.address) == wallet + STAKE
    assert cover(world, seller) == (0, 0)


def test_deposit_while_paused_is_accepted(world: World) -> None:
    """Pausing stops new trading only; funding an account is not trading."""
    world.market.pause()
    world.sellers[0].system.market.deposit(1_000)
    assert cover(world, world.sellers[0]) == (STAKE + 1_000, 0)


# ---------------------------------------------------------------- bid: success


def test_first_bid_becomes_best_and_locks_its_penalty_from_the_seller_free_balance(world: World) -> None:
    request_id = world.open_request(energy_wh=10_000, max_price=100)
    seller = world.sellers[0]
    bid(world, 0, request_id, 90)
    r = world.market.request(request_id)
    assert (r.seller, r.price_per_wh, r.status) == (seller.address, 90, RequestStatus.OPEN)
    assert cover(world, seller) == (STAKE - 10_000 * 90 * 2_000 // 10_000, 10_000 * 90 * 2_000 // 10_000)
    assert_books_balance(world)


def test_bid_penalty_is_rounded_down(world: World) -> None:
    """7 Wh at 3 per Wh is 21; 20 % of that is 4.2, and the seller locks 4."""
    request_id = world.open_request(energy_wh=7, max_price=5)
    bid(world, 0, request_id, 3)
    assert cover(world, world.sellers[0]) == (STAKE - 4, 4)
    assert world.market.penalty_for(7, 3) == 4


def test_bid_emits_BidPlaced(world: World) -> None:
    request_id = world.open_request()
    receipt = bid(world, 1, request_id, 90)
    (event,) = world.market.events(receipt, "BidPlaced")
    assert (event["args"]["requestId"], event["args"]["seller"], event["args"]["pricePerWh"]) == (
        request_id,
        world.sellers[1].address,
        90,
    )


def test_bid_moves_no_tokens(world: World) -> None:
    """A bid only moves part of the seller's free balance to locked: no wallet or market balance changes."""
    request_id = world.open_request()
    token = world.system.token
    wallets = {a: token.balance_of(a) for a in [*world.accounts(), world.market.address]}
    totals = {a: world.market.account(a).total for a in world.accounts()}
    bid(world, 0, request_id, 90)
    bid(world, 1, request_id, 80)
    assert {a: token.balance_of(a) for a in wallets} == wallets
    assert {a: world.market.account(a).total for a in totals} == totals


def test_bid_at_exactly_the_max_price_is_accepted(world: World) -> None:
    request_id = world.open_request(max_price=100)
    bid(world, 0, request_id, 100)
    assert world.market.request(request_id).price_per_wh == 100


def test_lower_bid_by_another_seller_displaces_the_best_and_unlocks_its_lock_exactly(world: World) -> None:
    """The displaced seller keeps the lock of its best bid elsewhere and loses only this request's."""
    elsewhere = world.open_request(energy_wh=3_000, max_price=100)
    request_id = world.open_request(energy_wh=10_000, max_price=100)
    first, second = world.sellers[0], world.sellers[1]
    bid(world, 0, elsewhere, 95)
    bid(world, 0, request_id, 90)
    assert cover(world, first)[1] == penalty(3_000, 95) + penalty(10_000, 90)
    bid(world, 1, request_id, 89)
    r = world.market.request(request_id)
    assert (r.seller, r.price_per_wh) == (second.address, 89)
    assert cover(world, first) == (STAKE - penalty(3_000, 95), penalty(3_000, 95))
    assert cover(world, second) == (STAKE - penalty(10_000, 89), penalty(10_000, 89))
    assert_books_balance(world)


def test_seller_lowering_its_own_bid_relocks_the_new_amount_instead_of_adding(world: World) -> None:
    request_id = world.open_request(energy_wh=10_000, max_price=100)
    bid(world, 0, request_id, 90)
    bid(world, 0, request_id, 70)
    assert world.market.request(request_id).price_per_wh == 70
    assert cover(world, world.sellers[0]) == (STAKE - penalty(10_000, 70), penalty(10_000, 70))


def test_bid_one_second_before_the_deadline_is_accepted(world: World) -> None:
    request_id = world.open_request()
    deadline = world.market.request(request_id).deadline_ts
    receipt = send_at(world, deadline - 1, world.sellers[0].system.market, "bid", request_id, 90)
    assert block_ts(world, receipt) == deadline - 1
    assert world.market.request(request_id).seller == world.sellers[0].address


def test_free_balance_left_by_a_best_bid_backs_another_bid_needing_exactly_that_much(world: World) -> None:
    seller = onboard(world, "small", ROLE_SELLER, deposit=300_000)
    first = world.open_request(energy_wh=10_000, max_price=100)
    second = world.open_request(energy_wh=10_000, max_price=100)
    seller.system.market.bid(first, 100)  # locks 200_000, leaves 100_000 free
    seller.system.market.bid(second, 50)  # needs exactly 100_000
    assert cover(world, seller) == (0, 300_000)
    assert_books_balance(world, seller)


# ---------------------------------------------------------------- bid: rejected prices and times


def test_bid_above_max_price_reverts_with_BidAboveMax(world: World) -> None:
    request_id = world.open_request(max_price=100)
    before = world.ledger()
    with reverts("BidAboveMax", price=101, maxPrice=100):
        bid(world, 0, request_id, 101)
    assert world.ledger() == before


def test_bid_equal_to_best_reverts_with_BidNotLower_so_ties_go_to_the_earlier_bid(world: World) -> None:
    request_id = world.open_request()
    bid(world, 0, request_id, 90)
    before = world.ledger()
    with reverts("BidNotLower", price=90, bestPrice=90):
        bid(world, 1, request_id, 90)
    assert world.ledger() == before
    assert world.market.request(request_id).seller == world.sellers[0].address


def test_bid_higher_than_best_reverts_with_BidNotLower(world: World) -> None:
    request_id = world.open_request()
    bid(world, 0, request_id, 80)
    before = world.ledger()
    with reverts("BidNotLower", price=85, bestPrice=80):
        bid(world, 1, request_id, 85)
    assert world.ledger() == before


def test_seller_raising_its_own_best_bid_reverts_with_BidNotLower(world: World) -> None:
    request_id = world.open_request()
    bid(world, 0, request_id, 80)
    before = world.ledger()
    with reverts("BidNotLower", price=85, bestPrice=80):
        bid(world, 0, request_id, 85)
    assert world.ledger() == before


def test_bid_with_zero_price_reverts_with_ZeroPrice(world: World) -> None:
    request_id = world.open_request()
    before = world.ledger()
    with reverts("ZeroPrice"):
        bid(world, 0, request_id, 0)
    assert world.ledger() == before


@pytest.mark.parametrize("offset", [0, 1], ids=["at_deadline", "after_deadline"])
def test_bid_at_or_after_the_deadline_reverts_with_BiddingClosed(world: World, offset: int) -> None:
    request_id = world.open_request()
    deadline = world.market.request(request_id).deadline_ts
    before = world.ledger()
    with reverts("BiddingClosed", requestId=request_id, deadline=deadline, nowTs=deadline + offset):
        send_at(world, deadline + offset, world.sellers[0].system.market, "bid", request_id, 90)
    assert world.ledger() == before


# ---------------------------------------------------------------- bid: rejected bidders and requests


def test_buyer_bidding_on_its_own_request_reverts_with_SelfBid(world: World) -> None:
    both = onboard(world, "both", ROLE_BOTH, deposit=STAKE)
    request_id = world.open_request(buyer=both)
    before = ledger(world, both)
    with reverts("SelfBid", requestId=request_id, buyer=both.address):
        both.system.market.bid(request_id, 90)
    assert ledger(world, both) == before


def test_vehicle_with_both_roles_may_bid_on_another_buyer_request(world: World) -> None:
    both = onboard(world, "both", ROLE_BOTH, deposit=STAKE)
    request_id = world.open_request()
    both.system.market.bid(request_id, 90)
    assert world.market.request(request_id).seller == both.address


def test_bid_by_unregistered_vehicle_reverts_with_NotRegistered(world: World) -> None:
    request_id = world.open_request()
    before = world.ledger()
    with reverts("NotRegistered", vehicle=world.outsider.address):
        world.outsider.system.market.bid(request_id, 90)
    assert world.ledger() == before


def test_bid_by_revoked_seller_reverts_with_CredentialRevoked(world: World) -> None:
    request_id = world.open_request()
    revoke(world, world.sellers[0])
    before = world.ledger()
    with reverts("CredentialRevoked", vehicle=world.sellers[0].address):
        bid(world, 0, request_id, 90)
    assert world.ledger() == before


def test_bid_by_buyer_only_vehicle_reverts_with_MissingRole(world: World) -> None:
    other_buyer = onboard(world, "buyer2", ROLE_BUYER)
    request_id = world.open_request()
    before = ledger(world, other_buyer)
    with reverts("MissingRole", vehicle=other_buyer.address, roles=ROLE_BUYER, required=ROLE_SELLER):
        other_buyer.system.market.bid(request_id, 90)
    assert ledger(world, other_buyer) == before


@pytest.mark.parametrize("unknown", [0, 999], ids=["id_zero", "never_opened"])
def test_bid_on_unknown_request_reverts_with_UnknownRequest(world: World, unknown: int) -> None:
    world.open_request()
    before = world.ledger()
    with reverts("UnknownRequest", requestId=unknown):
        bid(world, 0, unknown, 90)
    assert world.ledger() == before


def test_bid_on_an_awarded_request_reverts_with_WrongStatus(world: World) -> None:
    request_id = world.awarded(price=80, seller=0)
    before = world.ledger()
    with reverts("WrongStatus", requestId=request_id, status=RequestStatus.AWARDED, required=RequestStatus.OPEN):
        bid(world, 1, request_id, 70)
    assert world.ledger() == before


def test_bid_on_an_expired_request_reverts_with_WrongStatus(world: World) -> None:
    request_id = world.open_request()
    world.to(world.market.request(request_id).deadline_ts)
    world.buyer.system.market.close(request_id)
    before = world.ledger()
    with reverts("WrongStatus", requestId=request_id, status=RequestStatus.EXPIRED, required=RequestStatus.OPEN):
        bid(world, 0, request_id, 70)
    assert world.ledger() == before


# ---------------------------------------------------------------- bid: penalty cover


def test_bid_by_seller_with_too_small_a_free_balance_reverts_with_InsufficientFreeBalance(world: World) -> None:
    seller = onboard(world, "tiny", ROLE_SELLER, deposit=1_000)
    request_id = world.open_request(energy_wh=10_000, max_price=100)
    before = ledger(world, seller)
    with reverts("InsufficientFreeBalance", account=seller.address, free=1_000, needed=penalty(10_000, 90)):
        seller.system.market.bid(request_id, 90)
    assert ledger(world, seller) == before


def test_cover_locked_by_a_best_bid_cannot_back_more_than_the_free_balance_on_another_request(world: World) -> None:
    """Free balance 99_999 and a bid needing 100_000: one token short is short."""
    seller = onboard(world, "small", ROLE_SELLER, deposit=299_999)
    first = world.open_request(energy_wh=10_000, max_price=100)
    second = world.open_request(energy_wh=10_000, max_price=100)
    seller.system.market.bid(first, 100)  # locks 200_000 of 299_999
    assert penalty(10_000, 50) == 100_000
    before = ledger(world, seller)
    with reverts("InsufficientFreeBalance", account=seller.address, free=99_999, needed=100_000):
        seller.system.market.bid(second, 50)
    assert ledger(world, seller) == before
    assert world.market.request(second).seller is None


def test_failed_displacing_bid_leaves_the_previous_best_and_its_lock_in_place(world: World) -> None:
    """The contract releases the previous best's lock before checking the new bidder's cover: a revert undoes it."""
    poor = onboard(world, "tiny", ROLE_SELLER, deposit=1_000)
    request_id = world.open_request(energy_wh=10_000, max_price=100)
    bid(world, 0, request_id, 90)
    with reverts("InsufficientFreeBalance", account=poor.address):
        poor.system.market.bid(request_id, 80)
    r = world.market.request(request_id)
    assert (r.seller, r.price_per_wh) == (world.sellers[0].address, 90)
    assert cover(world, world.sellers[0])[1] == penalty(10_000, 90)


def test_seller_with_its_whole_deposit_locked_can_still_lower_its_own_bid(world: World) -> None:
    """Re-bidding lower releases the old lock first, so the new (smaller) lock fits in the same deposit."""
    seller = onboard(world, "exact", ROLE_SELLER, deposit=penalty(10_000, 90))
    request_id = world.open_request(energy_wh=10_000, max_price=100)
    seller.system.market.bid(request_id, 90)  # locks the whole deposit
    seller.system.market.bid(request_id, 60)
    assert cover(world, seller) == (penalty(10_000, 90) - penalty(10_000, 60), penalty(10_000, 60))


# ---------------------------------------------------------------- close


def test_close_one_second_before_the_deadline_reverts_with_BiddingStillOpen(world: World) -> None:
    request_id = world.open_request()
    bid(world, 0, request_id, 90)
    deadline = world.market.request(request_id).deadline_ts
    before = world.ledger()
    with reverts("BiddingStillOpen", requestId=request_id, deadline=deadline, nowTs=deadline - 1):
        send_at(world, deadline - 1, world.buyer.system.market, "close", request_id)
    assert world.ledger() == before
    assert world.market.request(request_id).status == RequestStatus.OPEN


def test_close_at_the_deadline_is_allowed(world: World) -> None:
    request_id = world.open_request()
    deadline = world.market.request(request_id).deadline_ts
    receipt = send_at(world, deadline, world.buyer.system.market, "close", request_id)
    assert block_ts(world, receipt) == deadline
    assert world.market.request(request_id).status == RequestStatus.EXPIRED


def test_anyone_may_close_after_the_relay_period_even_an_unregistered_outsider(world: World) -> None:
    request_id = world.open_request()
    bid(world, 0, request_id, 90)
    deadline = world.market.request(request_id).deadline_ts
    send_at(world, deadline + PARAMS.relay_period_s, world.outsider.system.market, "close", request_id)
    assert world.market.request(request_id).status == RequestStatus.AWARDED


def test_close_by_a_stranger_during_the_relay_period_reverts_with_RelayPeriod(world: World) -> None:
    request_id = world.open_request()
    bid(world, 0, request_id, 90)
    deadline = world.market.request(request_id).deadline_ts
    before = world.ledger()
    with reverts(
        "RelayPeriod",
        requestId=request_id,
        caller=world.outsider.address,
        openToAllFrom=deadline + PARAMS.relay_period_s,
    ):
        send_at(world, deadline + PARAMS.relay_period_s - 1, world.outsider.system.market, "close", request_id)
    assert world.ledger() == before
    assert world.market.request(request_id).status == RequestStatus.OPEN


def test_open_with_a_relayer_names_it_and_lets_it_close_during_the_relay_period(world: World) -> None:
    relayer = world.sellers[2]
    deadline = world.chain.now() + 600
    receipt = world.buyer.system.market._transact(
        "open", 10_000, 100, deadline, deadline, deadline + 3_600, AREA, ACCESS, relayer.address
    )
    (named,) = world.market.events(receipt, "RelayerNamed")
    request_id = int(named["args"]["requestId"])
    assert named["args"]["relayer"] == relayer.address
    assert world.market.relayer_of(request_id) == relayer.address
    bid(world, 0, request_id, 90)
    send_at(world, deadline, relayer.system.market, "close", request_id)
    assert world.market.request(request_id).status == RequestStatus.AWARDED


def test_open_naming_the_buyer_itself_or_nobody_as_relayer_records_no_relayer(world: World) -> None:
    deadline = world.chain.now() + 600
    market = world.buyer.system.market
    request_id = market.open(
        energy_wh=1_000,
        max_price_per_wh=10,
        deadline_ts=deadline,
        delivery_start_ts=deadline,
        delivery_end_ts=deadline + 3_600,
        area_id=AREA,
        access_hash=ACCESS,
        relayer=world.buyer.address,
    )
    assert world.market.relayer_of(request_id) is None
    assert world.market.relayer_of(world.open_request()) is None


def test_a_relayer_of_one_request_may_not_close_another_during_its_relay_period(world: World) -> None:
    relayer = world.sellers[2]
    deadline = world.chain.now() + 600
    world.buyer.system.market.open(
        energy_wh=1_000,
        max_price_per_wh=10,
        deadline_ts=deadline,
        delivery_start_ts=deadline,
        delivery_end_ts=deadline + 3_600,
        area_id=AREA,
        access_hash=ACCESS,
        relayer=relayer.address,
    )
    other = world.open_request(bidding_s=600)
    other_deadline = world.market.request(other).deadline_ts
    with reverts("RelayPeriod", requestId=other, caller=relayer.address):
        send_at(world, other_deadline, relayer.system.market, "close", other)


def test_close_without_bids_expires_the_request_and_credits_the_whole_escrow_to_the_buyer(world: World) -> None:
    request_id = world.open_request(energy_wh=12_345, max_price=77)
    world.to(world.market.request(request_id).deadline_ts)
    before = world.ledger()
    receipt = world.buyer.system.market.close(request_id)
    assert world.market.request(request_id).status == RequestStatus.EXPIRED
    after = world.ledger()
    wallet, free, locked = before[world.buyer.address]
    assert after.pop(world.buyer.address) == (wallet, free + 12_345 * 77, locked)
    before.pop(world.buyer.address)
    assert after.pop("escrowed") == before.pop("escrowed") - 12_345 * 77
    assert after == before, "only the buyer's free balance and the escrow may change"
    (expired,) = world.market.events(receipt, "Expired")
    assert (expired["args"]["requestId"], expired["args"]["refund"]) == (request_id, 12_345 * 77)
    assert_books_balance(world)


def test_close_with_bids_awards_the_best_bidder_at_its_price(world: World) -> None:
    request_id = world.open_request(energy_wh=10_000, max_price=100)
    bid(world, 0, request_id, 90)
    bid(world, 2, request_id, 70)
    world.to(world.market.request(request_id).deadline_ts)
    receipt = world.buyer.system.market.close(request_id)
    r = world.market.request(request_id)
    assert (r.status, r.seller, r.price_per_wh) == (RequestStatus.AWARDED, world.sellers[2].address, 70)
    (awarded,) = world.market.events(receipt, "Awarded")
    args = awarded["args"]
    assert (args["requestId"], args["seller"], args["pricePerWh"]) == (request_id, world.sellers[2].address, 70)
    assert (args["payment"], args["penalty"]) == (10_000 * 70, penalty(10_000, 70))


def test_close_with_bids_credits_the_buyer_energy_times_max_minus_price_and_moves_nothing_else(world: World) -> None:
    request_id = world.open_request(energy_wh=12_345, max_price=100)
    bid(world, 0, request_id, 90)
    bid(world, 1, request_id, 61)
    world.to(world.market.request(request_id).deadline_ts)
    before = world.ledger()
    world.buyer.system.market.close(request_id)
    after = world.ledger()
    wallet, free, locked = before.pop(world.buyer.address)
    assert after.pop(world.buyer.address) == (wallet, free + 12_345 * (100 - 61), locked)
    assert after.pop("escrowed") == before.pop("escrowed") - 12_345 * (100 - 61)
    assert after == before, "only the buyer's free balance may change; the winner's penalty stays locked"
    assert cover(world, world.sellers[1])[1] == penalty(12_345, 61)
    assert_books_balance(world)


def test_close_of_an_award_at_the_max_price_credits_the_buyer_nothing(world: World) -> None:
    request_id = world.open_request(energy_wh=10_000, max_price=100)
    bid(world, 0, request_id, 100)
    world.to(world.market.request(request_id).deadline_ts)
    receipt = world.buyer.system.market.close(request_id)
    assert world.market.free_of(world.buyer.address) == 0
    assert world.market.events(receipt, "Credited") == []
    assert_books_balance(world)


def test_close_drops_a_best_bidder_revoked_since_it_bid_with_BidDisqualified_and_unlocks_its_cover(
    world: World,
) -> None:
    """A revoked seller is never awarded: its bid no longer counts, so the request expires and refunds."""
    request_id = world.open_request(energy_wh=10_000, max_price=100)
    bid(world, 0, request_id, 90)
    revoke(world, world.sellers[0])
    world.to(world.market.request(request_id).deadline_ts)
    receipt = world.buyer.system.market.close(request_id)
    (dropped,) = world.market.events(receipt, "BidDisqualified")
    assert (dropped["args"]["requestId"], dropped["args"]["seller"]) == (request_id, world.sellers[0].address)
    assert world.market.request(request_id).status == RequestStatus.EXPIRED
    assert cover(world, world.sellers[0]) == (STAKE, 0)
    assert world.market.free_of(world.buyer.address) == 10_000 * 100
    assert_books_balance(world)


@pytest.mark.parametrize(
    "with_bid, status", [(True, RequestStatus.AWARDED), (False, RequestStatus.EXPIRED)], ids=["awarded", "expired"]
)
def test_closing_twice_reverts_with_WrongStatus(world: World, with_bid: bool, status: RequestStatus) -> None:
    request_id = world.open_request()
    if with_bid:
        bid(world, 0, request_id, 90)
    world.to(world.market.request(request_id).deadline_ts)
    world.buyer.system.market.close(request_id)
    before = world.ledger()
    with reverts("WrongStatus", requestId=request_id, status=status, required=RequestStatus.OPEN):
        world.buyer.system.market.close(request_id)
    assert world.ledger() == before


@pytest.mark.parametrize("unknown", [0, 999], ids=["id_zero", "never_opened"])
def test_close_of_unknown_request_reverts_with_UnknownRequest(world: World, unknown: int) -> None:
    world.open_request()
    before = world.ledger()
    with reverts("UnknownRequest", requestId=unknown):
        world.buyer.system.market.close(unknown)
    assert world.ledger() == before


# ---------------------------------------------------------------- conservation


def _scenario_opens(world: World) -> None:
    world.open_request(energy_wh=1_000, max_price=10)
    world.open_request(energy_wh=MAX_ENERGY_WH, max_price=7)


def _scenario_bidding_war(world: World) -> None:
    a = world.open_request(energy_wh=9_999, max_price=100)
    b = world.open_request(energy_wh=333, max_price=13)
    for seller, price in [(0, 99), (1, 97), (0, 90), (2, 89), (2, 50)]:
        bid(world, seller, a, price)
    bid(world, 1, b, 13)
    bid(world, 0, b, 7)


def _scenario_expired(world: World) -> None:
    request_id = world.open_request(energy_wh=4_321, max_price=17)
    world.to(world.market.request(request_id).deadline_ts)
    world.buyer.system.market.close(request_id)


def _scenario_awarded(world: World) -> None:
    world.awarded(price=33, seller=1, energy_wh=7_777, max_price=41)


def _scenario_mixed(world: World) -> None:
    awarded = world.open_request(energy_wh=5_000, max_price=60)
    expired = world.open_request(energy_wh=2_000, max_price=30)
    still_open = world.open_request(energy_wh=1_000, max_price=20, bidding_s=7_200)
    bid(world, 0, awarded, 59)
    bid(world, 1, awarded, 41)
    bid(world, 2, still_open, 19)
    world.to(world.market.request(expired).deadline_ts)  # opened after `awarded`, so its deadline is later
    world.buyer.system.market.close(awarded)
    world.buyer.system.market.close(expired)
    with reverts("BidNotLower"):
        bid(world, 0, still_open, 19)


@pytest.mark.parametrize(
    "scenario",
    [_scenario_opens, _scenario_bidding_war, _scenario_expired, _scenario_awarded, _scenario_mixed],
    ids=["opens", "bidding_war", "expired", "awarded", "mixed"],
)
def test_tokens_are_conserved_and_the_market_books_balance_after_each_scenario(world: World, scenario: Any) -> None:
    supply = world.system.token.total_supply()
    scenario(world)
    assert world.system.token.total_supply() == supply, "the auction mints and burns nothing"
    assert_books_balance(world)
