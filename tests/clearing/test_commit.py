"""commitClearing: who may commit, every signature and rule checked, the money moved in the same transaction."""

from __future__ import annotations

import dataclasses

import pytest
from eth_account import Account as Keys

from tests.support.desk import BUY, DEPOSIT, ENERGY, PRICE, SELL, Desk
from v2vchain.audit.clearing_audit import matching_order
from v2vchain.contracts.vault import VaultAccount as Account
from v2vchain.errors import InvalidInput
from v2vchain.matching import ClearingParams, columnar
from v2vchain.protocol.clearing import Shortfall, TradeInput
from v2vchain.protocol.orders import SignedOrder

HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
SECP_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def test_a_commit_escrows_each_buyers_payment_and_locks_each_sellers_penalty(desk: Desk) -> None:
    prepared = desk.committed(2)
    c = desk.clearing
    payment, penalty = ENERGY * PRICE, c.penalty_for(ENERGY, PRICE)
    for i in range(2):
        assert c.account(desk.buyers[i].address) == Account(DEPOSIT - payment, 0, 1)
        seller = c.account(desk.sellers[i].address)
        assert (seller.free, seller.locked, seller.nonce_floor) == (DEPOSIT - penalty, penalty, 1)
        assert c.is_trade_open(prepared.clearing_id, i)
    assert c.escrowed() == 2 * payment
    assert c.trades_root(prepared.clearing_id) == prepared.trades_root


def test_the_commit_event_carries_operator_mechanism_roots_counts_and_commitment(desk: Desk) -> None:
    op = desk.as_(desk.operator)
    prepared = desk.prepare(*desk.pairs(2))
    (event,) = op.events(op.commit(prepared), "ClearingCommitted")
    a = event["args"]
    assert (a["clearingId"], a["operator"], a["mechanismId"]) == (prepared.clearing_id, desk.operator.address, 1)
    assert (bytes(a["tradesRoot"]), bytes(a["orderSetHash"])) == (prepared.trades_root, prepared.order_set_hash)
    assert (a["tradeCount"], a["orderCount"], a["openedTrades"], a["escrowedAmount"]) == (2, 4, 2, 2 * ENERGY * PRICE)
    assert bytes(a["commitment"]) == prepared.commitment()


def test_an_unregistered_operator_cannot_commit(desk: Desk) -> None:
    prepared = desk.prepare(*desk.pairs(1), operator=desk.outsider)
    with desk.reverts("NotRegistered", vehicle=desk.outsider.address):
        desk.as_(desk.outsider).commit(prepared)


def test_a_paused_clearing_refuses_commits_and_unpaused_accepts_them(desk: Desk) -> None:
    prepared = desk.prepare(*desk.pairs(1))
    desk.admin.pause()
    with desk.reverts("EnforcedPause"):
        desk.as_(desk.operator).commit(prepared)
    desk.admin.unpause()
    desk.as_(desk.operator).commit(prepared)


def test_only_the_owner_pauses(desk: Desk) -> None:
    with desk.reverts("OwnableUnauthorizedAccount", account=desk.operator.address):
        desk.as_(desk.operator).pause()


def test_the_same_commit_twice_is_refused_by_its_spent_id(desk: Desk) -> None:
    prepared = desk.committed(1)
    with desk.reverts("WrongClearingId", given=prepared.clearing_id, expected=prepared.clearing_id + 1):
        desk.as_(desk.operator).commit(prepared)


def test_ids_are_the_operators_address_and_its_own_sequence(desk: Desk) -> None:
    first = desk.committed(1)
    second = desk.commit(*desk.pairs(1, nonce=1))
    assert first.clearing_id == int(desk.operator.address, 16) << 96
    assert second.clearing_id == first.clearing_id + 1
    assert desk.clearing.next_clearing_id(desk.operator.address) == first.clearing_id + 2


