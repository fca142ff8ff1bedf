"""Issue 14: the outside attack on the node, each finding a named test against real node processes on anvil."""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from node.demo_fleet import SELLER_DEPOSIT, TOKEN_ENV, Owner, _position, provision, start_node, wait_ready
from node.errors import RecordConflict
from node.peers import bid_to_json, sign_endpoint, sign_listing
from node.store import Store
from node.transport import pinned_url, split_url
from tests.support.fleet_nodes import Fleet, key_of
from tests.support.json_handler import JsonHandler
from tests.support.peers import (
    REQUEST,
    awarded_to_seller_1,
    challenge,
    handshake,
    post_bid,
    presentation,
    signed_bid,
    vc_of,
)
from tests.support.tls_peers import (
    ListingPeer,
    RecordingRelay,
    serve_answering_peer,
    serve_listing_peer,
    serve_tls,
)
from v2vchain.identity.credentials import issue_vc
from v2vchain.identity.did import did_for
from v2vchain.identity.registration import ROLE_SELLER
from v2vchain.protocol.signatures import malleate


def open_request(fleet: Fleet) -> dict[str, Any]:
    return fleet.owner("buyer").post("/requests", REQUEST)


def held_bids(fleet: Fleet, request_id: int) -> list[dict[str, Any]]:
    store = Store(fleet.workdir / "buyer.sqlite")
    try:
        return [dict(r) for r in store._run("SELECT * FROM signed_bids WHERE request_id=?", (request_id,))]
    finally:
        store.close()


def seller_inbox(fleet: Fleet, request_id: int) -> dict[str, Any] | None:
    store = Store(fleet.workdir / "seller-1.sqlite")
    try:
        return store.inbox(request_id, "receipt")
    finally:
        store.close()


# ---------------------------------------------------------------- 1: malleated bid signatures


@pytest.mark.parametrize("form", ["high-s", "v=0", "v=1"])
def test_item1_a_malleated_bid_signature_is_refused_with_401(fleet: Fleet, form: str) -> None:
    request = open_request(fleet)
    bid = signed_bid(fleet, request, nonce=50_000)
    sig = bid.signature
    forged = malleate(sig) if form == "high-s" else sig[:64] + bytes([int(form[-1])])
    response = post_bid(fleet, dataclasses.replace(bid, signature=forged))
    assert response.status_code == 401 and "refused" in response.json()["detail"], response.text
    assert held_bids(fleet, request["request_id"]) == []


# ---------------------------------------------------------------- 3: one bid per seller and request


def test_item3_one_seller_holds_one_bid_per_request_and_only_a_cheaper_one_replaces_it(fleet: Fleet) -> None:
    request = open_request(fleet)
    assert post_bid(fleet, signed_bid(fleet, request, price=120, nonce=60_000)).status_code == 200
    for nonce in range(60_001, 60_006):
        extra = post_bid(fleet, signed_bid(fleet, request, price=120, nonce=nonce))
        assert extra.status_code == 409 and "one bid per seller" in extra.json()["detail"]
    assert post_bid(fleet, signed_bid(fleet, request, price=110, nonce=60_010)).status_code == 200
    held = held_bids(fleet, request["request_id"])
    assert [(b["nonce"], b["price_per_wh"]) for b in held] == [(60_010, 110)]


# ---------------------------------------------------------------- 4: the reply endpoint is the seller's


def test_item4_a_copied_bid_with_another_url_is_refused_and_the_seller_keeps_its_endpoint(fleet: Fleet) -> None:
    request = open_request(fleet)
    bid = signed_bid(fleet, request, nonce=70_000)
    copier_url = "http://127.0.0.1:9"
    # the copier signs its own URL with its own key: not the seller's
    own = post_bid(fleet, bid, account=key_of(fleet, "seller-2"), seller_url=copier_url)
    assert own.status_code == 401 and "not signed by the seller" in own.json()["detail"]
    # the copier reuses the seller's endpoint signature with another URL
    genuine_sig = sign_endpoint(
        key_of(fleet, "seller-1"), fleet.chain.chain_id, fleet.system.market.address, bid, fleet.address("seller-1")
    )
    swapped = fleet.http.post(
        f"{fleet.url('buyer')}/p2p/bids",
        json={**bid_to_json(bid), "seller_url": copier_url, "endpoint_signature": "0x" + genuine_sig.hex()},
        timeout=30,
    )
    assert swapped.status_code == 401
    # no endpoint signature at all
    bare = fleet.http.post(
        f"{fleet.url('buyer')}/p2p/bids", json={**bid_to_json(bid), "seller_url": copier_url}, timeout=30
    )
    assert bare.status_code == 422
    assert post_bid(fleet, bid).status_code == 200
    assert [b["seller_url"] for b in held_bids(fleet, request["request_id"])] == [fleet.address("seller-1")]


