"""Gasless bids: sellers sign EIP-712 bids off-chain; whoever closes relays them and the contract checks each."""
from __future__ import annotations

import dataclasses

from eth_account import Account
from eth_utils import keccak

from tests.conftest import World, reverts
from v2vchain import eip712
from v2vchain.contracts.market import RequestStatus, SignedBid


def _sign(world: World, seller: int, request_id: int, price: int, *, nonce: int = 0, expiry_delta: int = 3_600,
          energy_wh: int | None = None) -> SignedBid:
    request = world.market.request(request_id)
    return world.market.sign_bid(
        world.sellers[seller].account, request_id=request_id, price_per_wh=price,
        energy_wh=request.energy_wh if energy_wh is None else energy_wh, nonce=nonce,
        expiry_ts=request.deadline_ts + expiry_delta)


def _after_deadline(world: World, request_id: int) -> None:
    world.to(world.market.request(request_id).deadline_ts)


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


def test_only_the_winning_signed_bid_keeps_stake_locked(world: World) -> None:
    request_id = world.open_request(energy_wh=10_000, max_price=100)
    _after_deadline(world, request_id)
    world.outsider.system.market.close_with_signed_bids(
        request_id, [_sign(world, 0, request_id, 90), _sign(world, 1, request_id, 60)])
    assert world.market.stake_of(world.sellers[0].address).locked == 0
    assert world.market.stake_of(world.sellers[1].address).locked == world.market.penalty_for(10_000, 60)


def test_a_signed_bid_below_the_onchain_best_beats_it(world: World) -> None:
    request_id = world.open_request(max_price=100)
    world.sellers[0].system.market.bid(request_id, 80)
    signed = _sign(world, 1, request_id, 79)
    _after_deadline(world, request_id)
    world.buyer.system.market.close_with_signed_bids(request_id, [signed])
    assert world.market.request(request_id).seller == world.sellers[1].address
    assert world.market.stake_of(world.sellers[0].address).locked == 0


def test_a_signed_bid_equal_to_the_onchain_best_loses_to_the_earlier_onchain_bid(world: World) -> None:
    request_id = world.open_request(max_price=100)
    world.sellers[0].system.market.bid(request_id, 80)
    signed = _sign(world, 1, request_id, 80)
    _after_deadline(world, request_id)
    world.buyer.system.market.close_with_signed_bids(request_id, [signed])
    request = world.market.request(request_id)
    assert (request.seller, request.price_per_wh) == (world.sellers[0].address, 80)
    assert world.market.stake_of(world.sellers[1].address).locked == 0


def test_equal_signed_bids_go_to_the_one_listed_first(world: World) -> None:
    request_id = world.open_request(max_price=100)
    bids = [_sign(world, 2, request_id, 75), _sign(world, 0, request_id, 75)]
    _after_deadline(world, request_id)
    world.buyer.system.market.close_with_signed_bids(request_id, bids)
    assert world.market.request(request_id).seller == world.sellers[2].address


def test_the_same_signed_bid_twice_in_one_close_locks_its_stake_once(world: World) -> None:
    request_id = world.open_request(energy_wh=10_000)
    signed = _sign(world, 0, request_id, 70)
    _after_deadline(world, request_id)
    world.buyer.system.market.close_with_signed_bids(request_id, [signed, signed])
    assert world.market.stake_of(world.sellers[0].address).locked == world.market.penalty_for(10_000, 70)


def test_a_winning_signed_bidder_without_free_stake_reverts_with_InsufficientFreeStake(world: World) -> None:
    request_id = world.open_request(energy_wh=10_000, max_price=100)
    seller = world.sellers[0]
    seller.system.market.withdraw_stake(world.market.stake_of(seller.address).free)
    signed = _sign(world, 0, request_id, 70)
    _after_deadline(world, request_id)
    before = world.ledger()
    with reverts("InsufficientFreeStake", seller=seller.address, free=0):
        world.buyer.system.market.close_with_signed_bids(request_id, [signed])
    assert world.ledger() == before


