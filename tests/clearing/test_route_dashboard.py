"""The node's dashboard shows a routed clearing trade's cells, read from the audit index of real commits (issue 12):
what the commit's calldata published, never a position."""

from __future__ import annotations

from pathlib import Path

from node.api.routes.dashboard import dashboard_data
from tests.support.audit import index, specs_of
from tests.support.desk import BUY, ENERGY, LEAD_S, PRICE, SELL, WINDOW_S, Desk
from tests.support.routes import CELLS, trip
from v2vchain.audit.store import Store
from v2vchain.chain.compiler import Build
from v2vchain.protocol.clearing import TradeInput


def test_the_dashboard_shows_a_routed_trades_cells_and_none_for_its_parked_side(
    desk: Desk, build: Build, tmp_path: Path
) -> None:
    start = desk.chain.now() + LEAD_S
    end = start + WINDOW_S
    buyer, seller = desk.buyers[0], desk.sellers[0]
    buy = desk.sign(buyer, desk.order(buyer, BUY, start=start, end=end, route=trip(start, end, 3)))
    sell = desk.sign(seller, desk.order(seller, SELL, start=start, end=end))
    desk.commit([buy, sell], [TradeInput(0, 1, ENERGY, PRICE, PRICE)])
    index(desk.chain, specs_of(desk.system, build), tmp_path / "index.sqlite")
    with Store.open(tmp_path / "index.sqlite") as store:
        data = dashboard_data(store)
    [trade] = [t for t in data["trades"] if t["mechanism"].startswith("clearing/")]
    assert trade["routes"] == {"buyer": list(CELLS[:3]), "seller": None}
