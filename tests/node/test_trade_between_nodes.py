"""Vehicles' nodes trading with each other over HTTP on a real anvil: the happy path and recovery from a crash."""

from __future__ import annotations

import json
import secrets as random_secrets
import struct
from pathlib import Path
from typing import Any

from eth_utils import keccak

from node.demo_fleet import SELLER_DEPOSIT
from node.store import Store
from tests.support.fleet_nodes import Fleet, buyer_key
from v2vchain.protocol.areas import area_id

REQUEST = {
    "energy_wh": 20_000,
    "max_price_per_wh": 150,
    "bidding_s": 600,
    "delivery_lead_s": 300,
    "delivery_window_s": 7_200,
}


def open_and_bid(fleet: Fleet) -> dict[str, Any]:
    request = fleet.owner("buyer").post("/requests", REQUEST)
    for seller in ("seller-1", "seller-2"):
        fleet.owner(seller).post("/bids/auto", {"region": ""})
    return request


def test_a_full_trade_between_nodes_settles_and_pays_the_cheapest_seller(fleet: Fleet) -> None:
    buyer = fleet.owner("buyer")
    request = open_and_bid(fleet)
    request_id = request["request_id"]
    fleet.chain.advance_time(request["deadline_ts"] - fleet.chain.now())
    closed = buyer.post(f"/requests/{request_id}/close")
    cheapest = fleet.specs["seller-1"]["address"]  # lower degradation cost, so the lower floor and bid
    assert closed["status"] == "awarded" and closed["seller"] == cheapest
    assert buyer.post(f"/requests/{request_id}/meet")["seller_verified"]
    fleet.chain.advance_time(request["delivery_start_ts"] - fleet.chain.now())
    assert buyer.post(f"/requests/{request_id}/confirm", {"delivered_wh": 20_000})["status"] == "settled"
    seller = fleet.owner("seller-1")
    balances = seller.get("/balances")
    assert (balances["free"], balances["locked"]) == (SELLER_DEPOSIT + 20_000 * closed["price_per_wh"], 0)
    withdrawn = seller.post("/withdraw", {"amount": 20_000 * closed["price_per_wh"]})["withdrawn"]
    assert withdrawn == 20_000 * closed["price_per_wh"]
    assert seller.get("/balances")["free"] == SELLER_DEPOSIT
    statuses = {t["request_id"]: t["status"] for t in fleet.owner("seller-2").get("/trades")}
    assert statuses[request_id] == "lost"


def test_sellers_pay_no_gas_to_bid(fleet: Fleet) -> None:
    sellers = [fleet.specs[s]["address"] for s in ("seller-1", "seller-2")]
    before = [fleet.chain.w3.eth.get_balance(a) for a in sellers]
    open_and_bid(fleet)
    assert [fleet.chain.w3.eth.get_balance(a) for a in sellers] == before


def test_the_seller_receives_the_sealed_meeting_point_and_a_verified_access_secret(fleet: Fleet) -> None:
    buyer = fleet.owner("buyer")
    request = open_and_bid(fleet)
    request_id = request["request_id"]
    fleet.chain.advance_time(request["deadline_ts"] - fleet.chain.now())
    buyer.post(f"/requests/{request_id}/close")
    buyer.post(f"/requests/{request_id}/meet", {"lat": 52.5, "lon": 13.4})

    seller_store = Store(fleet.workdir / "seller-1.sqlite")
    try:
        meeting = seller_store.inbox(request_id, "meeting")
    finally:
        seller_store.close()
    assert meeting is not None and (meeting["lat"], meeting["lon"]) == (52.5, 13.4)


def test_a_buyer_node_restarted_mid_auction_closes_with_the_bids_it_received_before_the_crash(fleet: Fleet) -> None:
    request = open_and_bid(fleet)
    request_id = request["request_id"]
    fleet.restart("buyer")
    fleet.chain.advance_time(request["deadline_ts"] - fleet.chain.now())
    closed = fleet.owner("buyer").post(f"/requests/{request_id}/close")
    assert closed["status"] == "awarded"
    assert closed["seller"] == fleet.specs["seller-1"]["address"]


