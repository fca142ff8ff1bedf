"""commitClearing: the operator publishes signed orders and trades; every rule that needs no signature is checked
in the commit itself, and the two Merkle roots are built on-chain from what was published."""
from __future__ import annotations

import dataclasses

import pytest
from eth_account import Account
from eth_utils import keccak

from tests.clearing.conftest import BUY, ENERGY, PARAMS, PRICE, SELL, Desk
from v2vchain import eip712
from v2vchain.compiler import Build
from v2vchain.contracts.clearing import RECEIPT_TYPES, ClearingStatus, TradeInput
from v2vchain.errors import InvalidInput
from v2vchain.matching.signing import ORDER_TYPES
from v2vchain.reverts import _signature_type


def test_order_and_receipt_typehashes_match_the_python_types(desk: Desk) -> None:
    assert desk.clearing._call("ORDER_TYPEHASH") == keccak(text=eip712.type_string(ORDER_TYPES))
    assert desk.clearing._call("RECEIPT_TYPEHASH") == keccak(text=eip712.type_string(RECEIPT_TYPES))


def test_commit_records_the_clearing_with_the_roots_python_computes(desk: Desk) -> None:
    prepared = desk.prepare(*desk.pairs(2))
    receipt = desk.as_(desk.operator).commit(prepared)
    info = desk.clearing.clearing(prepared.clearing_id)
    block_ts = desk.chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert (info.status, info.operator, info.trade_count, info.order_count) == \
        (ClearingStatus.COMMITTED, desk.operator.address, 2, 4)
    assert (info.order_set_hash, info.trades_root) == (prepared.order_set_hash, prepared.trades_root)
    assert info.challenge_deadline_ts == block_ts + PARAMS.challenge_window_s
    event = desk.clearing.events(receipt, "ClearingCommitted")[0]["args"]
    assert event["commitment"] == prepared.commitment(desk.operator.address)
    assert desk.clearing.bond(desk.operator.address).locked == PARAMS.operator_bond


def test_the_published_calldata_rebuilds_the_clearing_for_anyone(desk: Desk) -> None:
    prepared = desk.commit(*desk.pairs(2))
    published = desk.as_(desk.outsider).published(prepared.clearing_id)
    assert published.orders == prepared.orders
    assert published.inputs == prepared.inputs
    assert published.trades_root == prepared.trades_root
    assert desk.clearing.bad_signatures(published) == []


def test_a_clearing_by_an_unregistered_operator_reverts_with_NotRegistered(desk: Desk) -> None:
    prepared = desk.prepare(*desk.pairs(1))
    with desk.reverts("NotRegistered", vehicle=desk.outsider.address):
        desk.as_(desk.outsider).commit(prepared)


def test_an_operator_without_a_free_bond_reverts_with_InsufficientBond(desk: Desk) -> None:
    desk.as_(desk.operator).withdraw_bond(desk.clearing.bond(desk.operator.address).free - 1)
    prepared = desk.prepare(*desk.pairs(1))
    with desk.reverts("InsufficientBond", operator=desk.operator.address, free=1, needed=PARAMS.operator_bond):
        desk.as_(desk.operator).commit(prepared)


def test_a_price_above_the_buyers_limit_reverts_with_PriceAboveBuyerLimit(desk: Desk) -> None:
    orders, _ = desk.pairs(1)
    prepared = desk.prepare(orders, [TradeInput(0, 1, ENERGY, 151, 100)])
    with desk.reverts("PriceAboveBuyerLimit", tradeIndex=0, pricePerWh=151, limitPricePerWh=150):
        desk.as_(desk.operator).commit(prepared)


def test_a_price_below_the_sellers_limit_reverts_with_PriceBelowSellerLimit(desk: Desk) -> None:
    orders, _ = desk.pairs(1)
    prepared = desk.prepare(orders, [TradeInput(0, 1, ENERGY, 100, 49)])
    with desk.reverts("PriceBelowSellerLimit", tradeIndex=0, sellerPricePerWh=49, limitPricePerWh=50):
        desk.as_(desk.operator).commit(prepared)


