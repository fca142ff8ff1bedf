"""settle: after the challenge window, the whole trade list re-hashed to the committed root and escrowed in batch;
a trade whose order is spent or whose deposit or cover is short is skipped, never half-settled."""
from __future__ import annotations

import dataclasses

from tests.clearing.conftest import BUY, DEPOSIT, ENERGY, PARAMS, PRICE, SELL, Desk
from v2vchain.contracts.clearing import ClearingStatus, Shortfall, TradeInput

PAYMENT = ENERGY * PRICE
PENALTY = PAYMENT * PARAMS.penalty_bps // 10_000


def _unfunded(desk: Desk, receipt: dict) -> list[tuple[int, Shortfall]]:
    return [(e["args"]["tradeIndex"], Shortfall(e["args"]["reason"]))
            for e in desk.clearing.events(receipt, "TradeUnfunded")]


def test_batch_settle_escrows_each_payment_and_locks_each_sellers_penalty(desk: Desk) -> None:
    prepared = desk.commit(*desk.pairs(3))
    desk.after_window(prepared)
    receipt = desk.as_(desk.outsider).settle(prepared)
    assert desk.clearing.clearing(prepared.clearing_id).status == ClearingStatus.SETTLED
    assert desk.clearing.events(receipt, "ClearingSettled")[0]["args"]["openedTrades"] == 3
    for i in range(3):
        assert desk.clearing.is_trade_open(prepared.clearing_id, i)
        assert desk.clearing.account(desk.buyers[i].address).free == DEPOSIT - PAYMENT
        seller = desk.clearing.account(desk.sellers[i].address)
        assert (seller.free, seller.locked) == (DEPOSIT - PENALTY, PENALTY)
    assert desk.clearing.escrowed() == 3 * PAYMENT
    assert desk.clearing.bond(desk.operator.address).locked == 0
    desk.assert_books_balance()


def test_settling_raises_each_traders_nonce_floor_past_its_order(desk: Desk) -> None:
    desk.settled(1, nonce=7)
    assert desk.clearing.account(desk.buyers[0].address).nonce_floor == 8
    assert desk.clearing.account(desk.sellers[0].address).nonce_floor == 8


def test_settling_one_second_before_the_window_ends_reverts_with_ChallengeWindowOpen(desk: Desk) -> None:
    prepared = desk.commit(*desk.pairs(1))
    deadline = desk.clearing.clearing(prepared.clearing_id).challenge_deadline_ts
    desk.chain.set_next_timestamp(deadline - 1)
    with desk.reverts("ChallengeWindowOpen", clearingId=prepared.clearing_id, deadline=deadline):
        desk.clearing.settle(prepared)


def test_settling_at_the_end_of_the_window_succeeds(desk: Desk) -> None:
    prepared = desk.commit(*desk.pairs(1))
    deadline = desk.clearing.clearing(prepared.clearing_id).challenge_deadline_ts
    desk.at(deadline, desk.clearing, "settle", prepared.clearing_id, [t.as_tuple() for t in prepared.trades])
    assert desk.clearing.clearing(prepared.clearing_id).status == ClearingStatus.SETTLED


def test_settling_twice_reverts_with_WrongClearingStatus(desk: Desk) -> None:
    prepared = desk.settled(2)
    with desk.reverts("WrongClearingStatus", clearingId=prepared.clearing_id, status=ClearingStatus.SETTLED,
                      required=ClearingStatus.COMMITTED):
        desk.clearing.settle(prepared)


def test_a_tampered_trade_list_reverts_with_TradesRootMismatch(desk: Desk) -> None:
    prepared = desk.commit(*desk.pairs(2))
    desk.after_window(prepared)
    cheaper = [dataclasses.replace(prepared.trades[0], price_per_wh=1), prepared.trades[1]]
    with desk.reverts("TradesRootMismatch", expected=prepared.trades_root):
        desk.clearing.settle(prepared, cheaper)


def test_a_trade_list_missing_a_trade_reverts_with_TradeCountMismatch(desk: Desk) -> None:
    prepared = desk.commit(*desk.pairs(2))
    desk.after_window(prepared)
    with desk.reverts("TradeCountMismatch", committed=2, given=1):
        desk.clearing.settle(prepared, prepared.trades[:1])


def test_settling_an_unknown_clearing_reverts_with_UnknownClearing(desk: Desk) -> None:
    prepared = desk.prepare(*desk.pairs(1))
    with desk.reverts("UnknownClearing", clearingId=prepared.clearing_id):
        desk.clearing.settle(prepared)


