"""The index takes a commit's trades only from a transaction sent to the Clearing itself. A registered contract (or an
EOA delegating to code) can be called with a commitClearing-shaped input of its own clearing id while it calls the
Clearing with other orders and trades: that input is not the Clearing's calldata, and publishing it would book
trades nobody committed."""

from __future__ import annotations

from tests.clearing.conftest import Desk
from tests.support.calldata import commit_data
from v2vchain.audit.published import publication_rows
from v2vchain.audit.rpc import Log

TX = "0x" + "11" * 32
PROXY = "0x" + "22" * 20


def rows_if_sent_to(desk: Desk, to: str) -> int:
    """The TradePublished rows of a commit whose transaction went to `to` with a two-trade commitClearing input."""
    prepared = desk.prepare(*desk.pairs(2))
    data = "0x" + commit_data(desk.clearing, prepared).hex()
    rows = publication_rows(
        Log(desk.clearing.address, (), "0x", 1, "0x" + "33" * 32, TX, 0, 0),
        "Clearing",
        {"clearingId": prepared.clearing_id, "mechanismId": 1},
        desk.clearing.contract.abi,
        lambda tx: data,
        lambda tx: (desk.operator.address, to),
        None,
    )
    return len(rows)


def test_a_commit_sent_to_the_clearing_is_published(desk: Desk) -> None:
    assert rows_if_sent_to(desk, desk.clearing.address) == 2


def test_a_commit_shaped_input_sent_to_another_address_is_not_published(desk: Desk) -> None:
    assert rows_if_sent_to(desk, PROXY) == 0