def test_a_bid_signed_for_another_request_is_rejected_as_not_by_its_seller(world: World) -> None:
    first = world.open_request()
    second = world.open_request()
    replayed = dataclasses.replace(_sign(world, 0, first, 70), request_id=second)
    _after_deadline(world, second)
    with reverts("SignedBidNotBySeller", index=0, seller=world.sellers[0].address):
        world.buyer.system.market.close_with_signed_bids(second, [replayed])


def test_an_altered_price_is_rejected_as_not_by_its_seller(world: World) -> None:
    request_id = world.open_request()
    altered = dataclasses.replace(_sign(world, 0, request_id, 90), price_per_wh=10)
    _after_deadline(world, request_id)
    with reverts("SignedBidNotBySeller", index=0):
        world.buyer.system.market.close_with_signed_bids(request_id, [altered])


def _sign_with_domain(world: World, request_id: int, *, chain_id: int, contract: str) -> SignedBid:
    unsigned = _sign(world, 0, request_id, 70)
    domain = eip712.domain(eip712.MARKET_DOMAIN, chain_id, contract)
    signature = eip712.sign(world.sellers[0].account, domain, eip712.BID_TYPES, unsigned.message())
    return dataclasses.replace(unsigned, signature=signature)


def test_a_bid_signed_for_another_chain_is_rejected(world: World) -> None:
    request_id = world.open_request()
    foreign = _sign_with_domain(world, request_id, chain_id=world.chain.chain_id + 1, contract=world.market.address)
    _after_deadline(world, request_id)
    with reverts("SignedBidNotBySeller"):
        world.buyer.system.market.close_with_signed_bids(request_id, [foreign])


def test_a_bid_signed_for_another_contract_is_rejected(world: World) -> None:
    request_id = world.open_request()
    foreign = _sign_with_domain(world, request_id, chain_id=world.chain.chain_id, contract=world.registry_address)
    _after_deadline(world, request_id)
    with reverts("SignedBidNotBySeller"):
        world.buyer.system.market.close_with_signed_bids(request_id, [foreign])


def test_an_expired_signed_bid_reverts_with_SignedBidExpired(world: World) -> None:
    request_id = world.open_request()
    signed = _sign(world, 0, request_id, 70, expiry_delta=10)
    world.to(signed.expiry_ts + 1)
    with reverts("SignedBidExpired", index=0, expiry=signed.expiry_ts):
        world.buyer.system.market.close_with_signed_bids(request_id, [signed])


def test_a_cancelled_nonce_reverts_with_SignedBidCancelled(world: World) -> None:
    request_id = world.open_request()
    signed = _sign(world, 0, request_id, 70, nonce=4)
    world.sellers[0].system.market.cancel_signed_bids(5)
    _after_deadline(world, request_id)
    with reverts("SignedBidCancelled", index=0, nonce=4, minNonce=5):
        world.buyer.system.market.close_with_signed_bids(request_id, [signed])


def test_cancelling_to_a_lower_or_equal_floor_reverts(world: World) -> None:
    world.sellers[0].system.market.cancel_signed_bids(5)
    with reverts("SignedBidCancelled", nonce=5, minNonce=5):
        world.sellers[0].system.market.cancel_signed_bids(5)


def test_a_bid_for_a_different_energy_reverts_with_SignedBidEnergyMismatch(world: World) -> None:
    request_id = world.open_request(energy_wh=10_000)
    signed = _sign(world, 0, request_id, 70, energy_wh=9_000)
    _after_deadline(world, request_id)
    with reverts("SignedBidEnergyMismatch", index=0, energyWh=9_000, requested=10_000):
        world.buyer.system.market.close_with_signed_bids(request_id, [signed])


def test_a_bid_signed_by_an_unregistered_key_reverts_with_NotRegistered(world: World) -> None:
    request_id = world.open_request()
    stranger = Account.create()
    request = world.market.request(request_id)
    signed = world.market.sign_bid(stranger, request_id=request_id, price_per_wh=50, energy_wh=request.energy_wh,
                                   nonce=0, expiry_ts=request.deadline_ts + 60)
    _after_deadline(world, request_id)
    with reverts("NotRegistered", vehicle=stranger.address):
        world.buyer.system.market.close_with_signed_bids(request_id, [signed])


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
    assert world.market.credit_of(world.buyer.address) == 50_000