def test_a_buyer_whose_deposit_no_longer_covers_its_trade_is_skipped_untouched(desk: Desk) -> None:
    prepared = desk.commit(*desk.pairs(2))
    desk.as_(desk.buyers[0]).withdraw(DEPOSIT - PAYMENT + 1)
    desk.after_window(prepared)
    receipt = desk.clearing.settle(prepared)
    assert _unfunded(desk, receipt) == [(0, Shortfall.BUYER_DEPOSIT)]
    assert not desk.clearing.is_trade_open(prepared.clearing_id, 0)
    assert desk.clearing.is_trade_open(prepared.clearing_id, 1)
    assert desk.clearing.account(desk.buyers[0].address).free == PAYMENT - 1
    assert desk.clearing.account(desk.sellers[0].address).locked == 0
    assert desk.clearing.escrowed() == PAYMENT
    desk.assert_books_balance()


def test_a_seller_without_penalty_cover_is_skipped_untouched(desk: Desk) -> None:
    prepared = desk.commit(*desk.pairs(1))
    desk.as_(desk.sellers[0]).withdraw(DEPOSIT - PENALTY + 1)
    desk.after_window(prepared)
    receipt = desk.clearing.settle(prepared)
    assert _unfunded(desk, receipt) == [(0, Shortfall.SELLER_COVER)]
    assert desk.clearing.account(desk.buyers[0].address).free == DEPOSIT


def test_a_trade_settled_after_its_delivery_window_ended_is_skipped(desk: Desk) -> None:
    """Opening it could only hand the buyer the seller's penalty at reclaim: nobody can deliver any more."""
    prepared = desk.commit(*desk.pairs(1))
    desk.to(prepared.trades[0].delivery_end_ts)
    receipt = desk.clearing.settle(prepared)
    assert _unfunded(desk, receipt) == [(0, Shortfall.DELIVERY_WINDOW_PASSED)]
    assert desk.clearing.account(desk.sellers[0].address).locked == 0


def test_an_order_already_used_by_a_settled_clearing_does_not_trade_again(desk: Desk) -> None:
    """The same signed orders committed in two clearings: the later one's trade finds them spent."""
    orders, trades = desk.pairs(1)
    first = desk.commit(orders, trades)
    second = desk.commit(orders, trades)
    desk.after_window(second)
    desk.clearing.settle(first)
    receipt = desk.clearing.settle(second)
    assert _unfunded(desk, receipt) == [(0, Shortfall.BUYER_ORDER_SPENT)]
    assert desk.clearing.account(desk.buyers[0].address).free == DEPOSIT - PAYMENT
    assert desk.clearing.escrowed() == PAYMENT


def test_orders_cancelled_before_settlement_do_not_trade(desk: Desk) -> None:
    prepared = desk.commit(*desk.pairs(1, nonce=3))
    desk.as_(desk.sellers[0]).cancel_orders(4)
    desk.after_window(prepared)
    receipt = desk.clearing.settle(prepared)
    assert _unfunded(desk, receipt) == [(0, Shortfall.SELLER_ORDER_SPENT)]


def test_one_order_filled_by_several_trades_settles_each_part(desk: Desk) -> None:
    b0, b1, s0 = desk.buyers[0], desk.buyers[1], desk.sellers[0]
    orders = [desk.sign(b0, desk.order(b0, BUY)), desk.sign(b1, desk.order(b1, BUY)),
              desk.sign(s0, desk.order(s0, SELL, energy_wh=10_000, nonce=2))]
    prepared = desk.commit(orders, [TradeInput(0, 2, 4_000, PRICE, PRICE), TradeInput(1, 2, 6_000, PRICE, PRICE)])
    desk.after_window(prepared)
    desk.clearing.settle(prepared)
    assert desk.clearing.is_trade_open(prepared.clearing_id, 0) and desk.clearing.is_trade_open(prepared.clearing_id, 1)
    assert desk.clearing.account(s0.address).locked == PENALTY
    assert desk.clearing.account(s0.address).nonce_floor == 3


def test_two_orders_of_one_owner_in_one_clearing_both_settle_whatever_their_nonce_order(desk: Desk) -> None:
    """Floors are checked as they stood before the clearing: the higher nonce trading first spends nothing else."""
    b0, s0, s1 = desk.buyers[0], desk.sellers[0], desk.sellers[1]
    orders = [desk.sign(b0, desk.order(b0, BUY, nonce=9)), desk.sign(b0, desk.order(b0, BUY, nonce=4)),
              desk.sign(s0, desk.order(s0, SELL)), desk.sign(s1, desk.order(s1, SELL))]
    prepared = desk.commit(orders, [TradeInput(0, 2, ENERGY, PRICE, PRICE), TradeInput(1, 3, ENERGY, PRICE, PRICE)])
    desk.after_window(prepared)
    receipt = desk.clearing.settle(prepared)
    assert _unfunded(desk, receipt) == []
    assert desk.clearing.account(b0.address).nonce_floor == 10