def test_orders_out_of_order_are_refused_with_OrdersNotSorted(desk: Desk) -> None:
    """The orders listed by (owner, nonce) descending: whatever the desk's random addresses, index 1 is the first
    out of order."""
    orders, trades = desk.pairs(2)
    descending = sorted(orders, key=lambda o: (int(o.order.owner, 16), o.order.nonce), reverse=True)
    at = {o.order.key: i for i, o in enumerate(descending)}
    moved = [
        dataclasses.replace(
            t, buyer_order=at[orders[t.buyer_order].order.key], seller_order=at[orders[t.seller_order].order.key]
        )
        for t in trades
    ]
    prepared = desk.prepare(descending, moved, sort_orders=False)
    with desk.reverts("OrdersNotSorted", orderIndex=1):
        desk.as_(desk.operator).commit(prepared)


def test_the_client_refuses_an_order_listed_twice(desk: Desk) -> None:
    orders, trades = desk.pairs(1)
    with pytest.raises(InvalidInput, match="listed once"):
        desk.prepare([*orders, orders[0]], trades)


def _forged(desk: Desk, signed: SignedOrder) -> SignedOrder:
    return SignedOrder(signed.order, desk.clearing.sign_order(Keys.create(), signed.order).signature)


def test_an_order_signed_by_anyone_but_its_owner_is_refused(desk: Desk) -> None:
    orders, trades = desk.pairs(1)
    orders[1] = _forged(desk, orders[1])
    prepared = desk.prepare(orders, trades)
    k = next(k for k, o in enumerate(prepared.orders) if o.order.side == SELL)
    with desk.reverts("InvalidOrderSignature", orderIndex=k, owner=desk.sellers[0].address):
        desk.as_(desk.operator).commit(prepared)


def test_a_high_s_twin_of_a_valid_signature_is_refused(desk: Desk) -> None:
    orders, trades = desk.pairs(1)
    sig = orders[0].signature
    s = int.from_bytes(sig[32:64], "big")
    assert s <= HALF_N
    twin = sig[:32] + (SECP_N - s).to_bytes(32, "big") + bytes([55 - sig[64]])  # same signer, malleated
    orders[0] = SignedOrder(orders[0].order, twin)
    prepared = desk.prepare(orders, trades)
    k = next(k for k, o in enumerate(prepared.orders) if o.order.side == BUY)
    with desk.reverts("InvalidOrderSignature", orderIndex=k, signer="0x" + "00" * 20):
        desk.as_(desk.operator).commit(prepared)


def test_a_signature_with_v_other_than_27_or_28_is_refused(desk: Desk) -> None:
    orders, trades = desk.pairs(1)
    orders[0] = SignedOrder(orders[0].order, orders[0].signature[:64] + bytes([orders[0].signature[64] - 27]))
    prepared = desk.prepare(orders, trades)
    with desk.reverts("InvalidOrderSignature"):
        desk.as_(desk.operator).commit(prepared)


def test_a_non_trading_order_is_signature_checked_too(desk: Desk) -> None:
    orders, trades = desk.pairs(1)
    extra = _forged(desk, desk.sign(desk.buyers[2], desk.order(desk.buyers[2], BUY)))
    prepared = desk.prepare([*orders, extra], trades)
    with desk.reverts("InvalidOrderSignature", owner=desk.buyers[2].address):
        desk.as_(desk.operator).commit(prepared)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (dict(buyer_order=1, seller_order=0), "WrongSide"),
        (dict(energy_wh=0), "ZeroTrade"),
        (dict(price_per_wh=151, seller_price_per_wh=151), "PriceAboveBuyerLimit"),
        (dict(price_per_wh=49, seller_price_per_wh=49), "PriceBelowSellerLimit"),
        (dict(energy_wh=ENERGY + 1), "OrderOverfilled"),
    ],
)
def test_a_trade_breaking_a_rule_is_refused_by_name(desk: Desk, change: dict, error: str) -> None:
    orders, trades = desk.pairs(1)
    bad = dataclasses.replace(trades[0], **change)
    with desk.reverts(error, tradeIndex=0):
        desk.commit(orders, [bad])


