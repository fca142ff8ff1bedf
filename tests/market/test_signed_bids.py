"""Gasless bids: sellers sign EIP-712 bids off-chain; whoever closes relays them and the contract checks each.

A bid that fails a rule no longer stops the close: it is passed over with SignedBidRejected(index, seller, reason)
and the best valid bid wins."""

from __future__ import annotations

import dataclasses

from eth_account import Account
from eth_utils import keccak

from tests.support.assertions import reverts
from tests.support.world import PARAMS, World
from v2vchain.contracts.market import RejectedBid, Rejection, RequestStatus, SignedBid
from v2vchain.protocol import eip712


def _sign(
    world: World,
    seller: int,
    request_id: int,
    price: int,
    *,
    nonce: int = 0,
    expiry_delta: int = 3_600,
    energy_wh: int | None = None,
) -> SignedBid:
    request = world.market.request(request_id)
    return world.market.sign_bid(
        world.sellers[seller].account,
        request_id=request_id,
        price_per_wh=price,
        energy_wh=request.energy_wh if energy_wh is None else energy_wh,
        nonce=nonce,
        expiry_ts=request.deadline_ts + expiry_delta,
    )


def _after_deadline(world: World, request_id: int) -> None:
    world.to(world.market.request(request_id).deadline_ts)


def _close(world: World, request_id: int, bids: list[SignedBid]) -> list[RejectedBid]:
    """The buyer closes with these bids; returns the bids the contract passed over."""
    market = world.buyer.system.market
    return market.rejected_bids(market.close_with_signed_bids(request_id, bids))


def _locked(world: World, seller: int) -> int:
    return world.market.account(world.sellers[seller].address).locked


def _rejects_alone(world: World, request_id: int, bid: SignedBid, reason: Rejection) -> None:
    """The bid, relayed alone, is passed over for `reason`: the request expires and nothing is locked."""
    rejected = _close(world, request_id, [bid])
    assert rejected == [RejectedBid(0, bid.seller, reason)]
    assert world.market.request(request_id).status == RequestStatus.EXPIRED
    assert world.market.account(bid.seller).locked == 0


def test_bid_typehash_matches_the_python_type_definition(world: World) -> None:
    assert world.market._call("BID_TYPEHASH") == keccak(text=eip712.type_string(eip712.BID_TYPES))


def test_lowest_signed_bid_wins_and_the_sellers_pay_no_gas(world: World) -> None:
    request_id = world.open_request(max_price=100)
    bids = [_sign(world, 0, request_id, 90), _sign(world, 1, request_id, 70), _sign(world, 2, request_id, 80)]
    ether_before = [world.chain.w3.eth.get_balance(s.address) for s in world.sellers]
    _after_deadline(world, request_id)
    world.buyer.system.market.close_with_signed_bids(request_id, sorted(bids, key=lambda b: -b.price_per_wh))
    request = world.market.request(request_id)
    assert request.status == RequestStatus.AWARDED
    assert (request.seller, request.price_per_wh) == (world.sellers[1].address, 70)
    assert [world.chain.w3.eth.get_balance(s.address) for s in world.sellers] == ether_before


def test_only_the_winning_signed_bid_keeps_cover_locked(world: World) -> None:
    request_id = world.open_request(energy_wh=10_000, max_price=100)
    _after_deadline(world, request_id)
    _close(world, request_id, [_sign(world, 0, request_id, 90), _sign(world, 1, request_id, 60)])
    assert _locked(world, 0) == 0
    assert _locked(world, 1) == world.market.penalty_for(10_000, 60)


def test_a_relayer_named_at_open_may_close_with_signed_bids_during_the_relay_period(world: World) -> None:
    relayer = world.sellers[2]
    deadline = world.chain.now() + 600
    request_id = world.buyer.system.market.open(
        energy_wh=10_000,
        max_price_per_wh=100,
        deadline_ts=deadline,
        delivery_start_ts=deadline,
        delivery_end_ts=deadline + 3_600,
        area_id=b"\x01" * 32,
        access_hash=b"\x02" * 32,
        relayer=relayer.address,
    )
    signed = _sign(world, 0, request_id, 70)
    _after_deadline(world, request_id)
    relayer.system.market.close_with_signed_bids(request_id, [signed])
    assert world.market.request(request_id).seller == world.sellers[0].address


