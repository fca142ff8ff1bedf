"""Settlement, reclaim, deposits, withdrawals and pause: who may move which money, when, and exactly how much.

The shared world: a buyer, three sellers each with DEPOSIT free in the market, and an unregistered outsider.
`world.awarded()` opens a request for 10,000 Wh at a max price of 100 and awards it to seller 0 at 80, so after close
the buyer has 10,000 x 20 credited to its free balance and 10,000 x 80 stays in escrow, with seller 0's penalty locked
from its free balance.
After every test the books must still balance (see `assert_books_balance`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_keys import keys
from web3.types import TxReceipt

from tests.support.assertions import assert_books_balance, reverts
from tests.support.world import PARAMS, STAKE, World
from v2vchain.contracts.market import MarketClient, RequestStatus
from v2vchain.devnet import GAS_MONEY_WEI

ENERGY = 10_000
MAX_PRICE = 100
PRICE = 80
PAYMENT = ENERGY * PRICE  # 800,000 in escrow once awarded
CLOSE_REFUND = ENERGY * (MAX_PRICE - PRICE)  # 200,000 credited to the buyer at close
PENALTY = PAYMENT * PARAMS.penalty_bps // 10_000  # 160,000 of seller 0's deposit, locked while it holds the award
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


# ---------------------------------------------------------------- the books


@pytest.fixture(autouse=True)
def _books_balance_after_each_test(world: World) -> Iterator[None]:
    yield
    assert_books_balance(world)


# ---------------------------------------------------------------- helpers


def awarded(world: World, seller: int = 0) -> int:
    return world.awarded(price=PRICE, seller=seller, energy_wh=ENERGY, max_price=MAX_PRICE)


def receipt(world: World, request_id: int, delivered_wh: int, *, seller: int = 0, signer: Any = None) -> bytes:
    """A meter receipt naming sellers[seller], signed by the buyer unless another signer is given."""
    return world.market.sign_receipt(
        signer or world.buyer.account,
        request_id=request_id,
        seller=world.sellers[seller].address,
        delivered_wh=delivered_wh,
    )


def at_delivery_start(world: World, request_id: int) -> None:
    world.to(world.market.request(request_id).delivery_start_ts)


def reclaim_from(world: World, request_id: int) -> int:
    return world.market.request(request_id).delivery_end_ts + PARAMS.grace_period_s


def credits(world: World) -> tuple[int, int]:
    """What the trade credited so far: the buyer's free balance, and seller 0's account beyond its deposit."""
    return world.market.free_of(world.buyer.address), world.market.account(world.sellers[0].address).total - STAKE


def after_grace(world: World, request_id: int) -> None:
    world.to(reclaim_from(world, request_id))


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


def test_confirm_of_the_full_energy_settles_at_once_and_pays_the_seller(world: World) -> None:
    request_id = awarded(world)
    assert credits(world) == (CLOSE_REFUND, 0)
    world.buyer.system.market.confirm_delivery(request_id, ENERGY)
    assert credits(world) == (CLOSE_REFUND, PAYMENT)
    assert world.market.request(request_id).status == RequestStatus.SETTLED


def test_confirm_emits_Settled_with_buyer_as_settler_and_exact_amounts(world: World) -> None:
    request_id = awarded(world)
    tx = world.buyer.system.market.confirm_delivery(request_id, ENERGY)
    (event,) = world.market.events(tx, "Settled")
    assert dict(event["args"]) == {
        "requestId": request_id,
        "settledBy": world.buyer.address,
        "deliveredWh": ENERGY,
        "paid": PAYMENT,
        "refund": 0,
    }


def test_confirm_of_less_than_the_award_leaves_a_pending_confirmation_and_moves_no_money(world: World) -> None:
    request_id = awarded(world)
    before = world.ledger()
    tx = world.buyer.system.market.confirm_delivery(request_id, 6_000)
    assert world.ledger() == before
    r = world.market.request(request_id)
    assert (r.status, r.confirmed_wh) == (RequestStatus.CONFIRMED, 6_000)
    (event,) = world.market.events(tx, "DeliveryConfirmed")
    assert dict(event["args"]) == {
        "requestId": request_id,
        "deliveredWh": 6_000,
        "finalFrom": reclaim_from(world, request_id),
    }
    assert world.market.events(tx, "Settled") == []


def test_confirm_of_less_than_the_award_after_grace_settles_at_once(world: World) -> None:
    request_id = awarded(world)
    after_grace(world, request_id)
    world.buyer.system.market.confirm_delivery(request_id, 6_000)
    assert world.market.request(request_id).status == RequestStatus.SETTLED
    assert credits(world) == (CLOSE_REFUND + 4_000 * PRICE, 6_000 * PRICE)


def test_confirm_over_delivery_is_capped_at_the_awarded_energy(world: World) -> None:
    request_id = awarded(world)
    tx = world.buyer.system.market.confirm_delivery(request_id, ENERGY * 3)
    assert credits(world) == (CLOSE_REFUND, PAYMENT)
    assert world.market.events(tx, "Settled")[0]["args"]["deliveredWh"] == ENERGY


def test_confirm_zero_delivered_after_grace_refunds_the_whole_escrow_to_buyer(world: World) -> None:
    request_id = awarded(world)
    after_grace(world, request_id)
    world.buyer.system.market.confirm_delivery(request_id, 0)
    assert credits(world) == (CLOSE_REFUND + PAYMENT, 0)


def test_confirm_unlocks_the_sellers_penalty_without_touching_its_deposit(world: World) -> None:
    request_id = awarded(world)
    seller = world.sellers[0].address
    assert (world.market.account(seller).free, world.market.account(seller).locked) == (STAKE - PENALTY, PENALTY)
    world.buyer.system.market.confirm_delivery(request_id, ENERGY)
    acct = world.market.account(seller)
    assert (acct.free, acct.locked) == (STAKE + PAYMENT, 0)


def test_confirm_twice_reverts_with_WrongStatus(world: World) -> None:
    request_id = awarded(world)
    world.buyer.system.market.confirm_delivery(request_id, ENERGY)
    before = world.ledger()
    with reverts("WrongStatus", requestId=request_id, status=RequestStatus.SETTLED, required=RequestStatus.AWARDED):
        world.buyer.system.market.confirm_delivery(request_id, ENERGY)
    assert world.ledger() == before


def test_a_second_confirmation_while_one_is_pending_reverts_with_WrongStatus(world: World) -> None:
    """The buyer states its figure once; only a receipt it signed for more can raise it."""
    request_id = awarded(world)
    world.buyer.system.market.confirm_delivery(request_id, 6_000)
    with reverts("WrongStatus", requestId=request_id, status=RequestStatus.CONFIRMED, required=RequestStatus.AWARDED):
        world.buyer.system.market.confirm_delivery(request_id, ENERGY)


def test_confirm_on_an_open_request_reverts_with_WrongStatus(world: World) -> None:
    request_id = world.open_request()
    before = world.ledger()
    with reverts("WrongStatus", requestId=request_id, status=RequestStatus.OPEN, required=RequestStatus.AWARDED):
        world.buyer.system.market.confirm_delivery(request_id, 0)
    assert world.ledger() == before


def test_confirm_on_an_unknown_request_reverts_with_UnknownRequest(world: World) -> None:
    with reverts("UnknownRequest", requestId=999):
        world.buyer.system.market.confirm_delivery(999, 0)


# ---------------------------------------------------------------- finalize


def test_finalize_after_grace_settles_a_pending_confirmation_at_the_buyers_figure(world: World) -> None:
    request_id = awarded(world)
    world.buyer.system.market.confirm_delivery(request_id, 6_000)
    allowed_from = reclaim_from(world, request_id)
    tx = mined_at(world, allowed_from, world.outsider.system.market, "finalize", request_id)
    (event,) = world.market.events(tx, "Settled")
    assert dict(event["args"]) == {
        "requestId": request_id,
        "settledBy": world.outsider.address,
        "deliveredWh": 6_000,
        "paid": 6_000 * PRICE,
        "refund": 4_000 * PRICE,
    }
    assert credits(world) == (CLOSE_REFUND + 4_000 * PRICE, 6_000 * PRICE)
    assert world.market.account(world.sellers[0].address).locked == 0
    assert world.market.request(request_id).status == RequestStatus.SETTLED


def test_finalize_one_second_before_delivery_end_plus_grace_reverts_with_TooEarly(world: World) -> None:
    request_id = awarded(world)
    world.buyer.system.market.confirm_delivery(request_id, 6_000)
    allowed_from = reclaim_from(world, request_id)
    before = world.ledger()
    with reverts("TooEarly", nowTs=allowed_from - 1, allowedFrom=allowed_from):
        mined_at(world, allowed_from - 1, world.outsider.system.market, "finalize", request_id)
    assert world.ledger() == before


def test_finalize_without_a_pending_confirmation_reverts_with_WrongStatus(world: World) -> None:
    request_id = awarded(world)
    after_grace(world, request_id)
    with reverts("WrongStatus", requestId=request_id, status=RequestStatus.AWARDED, required=RequestStatus.CONFIRMED):
        world.outsider.system.market.finalize(request_id)


def test_finalize_of_a_pending_zero_confirmation_refunds_the_whole_escrow(world: World) -> None:
    request_id = awarded(world)
    world.buyer.system.market.confirm_delivery(request_id, 0)
    after_grace(world, request_id)
    world.sellers[0].system.market.finalize(request_id)
    assert credits(world) == (CLOSE_REFUND + PAYMENT, 0)


# ---------------------------------------------------------------- claimWithReceipt


def test_claim_with_the_buyers_receipt_settles_and_pays_the_seller(world: World) -> None:
    request_id = awarded(world)
    at_delivery_start(world, request_id)
    seller = world.sellers[0]
    tx = seller.system.market.claim_with_receipt(request_id, 7_500, receipt(world, request_id, 7_500))
    assert credits(world) == (CLOSE_REFUND + 2_500 * PRICE, 7_500 * PRICE)
    assert world.market.events(tx, "Settled")[0]["args"]["settledBy"] == seller.address
    assert world.market.request(request_id).status == RequestStatus.SETTLED
    assert world.market.account(seller.address).locked == 0


def test_claim_with_a_receipt_above_a_pending_confirmation_settles_at_the_receipts_figure(world: World) -> None:
    """A receipt binds the buyer: confirming less afterwards does not undercut what it signed at delivery."""
    request_id = awarded(world)
    signed = receipt(world, request_id, 9_000)
    world.buyer.system.market.confirm_delivery(request_id, 6_000)
    at_delivery_start(world, request_id)
    world.sellers[0].system.market.claim_with_receipt(request_id, 9_000, signed)
    assert credits(world) == (CLOSE_REFUND + 1_000 * PRICE, 9_000 * PRICE)
    assert world.market.request(request_id).status == RequestStatus.SETTLED


def test_claim_above_a_pending_confirmation_is_still_accepted_after_grace_until_finalized(world: World) -> None:
    request_id = awarded(world)
    signed = receipt(world, request_id, 9_000)
    world.buyer.system.market.confirm_delivery(request_id, 6_000)
    after_grace(world, request_id)
    world.sellers[0].system.market.claim_with_receipt(request_id, 9_000, signed)
    assert credits(world) == (CLOSE_REFUND + 1_000 * PRICE, 9_000 * PRICE)


@pytest.mark.parametrize("receipt_wh", [6_000, 5_999], ids=["equal", "below"])
def test_claim_at_or_below_a_pending_confirmation_reverts_with_ReceiptNotAboveConfirmation(
    world: World, receipt_wh: int
) -> None:
    request_id = awarded(world)
    world.buyer.system.market.confirm_delivery(request_id, 6_000)
    at_delivery_start(world, request_id)
    before = world.ledger()
    with reverts("ReceiptNotAboveConfirmation", requestId=request_id, receiptWh=receipt_wh, confirmedWh=6_000):
        world.sellers[0].system.market.claim_with_receipt(
            request_id, receipt_wh, receipt(world, request_id, receipt_wh)
        )
    assert world.ledger() == before


def test_claim_after_finalize_reverts_with_WrongStatus(world: World) -> None:
    request_id = awarded(world)
    signed = receipt(world, request_id, 9_000)
    world.buyer.system.market.confirm_delivery(request_id, 6_000)
    after_grace(world, request_id)
    world.outsider.system.market.finalize(request_id)
    with reverts("WrongStatus", requestId=request_id, status=RequestStatus.SETTLED, required=RequestStatus.AWARDED):
        world.sellers[0].system.market.claim_with_receipt(request_id, 9_000, signed)


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


def test_claim_with_the_malleable_high_s_twin_of_a_valid_receipt_reverts_with_NotSignedByBuyer_from_zero(
    world: World,
) -> None:
    """OpenZeppelin's tryRecover refuses a high-s signature (no signer), so the twin proves nothing."""
    request_id = awarded(world)
    at_delivery_start(world, request_id)
    signed = receipt(world, request_id, ENERGY)
    r, s, v = signed[:32], int.from_bytes(signed[32:64], "big"), signed[64]
    high_s = SECP256K1_N - s
    twin = r + high_s.to_bytes(32, "big") + bytes([55 - v])  # 27 <-> 28
    digest = bytes(world.market.contract.functions.receiptDigest(request_id, world.sellers[0].address, ENERGY).call())
    twin_signature = keys.Signature(vrs=(twin[64] - 27, int.from_bytes(r, "big"), high_s))
    assert twin_signature.recover_public_key_from_msg_hash(digest).to_checksum_address() == world.buyer.address
    with reverts("NotSignedByBuyer", signer="0x" + "00" * 20, buyer=world.buyer.address):
        world.sellers[0].system.market.claim_with_receipt(request_id, ENERGY, twin)
    assert world.market.request(request_id).status == RequestStatus.AWARDED


