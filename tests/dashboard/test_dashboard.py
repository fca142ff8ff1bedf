"""The dashboard in headless Chromium: real trades between node processes on anvil, indexed by the buyer's node,
and every number the page shows checked against the audit reports read from the same index."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from node.api.routes.dashboard import AuditIndex
from tests.support.fleet_nodes import Fleet, key_of
from v2vchain.audit.ledger.market import Ledger
from v2vchain.audit.store import Store
from v2vchain.audit.trades import trades
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
    """Two settled trades, a third request still open with an on-chain bid; then the buyer's node restarted with
    an audit index, as an operator would turn the dashboard on."""
    closed = [_trade(fleet, 20_000, 20_000), _trade(fleet, 8_000, 6_500)]
    live = fleet.owner("buyer").post("/requests", {**REQUEST, "energy_wh": 5_000})
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
    assert str(indexed_to) == page.get_attribute("body", "data-last-block")
    assert [t.price_per_wh for t in expected] == [c["price_per_wh"] for c in market["closed"]]

    assert _number(page.inner_text("#total-trades")) == len(expected) == 2
    assert _number(page.inner_text("#total-energy")) == sum(t.energy_wh for t in expected) == 28_000
    assert _number(page.inner_text("#total-delivered")) == sum(t.delivered_wh for t in expected) == 26_500
    shown = {
        row.get_attribute("data-trade-id"): (
            _number(row.query_selector(".price").inner_text()),
            _number(row.query_selector(".energy").inner_text()),
        )
        for row in page.query_selector_all("#trades-table tr[data-trade-id]")
    }
    assert shown == {t.trade_id: (t.price_per_wh, t.energy_wh) for t in expected}

    live = page.query_selector(f"#auctions-table tr[data-request-id='{market['live']['request_id']}']")
    assert live is not None and _number(live.query_selector(".best-price").inner_text()) == OPEN_BID_PER_WH
    assert page.query_selector_all(".ladder") and page.query_selector_all("#area-map .cell")
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


def test_with_the_chain_away_the_data_is_the_index_as_it_was_marked_stale(fleet: Fleet, market: dict[str, Any]) -> None:
    fleet.http.get(
        f"{fleet.url('buyer')}/dashboard/data", timeout=60
    ).raise_for_status()  # the index, filled by the node
    config = SimpleNamespace(chain=f"http://127.0.0.1:{free_port()}", audit_confirmations=0)
    node = SimpleNamespace(config=config, system=fleet.system)
    data = AuditIndex(node, market["db"]).read()
    assert not data["refresh"]["ok"] and "cannot reach" in data["refresh"]["error"]
    assert data["totals"]["trades"] == 2