def test_a_seller_paid_more_than_the_buyer_pays_reverts_with_SellerPriceAboveBuyerPrice(desk: Desk) -> None:
    orders, _ = desk.pairs(1)
    prepared = desk.prepare(orders, [TradeInput(0, 1, ENERGY, 90, 100)])
    with desk.reverts("SellerPriceAboveBuyerPrice", tradeIndex=0, sellerPricePerWh=100, pricePerWh=90):
        desk.as_(desk.operator).commit(prepared)


def test_trades_exceeding_an_order_across_the_clearing_revert_with_OrderOverfilled(desk: Desk) -> None:
    """One seller order of 10 kWh sold twice at 6 kWh: the second trade breaks it."""
    b0, b1, s0 = desk.buyers[0], desk.buyers[1], desk.sellers[0]
    orders = [desk.sign(b0, desk.order(b0, BUY)), desk.sign(b1, desk.order(b1, BUY)),
              desk.sign(s0, desk.order(s0, SELL, energy_wh=10_000))]
    trades = [TradeInput(0, 2, 6_000, PRICE, PRICE), TradeInput(1, 2, 6_000, PRICE, PRICE)]
    prepared = desk.prepare(orders, trades)
    with desk.reverts("OrderOverfilled", tradeIndex=1, orderIndex=2, filledWh=12_000, energyWh=10_000):
        desk.as_(desk.operator).commit(prepared)


def test_one_trade_above_its_order_reverts_with_OrderOverfilled(desk: Desk) -> None:
    orders, _ = desk.pairs(1, energy_wh=5_000)
    prepared = desk.prepare(orders, [TradeInput(0, 1, 5_001, PRICE, PRICE)])
    with desk.reverts("OrderOverfilled", tradeIndex=0, orderIndex=0, filledWh=5_001, energyWh=5_000):
        desk.as_(desk.operator).commit(prepared)


def test_an_order_of_an_unregistered_key_reverts_with_NotRegistered(desk: Desk) -> None:
    stranger = Account.create()
    buyer = desk.buyers[0]
    stranger_order = dataclasses.replace(desk.order(buyer, SELL), owner=stranger.address)
    orders = [desk.sign(buyer, desk.order(buyer, BUY)), desk.clearing.sign_order(stranger, stranger_order)]
    prepared = desk.prepare(orders, [TradeInput(0, 1, ENERGY, PRICE, PRICE)])
    with desk.reverts("NotRegistered", vehicle=stranger.address):
        desk.as_(desk.operator).commit(prepared)


def test_a_buyer_trading_as_a_seller_without_the_role_reverts_with_MissingRole(desk: Desk) -> None:
    b0, b1 = desk.buyers[0], desk.buyers[1]
    orders = [desk.sign(b0, desk.order(b0, BUY)), desk.sign(b1, desk.order(b1, SELL))]
    prepared = desk.prepare(orders, [TradeInput(0, 1, ENERGY, PRICE, PRICE)])
    with desk.reverts("MissingRole", vehicle=b1.address, required=2):
        desk.as_(desk.operator).commit(prepared)


def test_an_expired_order_reverts_with_OrderExpired(desk: Desk) -> None:
    b, s = desk.buyers[0], desk.sellers[0]
    expiry = desk.chain.now() + 5
    orders = [desk.sign(b, desk.order(b, BUY, expiry=expiry)), desk.sign(s, desk.order(s, SELL))]
    prepared = desk.prepare(orders, [TradeInput(0, 1, ENERGY, PRICE, PRICE)])
    desk.to(expiry + 1)
    with desk.reverts("OrderExpired", orderIndex=0, expiry=expiry):
        desk.as_(desk.operator).commit(prepared)


