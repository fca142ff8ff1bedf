"""challenge: during the window anyone proves, with the published order, its signature and a Merkle proof, that an
order was not signed by its owner; the clearing is reverted (none of its trades settles) and the operator's bond
goes to the challenger."""
from __future__ import annotations

import dataclasses

from eth_account import Account

from tests.clearing.conftest import BUY, PARAMS, SELL, Desk
from v2vchain.contracts.clearing import ClearingStatus, SignedOrder, TradeInput
from v2vchain.matching.orders import Order as MatchingOrder
from v2vchain.matching.signing import clearing_domain, sign_order


def _forged(desk: Desk) -> tuple[list[SignedOrder], list[TradeInput]]:
    """The operator's accomplice signs an order in buyer 0's name: buyer 0's deposit would pay for it."""
    orders, trades = desk.pairs(2)
    forged = orders[0].order
    orders[0] = SignedOrder(forged, desk.clearing.sign_order(Account.create(), forged).signature)
    return orders, trades


def test_an_order_signed_by_someone_else_is_proven_and_the_clearing_reverted(desk: Desk) -> None:
    prepared = desk.commit(*_forged(desk))
    published = desk.as_(desk.outsider).published(prepared.clearing_id)
    assert desk.clearing.bad_signatures(published) == [0]
    receipt = desk.as_(desk.outsider).challenge(published, 0)
    event = desk.clearing.events(receipt, "ClearingChallenged")[0]["args"]
    assert (event["owner"], event["slashed"]) == (desk.buyers[0].address, PARAMS.operator_bond)
    assert desk.clearing.clearing(prepared.clearing_id).status == ClearingStatus.REVERTED
    desk.assert_books_balance()


def test_a_successful_challenge_pays_the_operators_bond_to_the_challenger(desk: Desk) -> None:
    prepared = desk.commit(*_forged(desk))
    bond_before = desk.clearing.bond(desk.operator.address)
    desk.as_(desk.sellers[2]).challenge(prepared, 0)
    bond = desk.clearing.bond(desk.operator.address)
    assert (bond.total, bond.locked) == (bond_before.total - PARAMS.operator_bond, 0)
    challenger = desk.clearing.account(desk.sellers[2].address)
    assert challenger.free == desk.clearing.account(desk.sellers[1].address).free + PARAMS.operator_bond


def test_no_trade_of_a_reverted_clearing_settles(desk: Desk) -> None:
    prepared = desk.commit(*_forged(desk))
    desk.as_(desk.outsider).challenge(prepared, 0)
    desk.after_window(prepared)
    with desk.reverts("WrongClearingStatus", status=ClearingStatus.REVERTED, required=ClearingStatus.COMMITTED):
        desk.clearing.settle(prepared)


def test_a_challenge_of_a_validly_signed_order_reverts_with_OrderSignatureValid(desk: Desk) -> None:
    prepared = desk.commit(*desk.pairs(2))
    with desk.reverts("OrderSignatureValid", clearingId=prepared.clearing_id, orderIndex=1,
                      owner=desk.sellers[0].address):
        desk.as_(desk.outsider).challenge(prepared, 1)


def test_an_order_signed_with_the_matching_packages_signer_is_valid_on_chain(desk: Desk) -> None:
    """The other half of the EIP-712 agreement: v2vchain.matching.signing's digest is the contract's."""
    buyer, seller = desk.buyers[0], desk.sellers[0]
    start = desk.chain.now() + 3_600
    domain = clearing_domain(desk.chain.chain_id, desk.clearing.address)
    orders = []
    for vehicle, side, limit in ((buyer, BUY, 150), (seller, SELL, 50)):
        order = MatchingOrder(owner=vehicle.address, side=side, energy_wh=10_000, limit_price_per_wh=limit,
                              area_id="u33db", area_lat=52.5, area_lon=13.4, window_start_ts=start,
                              window_end_ts=start + 3_600, nonce=1, expiry_ts=start)
        signed = desk.clearing.sign_order(vehicle.account, order)
        assert signed.signature == sign_order(vehicle.account, domain, order)
        orders.append(signed)
    prepared = desk.commit(orders, [TradeInput(0, 1, 10_000, 100, 100)])
    with desk.reverts("OrderSignatureValid", orderIndex=0, owner=buyer.address):
        desk.as_(desk.outsider).challenge(prepared, 0)


def test_a_challenge_at_the_end_of_the_window_reverts_with_ChallengeWindowClosed(desk: Desk) -> None:
    prepared = desk.commit(*_forged(desk))
    deadline = desk.clearing.clearing(prepared.clearing_id).challenge_deadline_ts
    desk.chain.set_next_timestamp(deadline)
    with desk.reverts("ChallengeWindowClosed", clearingId=prepared.clearing_id, deadline=deadline, nowTs=deadline):
        desk.as_(desk.outsider).challenge(prepared, 0)


def test_a_challenge_one_second_before_the_end_of_the_window_succeeds(desk: Desk) -> None:
    prepared = desk.commit(*_forged(desk))
    desk.at(desk.clearing.clearing(prepared.clearing_id).challenge_deadline_ts - 1, desk.as_(desk.outsider),
            "challenge", prepared.clearing_id, 0, prepared.orders[0].as_tuple(), prepared.order_proof(0))
    assert desk.clearing.clearing(prepared.clearing_id).status == ClearingStatus.REVERTED


def test_a_challenge_with_a_forged_merkle_proof_reverts_with_InvalidProof(desk: Desk) -> None:
    """A forged order that was never committed cannot be proven into the order set."""
    prepared = desk.commit(*desk.pairs(2))
    never_committed = SignedOrder(prepared.orders[0].order, desk.clearing.sign_order(
        Account.create(), prepared.orders[0].order).signature)
    forged = dataclasses.replace(prepared, orders=(never_committed, *prepared.orders[1:]))
    with desk.reverts("InvalidProof", clearingId=prepared.clearing_id, index=0):
        desk.as_(desk.outsider).challenge(forged, 0)


def test_a_high_s_twin_signature_counts_as_not_the_owners(desk: Desk) -> None:
    """Malleable signatures are refused as ECDSA.recover does: the operator must publish the canonical one."""
    orders, trades = desk.pairs(1)
    sig = orders[0].signature
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    s_high = (n - int.from_bytes(sig[32:64], "big")).to_bytes(32, "big")
    orders[0] = SignedOrder(orders[0].order, sig[:32] + s_high + bytes([55 - sig[64]]))
    prepared = desk.commit(orders, trades)
    desk.as_(desk.outsider).challenge(prepared, 0)
    assert desk.clearing.clearing(prepared.clearing_id).status == ClearingStatus.REVERTED
