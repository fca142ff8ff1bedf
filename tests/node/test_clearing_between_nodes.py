"""Vehicle nodes trading through the batch Clearing: real node processes (an operator, a buyer, two sellers) on a
real anvil. Intervals are triggered through the operator's owner API, never by waiting."""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import replace

import pytest
from eth_account import Account
from typer.testing import CliRunner

from node.demo_fleet import PASSWORD_ENV
from node.meeting_venues import ACCESS_TYPES
from node.peers import ENDPOINT_DOMAIN, sign_order_endpoint
from tests.support.fleet_nodes import Fleet, key_of
from tests.support.peers import presentation, vc_of
from v2vchain.audit.units import TokenUnits, energy
from v2vchain.chain.errors import ContractRevert
from v2vchain.cli.main import app
from v2vchain.identity.did import did_for
from v2vchain.matching.orders import MAX_PRICE_PER_WH
from v2vchain.privacy.seal import seal
from v2vchain.protocol import areas, eip712
from v2vchain.protocol.clearing import MECHANISM_IDS, TradeInput
from v2vchain.protocol.orders import ChainOrder

pytestmark = pytest.mark.anvil


def _order(fleet: Fleet, name: str, side: str, energy_wh: int, limit: int) -> dict:
    return fleet.owner(name).post(
        "/orders", {"side": side, "energy_wh": energy_wh, "limit_price_per_wh": limit, "window_lead_s": 300}
    )


def _run(fleet: Fleet) -> dict:
    return fleet.owner("operator").post("/clearings/run")


def _watched(fleet: Fleet, name: str) -> dict:
    fleet.owner(name).post("/clearings/watch/run")
    return fleet.owner(name).get("/clearings/watched")


def test_a_full_interval_clears_orders_and_both_sides_meet_and_deliver_the_trade(clearing_fleet: Fleet) -> None:
    fleet = clearing_fleet
    buy = _order(fleet, "buyer", "buy", 10_000, 150)
    sell = _order(fleet, "seller-1", "sell", 10_000, 80)
    assert buy["status"] == sell["status"] == "sent"
    run = _run(fleet)
    assert run["clearing_id"] is not None and run["opened"] == 1 and run["trades"] == 1
    clearing_id = run["clearing_id"]
    assert int(clearing_id) >> 96 == int(fleet.nodes["operator"].address, 16)  # ids are per operator

    buyer_view, seller_view = _watched(fleet, "buyer"), _watched(fleet, "seller-1")
    [bought] = [t for t in buyer_view["trades"] if t["clearing_id"] == clearing_id]
    [sold] = [t for t in seller_view["trades"] if t["clearing_id"] == clearing_id]
    assert bought["role"] == "buyer" and sold["role"] == "seller"
    assert bought["counterparty"] == fleet.nodes["seller-1"].address
    assert bought["energy_wh"] == sold["energy_wh"] == 10_000
    assert 80 <= bought["price_per_wh"] <= 150
    used = [o for o in fleet.owner("buyer").get("/orders") if o["nonce"] == buy["nonce"]]
    assert used[0]["spent"] and used[0]["used_in"][0]["filled_wh"] == 10_000

    # The meeting: the seller's URL from the operator (signed by the seller), presentations both ways, then the
    # exact point and the access secret sealed to the seller, which checks the secret against the buyer's commitment.
    trade_path = f"/clearings/{clearing_id}/trades/{bought['trade_index']}"
    met = fleet.owner("buyer").post(f"{trade_path}/meet", {"lat": 52.5219, "lon": 13.4132})
    assert met["seller"] == fleet.nodes["seller-1"].address and met["seller_verified"] and met["point_sent"]
    [sold] = [t for t in _watched(fleet, "seller-1")["trades"] if t["clearing_id"] == clearing_id]
    [bought] = [t for t in _watched(fleet, "buyer")["trades"] if t["clearing_id"] == clearing_id]
    assert (sold["meeting"]["lat"], sold["meeting"]["lon"]) == (52.5219, 13.4132)
    assert sold["meeting"]["access_secret"] == bought["meeting"]["access_secret"]

    fleet.chain.advance_time(bought["delivery_start_ts"] - fleet.chain.now() + 1)
    confirmed = fleet.owner("buyer").post(f"{trade_path}/confirm", {"delivered_wh": 10_000})
    assert confirmed["status"] == "closed" and confirmed["receipt_delivered"]
    seller_trades = fleet.owner("seller-1").get("/clearings/watched")["trades"]
    [held] = [t for t in seller_trades if t["clearing_id"] == clearing_id]
    assert held["receipt"]["delivered_wh"] == 10_000 and held["status"] == "closed"
    free = fleet.owner("seller-1").get("/clearing/balances")["free"]
    assert free >= 10_000 * bought["price_per_wh"]


