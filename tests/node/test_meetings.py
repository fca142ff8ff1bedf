"""The meeting handshake: only the real counterparty, answering a fresh challenge, with a live credential."""

from __future__ import annotations

import json

import httpx
from eth_account import Account

from tests.support.fleet_nodes import Fleet, key_of
from tests.support.peers import awarded_to_seller_1, challenge, handshake, presentation, vc_of
from v2vchain.identity.did import did_for
from v2vchain.privacy.seal import seal


def test_the_buyers_own_presentation_is_accepted(fleet: Fleet) -> None:
    request_id = awarded_to_seller_1(fleet)
    vp = presentation(fleet, holder=key_of(fleet, "buyer"), vc=vc_of(fleet, "buyer"), challenge=challenge(fleet))
    response = handshake(fleet, request_id, vp)
    assert response.status_code == 200, response.text
    assert response.json()["presentation"]["holder"] == did_for(
        fleet.specs["seller-1"]["address"], fleet.chain.chain_id
    )


def test_a_presentation_signed_by_another_key_is_refused_as_forged(fleet: Fleet) -> None:
    request_id = awarded_to_seller_1(fleet)
    vp = presentation(fleet, holder=Account.create(), vc=vc_of(fleet, "buyer"), challenge=challenge(fleet))
    response = handshake(fleet, request_id, vp)
    assert response.status_code == 401 and "ForgedPresentation" in response.text


def test_a_replayed_challenge_is_refused(fleet: Fleet) -> None:
    request_id = awarded_to_seller_1(fleet)
    vp = presentation(fleet, holder=key_of(fleet, "buyer"), vc=vc_of(fleet, "buyer"), challenge=challenge(fleet))
    assert handshake(fleet, request_id, vp).status_code == 200
    replay = handshake(fleet, request_id, vp)
    assert replay.status_code == 401 and "ReplayedChallenge" in replay.text


def test_a_challenge_the_seller_never_issued_is_refused(fleet: Fleet) -> None:
    request_id = awarded_to_seller_1(fleet)
    vp = presentation(fleet, holder=key_of(fleet, "buyer"), vc=vc_of(fleet, "buyer"), challenge="0x" + "11" * 32)
    response = handshake(fleet, request_id, vp)
    assert response.status_code == 401 and "UnknownChallenge" in response.text


def test_a_presentation_made_for_another_verifier_is_refused(fleet: Fleet) -> None:
    request_id = awarded_to_seller_1(fleet)
    vp = presentation(
        fleet,
        holder=key_of(fleet, "buyer"),
        vc=vc_of(fleet, "buyer"),
        challenge=challenge(fleet),
        domain=did_for(Account.create().address, fleet.chain.chain_id),
    )
    response = handshake(fleet, request_id, vp)
    assert response.status_code == 401 and "WrongDomain" in response.text


def test_a_valid_vehicle_that_is_not_this_trades_buyer_is_refused(fleet: Fleet) -> None:
    request_id = awarded_to_seller_1(fleet)
    vp = presentation(fleet, holder=key_of(fleet, "seller-2"), vc=vc_of(fleet, "seller-2"), challenge=challenge(fleet))
    response = handshake(fleet, request_id, vp)
    assert response.status_code == 403 and "counterparty" in response.text


def _seal_to_seller(fleet: Fleet, request_id: int, secret_hex: str) -> httpx.Response:
    identity = fleet.http.get(f"{fleet.url('seller-1')}/identity").json()
    sealed = seal(
        bytes.fromhex(identity["seal_public_key"][2:]),
        json.dumps({"lat": 52.5, "lon": 13.4, "access_secret": secret_hex}).encode(),
        request_id,
    )
    return fleet.http.post(
        f"{fleet.url('seller-1')}/p2p/meetings/{request_id}/point", json={"sealed": "0x" + sealed.hex()}
    )


def test_a_sealed_point_before_the_buyer_is_verified_is_refused(fleet: Fleet) -> None:
    request_id = awarded_to_seller_1(fleet)
    response = _seal_to_seller(fleet, request_id, "00" * 32)
    assert response.status_code == 403 and "not been verified" in response.text


def test_a_wrong_access_secret_is_refused(fleet: Fleet) -> None:
    request_id = awarded_to_seller_1(fleet)
    vp = presentation(fleet, holder=key_of(fleet, "buyer"), vc=vc_of(fleet, "buyer"), challenge=challenge(fleet))
    assert handshake(fleet, request_id, vp).status_code == 200
    response = _seal_to_seller(fleet, request_id, "00" * 32)
    assert response.status_code == 403 and "commitment" in response.text


def test_zz_a_revoked_buyer_credential_is_refused(fleet: Fleet) -> None:
    """Last in this module: it revokes the buyer for good."""
    request_id = awarded_to_seller_1(fleet)
    fleet.chain.fund(fleet.issuer.address, 10**18)
    fleet.system.registry.connect(fleet.chain.sender(fleet.issuer)).revoke(fleet.specs["buyer"]["address"])
    vp = presentation(fleet, holder=key_of(fleet, "buyer"), vc=vc_of(fleet, "buyer"), challenge=challenge(fleet))
    response = handshake(fleet, request_id, vp)
    assert response.status_code == 401 and "CredentialRevoked" in response.text