def test_a_seller_node_restarted_after_award_still_holds_its_trade_and_a_partial_delivery_is_finalized(
    fleet: Fleet,
) -> None:
    """Confirming less than the award leaves it pending until the window's end plus grace; then it finalizes."""
    buyer = fleet.owner("buyer")
    request = open_and_bid(fleet)
    request_id = request["request_id"]
    fleet.chain.advance_time(request["deadline_ts"] - fleet.chain.now())
    buyer.post(f"/requests/{request_id}/close")
    buyer.post(f"/requests/{request_id}/meet")
    fleet.restart("seller-1")
    trades = {t["request_id"]: t for t in fleet.owner("seller-1").get("/trades")}
    assert trades[request_id]["status"] == "awarded"
    fleet.chain.advance_time(request["delivery_start_ts"] - fleet.chain.now())
    assert buyer.post(f"/requests/{request_id}/confirm", {"delivered_wh": 10_000})["status"] == "confirmed"
    seller = fleet.owner("seller-1")
    assert {t["request_id"]: t for t in seller.get("/trades")}[request_id]["status"] == "confirmed"
    early = fleet.http.post(
        f"{fleet.url('seller-1')}/requests/{request_id}/finalize", headers=seller.headers, timeout=60
    )
    assert early.status_code == 409 and "finalized from" in early.json()["detail"]
    grace_end = request["delivery_end_ts"] + fleet.system.market.grace_period_s()
    fleet.chain.advance_time(grace_end - fleet.chain.now())
    assert seller.post(f"/requests/{request_id}/finalize")["status"] == "settled"
    assert fleet.system.market.request(request_id).confirmed_wh == 10_000


def test_a_seller_settles_with_the_buyers_receipt_when_the_buyer_never_confirms(fleet: Fleet) -> None:
    """The buyer's node hands over a signed receipt at delivery but never confirms; the seller claims on-chain."""
    buyer = fleet.owner("buyer")
    request = open_and_bid(fleet)
    request_id = request["request_id"]
    fleet.chain.advance_time(request["deadline_ts"] - fleet.chain.now())
    buyer.post(f"/requests/{request_id}/close")
    fleet.chain.advance_time(request["delivery_start_ts"] - fleet.chain.now())
    seller = fleet.specs["seller-1"]["address"]
    signature = fleet.system.market.sign_receipt(
        buyer_key(fleet), request_id=request_id, seller=seller, delivered_wh=15_000
    )
    answer = fleet.http.post(
        f"{fleet.url('seller-1')}/p2p/receipts",
        json={"request_id": request_id, "delivered_wh": 15_000, "signature": "0x" + signature.hex()},
    )
    assert answer.status_code == 200, answer.text
    assert fleet.owner("seller-1").post(f"/requests/{request_id}/claim")["status"] == "settled"
    assert fleet.system.market.free_of(seller) >= 15_000 * fleet.system.market.request(request_id).price_per_wh


def test_a_bid_the_contract_passes_over_is_marked_rejected_and_the_next_best_wins_in_one_close(fleet: Fleet) -> None:
    """The cheapest seller withdraws its cover after bidding: the close skips its bid (InsufficientCover) and
    awards the next best, in one transaction; the buyer's node records why."""
    buyer, cheapest = fleet.owner("buyer"), fleet.owner("seller-1")
    request = open_and_bid(fleet)
    request_id = request["request_id"]
    free = cheapest.get("/balances")["free"]
    assert cheapest.post("/withdraw")["withdrawn"] == free
    try:
        fleet.chain.advance_time(request["deadline_ts"] - fleet.chain.now())
        closed = buyer.post(f"/requests/{request_id}/close")
        assert closed["status"] == "awarded" and closed["seller"] == fleet.specs["seller-2"]["address"]
    finally:
        assert cheapest.post("/deposit", {"amount": SELLER_DEPOSIT})["free"] == SELLER_DEPOSIT

    store = Store(fleet.workdir / "buyer.sqlite")
    try:
        rows = store._run("SELECT seller, rejected FROM signed_bids WHERE request_id=?", (request_id,))
    finally:
        store.close()
    assert {r["seller"]: r["rejected"] for r in rows} == {
        fleet.specs["seller-1"]["address"]: "INSUFFICIENT_COVER",
        fleet.specs["seller-2"]["address"]: None,
    }