def test_a_third_party_gets_neither_the_node_urls_nor_the_meeting_point(clearing_fleet: Fleet) -> None:
    """seller-2 is a registered vehicle with a valid credential, but no party of the buyer's trade with seller-1."""
    fleet = clearing_fleet
    _order(fleet, "buyer", "buy", 3_000, 150)
    _order(fleet, "seller-1", "sell", 3_000, 80)
    clearing_id = _run(fleet)["clearing_id"]
    [trade] = [t for t in _watched(fleet, "seller-1")["trades"] if t["clearing_id"] == clearing_id]
    path = f"/p2p/clearings/{clearing_id}/trades/{trade['trade_index']}"
    operator_url, seller_url = fleet.url("operator"), fleet.url("seller-1")

    listing = fleet.http.get(f"{operator_url}/p2p/clearings", timeout=30)
    assert listing.status_code == 200
    assert all(not k.endswith("_url") for c in listing.json() for t in c["trade_list"] for k in t)
    assert fleet.url("buyer") not in listing.text and seller_url not in listing.text

    operator_did = did_for(fleet.nodes["operator"].address, fleet.chain.chain_id)
    stranger, stranger_vc = key_of(fleet, "seller-2"), vc_of(fleet, "seller-2")
    asked = presentation(
        fleet, holder=stranger, vc=stranger_vc, challenge=_challenge(fleet, operator_url), domain=operator_did
    )
    refused = fleet.http.post(f"{operator_url}{path}/contact", json={"presentation": asked}, timeout=30)
    assert refused.status_code == 403 and "counterparty" in refused.json()["detail"]
    own = presentation(
        fleet,
        holder=key_of(fleet, "buyer"),
        vc=vc_of(fleet, "buyer"),
        challenge=_challenge(fleet, operator_url),
        domain=operator_did,
    )
    answered = fleet.http.post(f"{operator_url}{path}/contact", json={"presentation": own}, timeout=30)
    assert answered.status_code == 200 and answered.json()["node_url"] == fleet.address("seller-1")  # the buyer may

    clearing = fleet.system.clearing
    assert clearing is not None
    commitment = eip712.sign(
        stranger,
        eip712.domain(ENDPOINT_DOMAIN, fleet.chain.chain_id, clearing.address),
        ACCESS_TYPES,
        {"clearingId": int(clearing_id), "tradeIndex": trade["trade_index"], "accessHash": b"\x22" * 32},
    )
    posing = {
        "presentation": presentation(fleet, holder=stranger, vc=stranger_vc, challenge=_challenge(fleet, seller_url)),
        "challenge": "0x" + "ab" * 32,
        "access_hash": "0x" + "22" * 32,
        "access_signature": "0x" + commitment.hex(),
    }
    handshake = fleet.http.post(f"{seller_url}{path}/handshake", json=posing, timeout=30)
    assert handshake.status_code == 401 and "not by the trade's buyer" in handshake.json()["detail"]
    seal_key = bytes.fromhex(fleet.http.get(f"{seller_url}/identity").json()["seal_public_key"][2:])
    sealed = seal(seal_key, json.dumps({"lat": 1.0, "lon": 2.0, "access_secret": "22" * 32}).encode(), 1)
    pushed = fleet.http.post(f"{seller_url}{path}/point", json={"sealed": "0x" + sealed.hex()}, timeout=30)
    assert pushed.status_code == 403 and "not been verified" in pushed.json()["detail"]
    [held] = [t for t in _watched(fleet, "seller-1")["trades"] if t["clearing_id"] == clearing_id]
    assert held["meeting"] is None


def test_a_node_url_the_operator_altered_is_refused_by_the_buyer(clearing_fleet: Fleet) -> None:
    """The operator can withhold a URL but not substitute one: the buyer checks the seller's own signature on it."""
    fleet = clearing_fleet
    _order(fleet, "buyer", "buy", 2_000, 150)
    sell = _order(fleet, "seller-2", "sell", 2_000, 80)
    clearing_id = _run(fleet)["clearing_id"]
    [trade] = [t for t in _watched(fleet, "buyer")["trades"] if t["clearing_id"] == clearing_id]
    with sqlite3.connect(fleet.workdir / "operator.sqlite") as db:  # the operator's own records, rewritten
        changed = db.execute(
            "UPDATE collected_orders SET node_url='http://127.0.0.1:9' WHERE owner=? AND nonce=?",
            (sell["owner"].lower(), sell["nonce"]),
        ).rowcount
    assert changed == 1
    buyer = fleet.owner("buyer")
    met = fleet.http.post(
        f"{fleet.url('buyer')}/clearings/{clearing_id}/trades/{trade['trade_index']}/meet",
        json={},
        headers=buyer.headers,
        timeout=60,
    )
    assert met.status_code == 502 and "not by " + fleet.nodes["seller-2"].address in met.json()["detail"]


