"""Per-trade delivery: confirm, claim with a receipt, finalize a partial confirmation, reclaim; each once, by the
right party, at the right time, proven against the clearing's trade root."""

from __future__ import annotations

import pytest

from tests.support.desk import DEPOSIT, ENERGY, GRACE, PRICE, Desk
from v2vchain.protocol.clearing import Resolution

PAYMENT = ENERGY * PRICE


def penalty(desk: Desk) -> int:
    return desk.clearing.penalty_for(ENERGY, PRICE)


def test_the_buyer_confirming_in_full_pays_the_seller_and_unlocks_its_penalty(desk: Desk) -> None:
    p = desk.committed(1)
    buyer = desk.as_(desk.buyers[0])
    (closed,) = buyer.events(buyer.confirm_delivery(p, 0, ENERGY), "TradeClosed")
    assert (closed["args"]["how"], closed["args"]["toSeller"], closed["args"]["toBuyer"]) == (
        Resolution.CONFIRMED,
        PAYMENT,
        0,
    )
    seller = desk.clearing.account(desk.sellers[0].address)
    assert (seller.free, seller.locked) == (DEPOSIT + PAYMENT, 0)
    assert desk.free(desk.buyers[0]) == DEPOSIT - PAYMENT
    assert desk.clearing.escrowed() == 0


def test_only_the_buyer_confirms(desk: Desk) -> None:
    p = desk.committed(1)
    for who in (desk.sellers[0], desk.operator, desk.buyers[1]):
        with desk.reverts("NotBuyer", caller=who.address, buyer=desk.buyers[0].address):
            desk.as_(who).confirm_delivery(p, 0, ENERGY)


def test_a_confirmation_twice_is_refused(desk: Desk) -> None:
    p = desk.committed(1)
    desk.as_(desk.buyers[0]).confirm_delivery(p, 0, ENERGY)
    with desk.reverts("TradeNotOpen", clearingId=p.clearing_id, tradeIndex=0):
        desk.as_(desk.buyers[0]).confirm_delivery(p, 0, ENERGY)


def test_a_partial_confirmation_is_pending_and_cannot_be_repeated(desk: Desk) -> None:
    p = desk.committed(1)
    buyer = desk.as_(desk.buyers[0])
    (event,) = buyer.events(buyer.confirm_delivery(p, 0, 4_000), "DeliveryConfirmed")
    assert (event["args"]["deliveredWh"], event["args"]["finalFrom"]) == (4_000, p.trades[0].delivery_end_ts + GRACE)
    assert desk.clearing.confirmed_wh(p.clearing_id, 0) == 4_000 and desk.clearing.is_trade_open(p.clearing_id, 0)
    with desk.reverts("AlreadyConfirmed", confirmedWh=4_000):
        buyer.confirm_delivery(p, 0, 5_000)


@pytest.mark.parametrize(("offset", "settles"), [(-1, False), (0, True)])
def test_a_partial_confirmation_settles_at_once_from_the_end_of_grace(desk: Desk, offset: int, settles: bool) -> None:
    p = desk.committed(1)
    buyer = desk.as_(desk.buyers[0])
    desk.at(p.trades[0].delivery_end_ts + GRACE + offset, buyer, "confirmDelivery", *desk.trade_args(p, 0), 4_000)
    assert desk.clearing.is_trade_open(p.clearing_id, 0) is not settles
    if settles:
        assert desk.free(desk.sellers[0]) == DEPOSIT + 4_000 * PRICE
        assert desk.free(desk.buyers[0]) == DEPOSIT - 4_000 * PRICE


def test_a_wrong_proof_or_trade_is_refused(desk: Desk) -> None:
    p = desk.committed(2)
    buyer = desk.as_(desk.buyers[0])
    with desk.reverts("InvalidProof", clearingId=p.clearing_id, tradeIndex=0):
        buyer.confirm_delivery(p, 0, ENERGY, proof=[b"\x01" * 32])
    with desk.reverts("UnknownClearing", clearingId=p.clearing_id + 1):
        desk.at(
            desk.chain.now() + 1,
            buyer,
            "confirmDelivery",
            p.clearing_id + 1,
            0,
            p.trades[0].as_tuple(),
            p.trade_proof(0),
            ENERGY,
        )


