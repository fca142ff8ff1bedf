"""The Clearing skips a trade whose party lapsed between the plan and the commit (TradeUnfunded BuyerInactive or
SellerInactive) instead of reverting: the ledger books such a skip as the rule it is, not as a trader-not-active
violation, and still names a funded trade of a lapsed party."""

from __future__ import annotations

from pathlib import Path

from tests.clearing.conftest import Desk
from tests.support.audit import index, specs_of
from tests.support.clearing_books import books_of, edited, rules
from v2vchain.audit.store import Event, Store
from v2vchain.chain.compiler import Build


def revoked_seller_history(desk: Desk, build: Build, db: Path) -> list[Event]:
    """Two trades committed after seller 0 was revoked: trade 0 skipped as SellerInactive, trade 1 opened."""
    desk.chain.fund(desk.issuer.address, 10**17)
    desk.system.registry.connect(desk.chain.sender(desk.issuer)).revoke(desk.sellers[0].address)
    desk.commit(*desk.pairs(2))
    index(desk.chain, specs_of(desk.system, build), db)
    with Store.open(db) as store:
        return list(store.events())


def test_a_trade_skipped_because_its_seller_was_revoked_breaks_no_rule(
    desk: Desk, build: Build, tmp_path: Path
) -> None:
    events = revoked_seller_history(desk, build, tmp_path / "index.db")
    assert rules(books_of(desk.clearing.address, events)) == set()


def test_a_funded_trade_of_a_revoked_seller_is_trader_not_active(desk: Desk, build: Build, tmp_path: Path) -> None:
    """The same history with its skip erased: the index now says the revoked seller's trade was funded."""
    events = revoked_seller_history(desk, build, tmp_path / "index.db")
    forged = edited(events, lambda e: e.event == "TradeUnfunded")
    assert "trader-not-active" in rules(books_of(desk.clearing.address, forged))