# ---------------------------------------------------------------- reclaim


@pytest.mark.parametrize("who", ["buyer", "seller", "outsider"])
def test_anyone_may_reclaim_after_grace_and_the_refund_always_goes_to_the_buyer(world: World, who: str) -> None:
    request_id = awarded(world)
    after_grace(world, request_id)
    caller = {"buyer": world.buyer, "seller": world.sellers[0], "outsider": world.outsider}[who]
    caller_wallet = world.system.token.balance_of(caller.address)
    caller.system.market.reclaim(request_id)
    assert credits(world) == (CLOSE_REFUND + PAYMENT, -PENALTY)
    assert world.market.request(request_id).status == RequestStatus.RECLAIMED
    if who != "buyer":
        assert world.market.account(caller.address).total == (STAKE if who == "seller" else 0) - (
            PENALTY if who == "seller" else 0
        )
    assert world.system.token.balance_of(caller.address) == caller_wallet


def test_reclaim_one_second_before_delivery_end_plus_grace_reverts_with_TooEarly(world: World) -> None:
    request_id = awarded(world)
    allowed_from = reclaim_from(world, request_id)
    before = world.ledger()
    with reverts("TooEarly", nowTs=allowed_from - 1, allowedFrom=allowed_from):
        mined_at(world, allowed_from - 1, world.buyer.system.market, "reclaim", request_id)
    assert world.ledger() == before