def _coordinate_needles(fleet: Fleet) -> dict[str, list[bytes]]:
    """Every way a position could leak: decimal text at several precisions, micro-degree ints, float64 bytes."""

    needles: dict[str, list[bytes]] = {}
    for name in fleet.specs:
        config = json.loads(Path(fleet.specs[name]["config"]).read_text())
        lat, lon = config["position"]["lat"], config["position"]["lon"]
        forms: list[bytes] = []
        for value in (lat, lon):
            forms += [f"{value:.{d}f}".encode() for d in (3, 4, 5, 6)]
            forms += [int(round(value * 1e6)).to_bytes(32, "big"), struct.pack(">d", value), struct.pack("<d", value)]
        needles[name] = forms
    return needles


def test_zz_no_exact_position_reaches_the_chain_the_public_api_or_the_logs(fleet: Fleet) -> None:
    """SECURITY 27: scanned after every trade of this module; coordinates travel only sealed to the counterparty."""
    w3 = fleet.chain.w3
    chain_bytes = bytearray()
    for number in range(w3.eth.block_number + 1):
        block = w3.eth.get_block(number, full_transactions=True)
        for tx in block["transactions"]:
            chain_bytes += bytes(tx["input"])
            for log in w3.eth.get_transaction_receipt(tx["hash"])["logs"]:
                chain_bytes += bytes(log["data"]) + b"".join(bytes(t) for t in log["topics"])
    chain_bytes += chain_bytes.hex().encode()
    public = b""
    for name in fleet.specs:
        url = fleet.url(name)
        for path in ("/identity", "/p2p/requests", "/requests/open", "/trades", "/openapi.json"):
            public += fleet.http.get(f"{url}{path}", headers=fleet.owner(name).headers, timeout=30).content
        public += fleet.nodes[name].log.read_bytes()
    for name, forms in _coordinate_needles(fleet).items():
        for form in forms:
            assert form not in chain_bytes, f"{name}'s position found in chain data as {form!r}"
            assert form not in public, f"{name}'s position found in an API response or log as {form!r}"


def test_a_request_sent_just_before_a_crash_is_recovered_with_its_secret(fleet: Fleet) -> None:
    """SECURITY 28: intent (with the access secret) recorded, transaction sent, crash before the record."""

    fleet.nodes["buyer"].process.kill()
    fleet.nodes["buyer"].process.wait()
    secret = random_secrets.token_bytes(32)
    deadline = fleet.chain.now() + 600
    fields = {
        "energy_wh": 5_000,
        "max_price_per_wh": 120,
        "deadline_ts": deadline,
        "delivery_start_ts": deadline,
        "delivery_end_ts": deadline + 600,
        "area": "u33db",
    }
    store = Store(fleet.workdir / "buyer.sqlite")
    store.begin(f"open:{keccak(secret).hex()}", {**fields, "secret": secret.hex()})
    store.close()
    market = fleet.system.market.connect(fleet.chain.sender(buyer_key(fleet)))
    request_id = market.open(
        energy_wh=5_000,
        max_price_per_wh=120,
        deadline_ts=deadline,
        delivery_start_ts=deadline,
        delivery_end_ts=deadline + 600,
        area_id=area_id("u33db"),
        access_hash=keccak(secret),
    )
    fleet.restart("buyer")
    trades = {t["request_id"]: t for t in fleet.owner("buyer").get("/trades")}
    assert trades[request_id]["status"] == "open" and trades[request_id]["role"] == "buyer"
    store = Store(fleet.workdir / "buyer.sqlite")
    try:
        assert store.secret(request_id) == ("access", secret.hex())
        assert not list(store.pending_intents())
    finally:
        store.close()