# ---------------------------------------------------------------- 2: a close that converges


def test_item2_stale_bids_never_crowd_out_a_valid_one_and_a_caught_seller_is_dropped(fleet: Fleet) -> None:
    request = open_request(fleet)
    request_id = request["request_id"]
    assert post_bid(fleet, signed_bid(fleet, request, price=140, nonce=80_000)).status_code == 200
    # seller-2 floods 20 cheap bids (written to the buyer's store directly: the node itself takes one per
    # seller) and then cancels them on-chain: without the chain check they fill all 16 slots of the close
    seller2 = key_of(fleet, "seller-2")
    store = Store(fleet.workdir / "buyer.sqlite")
    try:
        for i in range(20):
            bid = signed_bid(fleet, request, seller="seller-2", price=50 + i, nonce=80_100 + i)
            store.add_signed_bid(
                {
                    **{k: v for k, v in bid.__dict__.items() if k != "signature"},
                    "signature": bid.signature.hex(),
                    "seller_url": fleet.address("seller-2"),
                }
            )
    finally:
        store.close()
    fleet.chain.fund(seller2.address, 10**18)
    fleet.system.market.connect(fleet.chain.sender(seller2)).cancel_signed_bids(80_200)
    fleet.chain.advance_time(request["deadline_ts"] - fleet.chain.now())
    closed = fleet.owner("buyer").post(f"/requests/{request_id}/close")
    assert closed["status"] == "awarded" and closed["seller"] == fleet.specs["seller-1"]["address"]
    assert closed["price_per_wh"] == 140
    rejected_on_chain = [
        e
        for e in fleet.system.market.contract.events.SignedBidRejected.get_logs(
            from_block=fleet.system.deployment.block
        )
        if e["args"]["requestId"] == request_id
    ]
    assert rejected_on_chain == []  # nothing the chain refuses was relayed
    reasons = {b["rejected"] for b in held_bids(fleet, request_id) if b["seller"] == seller2.address}
    assert reasons == {"CANCELLED"}


def test_item2_a_seller_without_free_cover_is_dropped_before_the_close(fleet: Fleet) -> None:
    request = open_request(fleet)
    request_id = request["request_id"]
    assert post_bid(fleet, signed_bid(fleet, request, price=145, nonce=90_000)).status_code == 200
    poor = fleet.owner("seller-2")
    bid = signed_bid(fleet, request, seller="seller-2", price=60, nonce=90_001)
    assert post_bid(fleet, bid, seller_url=fleet.address("seller-2")).status_code == 200
    poor.post("/withdraw")
    try:
        fleet.chain.advance_time(request["deadline_ts"] - fleet.chain.now())
        closed = fleet.owner("buyer").post(f"/requests/{request_id}/close")
        assert closed["seller"] == fleet.specs["seller-1"]["address"]
        reasons = {b["rejected"] for b in held_bids(fleet, request_id) if b["nonce"] == 90_001}
        assert reasons == {"INSUFFICIENT_COVER"}
    finally:
        poor.post("/deposit", {"amount": SELLER_DEPOSIT})


# ---------------------------------------------------------------- 6, 7: meter receipts at the seller