def test_reclaim_at_exactly_delivery_end_plus_grace_refunds_the_payment_and_sinks_the_penalty(world: World) -> None:
    """The penalty no longer pays the buyer: a false "nothing delivered" must never profit whoever claims it."""
    request_id = awarded(world)
    allowed_from = reclaim_from(world, request_id)
    tx = mined_at(world, allowed_from, world.buyer.system.market, "reclaim", request_id)
    assert world.chain.w3.eth.get_block(tx["blockNumber"])["timestamp"] == allowed_from
    assert credits(world) == (CLOSE_REFUND + PAYMENT, -PENALTY)
    assert world.market.sunk() == PENALTY
    assert world.market.request(request_id).status == RequestStatus.RECLAIMED
    (reclaimed,) = world.market.events(tx, "Reclaimed")
    assert dict(reclaimed["args"]) == {"requestId": request_id, "refund": PAYMENT, "penalty": PENALTY}
    (forfeited,) = world.market.events(tx, "Forfeited")
    assert dict(forfeited["args"]) == {"account": world.sellers[0].address, "ref": request_id, "amount": PENALTY}


def test_reclaim_takes_the_penalty_out_of_the_sellers_locked_balance_only(world: World) -> None:
    request_id = awarded(world)
    world.to(reclaim_from(world, request_id))
    world.buyer.system.market.reclaim(request_id)
    acct = world.market.account(world.sellers[0].address)
    assert (acct.free, acct.locked) == (STAKE - PENALTY, 0)


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


