"""Settlement, reclaim, stakes, withdrawals and pause: who may move which money, when, and exactly how much.

The shared world: a buyer, three sellers each staking STAKE, and an unregistered outsider. `world.awarded()`
opens a request for 10,000 Wh at a max price of 100 and awards it to seller 0 at 80, so after close the buyer
has 10,000 x 20 credited back and 10,000 x 80 stays in escrow, with seller 0's penalty locked.
After every test the books must still balance (see `assert_books_balance`).
"""
from __future__ import annotations

from typing import Any, Iterator

import pytest
from eth_keys import keys
from web3.types import TxReceipt

from tests.conftest import PARAMS, STAKE, World, reverts
from v2vchain.contracts.market import MarketClient, RequestStatus
from v2vchain.devnet import GAS_MONEY_WEI

ENERGY = 10_000
MAX_PRICE = 100
PRICE = 80
PAYMENT = ENERGY * PRICE  # 800,000 in escrow once awarded
CLOSE_REFUND = ENERGY * (MAX_PRICE - PRICE)  # 200,000 credited to the buyer at close
PENALTY = PAYMENT * PARAMS.penalty_bps // 10_000  # 160,000 of seller 0's stake
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


# ---------------------------------------------------------------- the books


def _escrow(request: Any) -> int:
    if request.status == RequestStatus.OPEN:
        return request.energy_wh * request.max_price_per_wh
    if request.status == RequestStatus.AWARDED:
        return request.energy_wh * request.price_per_wh
    return 0


def assert_books_balance(world: World) -> None:
    """No token created or lost: supply = wallets + market, and market = credits + stakes + live escrows."""
    market, token = world.market, world.system.token
    accounts = [*world.accounts(), world.system.deployment.admin]
    held = token.balance_of(market.address)
    assert token.total_supply() == sum(token.balance_of(a) for a in accounts) + held
    next_id = int(market.contract.functions.nextRequestId().call())
    escrows = sum(_escrow(market.request(i)) for i in range(1, next_id))
    credits = sum(market.credit_of(a) for a in accounts)
    stakes = sum(market.stake_of(a).total for a in accounts)
    assert held == credits + stakes + escrows


@pytest.fixture(autouse=True)
def _books_balance_after_each_test(world: World) -> Iterator[None]:
    yield
    assert_books_balance(world)


# ---------------------------------------------------------------- helpers


def awarded(world: World, seller: int = 0) -> int:
    return world.awarded(price=PRICE, seller=seller, energy_wh=ENERGY, max_price=MAX_PRICE)


def receipt(world: World, request_id: int, delivered_wh: int, *, seller: int = 0, signer: Any = None) -> bytes:
    """A meter receipt naming sellers[seller], signed by the buyer unless another signer is given."""
    return world.market.sign_receipt(signer or world.buyer.account, request_id=request_id,
                                     seller=world.sellers[seller].address, delivered_wh=delivered_wh)


def at_delivery_start(world: World, request_id: int) -> None:
    world.to(world.market.request(request_id).delivery_start_ts)


def reclaim_from(world: World, request_id: int) -> int:
    return world.market.request(request_id).delivery_end_ts + PARAMS.grace_period_s


def credits(world: World) -> tuple[int, int]:
    return world.market.credit_of(world.buyer.address), world.market.credit_of(world.sellers[0].address)


def mined_at(world: World, ts: int, client: MarketClient, fn: str, *args: Any) -> TxReceipt:
    """Send `fn` to be mined in a block stamped exactly ts. The gas is fixed because eth-tester estimates gas at the
    latest block's time, which would judge the call at the wrong second; a mined failure is decoded in its block."""
    world.chain.set_next_timestamp(ts)
    data = client.contract.encode_abi(fn, args=list(args))
    return client.sender.send({"to": client.address, "data": data, "gas": 1_000_000}, action=f"Market.{fn}")


def funded_issuer(world: World) -> Any:
    world.chain.fund(world.issuer.address, GAS_MONEY_WEI)
    return world.system.registry.connect(world.chain.sender(world.issuer))


# ---------------------------------------------------------------- confirmDelivery


def test_confirm_by_seller_reverts_with_NotBuyer(world: World) -> None:
    request_id = awarded(world)
    before = world.ledger()
    seller = world.sellers[0]
    with reverts("NotBuyer", caller=seller.address, buyer=world.buyer.address):
        seller.system.market.confirm_delivery(request_id, ENERGY)
    assert world.ledger() == before