def _receipt(fleet: Fleet, request_id: int, delivered_wh: int, *, malleated: bool = False) -> httpx.Response:
    sig = fleet.system.market.sign_receipt(
        key_of(fleet, "buyer"),
        request_id=request_id,
        seller=fleet.specs["seller-1"]["address"],
        delivered_wh=delivered_wh,
    )
    if malleated:
        sig = malleate(sig)
    return fleet.http.post(
        f"{fleet.url('seller-1')}/p2p/receipts",
        timeout=30,
        json={"request_id": request_id, "delivered_wh": delivered_wh, "signature": "0x" + sig.hex()},
    )


def test_item6_a_high_s_meter_receipt_is_refused_and_not_stored(fleet: Fleet) -> None:
    request_id = awarded_to_seller_1(fleet)
    response = _receipt(fleet, request_id, 10_000, malleated=True)
    assert response.status_code == 401 and "not canonical" in response.json()["detail"]
    assert seller_inbox(fleet, request_id) is None


def test_item7_a_later_receipt_for_less_never_replaces_a_larger_one(fleet: Fleet) -> None:
    request_id = awarded_to_seller_1(fleet)
    assert _receipt(fleet, request_id, 8_000).status_code == 200
    smaller = _receipt(fleet, request_id, 5_000)
    assert smaller.status_code == 409 and "for less never replaces" in smaller.json()["detail"]
    assert seller_inbox(fleet, request_id)["delivered_wh"] == 8_000
    assert _receipt(fleet, request_id, 9_000).status_code == 200
    assert seller_inbox(fleet, request_id)["delivered_wh"] == 9_000


# ---------------------------------------------------------------- 8: the credential must be the registered one


def test_item8_a_self_issued_credential_with_the_registered_expiry_is_refused(fleet: Fleet) -> None:
    request_id = awarded_to_seller_1(fleet)
    buyer = key_of(fleet, "buyer")
    registered = fleet.system.registry.vehicle(buyer.address)
    genuine = vc_of(fleet, "buyer")
    forged = issue_vc(
        buyer,
        registry=fleet.system.registry.address,
        chain_id=fleet.chain.chain_id,
        vehicle_did=did_for(buyer.address, fleet.chain.chain_id),
        roles=registered.roles,
        battery_capacity_wh=10**9,
        max_v2v_power_w=10**9,
        valid_from=fleet.chain.now() - 60,
        valid_until=registered.expiry,
    )
    assert forged["issuer"] != genuine["issuer"]
    vp = presentation(fleet, holder=buyer, vc=forged, challenge=challenge(fleet))
    response = handshake(fleet, request_id, vp)
    assert response.status_code == 401 and "registered by" in response.json()["detail"], response.text
    # the genuine credential still passes
    vp = presentation(fleet, holder=buyer, vc=genuine, challenge=challenge(fleet))
    assert handshake(fleet, request_id, vp).status_code == 200


# ---------------------------------------------------------------- 12: challenges cost the node nothing


def test_item12_many_challenges_leave_a_fresh_one_usable(fleet: Fleet) -> None:
    request_id = awarded_to_seller_1(fleet)  # first: it moves the chain's clock past a challenge's lifetime
    url = fleet.url("seller-1")
    with fleet.http.client(timeout=30) as client:
        issued = [client.get(f"{url}/p2p/challenge").json()["challenge"] for _ in range(300)]
    assert len(set(issued)) == 300
    vp = presentation(fleet, holder=key_of(fleet, "buyer"), vc=vc_of(fleet, "buyer"), challenge=issued[0])
    assert handshake(fleet, request_id, vp).status_code == 200


# ---------------------------------------------------------------- 13: owner data needs the token


@pytest.mark.parametrize("path", ["/trades", "/balances"])
def test_item13_trades_and_balances_need_the_bearer_token(fleet: Fleet, path: str) -> None:
    url = fleet.url("seller-1")
    assert fleet.http.get(f"{url}{path}", timeout=30).status_code == 401
    assert (
        fleet.http.get(f"{url}{path}", headers={"Authorization": "Bearer " + "x" * 32}, timeout=30).status_code == 401
    )
    assert fleet.http.get(f"{url}{path}", headers=fleet.owner("seller-1").headers, timeout=60).status_code == 200


# ---------------------------------------------------------------- 9: one malformed peer never stops the others