def test_reclaim_of_a_pending_confirmation_reverts_with_WrongStatus(world: World) -> None:
    """Once the buyer stated a figure, the trade settles at it (finalize) and the penalty is never forfeited."""
    request_id = awarded(world)
    world.buyer.system.market.confirm_delivery(request_id, 1)
    after_grace(world, request_id)
    with reverts("WrongStatus", requestId=request_id, status=RequestStatus.CONFIRMED, required=RequestStatus.AWARDED):
        world.buyer.system.market.reclaim(request_id)


def test_confirm_after_reclaim_reverts_with_WrongStatus(world: World) -> None:
    request_id = awarded(world)
    world.to(reclaim_from(world, request_id))
    world.buyer.system.market.reclaim(request_id)
    with reverts("WrongStatus", requestId=request_id, status=RequestStatus.RECLAIMED, required=RequestStatus.AWARDED):
        world.buyer.system.market.confirm_delivery(request_id, ENERGY)


# ---------------------------------------------------------------- deposit


def test_deposit_moves_exactly_the_amount_into_the_free_balance(world: World) -> None:
    seller = world.sellers[0]
    wallet = world.system.token.balance_of(seller.address)
    tx = seller.system.market.deposit(12_345)
    assert world.system.token.balance_of(seller.address) == wallet - 12_345
    assert world.market.account(seller.address).free == STAKE + 12_345
    (event,) = world.market.events(tx, "Deposited")
    assert dict(event["args"]) == {"account": seller.address, "amount": 12_345}