def test_a_trade_between_two_buy_orders_reverts_with_WrongSide(desk: Desk) -> None:
    orders, _ = desk.pairs(2)
    prepared = desk.prepare(orders, [TradeInput(0, 2, ENERGY, PRICE, PRICE)])
    with desk.reverts("WrongSide", tradeIndex=0, orderIndex=2, side=BUY, required=SELL):
        desk.as_(desk.operator).commit(prepared)


def test_delivery_windows_that_do_not_overlap_revert_with_WindowsDisjoint(desk: Desk) -> None:
    b, s = desk.buyers[0], desk.sellers[0]
    start = desk.chain.now() + 3_600
    orders = [desk.sign(b, desk.order(b, BUY, start=start, end=start + 600)),
              desk.sign(s, desk.order(s, SELL, start=start + 600, end=start + 1_200))]
    prepared = desk.prepare(orders, [TradeInput(0, 1, ENERGY, PRICE, PRICE)])
    with desk.reverts("WindowsDisjoint", tradeIndex=0, start=start + 600, end=start + 600):
        desk.as_(desk.operator).commit(prepared)


def test_a_delivery_window_ending_inside_the_challenge_window_reverts(desk: Desk) -> None:
    b, s = desk.buyers[0], desk.sellers[0]
    start = desk.chain.now() + 10
    orders = [desk.sign(b, desk.order(b, BUY, start=start, end=start + 60)),
              desk.sign(s, desk.order(s, SELL, start=start, end=start + 60))]
    prepared = desk.prepare(orders, [TradeInput(0, 1, ENERGY, PRICE, PRICE)])
    with desk.reverts("DeliveryEndsBeforeSettlement", tradeIndex=0, deliveryEnd=start + 60):
        desk.as_(desk.operator).commit(prepared)


def test_a_root_other_than_the_one_computed_on_chain_reverts_with_TradesRootMismatch(desk: Desk) -> None:
    prepared = desk.prepare(*desk.pairs(1))
    forged = dataclasses.replace(prepared, trade_tree=desk.prepare(*desk.pairs(1, price=99)).trade_tree)
    with desk.reverts("TradesRootMismatch", computed=prepared.trades_root, expected=forged.trades_root):
        desk.as_(desk.operator).commit(forged)


def test_a_clearing_prepared_for_a_taken_id_reverts_with_ClearingIdTaken(desk: Desk) -> None:
    stale = desk.prepare(*desk.pairs(1))
    desk.commit(*desk.pairs(1, nonce=1))
    with desk.reverts("ClearingIdTaken", clearingId=stale.clearing_id, nextClearingId=stale.clearing_id + 1):
        desk.as_(desk.operator).commit(stale)


def test_committing_while_paused_reverts_with_ClearingPaused_and_withdrawals_still_work(desk: Desk) -> None:
    desk.clearing.set_paused(True)
    prepared = desk.prepare(*desk.pairs(1))
    with desk.reverts("ClearingPaused"):
        desk.as_(desk.operator).commit(prepared)
    desk.as_(desk.buyers[0]).withdraw(1)
    desk.as_(desk.operator).withdraw_bond(1)


def test_no_custom_error_shares_a_selector_with_different_argument_names(build: Build) -> None:
    """The revert decoder keys errors by selector across all contracts: a clash would rename another's fields."""
    seen: dict[bytes, tuple[str, tuple[str, ...]]] = {}
    for name, artifact in build.artifacts.items():
        for item in artifact.abi:
            if item["type"] != "error":
                continue
            signature = f"{item['name']}({','.join(_signature_type(p) for p in item['inputs'])})"
            names = tuple(p["name"] for p in item["inputs"])
            first = seen.setdefault(keccak(text=signature)[:4], (name, names))
            assert first[1] == names, f"{signature} in {name} names its fields {names}, {first[0]} {first[1]}"


def test_a_field_outside_its_solidity_type_is_refused_before_anything_is_sent(desk: Desk) -> None:
    orders, _ = desk.pairs(1)
    with pytest.raises(InvalidInput, match="energy_wh"):
        desk.prepare(orders, [TradeInput(0, 1, 2**64, PRICE, PRICE)])
