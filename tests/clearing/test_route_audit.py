"""Routes judged from chain data alone: the Clearing checks only that a published route is the one its owner signed,
so the index publishes each traded order's route and the ledger and `v2v audit clearing` name one that does not decode
(route-malformed) or leaves its order's window (route-outside-window); a clearing whose routes hold is recomputed
with them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.audit import index, specs_of
from tests.support.clearing_books import books_of, edited
from tests.support.desk import BUY, ENERGY, LEAD_S, PRICE, SELL, WINDOW_S, Desk
from tests.support.routes import CELLS, packed
from tests.support.strategies import order
from v2vchain.audit.clearing_audit import audit_clearing
from v2vchain.audit.ledger.clearing import ClearingBooks
from v2vchain.audit.published import PUBLISHED, UNSPLIT, order_routes
from v2vchain.audit.store import Event, Store
from v2vchain.chain.compiler import Build
from v2vchain.matching import MECHANISMS, ClearingParams, Side
from v2vchain.protocol.areas import area_id
from v2vchain.protocol.clearing import MECHANISM_IDS, PreparedClearing, TradeInput, params_hash, trade_inputs
from v2vchain.protocol.routes import Route, Waypoint

PARAMS = ClearingParams()


@dataclass
class RoutedHistory:
    clean: PreparedClearing  # max-welfare assignment: buyer 0 and seller 1 share a trip, seller 0 is parked and cheaper
    malformed: PreparedClearing  # buyer 2 signed the hash of a route whose first cell is not a geohash cell
    outside: PreparedClearing  # buyer 0 (nonce 1) signed a route that starts before its window
    commit_tx: dict[str, str]  # each clearing's commit transaction, by name
    events: list[Event]
    clearing: str


def _commit(desk: Desk, prepared: PreparedClearing) -> str:
    receipt = desk.as_(desk.operator).commit(prepared)
    return "0x" + bytes(receipt["transactionHash"]).hex()


def play(desk: Desk, build: Build, db: Path) -> RoutedHistory:
    start = desk.chain.now() + LEAD_S
    end = start + WINDOW_S
    far = Route((Waypoint("u33d8x", start, start + 600), Waypoint("u33d9r", start + 5_400, start + 6_000)))
    plans = [  # the operator's own matching orders: buyer 0 and seller 1 share a trip, seller 0 is parked; the
        # spreads pay both drivers' time during the 10 kWh transfer, so the cost-aware assignment trades
        (desk.buyers[0], order(0, Side.BUY, price=1_000, start=start, end=end, route=far)),
        (desk.sellers[0], order(0, Side.SELL, price=99, start=start, end=end)),
        (desk.sellers[1], order(0, Side.SELL, price=100, start=start, end=end, route=far)),
    ]
    matching = [dataclasses.replace(o, owner=v.address.lower()) for v, o in plans]
    result = MECHANISMS["max-welfare-assignment"](matching, PARAMS)
    assert [t.seller.owner for t in result.trades] == [desk.sellers[1].address.lower()]  # parked, seller 0 would win
    orders = [desk.clearing.sign_order(v.account, o) for (v, _), o in zip(plans, matching)]
    clean = desk.prepare(
        orders,
        trade_inputs(orders, result.trades),
        mechanism_id=MECHANISM_IDS["max-welfare-assignment"],
        params_hash=params_hash(PARAMS),
    )
    txs = {"clean": _commit(desk, clean)}

    not_cells = packed([b"\xff" * 32, area_id(CELLS[0])], start)
    buyer = dataclasses.replace(desk.order(desk.buyers[2], BUY, start=start, end=end), raw_route=not_cells)
    pair = [
        desk.sign(desk.buyers[2], buyer),
        desk.sign(desk.sellers[2], desk.order(desk.sellers[2], SELL, start=start)),
    ]
    malformed = desk.prepare(pair, [TradeInput(0, 1, ENERGY, PRICE, PRICE)])
    txs["malformed"] = _commit(desk, malformed)

    early = Route((Waypoint(CELLS[0], start - 600, start), Waypoint(CELLS[1], start + 60, start + 120)))
    buyer = desk.order(desk.buyers[0], BUY, start=start, end=end, nonce=1, route=early)
    pair = [desk.sign(desk.buyers[0], buyer), desk.sign(desk.sellers[0], desk.order(desk.sellers[0], SELL, nonce=1))]
    outside = desk.prepare(pair, [TradeInput(0, 1, ENERGY, PRICE, PRICE)])
    txs["outside"] = _commit(desk, outside)

    index(desk.chain, specs_of(desk.system, build), db)
    with Store.open(db) as store:
        events = list(store.events())
    return RoutedHistory(clean, malformed, outside, txs, events, desk.clearing.address)


@pytest.fixture(scope="module")
def history(_desk: Desk, build: Build, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RoutedHistory]:
    """Played once for this module; the chain is left at its end until the module is done."""
    snapshot = _desk.chain.snapshot()
    try:
        yield play(_desk, build, tmp_path_factory.mktemp("route-audit") / "index.db")
    finally:
        _desk.chain.revert(snapshot)


def findings(books: ClearingBooks, tx: str) -> set[str]:
    return {f.rule for f in books.violations if f.tx_hash == tx}


def published_rows(h: RoutedHistory, tx: str) -> list[Event]:
    return [e for e in h.events if e.event == PUBLISHED and e.tx_hash == tx]


def test_the_index_publishes_each_traded_orders_route_as_committed(history: RoutedHistory) -> None:
    for prepared, name in ((history.clean, "clean"), (history.outside, "outside")):
        rows = published_rows(history, history.commit_tx[name])
        assert len(rows) == 1
        for side in ("buyer", "seller"):
            route = prepared.orders[int(rows[0].args[f"{side}Order"])].order.route
            assert rows[0].args[f"{side}Route"] == (None if route is None else "0x" + route.encode().hex())


def test_a_routed_clearing_whose_routes_hold_breaks_no_rule(history: RoutedHistory) -> None:
    books = books_of(history.clearing, history.events)
    assert findings(books, history.commit_tx["clean"]) == set()


def test_a_committed_route_that_is_not_cells_is_a_route_malformed_violation(history: RoutedHistory) -> None:
    books = books_of(history.clearing, history.events)
    assert findings(books, history.commit_tx["malformed"]) == {"route-malformed"}


def test_a_committed_route_outside_its_orders_window_is_a_route_outside_window_violation(
    history: RoutedHistory,
) -> None:
    books = books_of(history.clearing, history.events)
    assert findings(books, history.commit_tx["outside"]) == {"route-outside-window"}


def test_a_published_route_edited_outside_its_window_is_found(history: RoutedHistory) -> None:
    tx = history.commit_tx["clean"]
    row = next(e for e in published_rows(history, tx) if e.args["buyerRoute"])
    start = int(row.args["buyerWindow"][0])
    late = Route((Waypoint(CELLS[0], start, start + 60), Waypoint(CELLS[1], start + 60, start + WINDOW_S + 1)))
    events = edited(history.events, lambda e: e is row, buyerRoute="0x" + late.encode().hex())
    assert findings(books_of(history.clearing, events), tx) == {"route-outside-window"}


def test_a_published_route_edited_to_times_out_of_order_is_found(history: RoutedHistory) -> None:
    tx = history.commit_tx["clean"]
    row = next(e for e in published_rows(history, tx) if e.args["buyerRoute"])
    start = int(row.args["buyerWindow"][0])
    backwards = packed([area_id(CELLS[0]), area_id(CELLS[1])], start, step=-60)
    events = edited(history.events, lambda e: e is row, buyerRoute="0x" + backwards.hex())
    assert findings(books_of(history.clearing, events), tx) == {"route-malformed"}


def test_the_clearing_audit_names_a_malformed_route_and_does_not_recompute(history: RoutedHistory, _desk: Desk) -> None:
    audit = audit_clearing(_desk.clearing, history.malformed.clearing_id)
    assert [v.split(":")[1].strip() for v in audit.violations] == ["route-malformed"]
    assert audit.recomputed.startswith("not possible") and not audit.ok


def test_the_clearing_audit_names_a_route_outside_its_window(history: RoutedHistory, _desk: Desk) -> None:
    audit = audit_clearing(_desk.clearing, history.outside.clearing_id)
    assert [v.split(":")[1].strip() for v in audit.violations] == ["route-outside-window"]


def test_a_routed_clearing_is_recomputed_identically_with_its_published_routes(
    history: RoutedHistory, _desk: Desk
) -> None:
    audit = audit_clearing(_desk.clearing, history.clean.clearing_id, params=PARAMS)
    assert audit.recomputed.startswith("identical"), audit.recomputed
    assert audit.ok


def test_routes_that_do_not_split_mark_each_routed_order_unsplit() -> None:
    """What the Clearing refuses cannot be committed, but the indexer reads any input without raising."""
    call = {"orders": [{"order": {"routeHash": "0x" + "11" * 32}}, {"order": {"routeHash": "0x" + "00" * 32}}]}
    assert order_routes({**call, "routes": "0x02"}) == [UNSPLIT, None]


def test_a_published_route_marked_unsplit_is_found(history: RoutedHistory) -> None:
    tx = history.commit_tx["clean"]
    row = next(e for e in published_rows(history, tx) if e.args["buyerRoute"])
    events = edited(history.events, lambda e: e is row, buyerRoute=UNSPLIT)
    assert findings(books_of(history.clearing, events), tx) == {"route-malformed"}
