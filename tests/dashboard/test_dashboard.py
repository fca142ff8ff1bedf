"""The dashboard in headless Chromium: real trades between node processes on anvil, indexed by the buyer's node,
and every number the page shows checked against the audit reports read from the same index."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from node.api.routes.dashboard import AuditIndex
from node.store import Store as NodeStore
from tests.support.fleet_nodes import Fleet, key_of
from v2vchain.audit.ledger.market import Ledger
from v2vchain.audit.store import Store
from v2vchain.audit.trades import trades
from v2vchain.audit.units import TokenUnits, energy, index_units
from v2vchain.chain.anvil import free_port

pytestmark = [pytest.mark.anvil, pytest.mark.timeout(240)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
REQUEST = {"max_price_per_wh": 150, "bidding_s": 600, "delivery_lead_s": 300, "delivery_window_s": 7_200}
OPEN_BID_PER_WH = 120


def _trade(fleet: Fleet, energy_wh: int, delivered_wh: int) -> dict[str, Any]:
    """Opened by the buyer's node, bid on by both sellers' nodes (gasless), closed, delivered and confirmed; a partial
    delivery stays pending until the window's end plus grace, then the buyer's node finalizes it."""
    buyer = fleet.owner("buyer")
    request = buyer.post("/requests", {**REQUEST, "energy_wh": energy_wh})
    for seller in ("seller-1", "seller-2"):
        fleet.owner(seller).post("/bids/auto", {"region": ""})
    fleet.chain.advance_time(request["deadline_ts"] - fleet.chain.now())
    closed = buyer.post(f"/requests/{request['request_id']}/close")
    fleet.chain.advance_time(request["delivery_start_ts"] - fleet.chain.now())
    confirmed = buyer.post(f"/requests/{request['request_id']}/confirm", {"delivered_wh": delivered_wh})
    if confirmed["status"] == "confirmed":
        grace_end = request["delivery_end_ts"] + fleet.system.market.grace_period_s()
        fleet.chain.advance_time(grace_end - fleet.chain.now())
        buyer.post(f"/requests/{request['request_id']}/finalize")
    return closed


@pytest.fixture(scope="module")
def market(fleet: Fleet) -> dict[str, Any]:
    """Two settled trades, a third request still open with signed bids held by the buyer's node and an on-chain
    bid; then the buyer's node restarted with an audit index, as an operator would turn the dashboard on."""
    closed = [_trade(fleet, 20_000, 20_000), _trade(fleet, 8_000, 6_500)]
    live = fleet.owner("buyer").post("/requests", {**REQUEST, "energy_wh": 5_000})
    for name in ("seller-1", "seller-2"):  # gasless signed bids, held by the buyer's node until the close
        fleet.owner(name).post("/bids/auto", {"region": ""})
    seller = fleet.system.market.connect(fleet.chain.sender(key_of(fleet, "seller-2")))
    seller.bid(live["request_id"], OPEN_BID_PER_WH)
    db = fleet.workdir / "buyer-audit.db"
    config_path = Path(fleet.specs["buyer"]["config"])
    config = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({**config, "audit_db": str(db), "audit_confirmations": 0}, indent=2))
    fleet.restart("buyer")
    return {"closed": closed, "live": live, "db": db}


def _number(text: str) -> int:
    return int(text.replace(",", "").strip())


def _position_texts(fleet: Fleet) -> list[str]:
    """Each vehicle's exact coordinates as text: rounded and truncated to 3..6 decimals, and in full."""
    texts = []
    for spec in fleet.specs.values():
        position = json.loads(Path(spec["config"]).read_text())["position"]
        for value in (position["lat"], position["lon"]):
            whole = repr(value)
            texts.append(whole)
            for decimals in (3, 4, 5, 6):
                texts.append(f"{value:.{decimals}f}")
                texts.append(whole[: whole.index(".") + 1 + decimals])
    return sorted(set(texts))


def test_the_dashboard_shows_the_indexers_trades_and_totals_and_no_position(
    fleet: Fleet, market: dict[str, Any], browser: Any
) -> None:
    url = fleet.url("buyer")
    page = browser.new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{url}/dashboard")
    page.wait_for_selector("body[data-state=ready]", timeout=60_000)

    with Store.open(market["db"]) as store:
        expected = sorted(trades(Ledger.from_store(store)), key=lambda t: t.awarded_at)
        indexed_to = store.last_block()
        units = index_units(store)
    assert str(indexed_to) == page.get_attribute("body", "data-last-block")
    assert [t.price_per_wh for t in expected] == [c["price_per_wh"] for c in market["closed"]]
    assert units == TokenUnits(6, "VEC")

    assert _number(page.inner_text("#total-trades")) == len(expected) == 2
    assert page.inner_text("#total-energy") == energy(sum(t.energy_wh for t in expected)) == "28 kWh"
    assert page.inner_text("#total-delivered") == energy(sum(t.delivered_wh for t in expected)) == "26.5 kWh"
    assert page.inner_text("#total-refunded") == units.amount(sum(t.refund for t in expected))
    shown = {
        row.get_attribute("data-trade-id"): tuple(row.query_selector(c).inner_text() for c in (".price", ".energy"))
        for row in page.query_selector_all("#trades-table tr[data-trade-id]")
    }
    assert shown == {t.trade_id: (units.price_per_kwh(t.price_per_wh), energy(t.energy_wh)) for t in expected}

    node_store = NodeStore(json.loads(Path(fleet.specs["buyer"]["config"]).read_text())["db"])
    try:
        held = node_store.signed_bids(market["live"]["request_id"])
    finally:
        node_store.close()
    assert len(held) == 2
    live = page.query_selector(f"#auctions-table tr[data-request-id='{market['live']['request_id']}']")
    assert live is not None and _number(live.query_selector(".held-bids").inner_text()) == len(held)
    best = min(OPEN_BID_PER_WH, held[0]["price_per_wh"])
    assert live.query_selector(".best-price").inner_text() == units.price_per_kwh(best)
    assert page.query_selector_all(".ladder") and page.query_selector_all("#area-map .cell")

    first = expected[0]
    page.click(f"#trades-table tr[data-trade-id='{first.trade_id}'] .seller a")
    page.wait_for_selector(f"table.statement[data-vehicle='{first.seller}']", timeout=30_000)
    statement = page.inner_text("#statement-body")
    assert "roles seller" in statement and first.trade_id in statement
    assert all(u.startswith(url) for u in requested), f"the page fetched from elsewhere: {requested}"
    assert not errors, f"the page logged errors: {errors}"

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    data = fleet.http.get(f"{url}/dashboard/data", timeout=60).text
    visible, dom = page.inner_text("body"), page.content()
    for text in _position_texts(fleet):
        assert text not in visible, f"an exact coordinate {text} is shown on the page"
        assert text not in dom, f"an exact coordinate {text} is in the page's DOM"
        assert text not in data, f"an exact coordinate {text} is in /dashboard/data"
    page.close()


