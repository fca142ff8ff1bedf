"""Tokens are neither created nor lost: after every step of a life with two clearings (one challenged, one settled
and delivered every way), the Clearing holds exactly free + locked + bonds + escrow, and the supply is unchanged;
and a mechanism's output commits and settles as is."""
from __future__ import annotations

from eth_account import Account

from tests.clearing.conftest import ENERGY, PARAMS, Desk
from v2vchain.contracts.clearing import MECHANISM_IDS, ClearingStatus, SignedOrder, params_hash, trade_inputs
from v2vchain.matching import ClearingParams, Order, Side, double_auction


def test_tokens_are_conserved_through_commit_challenge_settle_delivery_and_withdrawal(desk: Desk) -> None:
    token = desk.system.token
    supply = token.total_supply()
    everything = sum(token.balance_of(v.address) for v in desk.everyone) + token.balance_of(desk.clearing.address)

    def check() -> None:
        desk.assert_books_balance()
        assert token.total_supply() == supply
        assert sum(token.balance_of(v.address) for v in desk.everyone) + token.balance_of(desk.clearing.address) \
            == everything

    orders, trades = desk.pairs(1)
    orders[0] = SignedOrder(orders[0].order, desk.clearing.sign_order(Account.create(), orders[0].order).signature)
    bad = desk.commit(orders, trades)
    check()
    desk.as_(desk.outsider).challenge(bad, 0)
    check()
    good = desk.settled(3, nonce=1)
    check()
    desk.as_(desk.buyers[0]).confirm_delivery(good, 0, ENERGY // 3)
    check()
    desk.to(good.trades[1].delivery_start_ts)
    receipt = desk.clearing.sign_receipt(desk.buyers[1].account, clearing_id=good.clearing_id, trade_index=1,
                                         delivered_wh=ENERGY)
    desk.as_(desk.sellers[1]).claim_with_receipt(good, 1, ENERGY, receipt)
    check()
    desk.to(good.trades[2].delivery_end_ts + PARAMS.grace_period_s)
    desk.as_(desk.buyers[2]).reclaim(good, 2)
    check()
    assert desk.clearing.escrowed() == 0
    for vehicle in desk.everyone:
        free = desk.clearing.account(vehicle.address).free
        if free:
            desk.as_(vehicle).withdraw(free)
        bond = desk.clearing.bond(vehicle.address).free
        if bond:
            desk.as_(vehicle).withdraw_bond(bond)
        check()
    assert desk.system.token.balance_of(desk.clearing.address) == 0


def test_a_double_auctions_trades_commit_and_settle_as_they_are(desk: Desk) -> None:
    """From v2vchain.matching: orders signed, cleared by the k-double auction, committed, settled, all opened."""
    start = desk.chain.now() + 3_600
    book = []
    for i, (vehicle, side, limit) in enumerate([(desk.buyers[0], Side.BUY, 140), (desk.buyers[1], Side.BUY, 120),
                                                (desk.sellers[0], Side.SELL, 60), (desk.sellers[1], Side.SELL, 80)]):
        book.append((vehicle, Order(owner=vehicle.address, side=side, energy_wh=8_000, limit_price_per_wh=limit,
                                    area_id="u33db", area_lat=52.52, area_lon=13.40, window_start_ts=start,
                                    window_end_ts=start + 3_600, nonce=i, expiry_ts=start)))
    params = ClearingParams()
    result = double_auction([order for _, order in book], params)
    assert result.trades
    signed = [desk.clearing.sign_order(vehicle.account, order) for vehicle, order in book]
    prepared = desk.prepare(signed, trade_inputs(signed, result.trades),
                            mechanism_id=MECHANISM_IDS["double-auction-k"], params_hash=params_hash(params))
    desk.as_(desk.operator).commit(prepared)
    desk.after_window(prepared)
    receipt = desk.clearing.settle(prepared)
    assert desk.clearing.clearing(prepared.clearing_id).status == ClearingStatus.SETTLED
    assert desk.clearing.events(receipt, "ClearingSettled")[0]["args"]["openedTrades"] == len(result.trades)
    assert desk.clearing.escrowed() == result.buyers_paid