def test_an_order_index_outside_the_list_is_refused(desk: Desk) -> None:
    orders, trades = desk.pairs(1)
    prepared = desk.prepare(orders, trades)
    bent = dataclasses.replace(prepared, inputs=(dataclasses.replace(prepared.inputs[0], buyer_order=5),))
    with desk.reverts("OrderIndexOutOfRange", tradeIndex=0, orderIndex=5, orderCount=2):
        desk.as_(desk.operator).commit(bent)


def test_a_self_trade_is_refused(desk: Desk) -> None:
    v = desk.operator  # both roles
    orders = [desk.sign(v, desk.order(v, BUY, nonce=0)), desk.sign(v, desk.order(v, SELL, nonce=1))]
    prepared = desk.prepare(orders, [TradeInput(0, 1, ENERGY, PRICE, PRICE)])
    with desk.reverts("SelfTrade", tradeIndex=0, owner=v.address):
        desk.as_(desk.operator).commit(prepared)


def test_disjoint_windows_are_refused(desk: Desk) -> None:
    now = desk.chain.now()
    b = desk.sign(desk.buyers[0], desk.order(desk.buyers[0], BUY, start=now + 100, end=now + 200, expiry=now + 100))
    s = desk.sign(desk.sellers[0], desk.order(desk.sellers[0], SELL, start=now + 200, end=now + 300, expiry=now + 100))
    prepared = desk.prepare([b, s], [TradeInput(0, 1, ENERGY, PRICE, PRICE)])
    with desk.reverts("WindowsDisjoint", tradeIndex=0):
        desk.as_(desk.operator).commit(prepared)


@pytest.mark.parametrize(("offset", "ok"), [(-1, True), (0, False), (1, False)])
def test_a_delivery_window_must_end_after_the_commit_block(desk: Desk, offset: int, ok: bool) -> None:
    now = desk.chain.now()
    end = now + 1_000
    orders = [
        desk.sign(desk.buyers[0], desk.order(desk.buyers[0], BUY, start=now, end=end, expiry=end + 10)),
        desk.sign(desk.sellers[0], desk.order(desk.sellers[0], SELL, start=now, end=end, expiry=end + 10)),
    ]
    op = desk.as_(desk.operator)
    prepared = desk.prepare(orders, [TradeInput(0, 1, ENERGY, PRICE, PRICE)])
    args = prepared.commit_args()
    if ok:
        desk.at(end + offset, op, "commitClearing", *args)
    else:
        with desk.reverts("WindowEnded", tradeIndex=0, deliveryEnd=end, nowTs=end + offset):
            desk.at(end + offset, op, "commitClearing", *args)


@pytest.mark.parametrize(("offset", "ok"), [(-1, True), (0, True), (1, False)])
def test_an_order_is_usable_up_to_its_expiry_second(desk: Desk, offset: int, ok: bool) -> None:
    orders, trades = desk.pairs(1)
    expiry = orders[0].order.expiry_ts
    op = desk.as_(desk.operator)
    prepared = desk.prepare(orders, trades)
    args = prepared.commit_args()
    if ok:
        desk.at(expiry + offset, op, "commitClearing", *args)
    else:
        with desk.reverts("OrderExpired", expiry=expiry, nowTs=expiry + 1):
            desk.at(expiry + offset, op, "commitClearing", *args)


def test_a_cancelled_order_skips_its_trade_and_the_rest_of_the_clearing_opens(desk: Desk) -> None:
    """Cancelling one order cannot void an operator's whole clearing: only that order's trade is skipped."""
    orders, trades = desk.pairs(2)
    desk.as_(desk.buyers[0]).cancel_nonces(1)
    op = desk.as_(desk.operator)
    prepared = desk.prepare(orders, trades)
    receipt = op.commit(prepared)
    (skipped,) = op.events(receipt, "TradeUnfunded")
    assert (skipped["args"]["tradeIndex"], skipped["args"]["reason"]) == (0, Shortfall.BUYER_ORDER_SPENT)
    assert desk.free(desk.buyers[0]) == DEPOSIT
    assert desk.clearing.account(desk.sellers[0].address).nonce_floor == 0  # the seller's order stays usable
    assert desk.clearing.is_trade_open(prepared.clearing_id, 1)


