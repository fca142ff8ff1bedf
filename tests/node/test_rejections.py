"""Everything a node must refuse, with a 4xx and a reason: hostile bids, forged identities, bad owner input."""
from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest
from eth_account import Account

from node.peers import bid_to_json, sign_endpoint
from tests.node.conftest import Fleet, key_of
from v2vchain.contracts.market import SignedBid
from v2vchain.protocol import eip712

REQUEST = {"energy_wh": 10_000, "max_price_per_wh": 150, "bidding_s": 600}


@pytest.fixture
def open_request(fleet: Fleet) -> dict[str, Any]:
    return fleet.owner("buyer").post("/requests", REQUEST)


def signed_bid(fleet: Fleet, request: dict[str, Any], *, seller: str = "seller-1", price: int = 100,
               nonce: int = 1_000, expiry_delta: int = 3_600, **domain: Any) -> SignedBid:
    account = key_of(fleet, seller) if isinstance(seller, str) else seller
    bid = fleet.system.market.sign_bid(account, request_id=request["request_id"], price_per_wh=price,
                                       energy_wh=request["energy_wh"], nonce=nonce,
                                       expiry_ts=request["deadline_ts"] + expiry_delta)
    if domain:
        d = eip712.domain(eip712.MARKET_DOMAIN, domain.get("chain_id", fleet.chain.chain_id),
                          domain.get("contract", fleet.system.market.address))
        bid = dataclasses.replace(bid, signature=eip712.sign(account, d, eip712.BID_TYPES, bid.message()))
    return bid


def seller_key(fleet: Fleet, bid: SignedBid) -> Any:
    names = [n for n, spec in fleet.specs.items() if spec["address"] == bid.seller]
    return key_of(fleet, names[0])


def post_bid(fleet: Fleet, bid: SignedBid, *, account: Any = None, seller_url: str | None = None,
             **override: Any) -> httpx.Response:
    """POST the bid as a seller's node does: with its reply endpoint signed by the seller's key (`account`)."""
    url = seller_url or fleet.url("seller-1")
    endpoint = sign_endpoint(account or seller_key(fleet, bid), fleet.chain.chain_id, fleet.system.market.address,
                             bid, url)
    body = {**bid_to_json(bid), "seller_url": url, "endpoint_signature": "0x" + endpoint.hex(), **override}
    return httpx.post(f"{fleet.url('buyer')}/p2p/bids", json=body, timeout=30)


def test_a_valid_signed_bid_is_accepted(fleet: Fleet, open_request: dict[str, Any]) -> None:
    assert post_bid(fleet, signed_bid(fleet, open_request)).status_code == 200


def test_a_replayed_bid_is_refused_with_409(fleet: Fleet, open_request: dict[str, Any]) -> None:
    bid = signed_bid(fleet, open_request, nonce=2_000)
    assert post_bid(fleet, bid).status_code == 200
    replay = post_bid(fleet, bid)
    assert replay.status_code == 409 and "replay" in replay.json()["detail"]


def test_a_tampered_price_is_refused_with_401(fleet: Fleet, open_request: dict[str, Any]) -> None:
    response = post_bid(fleet, signed_bid(fleet, open_request, price=140), price_per_wh=90)
    assert response.status_code == 401 and "not by the seller" in response.json()["detail"]


def test_a_bid_signed_for_another_chain_is_refused(fleet: Fleet, open_request: dict[str, Any]) -> None:
    response = post_bid(fleet, signed_bid(fleet, open_request, chain_id=1))
    assert response.status_code == 401


def test_a_bid_signed_for_another_contract_is_refused(fleet: Fleet, open_request: dict[str, Any]) -> None:
    response = post_bid(fleet, signed_bid(fleet, open_request, contract=fleet.system.registry.address))
    assert response.status_code == 401


def test_a_bid_expiring_before_the_close_is_refused(fleet: Fleet, open_request: dict[str, Any]) -> None:
    response = post_bid(fleet, signed_bid(fleet, open_request, expiry_delta=-1))
    assert response.status_code == 400 and "expires" in response.json()["detail"]


def test_a_bid_by_an_unregistered_key_is_refused_with_403(fleet: Fleet, open_request: dict[str, Any]) -> None:
    stranger = Account.create()
    response = post_bid(fleet, signed_bid(fleet, open_request, seller=stranger), account=stranger)
    assert response.status_code == 403 and "not an active registered seller" in response.json()["detail"]


def test_a_bid_above_the_maximum_is_refused(fleet: Fleet, open_request: dict[str, Any]) -> None:
    response = post_bid(fleet, signed_bid(fleet, open_request, price=151))
    assert response.status_code == 400


def test_state_changes_without_the_bearer_token_are_refused_with_401(fleet: Fleet) -> None:
    url = fleet.url("buyer")
    assert httpx.post(f"{url}/requests", json=REQUEST).status_code == 401
    wrong = {"Authorization": "Bearer " + "x" * 32}
    assert httpx.post(f"{url}/requests", json=REQUEST, headers=wrong).status_code == 401
    assert httpx.post(f"{url}/withdraw", headers=wrong).status_code == 401


def test_malformed_json_is_refused_with_422(fleet: Fleet) -> None:
    owner = fleet.owner("buyer")
    response = httpx.post(f"{fleet.url('buyer')}/requests", content=b"{not json", headers={
        **owner.headers, "Content-Type": "application/json"})
    assert response.status_code == 422


@pytest.mark.parametrize("field,value", [("energy_wh", 10**30), ("energy_wh", -5), ("energy_wh", 0),
                                         ("max_price_per_wh", 2**200), ("bidding_s", 10**9), ("energy_wh", "lots"),
                                         ("energy_wh", 1.5)])
def test_absurd_numbers_are_refused_with_422_naming_the_field(fleet: Fleet, field: str, value: Any) -> None:
    owner = fleet.owner("buyer")
    response = httpx.post(f"{fleet.url('buyer')}/requests", json={**REQUEST, field: value}, headers=owner.headers)
    assert response.status_code == 422 and field in response.text


def test_an_oversized_body_is_refused_with_413(fleet: Fleet) -> None:
    response = httpx.post(f"{fleet.url('buyer')}/p2p/bids", content=b"x" * 70_000,
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_closing_before_the_deadline_is_refused_by_the_node_with_409(fleet: Fleet) -> None:
    buyer = fleet.owner("buyer")
    request = buyer.post("/requests", REQUEST)
    response = httpx.post(f"{fleet.url('buyer')}/requests/{request['request_id']}/close", headers=buyer.headers)
    assert response.status_code == 409 and "bidding is open" in response.json()["detail"]


def test_a_chain_revert_comes_back_as_409_with_the_decoded_error_name(fleet: Fleet) -> None:
    buyer = fleet.owner("buyer")
    request = buyer.post("/requests", REQUEST)
    fleet.chain.advance_time(request["deadline_ts"] - fleet.chain.now())
    buyer.post(f"/requests/{request['request_id']}/close")
    again = httpx.post(f"{fleet.url('buyer')}/requests/{request['request_id']}/close", headers=buyer.headers)
    assert again.status_code == 409
    assert again.json()["error"] == "WrongStatus" and again.json()["arguments"]["requestId"] == request["request_id"]
