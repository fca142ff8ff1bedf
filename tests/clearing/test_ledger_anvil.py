"""On a real anvil, through the JSON-RPC client: a commit's trades read from its transaction's input, its penalty
rate by eth_call, and the Clearing's books reconciled."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.audit import index, specs_of
from tests.support.desk import ENERGY, PRICE, make_desk
from v2vchain.audit.ledger.market import Ledger
from v2vchain.audit.reconcile import reconcile, reconciliation_text
from v2vchain.audit.rpc import HttpNode, node_for
from v2vchain.audit.store import Store
from v2vchain.audit.trades import trades
from v2vchain.audit.units import TokenUnits
from v2vchain.chain.compiler import Build
from v2vchain.chain.connect import connect

pytestmark = pytest.mark.anvil


def test_a_clearing_indexed_over_json_rpc_reconciles(build: Build, tmp_path: Path) -> None:
    with connect("anvil") as chain:
        desk = make_desk(chain, build)
        assert isinstance(node_for(chain), HttpNode)
        prepared = desk.committed(2)
        desk.as_(desk.buyers[0]).confirm_delivery(prepared, 0, ENERGY)
        index(chain, specs_of(desk.system, build), tmp_path / "index.db")
    with Store.open(tmp_path / "index.db") as store:
        ledger = Ledger.from_store(store)
        result = reconcile(ledger, store)
    assert result.ok and not result.warnings, reconciliation_text(result, TokenUnits(6, "VEC"))
    rows = [(t.status, t.delivered_wh, t.paid, t.penalty) for t in trades(ledger)]
    penalty = ENERGY * PRICE * 2_000 // 10_000
    assert rows == [("settled", ENERGY, ENERGY * PRICE, penalty), ("awarded", 0, 0, penalty)]
    assert ledger.clearing is not None and ledger.clearing.locked[prepared.trades[1].seller] == penalty