def test_orders_committed_first_by_someone_else_skip_their_trades_in_the_later_commit(desk: Desk) -> None:
    """Copies of signed orders committed by a front-runner spend them once; the honest commit still lands."""
    orders, trades = desk.pairs(2)
    desk.commit(orders[:2], trades[:1], operator=desk.sellers[2])
    op = desk.as_(desk.operator)
    receipt = op.commit(desk.prepare(orders, [trades[0], trades[1]]))
    reasons = [(e["args"]["tradeIndex"], e["args"]["reason"]) for e in op.events(receipt, "TradeUnfunded")]
    assert reasons == [(0, Shortfall.BUYER_ORDER_SPENT)]
    assert desk.free(desk.buyers[0]) == DEPOSIT - ENERGY * PRICE  # paid once, in the front-runner's clearing


def test_a_seller_revoked_before_the_commit_skips_its_trade_and_the_rest_opens(desk: Desk) -> None:
    """An issuer revoking one vehicle between the operator's plan and the mined commit cannot void the clearing."""
    orders, trades = desk.pairs(2)
    desk.chain.fund(desk.issuer.address, 10**17)
    desk.system.registry.connect(desk.chain.sender(desk.issuer)).revoke(desk.sellers[0].address)
    op = desk.as_(desk.operator)
    before = {v.name: desk.clearing.account(v.address) for v in (desk.buyers[0], desk.sellers[0])}
    prepared = desk.prepare(orders, trades)
    receipt = op.commit(prepared)
    (skipped,) = op.events(receipt, "TradeUnfunded")
    assert (skipped["args"]["tradeIndex"], skipped["args"]["reason"]) == (0, Shortfall.SELLER_INACTIVE)
    assert {v.name: desk.clearing.account(v.address) for v in (desk.buyers[0], desk.sellers[0])} == before
    assert not desk.clearing.is_trade_open(prepared.clearing_id, 0)
    assert desk.clearing.is_trade_open(prepared.clearing_id, 1)
    assert desk.clearing.escrowed() == ENERGY * PRICE