def _challenge(fleet: Fleet, url: str) -> str:
    return str(fleet.http.get(f"{url}/p2p/challenge", timeout=30).json()["challenge"])


def test_a_seller_claims_with_the_buyers_receipt_when_the_buyer_does_not_confirm(clearing_fleet: Fleet) -> None:
    fleet = clearing_fleet
    _order(fleet, "buyer", "buy", 6_000, 150)
    _order(fleet, "seller-1", "sell", 6_000, 80)
    run = _run(fleet)
    clearing_id = run["clearing_id"]
    [trade] = [t for t in _watched(fleet, "seller-1")["trades"] if t["clearing_id"] == clearing_id]
    _watched(fleet, "buyer")
    clearing = fleet.system.clearing
    assert clearing is not None
    receipt = clearing.sign_receipt(
        key_of(fleet, "buyer"), clearing_id=int(clearing_id), trade_index=trade["trade_index"], delivered_wh=6_000
    )
    stranger = clearing.sign_receipt(
        Account.create(), clearing_id=int(clearing_id), trade_index=trade["trade_index"], delivered_wh=6_000
    )
    body = {"clearing_id": clearing_id, "trade_index": trade["trade_index"], "delivered_wh": 6_000}
    seller_url = fleet.url("seller-1")
    refused = fleet.http.post(f"{seller_url}/p2p/clearing-receipts", json={**body, "signature": "0x" + stranger.hex()})
    assert refused.status_code == 401
    stored = fleet.http.post(f"{seller_url}/p2p/clearing-receipts", json={**body, "signature": "0x" + receipt.hex()})
    assert stored.status_code == 200, stored.text
    before = fleet.owner("seller-1").get("/clearing/balances")
    fleet.chain.advance_time(trade["delivery_start_ts"] - fleet.chain.now() + 1)
    claimed = fleet.owner("seller-1").post(f"/clearings/{clearing_id}/trades/{trade['trade_index']}/claim")
    assert claimed["status"] == "closed"
    after = fleet.owner("seller-1").get("/clearing/balances")
    assert after["free"] - before["free"] >= 6_000 * trade["price_per_wh"]


def test_a_late_order_is_cleared_in_the_next_interval(clearing_fleet: Fleet) -> None:
    fleet = clearing_fleet
    buy = _order(fleet, "buyer", "buy", 5_000, 140)
    first = _run(fleet)
    assert first["clearing_id"] is None  # nobody sells in this interval: the order waits
    held = {(o["owner"], o["nonce"]): o for o in fleet.owner("operator").get("/clearings")["orders"]}
    assert held[(buy["owner"].lower(), buy["nonce"])]["status"] == "pending"
    sell = _order(fleet, "seller-2", "sell", 5_000, 90)  # after the first interval's cut
    second = _run(fleet)
    assert second["opened"] == 1 and second["cut"] > first["cut"]
    orders = {(o["owner"], o["nonce"]): o for o in fleet.owner("operator").get("/clearings")["orders"]}
    for o in (buy, sell):
        assert orders[(o["owner"].lower(), o["nonce"])]["status"] == "used"
        assert orders[(o["owner"].lower(), o["nonce"])]["clearing_id"] == second["clearing_id"]


def test_an_operator_killed_mid_interval_recovers_its_orders(clearing_fleet: Fleet) -> None:
    fleet = clearing_fleet
    buy = _order(fleet, "buyer", "buy", 4_000, 150)
    sell = _order(fleet, "seller-1", "sell", 4_000, 70)
    fleet.restart("operator")  # killed without warning before the interval ran
    run = _run(fleet)
    assert run["opened"] == 1
    trades = [t for t in _watched(fleet, "buyer")["trades"] if t["clearing_id"] == run["clearing_id"]]
    assert [t["energy_wh"] for t in trades] == [4_000]
    assert {buy["nonce"], sell["nonce"]} <= {
        o["nonce"] for o in fleet.owner("operator").get("/clearings")["orders"] if o["status"] == "used"
    }


