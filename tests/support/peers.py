"""Builders for what peers send a node: signed bids, presentations, challenges and handshakes."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import httpx

from node.peers import bid_to_json, sign_endpoint
from tests.support.fleet_nodes import Fleet, key_of
from v2vchain.contracts.market import SignedBid
from v2vchain.identity.did import did_for
from v2vchain.identity.presentations import present
from v2vchain.protocol import eip712

REQUEST = {"energy_wh": 10_000, "max_price_per_wh": 150, "bidding_s": 600}


def awarded_to_seller_1(fleet: Fleet) -> int:
    buyer = fleet.owner("buyer")
    request = buyer.post("/requests", REQUEST)
    fleet.owner("seller-1").post("/bids/auto", {"region": ""})
    fleet.chain.advance_time(request["deadline_ts"] - fleet.chain.now())
    closed = buyer.post(f"/requests/{request['request_id']}/close")
    assert closed["seller"] == fleet.specs["seller-1"]["address"]
    return int(request["request_id"])


def vc_of(fleet: Fleet, name: str) -> dict[str, Any]:
    return json.loads((fleet.workdir / f"{name}.vc.json").read_text())


def presentation(
    fleet: Fleet, *, holder: Any, vc: dict[str, Any], challenge: str, domain: str | None = None
) -> dict[str, Any]:
    seller_did = did_for(fleet.specs["seller-1"]["address"], fleet.chain.chain_id)
    return present(
        holder, vc, challenge=challenge, domain=domain or seller_did, seal_key=b"\x01" * 32, now=fleet.chain.now()
    )


def challenge(fleet: Fleet) -> str:
    return str(fleet.http.get(f"{fleet.url('seller-1')}/p2p/challenge").json()["challenge"])


def handshake(fleet: Fleet, request_id: int, vp: dict[str, Any]) -> httpx.Response:
    return fleet.http.post(
        f"{fleet.url('seller-1')}/p2p/meetings/{request_id}/handshake",
        json={"presentation": vp, "challenge": "0x" + "ab" * 32},
        timeout=30,
    )


def signed_bid(
    fleet: Fleet,
    request: dict[str, Any],
    *,
    seller: str = "seller-1",
    price: int = 100,
    nonce: int = 1_000,
    expiry_delta: int = 3_600,
    **domain: Any,
) -> SignedBid:
    account = key_of(fleet, seller) if isinstance(seller, str) else seller
    bid = fleet.system.market.sign_bid(
        account,
        request_id=request["request_id"],
        price_per_wh=price,
        energy_wh=request["energy_wh"],
        nonce=nonce,
        expiry_ts=request["deadline_ts"] + expiry_delta,
    )
    if domain:
        d = eip712.domain(
            eip712.MARKET_DOMAIN,
            domain.get("chain_id", fleet.chain.chain_id),
            domain.get("contract", fleet.system.market.address),
        )
        bid = dataclasses.replace(bid, signature=eip712.sign(account, d, eip712.BID_TYPES, bid.message()))
    return bid


def seller_key(fleet: Fleet, bid: SignedBid) -> Any:
    names = [n for n, spec in fleet.specs.items() if spec["address"] == bid.seller]
    return key_of(fleet, names[0])


def post_bid(
    fleet: Fleet, bid: SignedBid, *, account: Any = None, seller_url: str | None = None, **override: Any
) -> httpx.Response:
    """POST the bid as a seller's node does: with its reply endpoint signed by the seller's key (`account`)."""
    url = seller_url or fleet.address("seller-1")
    endpoint = sign_endpoint(
        account or seller_key(fleet, bid), fleet.chain.chain_id, fleet.system.market.address, bid, url
    )
    body = {**bid_to_json(bid), "seller_url": url, "endpoint_signature": "0x" + endpoint.hex(), **override}
    return fleet.http.post(f"{fleet.url('buyer')}/p2p/bids", json=body, timeout=30)