def test_confirm_by_outsider_reverts_with_NotBuyer(world: World) -> None:
    request_id = awarded(world)
    before = world.ledger()
    with reverts("NotBuyer", caller=world.outsider.address, buyer=world.buyer.address):
        world.outsider.system.market.confirm_delivery(request_id, ENERGY)
    assert world.ledger() == before


def test_confirm_pays_delivered_times_price_to_seller_and_refunds_the_rest_to_buyer(world: World) -> None:
    request_id = awarded(world)
    assert credits(world) == (CLOSE_REFUND, 0)
    world.buyer.system.market.confirm_delivery(request_id, 6_000)
    assert credits(world) == (CLOSE_REFUND + 4_000 * PRICE, 6_000 * PRICE)
    assert world.market.request(request_id).status == RequestStatus.SETTLED


def test_confirm_emits_Settled_with_buyer_as_settler_and_exact_amounts(world: World) -> None:
    request_id = awarded(world)
    tx = world.buyer.system.market.confirm_delivery(request_id, 6_000)
    (event,) = world.market.events(tx, "Settled")
    assert dict(event["args"]) == {"requestId": request_id, "settledBy": world.buyer.address, "deliveredWh": 6_000,
                                   "paid": 6_000 * PRICE, "refund": 4_000 * PRICE}


def test_confirm_over_delivery_is_capped_at_the_awarded_energy(world: World) -> None:
    request_id = awarded(world)
    tx = world.buyer.system.market.confirm_delivery(request_id, ENERGY * 3)
    assert credits(world) == (CLOSE_REFUND, PAYMENT)
    assert world.market.events(tx, "Settled")[0]["args"]["deliveredWh"] == ENERGY


def test_confirm_zero_delivered_refunds_the_whole_escrow_to_buyer(world: World) -> None:
    request_id = awarded(world)
    world.buyer.system.market.confirm_delivery(request_id, 0)
    assert credits(world) == (CLOSE_REFUND + PAYMENT, 0)


def test_confirm_unlocks_the_sellers_penalty_without_touching_the_stake(world: World) -> None:
    request_id = awarded(world)
    seller = world.sellers[0].address
    assert (world.market.stake_of(seller).total, world.market.stake_of(seller).locked) == (STAKE, PENALTY)
    world.buyer.system.market.confirm_delivery(request_id, 0)
    assert (world.market.stake_of(seller).total, world.market.stake_of(seller).locked) == (STAKE, 0)


def test_confirm_twice_reverts_with_WrongStatus(world: World) -> None:
    request_id = awarded(world)
    world.buyer.system.market.confirm_delivery(request_id, ENERGY)
    before = world.ledger()
    with reverts("WrongStatus", requestId=request_id, status=RequestStatus.SETTLED, required=RequestStatus.AWARDED):
        world.buyer.system.market.confirm_delivery(request_id, ENERGY)
    assert world.ledger() == before


def test_confirm_on_an_open_request_reverts_with_WrongStatus(world: World) -> None:
    request_id = world.open_request()
    before = world.ledger()
    with reverts("WrongStatus", requestId=request_id, status=RequestStatus.OPEN, required=RequestStatus.AWARDED):
        world.buyer.system.market.confirm_delivery(request_id, 0)
    assert world.ledger() == before


def test_confirm_on_an_unknown_request_reverts_with_UnknownRequest(world: World) -> None:
    with reverts("UnknownRequest", requestId=999):
        world.buyer.system.market.confirm_delivery(999, 0)


# ---------------------------------------------------------------- claimWithReceipt


def test_claim_with_the_buyers_receipt_settles_and_pays_the_seller(world: World) -> None:
    request_id = awarded(world)
    at_delivery_start(world, request_id)
    seller = world.sellers[0]
    tx = seller.system.market.claim_with_receipt(request_id, 7_500, receipt(world, request_id, 7_500))
    assert credits(world) == (CLOSE_REFUND + 2_500 * PRICE, 7_500 * PRICE)
    assert world.market.events(tx, "Settled")[0]["args"]["settledBy"] == seller.address
    assert world.market.request(request_id).status == RequestStatus.SETTLED
    assert world.market.stake_of(seller.address).locked == 0