def test_orders_whose_operator_is_gone_are_resent_to_another_and_cleared_there(clearing_fleet: Fleet) -> None:
    """An order is signed for the Clearing, not for an operator: sent to a stopped one, it is resent elsewhere."""
    fleet = clearing_fleet
    gone = "http://127.0.0.1:9"  # nothing listens there: the stopped operator
    body = {"energy_wh": 2_000, "window_lead_s": 300, "operator_url": gone}
    buy = fleet.owner("buyer").post("/orders", {**body, "side": "buy", "limit_price_per_wh": 150})
    sell = fleet.owner("seller-2").post("/orders", {**body, "side": "sell", "limit_price_per_wh": 60})
    assert buy["status"] == sell["status"] == "refused"
    for name in ("buyer", "seller-2"):
        resent = fleet.owner(name).post("/orders/resend", {"operator_url": fleet.address("operator")})
        assert [o["status"] for o in resent if o["operator_url"] == fleet.address("operator")]
    run = _run(fleet)
    assert run["opened"] >= 1
    orders = {(o["owner"], o["nonce"]): o for o in fleet.owner("operator").get("/clearings")["orders"]}
    for o in (buy, sell):
        assert orders[(o["owner"].lower(), o["nonce"])]["status"] == "used"


def test_a_forged_order_is_refused_and_the_victims_watch_shows_nothing(clearing_fleet: Fleet) -> None:
    fleet = clearing_fleet
    victim = fleet.nodes["buyer"].address
    before = len(_watched(fleet, "buyer")["uses"])
    now = fleet.chain.now()
    forged = replace(_sell_order(fleet, now), owner=victim, side=1, limit_price_per_wh=1_000)
    clearing = fleet.system.clearing
    assert clearing is not None
    signed = clearing.sign_order(Account.create(), forged)  # the wrong key
    body = {**_json(forged), "signature": "0x" + signed.signature.hex()}
    refused = fleet.http.post(f"{fleet.url('operator')}/p2p/orders", json=body, timeout=30)
    assert refused.status_code == 401 and "signature" in refused.json()["detail"]
    # The victim's own order resent by someone else with their node URL: the URL is not the owner's to claim.
    genuine = clearing.sign_order(key_of(fleet, "buyer"), forged)
    stranger_url = "http://127.0.0.1:9"
    taken = sign_order_endpoint(Account.create(), fleet.chain.chain_id, clearing.address, genuine, stranger_url)
    hijack = {
        **body,
        "signature": "0x" + genuine.signature.hex(),
        "node_url": stranger_url,
        "endpoint_signature": "0x" + taken.hex(),
    }
    refused = fleet.http.post(f"{fleet.url('operator')}/p2p/orders", json=hijack, timeout=30)
    assert refused.status_code == 401 and "node URL" in refused.json()["detail"]
    _order(fleet, "seller-2", "sell", 9_000, 60)
    run = _run(fleet)
    assert run["clearing_id"] is None  # the seller's order waits: the forged buy never entered the interval

    # Committed directly, past any operator's check, the contract refuses the clearing outright.
    operator = fleet.system.as_(fleet.chain.sender(key_of(fleet, "operator")))
    assert operator.clearing is not None
    honest = operator.clearing.sign_order(key_of(fleet, "seller-2"), _sell_order(fleet, now))
    prepared = operator.clearing.prepare(
        [signed, honest], [TradeInput(0, 1, 9_000, 100, 100)], mechanism_id=MECHANISM_IDS["double-auction-k"]
    )
    with pytest.raises(ContractRevert) as caught:
        operator.clearing.commit(prepared)
    assert caught.value.name == "InvalidOrderSignature"
    assert len(_watched(fleet, "buyer")["uses"]) == before  # nothing used the victim's name


def _sell_order(fleet: Fleet, now: int) -> ChainOrder:
    return ChainOrder(
        owner=fleet.nodes["seller-2"].address,
        side=2,
        energy_wh=9_000,
        limit_price_per_wh=60,
        area_id=areas.area_id("u33db"),
        window_start_ts=now + 300,
        window_end_ts=now + 3_900,
        nonce=10**6,
        expiry_ts=now + 3_900,
    )