def test_a_buyer_may_deposit_too(world: World) -> None:
    world.buyer.system.market.deposit(1_000)
    assert world.market.free_of(world.buyer.address) == 1_000


def test_deposit_of_zero_reverts_with_ZeroAmount(world: World) -> None:
    before = world.ledger()
    with reverts("ZeroAmount"):
        world.sellers[0].system.market.deposit(0)
    assert world.ledger() == before


def test_deposit_by_an_unregistered_account_reverts_with_NotRegistered(world: World) -> None:
    before = world.ledger()
    with reverts("NotRegistered", vehicle=world.outsider.address):
        world.outsider.system.market.deposit(1_000)
    assert world.ledger() == before


def test_deposit_by_a_revoked_vehicle_reverts_with_CredentialRevoked(world: World) -> None:
    seller = world.sellers[0]
    funded_issuer(world).revoke(seller.address)
    with reverts("CredentialRevoked", vehicle=seller.address):
        seller.system.market.deposit(1_000)


# ---------------------------------------------------------------- withdraw


def test_withdraw_beyond_what_a_best_bid_leaves_free_reverts_with_InsufficientFreeBalance(world: World) -> None:
    request_id = world.open_request(energy_wh=ENERGY, max_price=MAX_PRICE)
    seller = world.sellers[0]
    seller.system.market.bid(request_id, PRICE)
    before = world.ledger()
    with reverts("InsufficientFreeBalance", account=seller.address, free=STAKE - PENALTY, needed=STAKE):
        seller.system.market.withdraw(STAKE)
    assert world.ledger() == before


def test_withdraw_of_exactly_the_free_part_pays_it_and_keeps_the_locked_part(world: World) -> None:
    request_id = world.open_request(energy_wh=ENERGY, max_price=MAX_PRICE)
    seller = world.sellers[0]
    seller.system.market.bid(request_id, PRICE)
    wallet = world.system.token.balance_of(seller.address)
    assert seller.system.market.withdraw() == STAKE - PENALTY
    assert world.system.token.balance_of(seller.address) == wallet + STAKE - PENALTY
    acct = world.market.account(seller.address)
    assert (acct.free, acct.locked) == (0, PENALTY)


def test_withdraw_of_zero_reverts_with_ZeroAmount(world: World) -> None:
    with reverts("ZeroAmount"):
        world.sellers[0].system.market.withdraw(0)


def test_withdraw_all_with_nothing_free_reverts_with_ZeroAmount(world: World) -> None:
    before = world.ledger()
    with reverts("ZeroAmount"):
        world.buyer.system.market.withdraw()
    assert world.ledger() == before