class _ObjectPeer(JsonHandler):
    def do_GET(self) -> None:
        self.send_json(json.dumps({"requests": [{"request_id": 1}]}).encode())


@pytest.fixture
def object_peer() -> Iterator[str]:
    server, url = serve_tls(_ObjectPeer)
    try:
        yield url
    finally:
        server.shutdown()


def test_item9_a_peer_answering_discovery_with_an_object_is_skipped_and_the_others_get_bids(
    fleet: Fleet, object_peer: str
) -> None:

    spec = provision(
        fleet.system,
        fleet.issuer,
        fleet.workdir,
        "seller-3",
        ROLE_SELLER,
        position=_position(random.Random(9)),
        peers=[object_peer, fleet.address("buyer")],
        degradation=10,
        env=fleet.env,
    )
    node = start_node(spec, fleet.env, fleet.workdir)
    try:
        wait_ready(node)
        request = open_request(fleet)

        owner = Owner(node, fleet.env[TOKEN_ENV])
        placed = owner.post("/bids/auto", {"region": ""})
        assert request["request_id"] in {p["request_id"] for p in placed}
        assert b"skipped" in node.log.read_bytes()
    finally:
        node.process.kill()


def test_a_peer_answering_discovery_with_json_nested_200000_deep_is_skipped_and_the_node_lives(fleet: Fleet) -> None:
    """Redteam: json's recursion ran past the C stack (py_ecc raises Python's recursion limit to 100,000) and the
    seller's node died with SIGSEGV on one listed peer's 400 kB answer."""
    deep = serve_answering_peer(b"[" * 200_000 + b"]" * 200_000)
    spec = provision(
        fleet.system,
        fleet.issuer,
        fleet.workdir,
        "seller-5",
        ROLE_SELLER,
        position=_position(random.Random(11)),
        peers=[deep.url, fleet.address("buyer")],
        degradation=10,
        env=fleet.env,
    )
    node = start_node(spec, fleet.env, fleet.workdir)
    try:
        wait_ready(node)
        request = open_request(fleet)
        placed = Owner(node, fleet.env[TOKEN_ENV]).post("/bids/auto", {"region": ""})
        assert request["request_id"] in {p["request_id"] for p in placed}
        assert node.process.poll() is None
        assert b"nested more than 64 deep" in node.log.read_bytes()
    finally:
        node.process.kill()
        deep.shutdown()


def test_a_winner_whose_node_answers_a_list_for_its_challenge_gets_the_buyer_a_502_not_a_server_error(
    fleet: Fleet,
) -> None:
    """Redteam: the buyer's meet indexed the winner node's answer as an object; `[]` made it a 500 (TypeError)."""
    hostile = serve_answering_peer(b"[]")
    try:
        request = open_request(fleet)
        assert post_bid(fleet, signed_bid(fleet, request), seller_url=hostile.url).status_code == 200
        fleet.chain.advance_time(request["deadline_ts"] - fleet.chain.now())
        buyer = fleet.owner("buyer")
        assert buyer.post(f"/requests/{request['request_id']}/close")["seller"] == fleet.specs["seller-1"]["address"]
        met = fleet.http.post(
            f"{fleet.url('buyer')}/requests/{request['request_id']}/meet", json={}, headers=buyer.headers, timeout=60
        )
        assert met.status_code == 502, met.text
        assert "/p2p/challenge without 'challenge'" in met.json()["detail"]
    finally:
        hostile.shutdown()


# ---------------------------------------------------------------- 5: confirm never waits on the seller's node


def test_item5_the_buyer_confirms_on_chain_even_when_the_sellers_node_is_down(fleet: Fleet) -> None:
    request_id = awarded_to_seller_1(fleet)
    request = fleet.system.market.request(request_id)
    fleet.nodes["seller-1"].process.kill()
    fleet.nodes["seller-1"].process.wait()
    try:
        fleet.chain.advance_time(request.delivery_start_ts - fleet.chain.now())
        confirmed = fleet.owner("buyer").post(f"/requests/{request_id}/confirm", {"delivered_wh": REQUEST["energy_wh"]})
        assert confirmed["status"] == "settled" and confirmed["receipt_delivered"] is False
        assert fleet.system.market.request(request_id).status.name == "SETTLED"
    finally:
        fleet.restart("seller-1")