def test_a_stranger_relaying_signed_bids_during_the_relay_period_reverts_with_RelayPeriod(world: World) -> None:
    request_id = world.open_request()
    signed = _sign(world, 0, request_id, 70)
    _after_deadline(world, request_id)
    before = world.ledger()
    with reverts("RelayPeriod", requestId=request_id, caller=world.outsider.address):
        world.outsider.system.market.close_with_signed_bids(request_id, [signed])
    assert world.ledger() == before


def test_anyone_may_relay_signed_bids_once_the_relay_period_is_over(world: World) -> None:
    request_id = world.open_request()
    signed = _sign(world, 0, request_id, 70)
    world.to(world.market.request(request_id).deadline_ts + PARAMS.relay_period_s)
    world.outsider.system.market.close_with_signed_bids(request_id, [signed])
    assert world.market.request(request_id).seller == world.sellers[0].address


def test_a_signed_bid_below_the_onchain_best_beats_it(world: World) -> None:
    request_id = world.open_request(max_price=100)
    world.sellers[0].system.market.bid(request_id, 80)
    signed = _sign(world, 1, request_id, 79)
    _after_deadline(world, request_id)
    _close(world, request_id, [signed])
    assert world.market.request(request_id).seller == world.sellers[1].address
    assert _locked(world, 0) == 0


def test_a_signed_bid_equal_to_the_onchain_best_loses_to_the_earlier_onchain_bid(world: World) -> None:
    request_id = world.open_request(max_price=100)
    world.sellers[0].system.market.bid(request_id, 80)
    signed = _sign(world, 1, request_id, 80)
    _after_deadline(world, request_id)
    _close(world, request_id, [signed])
    request = world.market.request(request_id)
    assert (request.seller, request.price_per_wh) == (world.sellers[0].address, 80)
    assert _locked(world, 1) == 0


def test_equal_signed_bids_go_to_the_one_listed_first(world: World) -> None:
    request_id = world.open_request(max_price=100)
    bids = [_sign(world, 2, request_id, 75), _sign(world, 0, request_id, 75)]
    _after_deadline(world, request_id)
    _close(world, request_id, bids)
    assert world.market.request(request_id).seller == world.sellers[2].address


def test_the_same_signed_bid_twice_in_one_close_locks_its_cover_once(world: World) -> None:
    request_id = world.open_request(energy_wh=10_000)
    signed = _sign(world, 0, request_id, 70)
    _after_deadline(world, request_id)
    _close(world, request_id, [signed, signed])
    assert _locked(world, 0) == world.market.penalty_for(10_000, 70)


def test_every_valid_signed_bid_emits_SignedBidVerified(world: World) -> None:
    request_id = world.open_request(max_price=100)
    bids = [_sign(world, 0, request_id, 90, nonce=3), _sign(world, 1, request_id, 70, nonce=8)]
    _after_deadline(world, request_id)
    tx = world.buyer.system.market.close_with_signed_bids(request_id, bids)
    verified = [
        (e["args"]["seller"], e["args"]["pricePerWh"], e["args"]["nonce"])
        for e in world.market.events(tx, "SignedBidVerified")
    ]
    assert verified == [(world.sellers[0].address, 90, 3), (world.sellers[1].address, 70, 8)]


def test_a_signed_bidder_without_free_cover_is_passed_over_as_InsufficientCover(world: World) -> None:
    request_id = world.open_request(energy_wh=10_000, max_price=100)
    seller = world.sellers[0]
    seller.system.market.withdraw()
    _after_deadline(world, request_id)
    _rejects_alone(world, request_id, _sign(world, 0, request_id, 70), Rejection.INSUFFICIENT_COVER)