def test_a_revoked_seller_can_still_withdraw_its_free_balance(world: World) -> None:
    seller = world.sellers[0]
    funded_issuer(world).revoke(seller.address)
    assert not world.system.registry.is_active(seller.address, 2)
    wallet = world.system.token.balance_of(seller.address)
    seller.system.market.withdraw(STAKE)
    assert world.system.token.balance_of(seller.address) == wallet + STAKE
    assert world.market.account(seller.address).total == 0


def test_withdraw_pays_part_of_the_credit_and_keeps_the_rest_free(world: World) -> None:
    request_id = awarded(world)
    world.buyer.system.market.confirm_delivery(request_id, ENERGY)
    seller = world.sellers[0]
    wallet, held = world.system.token.balance_of(seller.address), world.system.token.balance_of(world.market.address)
    tx_amount = seller.system.market.withdraw(6_000 * PRICE)
    assert tx_amount == 6_000 * PRICE
    assert world.system.token.balance_of(seller.address) == wallet + 6_000 * PRICE
    assert world.system.token.balance_of(world.market.address) == held - 6_000 * PRICE
    assert world.market.free_of(seller.address) == STAKE + PAYMENT - 6_000 * PRICE


def test_withdraw_pays_everything_credited_across_requests_in_one_transfer(world: World) -> None:
    first, second = awarded(world), awarded(world)
    world.buyer.system.market.confirm_delivery(first, ENERGY)
    after_grace(world, second)
    world.buyer.system.market.confirm_delivery(second, 1_000)
    expected = CLOSE_REFUND + 9_000 * PRICE  # the first close's refund was spent on the second open's escrow
    wallet = world.system.token.balance_of(world.buyer.address)
    assert world.buyer.system.market.withdraw() == expected
    assert world.system.token.balance_of(world.buyer.address) == wallet + expected


def test_withdraw_more_than_free_reverts_with_InsufficientFreeBalance(world: World) -> None:
    awarded(world)
    world.buyer.system.market.withdraw()
    before = world.ledger()
    with reverts("InsufficientFreeBalance", account=world.buyer.address, free=0, needed=1):
        world.buyer.system.market.withdraw(1)
    assert world.ledger() == before


# ---------------------------------------------------------------- cancelNonces


def test_cancel_nonces_raises_the_floor_and_emits_NoncesCancelled(world: World) -> None:
    seller = world.sellers[0]
    tx = seller.system.market.cancel_nonces(5)
    assert world.market.nonce_floor(seller.address) == 5
    (event,) = world.market.events(tx, "NoncesCancelled")
    assert dict(event["args"]) == {"account": seller.address, "nonceFloor": 5}


def test_cancel_nonces_twice_with_the_same_floor_reverts_with_NonceFloorNotRaised(world: World) -> None:
    seller = world.sellers[0]
    seller.system.market.cancel_nonces(5)
    with reverts("NonceFloorNotRaised", newFloor=5, floor=5):
        seller.system.market.cancel_nonces(5)
    with reverts("NonceFloorNotRaised", newFloor=4, floor=5):
        seller.system.market.cancel_nonces(4)
    seller.system.market.cancel_nonces(6)
    assert world.market.nonce_floor(seller.address) == 6


def test_cancel_nonces_touches_no_balance(world: World) -> None:
    before = world.ledger()
    world.sellers[0].system.market.cancel_nonces(9)
    assert world.ledger() == before


# ---------------------------------------------------------------- pause


def test_pause_by_a_non_owner_reverts_with_OwnableUnauthorizedAccount(world: World) -> None:
    with reverts("OwnableUnauthorizedAccount", account=world.buyer.address):
        world.buyer.system.market.pause()
    assert world.market.paused() is False


def test_pause_stops_new_requests(world: World) -> None:
    world.market.pause()
    before = world.ledger()
    with reverts("EnforcedPause"):
        world.open_request()
    assert world.ledger() == before


def test_close_still_works_while_paused(world: World) -> None:
    request_id = world.open_request(energy_wh=ENERGY, max_price=MAX_PRICE)
    world.sellers[0].system.market.bid(request_id, PRICE)
    world.market.pause()
    world.to(world.market.request(request_id).deadline_ts)
    world.buyer.system.market.close(request_id)
    assert world.market.request(request_id).status == RequestStatus.AWARDED