def test_claim_by_a_losing_seller_reverts_with_NotSeller(world: World) -> None:
    request_id = awarded(world)
    at_delivery_start(world, request_id)
    other = world.sellers[1]
    before = world.ledger()
    with reverts("NotSeller", caller=other.address, seller=world.sellers[0].address):
        other.system.market.claim_with_receipt(request_id, ENERGY, receipt(world, request_id, ENERGY, seller=1))
    assert world.ledger() == before


def test_claim_by_the_buyer_reverts_with_NotSeller(world: World) -> None:
    request_id = awarded(world)
    at_delivery_start(world, request_id)
    with reverts("NotSeller", caller=world.buyer.address, seller=world.sellers[0].address):
        world.buyer.system.market.claim_with_receipt(request_id, ENERGY, receipt(world, request_id, ENERGY))


def test_claim_one_second_before_delivery_start_reverts_with_TooEarly(world: World) -> None:
    request_id = awarded(world)
    start = world.market.request(request_id).delivery_start_ts
    signed = receipt(world, request_id, ENERGY)
    before = world.ledger()
    with reverts("TooEarly", nowTs=start - 1, allowedFrom=start):
        mined_at(world, start - 1, world.sellers[0].system.market, "claimWithReceipt", request_id, ENERGY, signed)
    assert world.ledger() == before


def test_claim_at_exactly_delivery_start_is_accepted(world: World) -> None:
    request_id = awarded(world)
    start = world.market.request(request_id).delivery_start_ts
    signed = receipt(world, request_id, ENERGY)
    tx = mined_at(world, start, world.sellers[0].system.market, "claimWithReceipt", request_id, ENERGY, signed)
    assert world.chain.w3.eth.get_block(tx["blockNumber"])["timestamp"] == start
    assert credits(world) == (CLOSE_REFUND, PAYMENT)


def test_claim_with_a_receipt_signed_by_the_seller_itself_reverts_with_NotSignedByBuyer(world: World) -> None:
    request_id = awarded(world)
    at_delivery_start(world, request_id)
    seller = world.sellers[0]
    forged = receipt(world, request_id, ENERGY, signer=seller.account)
    before = world.ledger()
    with reverts("NotSignedByBuyer", signer=seller.address, buyer=world.buyer.address):
        seller.system.market.claim_with_receipt(request_id, ENERGY, forged)
    assert world.ledger() == before