def test_a_bid_without_cover_is_passed_over_and_the_next_best_valid_bid_wins(world: World) -> None:
    """Formerly one such bid reverted the whole close; now the close goes on with the others."""
    request_id = world.open_request(energy_wh=10_000, max_price=100)
    world.sellers[0].system.market.withdraw()
    bids = [_sign(world, 0, request_id, 60), _sign(world, 1, request_id, 80), _sign(world, 2, request_id, 75)]
    _after_deadline(world, request_id)
    rejected = _close(world, request_id, bids)
    assert rejected == [RejectedBid(0, world.sellers[0].address, Rejection.INSUFFICIENT_COVER)]
    request = world.market.request(request_id)
    assert (request.status, request.seller, request.price_per_wh) == (
        RequestStatus.AWARDED,
        world.sellers[2].address,
        75,
    )
    assert (_locked(world, 0), _locked(world, 1), _locked(world, 2)) == (0, 0, world.market.penalty_for(10_000, 75))


def test_a_bid_signed_for_another_request_is_passed_over_as_BadSignature(world: World) -> None:
    first = world.open_request()
    second = world.open_request()
    replayed = dataclasses.replace(_sign(world, 0, first, 70), request_id=second)
    _after_deadline(world, second)
    _rejects_alone(world, second, replayed, Rejection.BAD_SIGNATURE)


def test_an_altered_price_is_passed_over_as_BadSignature(world: World) -> None:
    request_id = world.open_request()
    altered = dataclasses.replace(_sign(world, 0, request_id, 90), price_per_wh=10)
    _after_deadline(world, request_id)
    _rejects_alone(world, request_id, altered, Rejection.BAD_SIGNATURE)


def _sign_with_domain(world: World, request_id: int, *, chain_id: int, contract: str) -> SignedBid:
    unsigned = _sign(world, 0, request_id, 70)
    domain = eip712.domain(eip712.MARKET_DOMAIN, chain_id, contract)
    signature = eip712.sign(world.sellers[0].account, domain, eip712.BID_TYPES, unsigned.message())
    return dataclasses.replace(unsigned, signature=signature)


def test_a_bid_signed_for_another_chain_is_passed_over_as_BadSignature(world: World) -> None:
    request_id = world.open_request()
    foreign = _sign_with_domain(world, request_id, chain_id=world.chain.chain_id + 1, contract=world.market.address)
    _after_deadline(world, request_id)
    _rejects_alone(world, request_id, foreign, Rejection.BAD_SIGNATURE)


def test_a_bid_signed_for_another_contract_is_passed_over_as_BadSignature(world: World) -> None:
    request_id = world.open_request()
    foreign = _sign_with_domain(world, request_id, chain_id=world.chain.chain_id, contract=world.registry_address)
    _after_deadline(world, request_id)
    _rejects_alone(world, request_id, foreign, Rejection.BAD_SIGNATURE)


def test_a_malformed_signature_is_passed_over_as_BadSignature(world: World) -> None:
    request_id = world.open_request()
    short = dataclasses.replace(_sign(world, 0, request_id, 70), signature=b"\x01" * 10)
    _after_deadline(world, request_id)
    _rejects_alone(world, request_id, short, Rejection.BAD_SIGNATURE)


def test_an_expired_signed_bid_is_passed_over_as_Expired(world: World) -> None:
    request_id = world.open_request()
    signed = _sign(world, 0, request_id, 70, expiry_delta=10)
    world.to(signed.expiry_ts + 1)
    _rejects_alone(world, request_id, signed, Rejection.EXPIRED)


def test_a_cancelled_nonce_is_passed_over_as_Cancelled(world: World) -> None:
    request_id = world.open_request()
    signed = _sign(world, 0, request_id, 70, nonce=4)
    world.sellers[0].system.market.cancel_nonces(5)
    _after_deadline(world, request_id)
    _rejects_alone(world, request_id, signed, Rejection.CANCELLED)