def test_confirm_still_works_while_paused(world: World) -> None:
    request_id = awarded(world)
    world.market.pause()
    world.buyer.system.market.confirm_delivery(request_id, ENERGY)
    assert credits(world) == (CLOSE_REFUND, PAYMENT)


def test_claim_with_receipt_still_works_while_paused(world: World) -> None:
    request_id = awarded(world)
    at_delivery_start(world, request_id)
    world.market.pause()
    world.sellers[0].system.market.claim_with_receipt(request_id, ENERGY, receipt(world, request_id, ENERGY))
    assert credits(world) == (CLOSE_REFUND, PAYMENT)


def test_finalize_still_works_while_paused(world: World) -> None:
    request_id = awarded(world)
    world.buyer.system.market.confirm_delivery(request_id, 6_000)
    after_grace(world, request_id)
    world.market.pause()
    world.outsider.system.market.finalize(request_id)
    assert credits(world) == (CLOSE_REFUND + 4_000 * PRICE, 6_000 * PRICE)


def test_reclaim_still_works_while_paused(world: World) -> None:
    request_id = awarded(world)
    world.to(reclaim_from(world, request_id))
    world.market.pause()
    world.buyer.system.market.reclaim(request_id)
    assert credits(world) == (CLOSE_REFUND + PAYMENT, -PENALTY)


def test_withdraw_still_works_while_paused(world: World) -> None:
    awarded(world)
    world.market.pause()
    assert world.buyer.system.market.withdraw() == CLOSE_REFUND


def test_a_seller_withdraws_its_whole_deposit_while_paused(world: World) -> None:
    world.market.pause()
    seller = world.sellers[0]
    wallet = world.system.token.balance_of(seller.address)
    seller.system.market.withdraw(STAKE)
    assert world.system.token.balance_of(seller.address) == wallet + STAKE


def test_cancel_nonces_still_works_while_paused(world: World) -> None:
    world.market.pause()
    world.sellers[0].system.market.cancel_nonces(3)
    assert world.market.nonce_floor(world.sellers[0].address) == 3


# ---------------------------------------------------------------- the owner cannot move others' money


def test_owner_withdraw_reverts_with_InsufficientFreeBalance_while_others_have_balances(world: World) -> None:
    awarded(world)
    admin = world.system.deployment.admin
    assert world.market.free_of(world.buyer.address) == CLOSE_REFUND
    before = world.ledger()
    with reverts("InsufficientFreeBalance", account=admin, free=0, needed=STAKE):
        world.market.withdraw(STAKE)
    assert world.ledger() == before


def test_the_sink_is_nobodys_the_owner_cannot_withdraw_forfeited_penalties(world: World) -> None:
    request_id = awarded(world)
    after_grace(world, request_id)
    world.buyer.system.market.reclaim(request_id)
    admin = world.system.deployment.admin
    with reverts("InsufficientFreeBalance", account=admin, free=0, needed=PENALTY):
        world.market.withdraw(PENALTY)
    assert world.market.sunk() == PENALTY


def test_owner_confirm_on_others_trade_reverts_with_NotBuyer(world: World) -> None:
    request_id = awarded(world)
    before = world.ledger()
    with reverts("NotBuyer", caller=world.system.deployment.admin, buyer=world.buyer.address):
        world.market.confirm_delivery(request_id, 0)
    assert world.ledger() == before


def test_owner_claim_on_others_trade_reverts_with_NotSeller(world: World) -> None:
    request_id = awarded(world)
    at_delivery_start(world, request_id)
    before = world.ledger()
    with reverts("NotSeller", caller=world.system.deployment.admin, seller=world.sellers[0].address):
        world.market.claim_with_receipt(request_id, ENERGY, receipt(world, request_id, ENERGY))
    assert world.ledger() == before


def test_owner_reclaim_on_others_trade_pays_the_owner_nothing(world: World) -> None:
    request_id = awarded(world)
    world.to(reclaim_from(world, request_id))
    admin = world.system.deployment.admin
    wallet = world.system.token.balance_of(admin)
    world.market.reclaim(request_id)
    assert world.market.account(admin).total == 0
    assert world.system.token.balance_of(admin) == wallet
    assert credits(world) == (CLOSE_REFUND + PAYMENT, -PENALTY)