def test_claim_for_more_than_the_receipt_states_reverts_with_NotSignedByBuyer(world: World) -> None:
    request_id = awarded(world)
    at_delivery_start(world, request_id)
    signed_for_half = receipt(world, request_id, ENERGY // 2)
    with reverts("NotSignedByBuyer", buyer=world.buyer.address) as info:
        world.sellers[0].system.market.claim_with_receipt(request_id, ENERGY, signed_for_half)
    assert info.value.arguments["signer"] != world.buyer.address


def test_claim_with_a_receipt_naming_another_seller_reverts_with_NotSignedByBuyer(world: World) -> None:
    request_id = awarded(world)
    at_delivery_start(world, request_id)
    for_seller1 = receipt(world, request_id, ENERGY, seller=1)
    with reverts("NotSignedByBuyer", buyer=world.buyer.address) as info:
        world.sellers[0].system.market.claim_with_receipt(request_id, ENERGY, for_seller1)
    assert info.value.arguments["signer"] != world.buyer.address


def test_claim_with_a_receipt_for_another_request_reverts_with_NotSignedByBuyer(world: World) -> None:
    first = awarded(world)
    second = awarded(world)
    at_delivery_start(world, second)
    for_first = receipt(world, first, ENERGY)
    with reverts("NotSignedByBuyer", buyer=world.buyer.address) as info:
        world.sellers[0].system.market.claim_with_receipt(second, ENERGY, for_first)
    assert info.value.arguments["signer"] != world.buyer.address


def test_replaying_a_receipt_after_settlement_reverts_with_WrongStatus(world: World) -> None:
    request_id = awarded(world)
    at_delivery_start(world, request_id)
    signed = receipt(world, request_id, ENERGY)
    world.sellers[0].system.market.claim_with_receipt(request_id, ENERGY, signed)
    before = world.ledger()
    with reverts("WrongStatus", requestId=request_id, status=RequestStatus.SETTLED, required=RequestStatus.AWARDED):
        world.sellers[0].system.market.claim_with_receipt(request_id, ENERGY, signed)
    assert world.ledger() == before


def test_claim_with_the_malleable_high_s_twin_of_a_valid_receipt_reverts_with_BadSignatureS(world: World) -> None:
    request_id = awarded(world)
    at_delivery_start(world, request_id)
    signed = receipt(world, request_id, ENERGY)
    r, s, v = signed[:32], int.from_bytes(signed[32:64], "big"), signed[64]
    high_s = SECP256K1_N - s
    twin = r + high_s.to_bytes(32, "big") + bytes([55 - v])  # 27 <-> 28
    digest = bytes(world.market.contract.functions.receiptDigest(request_id, world.sellers[0].address, ENERGY).call())
    twin_signature = keys.Signature(vrs=(twin[64] - 27, int.from_bytes(r, "big"), high_s))
    assert twin_signature.recover_public_key_from_msg_hash(digest).to_checksum_address() == world.buyer.address
    with reverts("BadSignatureS", s=high_s.to_bytes(32, "big")):
        world.sellers[0].system.market.claim_with_receipt(request_id, ENERGY, twin)
    assert world.market.request(request_id).status == RequestStatus.AWARDED


# ---------------------------------------------------------------- reclaim


@pytest.mark.parametrize("who", ["seller", "outsider"])
def test_reclaim_by_anyone_but_the_buyer_reverts_with_NotBuyer(world: World, who: str) -> None:
    request_id = awarded(world)
    world.to(reclaim_from(world, request_id))
    caller = world.sellers[0] if who == "seller" else world.outsider
    before = world.ledger()
    with reverts("NotBuyer", caller=caller.address, buyer=world.buyer.address):
        caller.system.market.reclaim(request_id)
    assert world.ledger() == before


def test_reclaim_one_second_before_delivery_end_plus_grace_reverts_with_TooEarly(world: World) -> None:
    request_id = awarded(world)
    allowed_from = reclaim_from(world, request_id)
    before = world.ledger()
    with reverts("TooEarly", nowTs=allowed_from - 1, allowedFrom=allowed_from):
        mined_at(world, allowed_from - 1, world.buyer.system.market, "reclaim", request_id)
    assert world.ledger() == before


def test_reclaim_at_exactly_delivery_end_plus_grace_credits_escrow_plus_penalty(world: World) -> None:
    request_id = awarded(world)
    allowed_from = reclaim_from(world, request_id)
    tx = mined_at(world, allowed_from, world.buyer.system.market, "reclaim", request_id)
    assert world.chain.w3.eth.get_block(tx["blockNumber"])["timestamp"] == allowed_from
    assert credits(world) == (CLOSE_REFUND + PAYMENT + PENALTY, 0)
    assert world.market.request(request_id).status == RequestStatus.RECLAIMED


def test_reclaim_takes_the_penalty_out_of_the_sellers_stake_total_and_locked(world: World) -> None:
    request_id = awarded(world)
    world.to(reclaim_from(world, request_id))
    world.buyer.system.market.reclaim(request_id)
    stake = world.market.stake_of(world.sellers[0].address)
    assert (stake.total, stake.locked) == (STAKE - PENALTY, 0)


def test_reclaim_twice_reverts_with_WrongStatus(world: World) -> None:
    request_id = awarded(world)
    world.to(reclaim_from(world, request_id))
    world.buyer.system.market.reclaim(request_id)
    before = world.ledger()
    with reverts("WrongStatus", requestId=request_id, status=RequestStatus.RECLAIMED, required=RequestStatus.AWARDED):
        world.buyer.system.market.reclaim(request_id)
    assert world.ledger() == before


def test_reclaim_after_confirm_reverts_with_WrongStatus(world: World) -> None:
    request_id = awarded(world)
    world.buyer.system.market.confirm_delivery(request_id, ENERGY)
    world.to(reclaim_from(world, request_id))
    before = world.ledger()
    with reverts("WrongStatus", requestId=request_id, status=RequestStatus.SETTLED, required=RequestStatus.AWARDED):
        world.buyer.system.market.reclaim(request_id)
    assert world.ledger() == before


def test_confirm_after_reclaim_reverts_with_WrongStatus(world: World) -> None:
    request_id = awarded(world)
    world.to(reclaim_from(world, request_id))
    world.buyer.system.market.reclaim(request_id)
    with reverts("WrongStatus", requestId=request_id, status=RequestStatus.RECLAIMED, required=RequestStatus.AWARDED):
        world.buyer.system.market.confirm_delivery(request_id, ENERGY)


# ---------------------------------------------------------------- depositStake


def test_deposit_stake_moves_exactly_the_amount_into_the_stake(world: World) -> None:
    seller = world.sellers[0]
    wallet = world.system.token.balance_of(seller.address)
    seller.system.market.deposit_stake(12_345)
    assert world.system.token.balance_of(seller.address) == wallet - 12_345
    assert world.market.stake_of(seller.address).total == STAKE + 12_345


def test_deposit_stake_of_zero_reverts_with_ZeroAmount(world: World) -> None:
    before = world.ledger()
    with reverts("ZeroAmount"):
        world.sellers[0].system.market.deposit_stake(0)
    assert world.ledger() == before


def test_deposit_stake_by_an_unregistered_account_reverts_with_NotRegistered(world: World) -> None:
    before = world.ledger()
    with reverts("NotRegistered", vehicle=world.outsider.address):
        world.outsider.system.market.deposit_stake(1_000)
    assert world.ledger() == before


# ---------------------------------------------------------------- withdrawStake


def test_withdraw_stake_beyond_what_a_best_bid_leaves_free_reverts_with_InsufficientFreeStake(world: World) -> None:
    request_id = world.open_request(energy_wh=ENERGY, max_price=MAX_PRICE)
    seller = world.sellers[0]
    seller.system.market.bid(request_id, PRICE)
    before = world.ledger()
    with reverts("InsufficientFreeStake", seller=seller.address, free=STAKE - PENALTY, needed=STAKE):
        seller.system.market.withdraw_stake(STAKE)
    assert world.ledger() == before


def test_withdraw_stake_of_exactly_the_free_part_pays_it_and_keeps_the_locked_part(world: World) -> None:
    request_id = world.open_request(energy_wh=ENERGY, max_price=MAX_PRICE)
    seller = world.sellers[0]
    seller.system.market.bid(request_id, PRICE)
    wallet = world.system.token.balance_of(seller.address)
    seller.system.market.withdraw_stake(STAKE - PENALTY)
    assert world.system.token.balance_of(seller.address) == wallet + STAKE - PENALTY
    stake = world.market.stake_of(seller.address)
    assert (stake.total, stake.locked) == (PENALTY, PENALTY)


def test_withdraw_stake_of_zero_reverts_with_ZeroAmount(world: World) -> None:
    with reverts("ZeroAmount"):
        world.sellers[0].system.market.withdraw_stake(0)


def test_a_revoked_seller_can_still_withdraw_its_free_stake(world: World) -> None:
    seller = world.sellers[0]
    funded_issuer(world).revoke(seller.address)
    assert not world.system.registry.is_active(seller.address, 2)
    wallet = world.system.token.balance_of(seller.address)
    seller.system.market.withdraw_stake(STAKE)
    assert world.system.token.balance_of(seller.address) == wallet + STAKE
    assert world.market.stake_of(seller.address).total == 0


# ---------------------------------------------------------------- withdraw


def test_withdraw_with_nothing_credited_reverts_with_NothingToWithdraw(world: World) -> None:
    before = world.ledger()
    with reverts("NothingToWithdraw", account=world.sellers[1].address):
        world.sellers[1].system.market.withdraw()
    assert world.ledger() == before


def test_withdraw_pays_exactly_the_credit_and_zeroes_it(world: World) -> None:
    request_id = awarded(world)
    world.buyer.system.market.confirm_delivery(request_id, 6_000)
    seller = world.sellers[0]
    wallet, held = world.system.token.balance_of(seller.address), world.system.token.balance_of(world.market.address)
    assert seller.system.market.withdraw() == 6_000 * PRICE
    assert world.system.token.balance_of(seller.address) == wallet + 6_000 * PRICE
    assert world.system.token.balance_of(world.market.address) == held - 6_000 * PRICE
    assert world.market.credit_of(seller.address) == 0


def test_withdraw_pays_everything_credited_across_requests_in_one_transfer(world: World) -> None:
    first, second = awarded(world), awarded(world)
    world.buyer.system.market.confirm_delivery(first, 0)
    world.buyer.system.market.confirm_delivery(second, 1_000)
    expected = 2 * CLOSE_REFUND + PAYMENT + 9_000 * PRICE
    wallet = world.system.token.balance_of(world.buyer.address)
    assert world.buyer.system.market.withdraw() == expected
    assert world.system.token.balance_of(world.buyer.address) == wallet + expected


def test_second_withdraw_reverts_with_NothingToWithdraw(world: World) -> None:
    awarded(world)
    world.buyer.system.market.withdraw()
    before = world.ledger()
    with reverts("NothingToWithdraw", account=world.buyer.address):
        world.buyer.system.market.withdraw()
    assert world.ledger() == before


# ---------------------------------------------------------------- pause


def test_set_paused_by_a_non_admin_reverts_with_NotAdmin(world: World) -> None:
    with reverts("NotAdmin", caller=world.buyer.address):
        world.buyer.system.market.set_paused(True)
    assert world.market.contract.functions.paused().call() is False


def test_pause_stops_new_requests(world: World) -> None:
    world.market.set_paused(True)
    before = world.ledger()
    with reverts("MarketPaused"):
        world.open_request()
    assert world.ledger() == before


def test_close_still_works_while_paused(world: World) -> None:
    request_id = world.open_request(energy_wh=ENERGY, max_price=MAX_PRICE)
    world.sellers[0].system.market.bid(request_id, PRICE)
    world.market.set_paused(True)
    world.to(world.market.request(request_id).deadline_ts)
    world.market.close(request_id)
    assert world.market.request(request_id).status == RequestStatus.AWARDED


def test_confirm_still_works_while_paused(world: World) -> None:
    request_id = awarded(world)
    world.market.set_paused(True)
    world.buyer.system.market.confirm_delivery(request_id, ENERGY)
    assert credits(world) == (CLOSE_REFUND, PAYMENT)


def test_claim_with_receipt_still_works_while_paused(world: World) -> None:
    request_id = awarded(world)
    at_delivery_start(world, request_id)
    world.market.set_paused(True)
    world.sellers[0].system.market.claim_with_receipt(request_id, ENERGY, receipt(world, request_id, ENERGY))
    assert credits(world) == (CLOSE_REFUND, PAYMENT)


def test_reclaim_still_works_while_paused(world: World) -> None:
    request_id = awarded(world)
    world.to(reclaim_from(world, request_id))
    world.market.set_paused(True)
    world.buyer.system.market.reclaim(request_id)
    assert credits(world) == (CLOSE_REFUND + PAYMENT + PENALTY, 0)


def test_withdraw_still_works_while_paused(world: World) -> None:
    awarded(world)
    world.market.set_paused(True)
    assert world.buyer.system.market.withdraw() == CLOSE_REFUND


def test_withdraw_stake_still_works_while_paused(world: World) -> None:
    world.market.set_paused(True)
    seller = world.sellers[0]
    wallet = world.system.token.balance_of(seller.address)
    seller.system.market.withdraw_stake(STAKE)
    assert world.system.token.balance_of(seller.address) == wallet + STAKE


# ---------------------------------------------------------------- the admin cannot move others' money


def test_admin_withdraw_reverts_with_NothingToWithdraw_while_others_have_credit(world: World) -> None:
    awarded(world)
    assert world.market.credit_of(world.buyer.address) == CLOSE_REFUND
    before = world.ledger()
    with reverts("NothingToWithdraw", account=world.system.deployment.admin):
        world.market.withdraw()
    assert world.ledger() == before


def test_admin_withdraw_stake_reverts_with_InsufficientFreeStake_while_sellers_have_stake(world: World) -> None:
    admin = world.system.deployment.admin
    before = world.ledger()
    with reverts("InsufficientFreeStake", seller=admin, free=0, needed=STAKE):
        world.market.withdraw_stake(STAKE)
    assert world.ledger() == before


def test_admin_confirm_on_others_trade_reverts_with_NotBuyer(world: World) -> None:
    request_id = awarded(world)
    before = world.ledger()
    with reverts("NotBuyer", caller=world.system.deployment.admin, buyer=world.buyer.address):
        world.market.confirm_delivery(request_id, 0)
    assert world.ledger() == before


def test_admin_claim_on_others_trade_reverts_with_NotSeller(world: World) -> None:
    request_id = awarded(world)
    at_delivery_start(world, request_id)
    before = world.ledger()
    with reverts("NotSeller", caller=world.system.deployment.admin, seller=world.sellers[0].address):
        world.market.claim_with_receipt(request_id, ENERGY, receipt(world, request_id, ENERGY))
    assert world.ledger() == before


def test_admin_reclaim_on_others_trade_reverts_with_NotBuyer(world: World) -> None:
    request_id = awarded(world)
    world.to(reclaim_from(world, request_id))
    before = world.ledger()
    with reverts("NotBuyer", caller=world.system.deployment.admin, buyer=world.buyer.address):
        world.market.reclaim(request_id)
    assert world.ledger() == before