# ---------------------------------------------------------------- issue 10: records never change role or owner


def buyer_record(fleet: Fleet, request_id: int) -> dict[str, Any] | None:
    store = Store(fleet.workdir / "buyer.sqlite")
    try:
        return store.request(request_id)
    finally:
        store.close()


def test_issue10_a_self_bid_on_the_buyers_own_node_is_refused_and_its_request_survives(fleet: Fleet) -> None:
    request = open_request(fleet)
    request_id = request["request_id"]
    owner = fleet.owner("buyer")
    response = fleet.http.post(
        f"{fleet.url('buyer')}/bids",
        headers=owner.headers,
        timeout=60,
        json={"request_id": request_id, "buyer_url": fleet.address("buyer"), "price_per_wh": 120},
    )
    assert response.status_code == 409 and "self-bid" in response.json()["detail"], response.text
    record = buyer_record(fleet, request_id)
    assert record is not None and record["role"] == "buyer" and record["buyer"] == fleet.specs["buyer"]["address"]
    assert held_bids(fleet, request_id) == []  # nothing was sent to itself
    # the buyer's node still takes bids and closes its own request, so the escrow does not stay locked
    assert post_bid(fleet, signed_bid(fleet, request, price=120, nonce=80_000)).status_code == 200
    fleet.chain.advance_time(request["deadline_ts"] - fleet.chain.now())
    closed = owner.post(f"/requests/{request_id}/close")
    assert closed["status"] == "awarded" and closed["seller"] == fleet.specs["seller-1"]["address"]


def test_issue10_the_store_never_turns_a_buyer_record_into_a_seller_record(tmp_path: Any) -> None:

    store = Store(tmp_path / "n.sqlite")
    row = dict(
        request_id=7,
        role="buyer",
        buyer="0xB",
        energy_wh=1,
        max_price_per_wh=1,
        deadline_ts=1,
        delivery_start_ts=2,
        delivery_end_ts=3,
        area="u33",
        status="open",
    )
    store.upsert_request(**row)
    with pytest.raises(RecordConflict):
        store.upsert_request(**{**row, "role": "seller", "area": "", "status": "bid"})
    with pytest.raises(RecordConflict):
        store.upsert_request(**{**row, "buyer": "0xC"})
    store.upsert_request(**{**row, "status": "awarded"})  # the same role and buyer may be updated
    held = store.request(7)
    assert held is not None and (held["role"], held["buyer"], held["area"], held["status"]) == (
        "buyer",
        "0xB",
        "u33",
        "awarded",
    )
    store.close()


# ---------------------------------------------------------------- issue 10: a failed send is no bid


def seller_records(fleet: Fleet, request_id: int) -> tuple[dict[str, Any] | None, list[str]]:
    store = Store(fleet.workdir / "seller-1.sqlite")
    try:
        intents = [
            r["state"] for r in store._run("SELECT state FROM intents WHERE key LIKE ?", (f"bid:{request_id}:%",))
        ]
        return store.request(request_id), intents
    finally:
        store.close()


def test_issue10_a_failed_send_leaves_no_bid_record_and_auto_bidding_retries_it(fleet: Fleet) -> None:
    request = open_request(fleet)
    request_id = request["request_id"]
    seller = fleet.owner("seller-1")
    response = fleet.http.post(
        f"{fleet.url('seller-1')}/bids",
        headers=seller.headers,
        timeout=60,
        json={"request_id": request_id, "buyer_url": "https://127.0.0.1:9#sha256=" + "00" * 32},
    )
    assert response.status_code == 502, response.text
    record, intents = seller_records(fleet, request_id)
    assert record is None and intents == []  # the buyer URL's listing could not be checked: nothing signed or sent
    placed = seller.post("/bids/auto", {"region": ""})
    assert request_id in {p["request_id"] for p in placed}
    record, intents = seller_records(fleet, request_id)
    assert record is not None and record["role"] == "seller" and intents == ["done"]
    assert [b["seller"] for b in held_bids(fleet, request_id)] == [fleet.specs["seller-1"]["address"]]


