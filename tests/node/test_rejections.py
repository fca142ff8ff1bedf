"""Everything a node must refuse, with a 4xx and a reason: hostile bids, forged identities, bad owner input."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account

from tests.support.builders import open_request as open_on_chain
from tests.support.fleet_nodes import Fleet, key_of
from tests.support.peers import REQUEST, post_bid, signed_bid


@pytest.fixture
def open_request(fleet: Fleet) -> dict[str, Any]:
    return fleet.owner("buyer").post("/requests", REQUEST)


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
    assert fleet.http.post(f"{url}/requests", json=REQUEST).status_code == 401
    wrong = {"Authorization": "Bearer " + "x" * 32}
    assert fleet.http.post(f"{url}/requests", json=REQUEST, headers=wrong).status_code == 401
    assert fleet.http.post(f"{url}/withdraw", headers=wrong).status_code == 401


def test_malformed_json_is_refused_with_422(fleet: Fleet) -> None:
    owner = fleet.owner("buyer")
    response = fleet.http.post(
        f"{fleet.url('buyer')}/requests",
        content=b"{not json",
        headers={**owner.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    "field,value",
    [
        ("energy_wh", 10**30),
        ("energy_wh", -5),
        ("energy_wh", 0),
        ("max_price_per_wh", 2**200),
        ("max_price_per_wh", 2**63),  # fits the contract's uint96, not the node's 64-bit store
        ("bidding_s", 10**9),
        ("energy_wh", "lots"),
        ("energy_wh", 1.5),
    ],
)
def test_absurd_numbers_are_refused_with_422_naming_the_field(fleet: Fleet, field: str, value: Any) -> None:
    owner = fleet.owner("buyer")
    response = fleet.http.post(f"{fleet.url('buyer')}/requests", json={**REQUEST, field: value}, headers=owner.headers)
    assert response.status_code == 422 and field in response.text


def test_an_oversized_body_is_refused_with_413(fleet: Fleet) -> None:
    response = fleet.http.post(
        f"{fleet.url('buyer')}/p2p/bids", content=b"x" * 70_000, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


def test_closing_before_the_deadline_is_refused_by_the_node_with_409(fleet: Fleet) -> None:
    buyer = fleet.owner("buyer")
    request = buyer.post("/requests", REQUEST)
    response = fleet.http.post(f"{fleet.url('buyer')}/requests/{request['request_id']}/close", headers=buyer.headers)
    assert response.status_code == 409 and "bidding is open" in response.json()["detail"]


def test_a_chain_revert_comes_back_as_409_with_the_decoded_error_name(fleet: Fleet) -> None:
    buyer = fleet.owner("buyer")
    request = buyer.post("/requests", REQUEST)
    fleet.chain.advance_time(request["deadline_ts"] - fleet.chain.now())
    buyer.post(f"/requests/{request['request_id']}/close")
    again = fleet.http.post(f"{fleet.url('buyer')}/requests/{request['request_id']}/close", headers=buyer.headers)
    assert again.status_code == 409
    assert again.json()["error"] == "WrongStatus" and again.json()["arguments"]["requestId"] == request["request_id"]


def test_a_request_beyond_the_nodes_64_bit_store_is_not_bid_on(fleet: Fleet) -> None:
    """A buyer rich enough to escrow 2**64 per Wh opens on-chain directly: the seller's node refuses to bid rather
    than send a bid it could not record."""
    buyer = key_of(fleet, "buyer")
    fleet.system.token.mint(buyer.address, 2**70)
    own = fleet.system.as_(fleet.chain.sender(buyer))
    request_id = open_on_chain(own.market, fleet.chain.now(), energy_wh=1, max_price=2**64)
    owner = fleet.owner("seller-1")
    response = fleet.http.post(
        f"{fleet.url('seller-1')}/bids",
        json={"request_id": request_id, "buyer_url": fleet.address("buyer")},
        headers=owner.headers,
        timeout=30,
    )
    assert response.status_code == 409 and "64-bit" in response.text


def test_an_order_for_an_unusable_operator_url_is_kept_and_marked_refused_not_a_server_error(fleet: Fleet) -> None:
    """Found by the fuzz run: a URL httpx cannot even parse raised past the error handler as a 500. The signed order
    is kept (it can be resent to another operator), marked refused with the reason."""
    owner = fleet.owner("seller-1")
    body = {
        "side": "sell",
        "energy_wh": 1_000,
        "limit_price_per_wh": 50,
        "operator_url": "https://\u00e9\u0000x#sha256=" + "00" * 32,
    }
    response = fleet.http.post(f"{fleet.url('seller-1')}/orders", json=body, headers=owner.headers, timeout=30)
    assert response.status_code == 200 and response.json()["status"] == "refused"
    assert "not a usable node URL" in response.json()["answer"]