def test_the_clearing_cli_commits_a_file_of_orders_settles_and_reports_status(clearing_fleet: Fleet, tmp_path) -> None:
    fleet = clearing_fleet
    clearing = fleet.system.clearing
    assert clearing is not None
    now = fleet.chain.now()
    buyer, seller = key_of(fleet, "buyer"), key_of(fleet, "seller-2")
    orders = []
    for key, side, limit in ((buyer, 1, 150), (seller, 2, 70), (Account.create(), 1, 500)):
        owner = buyer.address if side == 1 else seller.address  # the third names the buyer, signed by a stranger
        nonce = clearing.nonce_floor(owner) + 1_000
        order = ChainOrder(
            owner,
            side,
            3_000,
            limit,
            areas.area_id("u33db"),
            now + 300,
            now + 3_900,
            nonce + (side == 1 and key is not buyer),
            now + 3_900,
        )
        signed = clearing.sign_order(key, order)
        orders.append({**_json(order), "signature": "0x" + signed.signature.hex()})
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(orders))
    chain_url = fleet.chain.anvil.url if fleet.chain.anvil else ""
    deployment = str(fleet.workdir / "operator.deployment.json")
    env = {
        **os.environ,
        "V2V_PRIVATE_KEY": "0x" + bytes(key_of(fleet, "operator").key).hex(),
        PASSWORD_ENV: fleet.env[PASSWORD_ENV],
    }
    runner = CliRunner()
    committed = runner.invoke(
        app, ["clearing", "commit", "--orders", str(path), "--chain", chain_url, "--deployment", deployment], env=env
    )
    assert committed.exit_code == 0, committed.output
    assert "dropped order" in committed.output and "signature" in committed.output
    assert "committed clearing" in committed.output and "1 of 1 trades opened" in committed.output

    fleet.chain.advance_time(3_900 + clearing.grace_period_s() + 60)
    config = str(fleet.specs["operator"]["config"])
    settled = runner.invoke(app, ["clearing", "settle", "--config", config], env=env)
    assert settled.exit_code == 0, settled.output
    assert "reclaimed" in settled.output

    status_args = ["clearing", "status", "--operator", fleet.nodes["operator"].address, "--chain", chain_url]
    status = runner.invoke(app, [*status_args, "--deployment", deployment, "--json"], env=env)
    assert status.exit_code == 0, status.output
    report = json.loads(status.output)
    assert len(report) >= 5
    assert all(t["state"] in ("closed", "unfunded") for c in report for t in c["trades"])
    text = runner.invoke(app, [*status_args, "--deployment", deployment], env=env).output
    trade = report[-1]["trades"][0]
    shown = f"{energy(trade['energy_wh'])} at {TokenUnits(6, 'VEC').price_per_kwh(trade['price_per_wh'])}, closed"
    assert shown in text and "double-auction-k" in text  # kWh, the token per kWh, the mechanism by name


def _json(order: ChainOrder) -> dict:
    return {
        "owner": order.owner,
        "side": order.side,
        "energy_wh": order.energy_wh,
        "limit_price_per_wh": order.limit_price_per_wh,
        "area_id": "0x" + order.area_id.hex(),
        "window_start_ts": order.window_start_ts,
        "window_end_ts": order.window_end_ts,
        "nonce": order.nonce,
        "expiry_ts": order.expiry_ts,
    }


def test_one_vehicle_cannot_hold_more_waiting_orders_at_the_operator_than_the_limit(clearing_fleet: Fleet) -> None:
    """Signing nonce after nonce is free: without a limit per owner one vehicle could fill the operator's store and
    its intervals. Sells priced above every buy, so they wait and never trade."""
    fleet = clearing_fleet
    clearing = fleet.system.clearing
    assert clearing is not None
    now = fleet.chain.now()
    statuses, details = [], []
    for i in range(17):
        order = replace(_sell_order(fleet, now), limit_price_per_wh=MAX_PRICE_PER_WH, nonce=2 * 10**6 + i)
        signed = clearing.sign_order(key_of(fleet, "seller-2"), order)
        answer = fleet.http.post(
            f"{fleet.url('operator')}/p2p/orders",
            json={**_json(order), "signature": "0x" + signed.signature.hex()},
            timeout=30,
        )
        statuses.append(answer.status_code)
        details.append(answer.json().get("detail", ""))
    accepted = statuses.count(200)
    assert 1 <= accepted <= 16 and statuses == [200] * accepted + [429] * (17 - accepted)
    assert "at most 16 per owner" in details[-1]
    other = clearing.sign_order(key_of(fleet, "seller-1"), replace(order, owner=fleet.nodes["seller-1"].address))
    answer = fleet.http.post(
        f"{fleet.url('operator')}/p2p/orders",
        json={**_json(other.order), "signature": "0x" + other.signature.hex()},
        timeout=30,
    )
    assert answer.status_code == 200  # the limit is per owner: others still get in