@pytest.mark.parametrize(("offset", "ok"), [(-1, False), (0, True), (1, True)])
def test_the_seller_claims_with_the_buyers_receipt_from_delivery_start(desk: Desk, offset: int, ok: bool) -> None:
    p = desk.committed(1)
    seller = desk.as_(desk.sellers[0])
    receipt = desk.receipt(p, 0)
    start = p.trades[0].delivery_start_ts
    args = (*desk.trade_args(p, 0), ENERGY, receipt.signature)
    if ok:
        desk.at(start + offset, seller, "claimWithReceipt", *args)
        assert desk.free(desk.sellers[0]) == DEPOSIT + PAYMENT
    else:
        with desk.reverts("TooEarly", nowTs=start - 1, allowedFrom=start):
            desk.at(start + offset, seller, "claimWithReceipt", *args)


def test_only_the_seller_claims_and_only_with_the_buyers_signature(desk: Desk) -> None:
    p = desk.committed(1)
    desk.to(p.trades[0].delivery_start_ts)
    receipt = desk.receipt(p, 0)
    with desk.reverts("NotSeller", caller=desk.operator.address):
        desk.as_(desk.operator).claim_with_receipt(p, 0, ENERGY, receipt.signature)
    forged = desk.clearing.sign_receipt(
        desk.sellers[0].account, clearing_id=p.clearing_id, trade_index=0, delivered_wh=ENERGY
    )
    with desk.reverts("NotSignedByBuyer", signer=desk.sellers[0].address, buyer=desk.buyers[0].address):
        desk.as_(desk.sellers[0]).claim_with_receipt(p, 0, ENERGY, forged)
    with desk.reverts("NotSignedByBuyer", buyer=desk.buyers[0].address):  # signed for another figure
        desk.as_(desk.sellers[0]).claim_with_receipt(p, 0, ENERGY + 1, receipt.signature)
    desk.as_(desk.sellers[0]).claim_with_receipt(p, 0, ENERGY, receipt.signature)
    with desk.reverts("TradeNotOpen"):
        desk.as_(desk.sellers[0]).claim_with_receipt(p, 0, ENERGY, receipt.signature)


def test_a_receipt_binds_the_buyer_above_its_lower_confirmation(desk: Desk) -> None:
    p = desk.committed(1)
    desk.as_(desk.buyers[0]).confirm_delivery(p, 0, 2_000)
    desk.to(p.trades[0].delivery_start_ts)
    seller = desk.as_(desk.sellers[0])
    low = desk.receipt(p, 0, 2_000)
    with desk.reverts("ReceiptNotAboveConfirmation", deliveredWh=2_000, confirmedWh=2_000):
        seller.claim_with_receipt(p, 0, 2_000, low.signature)
    seller.claim_with_receipt(p, 0, 9_000, desk.receipt(p, 0, 9_000).signature)
    assert desk.free(desk.sellers[0]) == DEPOSIT + 9_000 * PRICE
    assert desk.free(desk.buyers[0]) == DEPOSIT - 9_000 * PRICE
    assert desk.clearing.confirmed_wh(p.clearing_id, 0) == 0


@pytest.mark.parametrize(("offset", "ok"), [(-1, True), (0, False)])
def test_a_receipt_above_a_pending_confirmation_is_late_from_the_end_of_grace(
    desk: Desk, offset: int, ok: bool
) -> None:
    p = desk.committed(1)
    desk.as_(desk.buyers[0]).confirm_delivery(p, 0, 2_000)
    deadline = p.trades[0].delivery_end_ts + GRACE
    args = (*desk.trade_args(p, 0), 9_000, desk.receipt(p, 0, 9_000).signature)
    if ok:
        desk.at(deadline + offset, desk.as_(desk.sellers[0]), "claimWithReceipt", *args)
    else:
        with desk.reverts("TooLate", nowTs=deadline, deadline=deadline):
            desk.at(deadline + offset, desk.as_(desk.sellers[0]), "claimWithReceipt", *args)