def test_a_buyer_revoked_before_the_commit_skips_every_trade_of_its_order(desk: Desk) -> None:
    b = desk.sign(desk.buyers[0], desk.order(desk.buyers[0], BUY))
    s0 = desk.sign(desk.sellers[0], desk.order(desk.sellers[0], SELL, energy_wh=ENERGY // 2))
    s1 = desk.sign(desk.sellers[1], desk.order(desk.sellers[1], SELL, energy_wh=ENERGY // 2))
    orders, trades = (
        [b, s0, s1],
        [TradeInput(0, 1, ENERGY // 2, PRICE, PRICE), TradeInput(0, 2, ENERGY // 2, PRICE, PRICE)],
    )
    desk.chain.fund(desk.issuer.address, 10**17)
    desk.system.registry.connect(desk.chain.sender(desk.issuer)).revoke(desk.buyers[0].address)
    op = desk.as_(desk.operator)
    receipt = op.commit(desk.prepare(orders, trades))
    reasons = [(e["args"]["tradeIndex"], e["args"]["reason"]) for e in op.events(receipt, "TradeUnfunded")]
    assert reasons == [(0, Shortfall.BUYER_INACTIVE), (1, Shortfall.BUYER_INACTIVE)]
    assert desk.free(desk.buyers[0]) == DEPOSIT
    assert desk.clearing.escrowed() == 0
    assert desk.clearing.account(desk.sellers[0].address).nonce_floor == 0  # the sellers' orders stay usable


def test_a_trade_whose_penalty_rounds_to_zero_is_refused(desk: Desk) -> None:
    orders = [
        desk.sign(desk.buyers[0], desk.order(desk.buyers[0], BUY)),
        desk.sign(desk.sellers[0], desk.order(desk.sellers[0], SELL, limit=1)),
    ]
    with desk.reverts("PenaltyRoundsToZero", energyWh=1, pricePerWh=4):  # 1 Wh x 4 x 20 % = 0.8
        desk.commit(orders, [TradeInput(0, 1, 1, 4, 4)])
    desk.commit(orders, [TradeInput(0, 1, 1, 5, 5)])  # 1 Wh x 5 x 20 % = 1


def test_counts_and_roots_are_bounded_and_checked(desk: Desk) -> None:
    orders, trades = desk.pairs(1)
    with desk.reverts("TooManyTrades", count=65, max=64):
        desk.commit(orders, trades * 65)
    prepared = desk.prepare(orders, trades)
    bent = dataclasses.replace(prepared, trade_tree=desk.prepare(*desk.pairs(2)).trade_tree)
    with desk.reverts("TradesRootMismatch", computed=prepared.trades_root):
        desk.as_(desk.operator).commit(bent)
    with desk.reverts("UnknownMechanism", mechanismId=6):
        desk.commit(orders, trades, mechanism_id=6)


def test_a_trade_the_buyer_cannot_pay_is_skipped_without_effect_and_the_rest_opens(desk: Desk) -> None:
    desk.as_(desk.buyers[0]).withdraw(DEPOSIT - 1)
    op = desk.as_(desk.operator)
    prepared = desk.prepare(*desk.pairs(2))
    before = {v.name: desk.clearing.account(v.address) for v in (desk.buyers[0], desk.sellers[0])}
    receipt = op.commit(prepared)
    (skipped,) = op.events(receipt, "TradeUnfunded")
    assert (skipped["args"]["tradeIndex"], skipped["args"]["reason"]) == (0, Shortfall.BUYER_FREE)
    assert {v.name: desk.clearing.account(v.address) for v in (desk.buyers[0], desk.sellers[0])} == before
    assert not desk.clearing.is_trade_open(prepared.clearing_id, 0)
    assert desk.clearing.is_trade_open(prepared.clearing_id, 1)
    assert desk.clearing.escrowed() == ENERGY * PRICE


def test_a_trade_the_seller_cannot_cover_is_skipped(desk: Desk) -> None:
    desk.as_(desk.sellers[1]).withdraw(DEPOSIT)
    op = desk.as_(desk.operator)
    receipt = op.commit(desk.prepare(*desk.pairs(2)))
    (skipped,) = op.events(receipt, "TradeUnfunded")
    assert (skipped["args"]["tradeIndex"], skipped["args"]["reason"]) == (1, Shortfall.SELLER_COVER)
    assert desk.clearing.account(desk.buyers[1].address).nonce_floor == 0  # its order was not used


def test_an_order_split_over_two_trades_fills_up_to_its_energy_and_raises_the_floor_once(desk: Desk) -> None:
    b = desk.sign(desk.buyers[0], desk.order(desk.buyers[0], BUY, nonce=4))
    s0 = desk.sign(desk.sellers[0], desk.order(desk.sellers[0], SELL, energy_wh=ENERGY // 2))
    s1 = desk.sign(desk.sellers[1], desk.order(desk.sellers[1], SELL, energy_wh=ENERGY // 2))
    trades = [TradeInput(0, 1, ENERGY // 2, PRICE, PRICE), TradeInput(0, 2, ENERGY // 2, PRICE, PRICE)]
    desk.commit([b, s0, s1], trades)
    assert desk.clearing.account(desk.buyers[0].address).nonce_floor == 5


def test_uniform_price_mechanisms_refuse_differing_prices(desk: Desk) -> None:
    orders, trades = desk.pairs(2)
    trades[1] = dataclasses.replace(trades[1], price_per_wh=PRICE + 1, seller_price_per_wh=PRICE + 1)
    with desk.reverts("PriceNotUniform", tradeIndex=1, pricePerWh=PRICE + 1):
        desk.commit(orders, trades, mechanism_id=1)
    desk.commit(orders, trades, mechanism_id=3)  # assignment prices each pair


@pytest.mark.parametrize("mechanism_id", [1, 3, 4, 5])
def test_no_mechanism_but_trade_reduction_allows_a_spread(desk: Desk, mechanism_id: int) -> None:
    orders, trades = desk.pairs(1)
    spread = [dataclasses.replace(trades[0], seller_price_per_wh=PRICE - 10)]
    with desk.reverts("SpreadNotAllowed", tradeIndex=0, pricePerWh=PRICE, sellerPricePerWh=PRICE - 10):
        desk.commit(orders, spread, mechanism_id=mechanism_id)


def _reduction(desk: Desk) -> tuple[list[SignedOrder], list[TradeInput], tuple[int, int]]:
    """Two crossing pairs; the second (buy 120, sell 70) is McAfee's dropped marginal pair."""
    orders = [
        desk.sign(desk.buyers[0], desk.order(desk.buyers[0], BUY, limit=150)),
        desk.sign(desk.sellers[0], desk.order(desk.sellers[0], SELL, limit=50)),
        desk.sign(desk.buyers[1], desk.order(desk.buyers[1], BUY, limit=120)),
        desk.sign(desk.sellers[1], desk.order(desk.sellers[1], SELL, limit=70)),
    ]
    return orders, [TradeInput(0, 1, ENERGY, 120, 70)], (2, 3)


def test_trade_reduction_with_the_marginal_pair_published_keeps_the_spread_for_the_operator(desk: Desk) -> None:
    orders, trades, marginal = _reduction(desk)
    desk.commit(orders, trades, mechanism_id=2, marginal=marginal)
    assert desk.clearing.account(desk.buyers[0].address).free == DEPOSIT - ENERGY * 120


def test_a_columnar_trade_reduction_commits_as_it_comes_out_with_its_marginal_pair(desk: Desk) -> None:
    """Buyers 150, 140, 130 and sellers 50, 60, 70: McAfee drops buyer 130 and seller 70 and prices at their limits."""
    signed = [desk.sign(desk.buyers[i], desk.order(desk.buyers[i], BUY, limit=150 - 10 * i)) for i in range(3)]
    signed += [desk.sign(desk.sellers[i], desk.order(desk.sellers[i], SELL, limit=50 + 10 * i)) for i in range(3)]
    cleared = columnar.trade_reduction(columnar.from_orders([matching_order(o) for o in signed]), ClearingParams())
    listed = [signed[r] for r in cleared.order_rows.tolist()]
    columns = (cleared.buyer_order, cleared.seller_order, cleared.energy_wh, cleared.price_per_wh)
    trades = [TradeInput(*row) for row in zip(*(c.tolist() for c in (*columns, cleared.seller_price_per_wh)))]
    desk.commit(listed, trades, mechanism_id=2, marginal=cleared.marginal, sort_orders=False)
    assert desk.clearing.account(desk.buyers[0].address).free == DEPOSIT - ENERGY * 130


def test_trade_reduction_prices_must_be_the_marginal_pairs_limits(desk: Desk) -> None:
    orders, trades, marginal = _reduction(desk)
    bent = [dataclasses.replace(trades[0], price_per_wh=130)]
    with desk.reverts("MarginalPriceMismatch", pricePerWh=130, buyLimit=120, sellerPricePerWh=70, sellLimit=70):
        desk.commit(orders, bent, mechanism_id=2, marginal=marginal)


def test_trade_reduction_refuses_a_marginal_pair_that_trades_or_is_on_the_wrong_side(desk: Desk) -> None:
    orders, trades, _ = _reduction(desk)
    with desk.reverts("BadMarginalPair"):
        desk.commit(orders, trades, mechanism_id=2, marginal=(0, 3))  # order 0 trades
    with desk.reverts("BadMarginalPair"):
        desk.commit(orders, trades, mechanism_id=2, marginal=(3, 2))  # sides swapped