# ---------------------------------------------------------------- issue 10: a chunked body is counted as it streams


def rss_kib(fleet: Fleet, name: str) -> int:
    status = (Path("/proc") / str(fleet.nodes[name].process.pid) / "status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))


def test_issue10_a_chunked_body_over_the_limit_is_refused_while_it_streams(fleet: Fleet) -> None:
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        chunk = b" " * (1 << 20)
        for _ in range(64):  # 64 MiB, a thousand times the limit, without Content-Length
            sent += len(chunk)
            yield chunk

    before = rss_kib(fleet, "buyer")
    try:
        response = fleet.http.post(
            f"{fleet.url('buyer')}/p2p/bids", content=body(), headers={"content-type": "application/json"}, timeout=60
        )
    except (httpx.RemoteProtocolError, httpx.WriteError, httpx.ReadError):
        # The node answers 413 and closes while the client still sends: TCP may then drop the answer with the
        # unread bytes (a reset), so the client sees the connection closed instead. Either way it stopped reading.
        response = None
    if response is not None:
        assert response.status_code == 413 and "request body over" in response.json()["detail"], response.text
    assert sent < 64 << 20  # the node stopped taking the body long before its end
    assert rss_kib(fleet, "buyer") - before < 16 * 1024  # never buffered whole
    assert fleet.http.get(f"{fleet.url('buyer')}/identity", timeout=10).status_code == 200  # still responsive


# ---------------------------------------------------------------- 10: only the buyer lists its request


LISTING_FORMS = ("missing", "forged", "own-key", "replayed-buyer-signature", "malleated-buyer-signature")


@pytest.fixture
def listing_peers() -> Iterator[dict[str, ListingPeer]]:
    servers = {}
    for form in LISTING_FORMS:
        servers[form] = serve_listing_peer()
    try:
        yield servers
    finally:
        for server in servers.values():
            server.shutdown()


def test_item10_a_peer_listing_another_buyers_request_gets_no_bid(
    fleet: Fleet, listing_peers: dict[str, ListingPeer]
) -> None:

    def url_of(server: ListingPeer) -> str:
        return server.url

    fakes = [url_of(s) for s in listing_peers.values()]
    spec = provision(
        fleet.system,
        fleet.issuer,
        fleet.workdir,
        "seller-4",
        ROLE_SELLER,
        position=_position(random.Random(10)),
        peers=[*fakes, fleet.address("buyer")],
        degradation=10,
        env=fleet.env,
    )
    node = start_node(spec, fleet.env, fleet.workdir)
    try:
        wait_ready(node)
        request = open_request(fleet)
        request_id = request["request_id"]
        genuine = fleet.http.get(f"{fleet.url('buyer')}/p2p/requests", timeout=30).json()
        listed = next(r for r in genuine if r["request_id"] == request_id)
        chain_id, market = fleet.chain.chain_id, fleet.system.market.address
        for form, server in listing_peers.items():
            url = url_of(server)
            offer = {**listed, "bid_url": url}
            if form == "missing":
                offer.pop("listing_signature")
            elif form == "forged":
                offer["listing_signature"] = "0x" + "11" * 64 + "1b"
            elif form == "own-key":
                offer["listing_signature"] = (
                    "0x" + sign_listing(key_of(fleet, "seller-2"), chain_id, market, request_id, url).hex()
                )
            elif form == "replayed-buyer-signature":
                pass  # the buyer's genuine signature, but for the buyer's URL
            else:
                offer["listing_signature"] = (
                    "0x" + malleate(sign_listing(key_of(fleet, "buyer"), chain_id, market, request_id, url)).hex()
                )
            server.listing = [offer]
        placed = Owner(node, fleet.env[TOKEN_ENV]).post("/bids/auto", {"region": ""})
        assert request_id in {p["request_id"] for p in placed}
        for form, server in listing_peers.items():
            assert server.posts == [], form
        assert spec["address"] in {b["seller"] for b in held_bids(fleet, request_id)}  # bid with the real buyer
        log_text = node.log.read_bytes()
        assert log_text.count(b"skipped: the listing is not signed by the request's buyer") == len(LISTING_FORMS)
    finally:
        node.process.kill()


# ---------------------------------------------------------------- 14: confidential, pinned transport


def test_item14_a_man_in_the_middle_without_the_buyers_key_receives_no_bid(fleet: Fleet) -> None:
    """A manual bid to the buyer's pin at an impostor's address: the seller's node refuses the TLS handshake, so the
    impostor never sees a request, let alone a price."""
    request = fleet.owner("buyer").post("/requests", REQUEST)
    impostor = serve_listing_peer()
    try:
        genuine = fleet.http.get(f"{fleet.url('buyer')}/p2p/requests", timeout=30).json()
        impostor.listing = [r for r in genuine if r["request_id"] == request["request_id"]]
        buyer_pin = split_url(fleet.address("buyer"))[1]
        response = fleet.http.post(
            f"{fleet.url('seller-1')}/bids",
            headers=fleet.owner("seller-1").headers,
            json={"request_id": request["request_id"], "buyer_url": pinned_url(split_url(impostor.url)[0], buyer_pin)},
            timeout=60,
        )
        assert response.status_code == 502 and "pins" in response.json()["detail"], response.text
        assert impostor.seen == []
    finally:
        impostor.shutdown()


def test_item10_a_manual_bid_goes_only_to_a_url_the_requests_buyer_signed_its_listing_for(fleet: Fleet) -> None:
    """A peer replaying the buyer's genuine listing (signed for the buyer's URL, not the peer's) gets no bid from
    an owner who names it in POST /bids; the buyer's own URL does."""
    request = fleet.owner("buyer").post("/requests", REQUEST)
    copier = serve_listing_peer()
    try:
        genuine = fleet.http.get(f"{fleet.url('buyer')}/p2p/requests", timeout=30).json()
        listed = next(r for r in genuine if r["request_id"] == request["request_id"])
        copier.listing = [{**listed, "bid_url": copier.url}]  # the buyer's signature, the copier's URL
        seller = fleet.owner("seller-1")
        refused = fleet.http.post(
            f"{fleet.url('seller-1')}/bids",
            headers=seller.headers,
            json={"request_id": request["request_id"], "buyer_url": copier.url},
            timeout=60,
        )
        assert refused.status_code == 409 and "not signed by the request's buyer" in refused.json()["detail"]
        assert copier.posts == []
        placed = seller.post("/bids", {"request_id": request["request_id"], "buyer_url": fleet.address("buyer")})
        assert placed["request_id"] == request["request_id"]
    finally:
        copier.shutdown()


def test_item14_bids_presentations_and_receipts_are_unreadable_on_the_wire(fleet: Fleet) -> None:
    """Buyer and winning seller each behind a relay recording every byte: a whole trade (listing, sealed bid,
    meeting with presentations and the sealed point, receipt) crosses, and none of it is readable."""
    relays = [
        fleet.move_behind(name, lambda outer, inner: RecordingRelay(("127.0.0.1", inner), port=outer))
        for name in ("buyer", "seller-1")
    ]  # they stay, relaying (a router on the path) for the rest of the module
    request_id = awarded_to_seller_1(fleet)
    buyer = fleet.owner("buyer")
    assert buyer.post(f"/requests/{request_id}/meet")["point_sent"]
    request = fleet.system.market.request(request_id)
    fleet.chain.advance_time(request.delivery_start_ts - fleet.chain.now())
    assert buyer.post(f"/requests/{request_id}/confirm", {"delivered_wh": 9_000})["receipt_delivered"]
    seller = fleet.specs["seller-1"]["address"]
    wire = b"".join(bytes(r.seen) for r in relays)
    assert len(wire) > 10_000  # the trade crossed the relays
    for needle in (
        b"p2p/",
        b"price_per_wh",
        b"seller_url",
        b"presentation",
        b"did:pkh",
        b"sealed",
        b"delivered_wh",
        seller[2:].lower().encode(),
        seller[2:].encode(),
    ):
        assert needle not in wire, f"{needle!r} is readable on the wire"
