"""The audit covers the batch Clearing: its trades indexed from the commits' calldata, its books rebuilt from events
and reconciled as the Market's are, and every rule of Clearing.sol's money found broken when the events are."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.clearing_books import History, play
from tests.support.desk import Desk
from v2vchain.audit.ledger.market import Ledger
from v2vchain.audit.reconcile import reconcile, reconciliation_text
from v2vchain.audit.store import Store
from v2vchain.chain.compiler import Build


@pytest.fixture(scope="module")
def history(_desk: Desk, build: Build, tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    snapshot = _desk.chain.snapshot()
    try:
        yield play(_desk, build, tmp_path_factory.mktemp("clearing-audit") / "index.db")
    finally:
        _desk.chain.revert(snapshot)


def test_smoke(history: History) -> None:
    with Store.open(history.db) as store:
        ledger = Ledger.from_store(store)
        result = reconcile(ledger, store)
    print(reconciliation_text(result))
    assert result.ok