def test_a_node_without_an_audit_index_says_how_to_turn_the_dashboard_on(fleet: Fleet) -> None:
    answer = fleet.http.get(f"{fleet.url('seller-1')}/dashboard/data", timeout=30)
    assert answer.status_code == 404 and "audit_db" in answer.json()["detail"]


def test_with_the_chain_away_the_data_is_the_index_as_it_was_marked_stale(
    fleet: Fleet, market: dict[str, Any], tmp_path: Path
) -> None:
    fleet.http.get(
        f"{fleet.url('buyer')}/dashboard/data", timeout=60
    ).raise_for_status()  # the index, filled by the node
    config = SimpleNamespace(chain=f"http://127.0.0.1:{free_port()}", audit_confirmations=0)
    node = SimpleNamespace(config=config, system=fleet.system, store=NodeStore(tmp_path / "node.db"))
    data = AuditIndex(node, market["db"]).read()
    assert not data["refresh"]["ok"] and "cannot reach" in data["refresh"]["error"]
    assert data["totals"]["trades"] == 2


def test_the_data_keeps_raw_integers_beside_the_text_a_person_reads(fleet: Fleet, market: dict[str, Any]) -> None:
    data = fleet.http.get(f"{fleet.url('buyer')}/dashboard/data", timeout=60).json()
    assert data["units"] == {"decimals": 6, "symbol": "VEC", "known": True, "label": "VEC (6 decimals)"}
    trade = data["trades"][0]
    assert (trade["energy_wh"], trade["shown"]["energy"]) == (20_000, "20 kWh")
    assert trade["shown"]["paid"] == TokenUnits(6, "VEC").amount(trade["paid"])
    (live,) = data["auctions"]
    assert live["held_bids"]["count"] == 2 and live["bids"] == 1


def test_a_statement_is_refused_for_an_address_never_indexed_or_malformed(fleet: Fleet, market: dict[str, Any]) -> None:
    url = f"{fleet.url('buyer')}/dashboard/vehicles"
    unknown = fleet.http.get(f"{url}/0x{'12' * 20}", timeout=60)
    assert unknown.status_code == 404 and "appears in no indexed event" in unknown.json()["detail"]
    assert fleet.http.get(f"{url}/bob", timeout=60).status_code == 422


CLEARING = {  # one McAfee clearing as /dashboard/data carries it (see tests/clearing for the index's own)
    "clearing_id": "1",
    "operator": "0x" + "ab" * 20,
    "mechanism": "mcafee-trade-reduction",
    "committed_at": 1_800_000_000,
    "trades": 2,
    "funded": 2,
    "traded_wh": 20_000,
    "clearing_price_per_wh": 130,
    "seller_price_per_wh": 70,
    "prices_per_wh": [130],
    "demand": [{"owner": "0x" + "01" * 20, "limit_per_wh": 150, "energy_wh": 10_000}] * 2,
    "supply": [{"owner": "0x" + "02" * 20, "limit_per_wh": 50, "energy_wh": 10_000}] * 2,
    "shown": {
        "traded": "20 kWh",
        "clearing_price": "0.13 VEC/kWh",
        "seller_price": "0.07 VEC/kWh",
        "committed_at": "2027-01-15T08:00:00Z",
    },
}


def test_the_page_draws_a_clearings_curves_and_its_price(fleet: Fleet, market: dict[str, Any], browser: Any) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    def with_a_clearing(route: Any) -> None:
        data = route.fetch().json()
        route.fulfill(json={**data, "clearings": [CLEARING]})

    page.route("**/dashboard/data", with_a_clearing)
    page.goto(f"{fleet.url('buyer')}/dashboard")
    page.wait_for_selector("body[data-state=ready]", timeout=60_000)
    drawn = page.query_selector(".clearing[data-clearing-id='1']")
    assert drawn is not None and drawn.query_selector("path.demand") and drawn.query_selector("path.supply")
    assert drawn.query_selector(".clearing-price").inner_text() == "0.13 VEC/kWh"
    assert "sellers get 0.07 VEC/kWh" in drawn.inner_text() and "20 kWh traded" in drawn.inner_text()
    assert not errors, errors
    page.close()
