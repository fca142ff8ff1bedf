"""settleReceipts: many trades settled in one call with buyer-signed receipts, by anyone; a short receipt only by
the trade's seller; closed trades skipped; the whole trade list must hash to the root."""

from __future__ import annotations

import dataclasses

from tests.support.desk import BUY, DEPOSIT, ENERGY, PRICE, SELL, Desk
from v2vchain.protocol.clearing import Receipt, Resolution, TradeInput

PAYMENT = ENERGY * PRICE


def test_the_operator_settles_every_trade_with_full_receipts(desk: Desk) -> None:
    p = desk.committed(3)
    desk.to(p.trades[0].delivery_start_ts)
    op = desk.as_(desk.operator)
    r = op.settle_receipts(p, [desk.receipt(p, i) for i in range(3)])
    closed = op.events(r, "TradeClosed")
    assert [(e["args"]["tradeIndex"], e["args"]["how"]) for e in closed] == [(i, Resolution.RECEIPT) for i in range(3)]
    assert all(desk.free(s) == DEPOSIT + PAYMENT for s in desk.sellers)
    assert desk.clearing.escrowed() == 0


def test_a_short_receipt_is_accepted_only_from_the_trades_seller(desk: Desk) -> None:
    """Rule: otherwise anyone could settle with a lower receipt the buyer signed earlier during delivery."""
    p = desk.committed(1)
    desk.to(p.trades[0].delivery_start_ts)
    short = desk.receipt(p, 0, 3_000)
    for who in (desk.operator, desk.outsider, desk.buyers[0]):
        with desk.reverts("ShortReceiptNotFromSeller", tradeIndex=0, deliveredWh=3_000, energyWh=ENERGY):
            desk.as_(who).settle_receipts(p, [short])
    desk.as_(desk.sellers[0]).settle_receipts(p, [short])
    assert desk.free(desk.sellers[0]) == DEPOSIT + 3_000 * PRICE
    assert desk.free(desk.buyers[0]) == DEPOSIT - 3_000 * PRICE


def test_a_trade_already_closed_or_listed_twice_is_skipped_not_paid_twice(desk: Desk) -> None:
    p = desk.committed(2)
    desk.as_(desk.buyers[0]).confirm_delivery(p, 0, ENERGY)
    desk.to(p.trades[0].delivery_start_ts)
    op = desk.as_(desk.operator)
    r = op.settle_receipts(p, [desk.receipt(p, 0), desk.receipt(p, 1), desk.receipt(p, 1)])
    assert [e["args"]["tradeIndex"] for e in op.events(r, "TradeClosed")] == [1]
    assert desk.free(desk.sellers[1]) == DEPOSIT + PAYMENT
    r = op.settle_receipts(p, [desk.receipt(p, 1)])  # twice: nothing left to do
    assert op.events(r, "TradeClosed") == []


def test_a_receipt_not_signed_by_the_buyer_is_refused(desk: Desk) -> None:
    p = desk.committed(1)
    desk.to(p.trades[0].delivery_start_ts)
    forged = Receipt(
        0,
        ENERGY,
        desk.clearing.sign_receipt(
            desk.operator.account, clearing_id=p.clearing_id, trade_index=0, delivered_wh=ENERGY
        ),
    )
    with desk.reverts("NotSignedByBuyer", signer=desk.operator.address, buyer=desk.buyers[0].address):
        desk.as_(desk.operator).settle_receipts(p, [forged])


def test_receipts_before_delivery_start_are_refused(desk: Desk) -> None:
    p = desk.committed(1)
    with desk.reverts("TooEarly", allowedFrom=p.trades[0].delivery_start_ts):
        desk.as_(desk.operator).settle_receipts(p, [desk.receipt(p, 0)])


def test_the_trade_list_must_be_the_whole_committed_one(desk: Desk) -> None:
    p = desk.committed(2)
    desk.to(p.trades[0].delivery_start_ts)
    op = desk.as_(desk.operator)
    with desk.reverts("TradesRootMismatch", expected=p.trades_root):
        op.settle_receipts(p, [desk.receipt(p, 0)], trades=p.trades[:1])
    cheaper = [dataclasses.replace(p.trades[0], price_per_wh=1), p.trades[1]]
    with desk.reverts("TradesRootMismatch", expected=p.trades_root):
        op.settle_receipts(p, [desk.receipt(p, 0)], trades=cheaper)
    with desk.reverts("TradeIndexOutOfRange", tradeIndex=2, tradeCount=2):
        op.settle_receipts(p, [Receipt(2, ENERGY, b"")])


def test_a_pending_confirmation_is_overridden_only_by_a_higher_receipt(desk: Desk) -> None:
    p = desk.committed(2)
    desk.as_(desk.buyers[0]).confirm_delivery(p, 0, 5_000)
    desk.as_(desk.buyers[1]).confirm_delivery(p, 1, 5_000)
    desk.to(p.trades[0].delivery_start_ts)
    seller0 = desk.as_(desk.sellers[0])
    r = seller0.settle_receipts(p, [desk.receipt(p, 0, 5_000)])  # not above: skipped
    assert seller0.events(r, "TradeClosed") == []
    desk.as_(desk.operator).settle_receipts(p, [desk.receipt(p, 1)])
    assert desk.free(desk.sellers[1]) == DEPOSIT + PAYMENT


def test_the_operators_spread_is_credited_once_for_the_batch(desk: Desk) -> None:
    orders = [desk.sign(desk.buyers[i], desk.order(desk.buyers[i], BUY, limit=150)) for i in range(2)]
    orders += [desk.sign(desk.sellers[i], desk.order(desk.sellers[i], SELL, limit=50)) for i in range(2)]
    orders += [
        desk.sign(desk.buyers[2], desk.order(desk.buyers[2], BUY, limit=120)),
        desk.sign(desk.sellers[2], desk.order(desk.sellers[2], SELL, limit=70)),
    ]
    trades = [TradeInput(0, 2, ENERGY, 120, 70), TradeInput(1, 3, ENERGY, 120, 70)]
    p = desk.commit(orders, trades, mechanism_id=2, marginal=(4, 5))
    desk.to(p.trades[0].delivery_start_ts)
    desk.as_(desk.outsider).settle_receipts(p, [desk.receipt(p, 0), desk.receipt(p, 1)])
    assert desk.free(desk.operator) == 2 * ENERGY * (120 - 70)
    assert all(desk.free(desk.sellers[i]) == DEPOSIT + ENERGY * 70 for i in range(2))
