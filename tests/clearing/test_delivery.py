"""After settlement each trade follows the Market's escrow rules, proven by its Merkle proof: the buyer confirms
(or the seller claims with the buyer's receipt), or after the window plus grace the buyer reclaims payment and
penalty; money is credited to pull balances and withdrawn."""
from __future__ import annotations

from tests.clearing.conftest import BUY, DEPOSIT, ENERGY, PARAMS, PRICE, SELL, Desk
from v2vchain.contracts.clearing import TradeInput

PAYMENT = ENERGY * PRICE
PENALTY = PAYMENT * PARAMS.penalty_bps // 10_000


def test_the_buyers_confirmation_pays_the_seller_who_withdraws_it(desk: Desk) -> None:
    prepared = desk.settled(2)
    seller = desk.sellers[1]
    desk.as_(desk.buyers[1]).confirm_delivery(prepared, 1, ENERGY)
    assert desk.clearing.account(seller.address).free == DEPOSIT + PAYMENT
    assert desk.clearing.account(seller.address).locked == 0
    wallet = desk.system.token.balance_of(seller.address)
    desk.as_(seller).withdraw(DEPOSIT + PAYMENT)
    assert desk.system.token.balance_of(seller.address) == wallet + DEPOSIT + PAYMENT
    assert desk.clearing.escrowed() == PAYMENT  # trade 0 is still open
    desk.assert_books_balance()


def test_a_partial_delivery_pays_pro_rata_and_refunds_the_rest(desk: Desk) -> None:
    prepared = desk.settled(1)
    desk.as_(desk.buyers[0]).confirm_delivery(prepared, 0, 4_000)
    assert desk.clearing.account(desk.sellers[0].address).free == DEPOSIT + 4_000 * PRICE
    assert desk.clearing.account(desk.buyers[0].address).free == DEPOSIT - 4_000 * PRICE


def test_confirming_a_trade_twice_reverts_with_TradeNotOpen(desk: Desk) -> None:
    prepared = desk.settled(1)
    buyer = desk.as_(desk.buyers[0])
    buyer.confirm_delivery(prepared, 0, ENERGY)
    with desk.reverts("TradeNotOpen", clearingId=prepared.clearing_id, tradeIndex=0):
        buyer.confirm_delivery(prepared, 0, ENERGY)


def test_a_claim_with_a_forged_merkle_proof_reverts_with_InvalidProof(desk: Desk) -> None:
    prepared = desk.settled(2)
    with desk.reverts("InvalidProof", clearingId=prepared.clearing_id, index=0):
        desk.as_(desk.buyers[0]).confirm_delivery(prepared, 0, ENERGY, proof=[b"\x01" * 32])


def test_a_proof_of_one_trade_does_not_open_another_index(desk: Desk) -> None:
    prepared = desk.settled(2)
    with desk.reverts("InvalidProof", index=1):
        desk.as_(desk.buyers[0]).confirm_delivery(prepared, 1, ENERGY, proof=prepared.trade_proof(0))


def test_only_the_buyer_confirms_delivery(desk: Desk) -> None:
    prepared = desk.settled(1)
    with desk.reverts("NotBuyer", caller=desk.sellers[0].address, buyer=desk.buyers[0].address):
        desk.as_(desk.sellers[0]).confirm_delivery(prepared, 0, ENERGY)


def test_the_seller_claims_with_the_buyers_signed_receipt(desk: Desk) -> None:
    prepared = desk.settled(1)
    desk.to(prepared.trades[0].delivery_start_ts)
    receipt = desk.clearing.sign_receipt(desk.buyers[0].account, clearing_id=prepared.clearing_id, trade_index=0,
                                         delivered_wh=ENERGY)
    desk.as_(desk.sellers[0]).claim_with_receipt(prepared, 0, ENERGY, receipt)
    assert desk.clearing.account(desk.sellers[0].address).free == DEPOSIT + PAYMENT
    assert not desk.clearing.is_trade_open(prepared.clearing_id, 0)


def test_a_receipt_signed_by_someone_else_reverts_with_NotSignedByBuyer(desk: Desk) -> None:
    prepared = desk.settled(1)
    desk.to(prepared.trades[0].delivery_start_ts)
    receipt = desk.clearing.sign_receipt(desk.sellers[0].account, clearing_id=prepared.clearing_id, trade_index=0,
                                         delivered_wh=ENERGY)
    with desk.reverts("NotSignedByBuyer", signer=desk.sellers[0].address, buyer=desk.buyers[0].address):
        desk.as_(desk.sellers[0]).claim_with_receipt(prepared, 0, ENERGY, receipt)


def test_reclaiming_before_the_window_end_plus_grace_reverts_with_TooEarly(desk: Desk) -> None:
    prepared = desk.settled(1)
    allowed = prepared.trades[0].delivery_end_ts + PARAMS.grace_period_s
    desk.chain.set_next_timestamp(allowed - 1)
    with desk.reverts("TooEarly", allowedFrom=allowed):
        desk.as_(desk.buyers[0]).reclaim(prepared, 0)


def test_the_buyer_reclaims_payment_and_the_sellers_penalty_after_the_window_and_grace(desk: Desk) -> None:
    prepared = desk.settled(1)
    desk.at(prepared.trades[0].delivery_end_ts + PARAMS.grace_period_s, desk.as_(desk.buyers[0]), "reclaim",
            prepared.clearing_id, 0, prepared.trades[0].as_tuple(), prepared.trade_proof(0))
    assert desk.clearing.account(desk.buyers[0].address).free == DEPOSIT + PENALTY
    seller = desk.clearing.account(desk.sellers[0].address)
    assert (seller.free, seller.locked) == (DEPOSIT - PENALTY, 0)
    assert desk.clearing.escrowed() == 0
    desk.assert_books_balance()


def test_trade_reductions_spread_on_delivered_energy_goes_to_the_operator(desk: Desk) -> None:
    b, s = desk.buyers[0], desk.sellers[0]
    orders = [desk.sign(b, desk.order(b, BUY)), desk.sign(s, desk.order(s, SELL))]
    prepared = desk.commit(orders, [TradeInput(0, 1, ENERGY, 120, 80)])
    desk.after_window(prepared)
    desk.clearing.settle(prepared)
    desk.as_(b).confirm_delivery(prepared, 0, ENERGY)
    assert desk.clearing.account(desk.operator.address).free == ENERGY * 40
    assert desk.clearing.account(s.address).free == DEPOSIT + ENERGY * 80
    assert desk.clearing.account(b.address).free == DEPOSIT - ENERGY * 120
    desk.assert_books_balance()


def test_withdrawing_more_than_the_free_balance_reverts_with_InsufficientFreeBalance(desk: Desk) -> None:
    desk.settled(1)
    buyer = desk.buyers[0]
    with desk.reverts("InsufficientFreeBalance", account=buyer.address, free=DEPOSIT - PAYMENT, needed=DEPOSIT):
        desk.as_(buyer).withdraw(DEPOSIT)


def test_a_deposit_by_an_unregistered_key_reverts_with_NotRegistered(desk: Desk) -> None:
    with desk.reverts("NotRegistered", vehicle=desk.outsider.address):
        desk.as_(desk.outsider).deposit(1)