def test_a_nonce_at_the_floor_is_still_valid(world: World) -> None:
    request_id = world.open_request()
    signed = _sign(world, 0, request_id, 70, nonce=5)
    world.sellers[0].system.market.cancel_nonces(5)
    _after_deadline(world, request_id)
    assert _close(world, request_id, [signed]) == []
    assert world.market.request(request_id).seller == world.sellers[0].address


def test_cancelling_to_a_lower_or_equal_floor_reverts_with_NonceFloorNotRaised(world: World) -> None:
    world.sellers[0].system.market.cancel_nonces(5)
    with reverts("NonceFloorNotRaised", newFloor=5, floor=5):
        world.sellers[0].system.market.cancel_nonces(5)


def test_a_bid_for_a_different_energy_is_passed_over_as_EnergyMismatch(world: World) -> None:
    request_id = world.open_request(energy_wh=10_000)
    signed = _sign(world, 0, request_id, 70, energy_wh=9_000)
    _after_deadline(world, request_id)
    _rejects_alone(world, request_id, signed, Rejection.ENERGY_MISMATCH)


def test_a_bid_signed_by_an_unregistered_key_is_passed_over_as_NotActiveSeller(world: World) -> None:
    request_id = world.open_request()
    stranger = Account.create()
    request = world.market.request(request_id)
    signed = world.market.sign_bid(
        stranger,
        request_id=request_id,
        price_per_wh=50,
        energy_wh=request.energy_wh,
        nonce=0,
        expiry_ts=request.deadline_ts + 60,
    )
    _after_deadline(world, request_id)
    _rejects_alone(world, request_id, signed, Rejection.NOT_ACTIVE_SELLER)


def test_a_bid_above_the_max_price_is_passed_over_as_AboveMax(world: World) -> None:
    request_id = world.open_request(max_price=100)
    _after_deadline(world, request_id)
    _rejects_alone(world, request_id, _sign(world, 0, request_id, 101), Rejection.ABOVE_MAX)


def test_a_zero_price_bid_is_passed_over_as_ZeroPrice(world: World) -> None:
    request_id = world.open_request(max_price=100)
    _after_deadline(world, request_id)
    _rejects_alone(world, request_id, _sign(world, 0, request_id, 0), Rejection.ZERO_PRICE)


def test_more_than_the_bound_of_signed_bids_reverts_with_TooManyBids(world: World) -> None:
    request_id = world.open_request()
    bids = [_sign(world, 0, request_id, 99 - i) for i in range(17)]
    _after_deadline(world, request_id)
    with reverts("TooManyBids", count=17, max=16):
        world.buyer.system.market.close_with_signed_bids(request_id, bids)


def test_closing_with_signed_bids_before_the_deadline_reverts_with_BiddingStillOpen(world: World) -> None:
    request_id = world.open_request()
    signed = _sign(world, 0, request_id, 70)
    world.chain.set_next_timestamp(world.market.request(request_id).deadline_ts - 1)
    with reverts("BiddingStillOpen"):
        world.buyer.system.market.close_with_signed_bids(request_id, [signed])


def test_closing_with_signed_bids_twice_reverts_with_WrongStatus(world: World) -> None:
    request_id = world.open_request()
    signed = _sign(world, 0, request_id, 70)
    _after_deadline(world, request_id)
    world.buyer.system.market.close_with_signed_bids(request_id, [signed])
    with reverts("WrongStatus", requestId=request_id):
        world.buyer.system.market.close_with_signed_bids(request_id, [signed])


def test_closing_with_no_signed_bids_and_no_onchain_bid_expires_the_request(world: World) -> None:
    request_id = world.open_request(energy_wh=1_000, max_price=50)
    _after_deadline(world, request_id)
    world.buyer.system.market.close_with_signed_bids(request_id, [])
    assert world.market.request(request_id).status == RequestStatus.EXPIRED
    assert world.market.free_of(world.buyer.address) == 50_000