@pytest.mark.parametrize(("offset", "ok"), [(-1, False), (0, True), (1, True)])
def test_anyone_finalizes_a_pending_confirmation_from_the_end_of_grace(desk: Desk, offset: int, ok: bool) -> None:
    p = desk.committed(1)
    desk.as_(desk.buyers[0]).confirm_delivery(p, 0, 2_000)
    deadline = p.trades[0].delivery_end_ts + GRACE
    outsider = desk.as_(desk.outsider)
    if ok:
        r = desk.at(deadline + offset, outsider, "finalize", *desk.trade_args(p, 0))
        (closed,) = outsider.events(r, "TradeClosed")
        assert (closed["args"]["how"], closed["args"]["deliveredWh"]) == (Resolution.FINALIZED, 2_000)
        assert desk.free(desk.sellers[0]) == DEPOSIT + 2_000 * PRICE
        with desk.reverts("TradeNotOpen"):
            outsider.finalize(p, 0)
    else:
        with desk.reverts("TooEarly", nowTs=deadline - 1, allowedFrom=deadline):
            desk.at(deadline + offset, outsider, "finalize", *desk.trade_args(p, 0))


def test_finalize_needs_a_pending_confirmation(desk: Desk) -> None:
    p = desk.committed(1)
    desk.to(p.trades[0].delivery_end_ts + GRACE)
    with desk.reverts("NoPendingConfirmation", clearingId=p.clearing_id, tradeIndex=0):
        desk.as_(desk.outsider).finalize(p, 0)


@pytest.mark.parametrize(("offset", "ok"), [(-1, False), (0, True), (1, True)])
def test_anyone_reclaims_after_grace_the_payment_to_the_buyer_the_penalty_to_the_sink(
    desk: Desk, offset: int, ok: bool
) -> None:
    p = desk.committed(1)
    deadline = p.trades[0].delivery_end_ts + GRACE
    outsider = desk.as_(desk.outsider)
    if not ok:
        with desk.reverts("TooEarly", nowTs=deadline - 1, allowedFrom=deadline):
            desk.at(deadline + offset, outsider, "reclaim", *desk.trade_args(p, 0))
        return
    desk.at(deadline + offset, outsider, "reclaim", *desk.trade_args(p, 0))
    assert desk.free(desk.buyers[0]) == DEPOSIT  # its payment back, and not one token more
    seller = desk.clearing.account(desk.sellers[0].address)
    assert (seller.free, seller.locked) == (DEPOSIT - penalty(desk), 0)
    assert desk.clearing.sunk() == penalty(desk)
    assert desk.free(desk.outsider) == 0
    with desk.reverts("TradeNotOpen"):
        outsider.reclaim(p, 0)


def test_a_pending_confirmation_cannot_be_reclaimed(desk: Desk) -> None:
    p = desk.committed(1)
    desk.as_(desk.buyers[0]).confirm_delivery(p, 0, 0)
    desk.to(p.trades[0].delivery_end_ts + GRACE)
    with desk.reverts("ConfirmationPending", confirmedWh=0):
        desk.as_(desk.buyers[0]).reclaim(p, 0)
    desk.as_(desk.buyers[0]).finalize(p, 0)  # zero delivered: payment back, the penalty back to the seller
    assert desk.free(desk.buyers[0]) == DEPOSIT
    assert desk.free(desk.sellers[0]) == DEPOSIT


def test_delivery_reclaim_and_withdraw_work_while_paused(desk: Desk) -> None:
    p = desk.committed(2)
    desk.admin.pause()
    desk.as_(desk.buyers[0]).confirm_delivery(p, 0, ENERGY)
    desk.to(p.trades[1].delivery_end_ts + GRACE)
    desk.as_(desk.outsider).reclaim(p, 1)
    desk.as_(desk.sellers[0]).withdraw(DEPOSIT + PAYMENT)
    assert desk.free(desk.sellers[0]) == 0
