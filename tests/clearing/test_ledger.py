"""The audit covers the batch Clearing: its trades indexed from the commits' calldata, its books rebuilt from events
and reconciled as the Market's are, and every rule of Clearing.sol's money found broken when the events are."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from node.api.routes.dashboard import dashboard_data
from tests.support.audit import CallRecordingNode, index, specs_of
from tests.support.clearing_books import (
    PAYMENT,
    PENALTY,
    REDUCED_PRICE,
    REDUCED_SELLER_PRICE,
    WITHDRAWN,
    History,
    books_of,
    edited,
    play,
    retimed,
    rules,
)
from tests.support.desk import DEPOSIT, ENERGY, GRACE, PRICE, Desk
from v2vchain.audit.ledger.market import Ledger
from v2vchain.audit.reconcile import reconcile, reconciliation_text
from v2vchain.audit.rpc import HttpNode, node_for
from v2vchain.audit.statement import statement, statement_text
from v2vchain.audit.store import Event, Store
from v2vchain.audit.trades import filter_trades, trades
from v2vchain.audit.units import DECIMALS_CALL, TokenUnits, energy
from v2vchain.chain.compiler import Build
from v2vchain.cli.audit import audit_app


@pytest.fixture(scope="module")
def history(_desk: Desk, build: Build, tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    """The desk's history, played once for this module; the chain is left at its end until the module is done."""
    snapshot = _desk.chain.snapshot()
    try:
        yield play(_desk, build, tmp_path_factory.mktemp("clearing-audit") / "index.db")
    finally:
        _desk.chain.revert(snapshot)


VEC = TokenUnits(6, "VEC")  # the dev token's units, as the indexer reads them


def ledger_of(db: Path) -> Ledger:
    with Store.open(db) as store:
        return Ledger.from_store(store)


def test_reconcile_is_clean_and_every_account_matches_the_contract(history: History, _desk: Desk) -> None:
    with Store.open(history.db) as store:
        ledger = Ledger.from_store(store)
        result = reconcile(ledger, store)
    assert result.ok and not result.warnings, reconciliation_text(result, VEC)
    books = ledger.clearing
    assert books is not None
    for v in _desk.everyone:
        on_chain = _desk.clearing.account(v.address)
        assert (books.free[v.address], books.locked[v.address]) == (on_chain.free, on_chain.locked), v.name
        assert books.nonce_floor[v.address] == _desk.clearing.nonce_floor(v.address), v.name
    held = _desk.system.token.balance_of(_desk.clearing.address)
    assert (books.token_balance, books.escrows(), books.sunk) == (held, _desk.clearing.escrowed(), PENALTY)
    t = result.totals
    assert (t["clearings"], t["clearing_trades"], t["trades"], t["requests"]) == (3, 7, 7, 0)
    assert t["clearing_token_balance"] == t["clearing_books"] == 6 * DEPOSIT - WITHDRAWN
    open_penalty = ENERGY * REDUCED_SELLER_PRICE * 2_000 // 10_000
    assert (t["clearing_locked"], t["clearing_escrows"], t["clearing_sunk"]) == (
        open_penalty,
        ENERGY * REDUCED_PRICE,
        PENALTY,
    )
    assert books.free[operator_address(history)] == ENERGY * (REDUCED_PRICE - REDUCED_SELLER_PRICE)  # the spread
    a = VEC.amount
    shown = f"locked {a(open_penalty)} + escrows {a(ENERGY * REDUCED_PRICE)} + sunk {a(PENALTY)}"
    assert shown in reconciliation_text(result, VEC)


def test_every_funded_trade_is_a_row_with_its_outcome(history: History) -> None:
    rows = [
        (t.trade_id, t.mechanism, t.status, t.delivered_wh, t.paid, t.refund, t.payment, t.penalty)
        for t in trades(ledger_of(history.db))
    ]
    first, second, third = (f"clearing-{p.clearing_id:#x}" for p in (history.first, history.second, history.third))
    reduced, penalty = ENERGY * REDUCED_PRICE, ENERGY * REDUCED_SELLER_PRICE * 2_000 // 10_000
    m = "clearing/double-auction-k"
    assert rows == [
        (f"{first}-0", m, "settled", ENERGY, PAYMENT, 0, PAYMENT, PENALTY),
        (f"{first}-1", m, "settled", 9_000, 9_000 * PRICE, 1_000 * PRICE, PAYMENT, PENALTY),
        (f"{first}-2", m, "reclaimed", 0, 0, PAYMENT, PAYMENT, PENALTY),
        (f"{second}-0", m, "settled", ENERGY, PAYMENT, 0, PAYMENT, PENALTY),
        (f"{second}-2", m, "settled", 3_000, 3_000 * PRICE, 7_000 * PRICE, PAYMENT, PENALTY),
        *sorted(
            (f"{third}-{i}", "clearing/mcafee-trade-reduction", status, wh, wh * REDUCED_PRICE, 0, reduced, penalty)
            for i, status, wh in third_outcomes(history)
        ),
    ]
    (row,) = [t for t in trades(ledger_of(history.db)) if t.trade_id == f"{second}-2"]
    assert (row.buyer, row.seller, row.area, row.price_per_wh) == (
        history.second.trades[2].buyer,
        history.second.trades[2].seller,
        "u33dc0",
        PRICE,
    )


def third_outcomes(history: History) -> list[tuple[int, str, int]]:
    """(index, status, delivered Wh) of the third clearing's trades: buyer1's settled in full, buyer0's open."""
    limits = [o.order.limit_price_per_wh for o in history.third.orders if o.order.side == 1]
    assert sorted(limits) == [130, 140, 150]
    settled = {o.order.owner for o in history.third.orders if o.order.limit_price_per_wh == 140}
    return [
        (i, "settled", ENERGY) if t.buyer in settled else (i, "awarded", 0) for i, t in enumerate(history.third.trades)
    ]


def operator_address(history: History) -> str:
    return str(next(e for e in history.events if e.event == "ClearingCommitted").args["operator"])


def test_trades_by_mechanism_from_the_command_line(history: History) -> None:
    def run(*args: str) -> list[dict[str, object]]:
        out = CliRunner().invoke(audit_app, ["trades", "--db", str(history.db), "--format", "json", *args])
        assert out.exit_code == 0, out.output
        return list(json.loads(out.output))

    assert len(run("--mechanism", "clearing")) == 7
    assert len(run("--mechanism", "clearing/double-auction-k")) == 5
    assert len(run("--mechanism", "clearing/mcafee-trade-reduction")) == 2
    assert run("--mechanism", "auction") == []
    table = CliRunner().invoke(audit_app, ["trades", "--db", str(history.db)])
    assert table.output.splitlines()[0].startswith("mechanism") and "clearing/double-auction-k" in table.output
    everything = trades(ledger_of(history.db))
    assert filter_trades(everything, mechanism="clearing/gale-shapley-buyer-proposing") == []


def test_vehicle_reconcile_and_report_from_the_command_line(history: History, _desk: Desk, tmp_path: Path) -> None:
    db = str(history.db)
    seller = _desk.sellers[2].address
    for fmt in ("table", "csv", "json"):
        out = CliRunner().invoke(audit_app, ["vehicle", seller, "--db", db, "--format", fmt])
        assert out.exit_code == 0 and "clearing_account" in out.output, out.output
    done = CliRunner().invoke(audit_app, ["reconcile", "--db", db])
    assert done.exit_code == 0 and "3 clearings, 7 funded clearing trades" in done.output, done.output
    report = CliRunner().invoke(audit_app, ["report", "--db", db, "--out", str(tmp_path / "report")])
    assert report.exit_code == 0, report.output
    assert (tmp_path / "report" / "trades.csv").read_text().count("clearing/double-auction-k") == 5


def test_a_vehicles_statement_holds_its_clearing_trades_and_account(history: History, _desk: Desk) -> None:
    seller = _desk.sellers[2]  # C1 trade 2 reclaimed (penalty sunk), C2 trade 2 finalized at 3,000 Wh
    s = statement(ledger_of(history.db), seller.address, _desk.chain.chain_id)
    assert s["sold"] == {"trades": 2, "energy_wh": 3_000, "received": 3_000 * PRICE, "penalties_paid": PENALTY}
    assert s["clearing_account"] == {
        "deposited": DEPOSIT,
        "withdrawn": 0,
        "escrowed": 0,
        "spread": 0,
        "forfeited": PENALTY,
        "free": DEPOSIT - PENALTY + 3_000 * PRICE,
        "locked": 0,
        "at_risk": 0,
    }
    buyer = statement(ledger_of(history.db), _desk.buyers[0].address, _desk.chain.chain_id)
    assert buyer["bought"] == {"trades": 3, "energy_wh": 2 * ENERGY, "paid": 2 * PAYMENT}  # one still open
    assert buyer["clearing_account"]["withdrawn"] == WITHDRAWN
    (open_trade,) = buyer["open_obligations"]
    assert (open_trade["role"], open_trade["what"], open_trade["amount"]) == (
        "buyer",
        "confirm delivery",
        ENERGY * REDUCED_PRICE,
    )
    assert "clearing_account: deposited" in statement_text(buyer, VEC)


def test_open_trades_are_obligations_and_locked_penalties(history: History, _desk: Desk) -> None:
    """Cut the index before the first clearing's trades close: seller 0 owes delivery with its penalty at risk."""
    commit = next(e for e in history.events if e.event == "ClearingCommitted")
    books = books_of(history.clearing, [e for e in history.events if e.block_number <= commit.block_number])
    assert not books.violations
    seller = _desk.sellers[0].address
    assert books.locked[seller] == books.locked_penalty(seller) == PENALTY
    assert books.escrows() == 3 * PAYMENT
    ledger = ledger_of(history.db)
    ledger.clearing = books
    s = statement(ledger, seller, None)
    (obligation,) = s["open_obligations"]
    assert (obligation["role"], obligation["what"], obligation["amount"]) == (
        "seller",
        f"deliver {energy(ENERGY)}",
        PENALTY,
    )


def test_a_forfeit_dropped_from_the_store_is_found(history: History, tmp_path: Path) -> None:
    db = tmp_path / "tampered.db"
    shutil.copy(history.db, db)
    with sqlite3.connect(db) as conn:
        assert conn.execute("DELETE FROM events WHERE contract = 'Clearing' AND event = 'Forfeited'").rowcount == 1
    with Store.open(db) as store:
        result = reconcile(Ledger.from_store(store), store)
    assert not result.ok
    assert "reclaim-without-forfeit" in {f.rule for f in result.violations}


def test_an_unpublished_commit_is_warned_and_its_escrow_still_balances(history: History) -> None:
    books = books_of(history.clearing, [e for e in history.events if e.event != "TradePublished"])
    assert "clearing-unpublished" in {f.rule for f in books.warnings}
    assert not books.violations, books.violations
    assert books.token_balance == books.books()


# ---------------------------------------------------------------- each rule, broken

Pick = Callable[[Event], bool]


def is_(name: str, index: int | None = None, **args: object) -> Pick:
    def pick(e: Event) -> bool:
        return (
            e.event == name
            and (index is None or e.args.get("tradeIndex") == index)
            and all(e.args.get(k) == v for k, v in args.items())
        )

    return pick


def of(h: History, clearing: int) -> int:
    return (h.first, h.second)[clearing].clearing_id


def closed(h: History, clearing: int, index: int) -> Pick:
    return is_("TradeClosed", index, clearingId=of(h, clearing))


def published(h: History, clearing: int, index: int) -> Pick:
    return is_("TradePublished", index, clearingId=of(h, clearing))


def committed(h: History, clearing: int) -> Pick:
    return is_("ClearingCommitted", clearingId=of(h, clearing))


def put(events: list[Event], event: Event, *, after: Pick, before: bool = False, **args: object) -> list[Event]:
    """`event` (with new arguments) added to the transaction of the first event `after` accepts, just after it (or
    just before it)."""
    where = next(e for e in events if after(e))
    at = events.index(where) + (0 if before else 1)
    clone = Event(
        **{
            **event.__dict__,
            "tx_hash": where.tx_hash,
            "block_number": where.block_number,
            "args": {**event.args, **args},
        }
    )
    return [*events[:at], clone, *events[at:]]


def copied(events: list[Event], pick: Pick, *, after: Pick, before: bool = False, **args: object) -> list[Event]:
    return put(events, next(e for e in events if pick(e)), after=after, before=before, **args)


def registered(h: History, address: str) -> Pick:
    return lambda e: e.event == "VehicleRegistered" and e.args["vehicle"] == address


def operator(h: History) -> str:
    return str(next(e for e in h.events if committed(h, 0)(e)).args["operator"])


def forged(name: str, contract: str = "Clearing", **args: object) -> Event:
    return Event(0, 0, "", 0, 0, contract, name, dict(args))


Case = Callable[[History], list[Event]]
CASES: list[tuple[str, Case]] = [
    ("clearing-short", lambda h: edited(h.events, is_("Deposited"), amount=DEPOSIT + 1)),
    ("books-without-tokens", lambda h: edited(h.events, is_("Deposited"), amount=DEPOSIT + 1)),
    ("tokens-without-books", lambda h: edited(h.events, is_("Withdrawn"))),
    ("overdrawn", lambda h: edited(h.events, is_("Withdrawn"), amount=10 * DEPOSIT)),
    ("negative-free", lambda h: edited(h.events, is_("Withdrawn"), amount=10 * DEPOSIT)),
    ("deposit-not-active", lambda h: edited(h.events, registered(h, h.first.trades[0].buyer))),
    ("trader-not-active", lambda h: edited(h.events, registered(h, h.first.trades[0].seller))),
    ("operator-not-active", lambda h: edited(h.events, registered(h, operator(h)))),
    ("traded-while-paused", lambda h: put(h.events, forged("Paused", account=operator(h)), after=committed(h, 0))),
    (
        "credit-without-settlement",
        lambda h: put(
            h.events,
            forged("Credited", account=h.first.trades[0].seller, ref=of(h, 0), amount=1),
            after=closed(h, 0, 0),
        ),
    ),
    (
        "trader-not-active",
        lambda h: put(
            h.events, forged("VehicleRevoked", "Registry", vehicle=h.first.trades[0].buyer), after=is_("Deposited")
        ),
    ),
    (
        "trader-not-active",
        lambda h: edited(h.events, registered(h, h.first.trades[0].seller), roles=1),  # a buyer only
    ),
    (
        "nonce-floor-lowered",
        lambda h: put(h.events, forged("NoncesCancelled", account=operator(h), nonceFloor=0), after=committed(h, 0)),
    ),
    ("reclaimed-early", lambda h: retimed(h.events, is_("TradeClosed", how=3), h.first.trades[2].delivery_end_ts - 1)),
    (
        "reclaimed-in-grace",
        lambda h: retimed(h.events, is_("TradeClosed", how=3), h.first.trades[2].delivery_end_ts + GRACE - 1),
    ),
    (
        "finalized-in-grace",
        lambda h: retimed(h.events, is_("TradeClosed", how=2), h.second.trades[2].delivery_end_ts + GRACE - 1),
    ),
    ("receipt-after-grace", lambda h: retimed(h.events, closed(h, 0, 1), h.first.trades[1].delivery_end_ts + GRACE)),
    ("wrong-penalty", lambda h: edited(h.events, published(h, 0, 0), penalty=PENALTY - 1)),
    (
        "confirmed-twice",
        lambda h: copied(h.events, is_("DeliveryConfirmed", 1), after=closed(h, 0, 0), before=True, tradeIndex=0),
    ),
    ("reclaim-without-forfeit", lambda h: edited(h.events, is_("Forfeited"))),
    ("forfeit-without-reclaim", lambda h: copied(h.events, is_("Forfeited"), after=closed(h, 0, 0))),
    ("locked-mismatch", lambda h: copied(h.events, is_("Forfeited"), after=closed(h, 0, 0))),
    ("forfeit-beyond-locked", lambda h: edited(h.events, is_("Forfeited"), amount=2 * PENALTY + 1)),  # 2 open
    ("wrong-amount", lambda h: edited(h.events, closed(h, 0, 0), toSeller=PAYMENT - 1, toBuyer=1)),
    ("wrong-amount", lambda h: edited(h.events, is_("TradeUnfunded"))),
    ("wrong-amount", lambda h: edited(h.events, is_("TradeClosed", how=2), deliveredWh=2_000, toSeller=2_000 * PRICE)),
    ("closed-twice", lambda h: copied(h.events, closed(h, 0, 0), after=closed(h, 0, 1))),
    ("unknown-trade", lambda h: edited(h.events, closed(h, 0, 0), tradeIndex=99)),
    (
        "reclaimed-when-confirmed",
        lambda h: copied(h.events, is_("DeliveryConfirmed", 1), after=closed(h, 0, 0), tradeIndex=2),
    ),
    ("confirmed-when-not-open", lambda h: copied(h.events, is_("DeliveryConfirmed", 1), after=closed(h, 0, 1))),
    (
        "receipt-not-above-confirmation",
        lambda h: edited(h.events, closed(h, 0, 1), deliveredWh=4_000, toSeller=4_000 * PRICE, toBuyer=6_000 * PRICE),
    ),
    ("order-overfilled", lambda h: edited(h.events, published(h, 0, 0), buyerOrderWh=ENERGY - 1)),
    ("order-overfilled", lambda h: edited(h.events, published(h, 1, 0), buyerNonce=0, sellerNonce=0)),
    ("spent-order-traded", lambda h: edited(h.events, published(h, 1, 0), buyerNonce=0)),
    ("trade-breaks-rule", lambda h: edited(h.events, published(h, 0, 0), buyerLimit=PRICE - 1)),
    ("trade-breaks-rule", lambda h: edited(h.events, published(h, 0, 1), pricePerWh=PRICE + 1)),
    ("uncovered-payment", lambda h: edited(h.events, published(h, 0, 0), energyWh=DEPOSIT // PRICE + 1)),
    ("uncovered-penalty", lambda h: edited(h.events, published(h, 0, 0), penalty=2 * DEPOSIT)),
    ("wrong-count", lambda h: edited(h.events, published(h, 0, 2))),
    ("committed-twice", lambda h: edited(h.events, committed(h, 1), clearingId=of(h, 0))),
    ("wrong-clearing-id", lambda h: edited(h.events, committed(h, 0), clearingId=of(h, 0) + 1)),
    ("unknown-mechanism", lambda h: edited(h.events, committed(h, 0), mechanismId=9)),
]


def test_the_untampered_history_is_clean(history: History) -> None:
    books = books_of(history.clearing, history.events)
    assert not books.violations and not books.warnings


def test_the_penalty_rate_and_grace_period_come_from_the_clearings_construction_event(history: History) -> None:
    books = books_of(history.clearing, history.events)
    assert (books.penalty_bps, books.grace_period) == (2_000, GRACE)


def published_penalties(db: Path) -> list[tuple[int, int, int]]:
    """(energy, seller price, penalty) of every published trade in the index at db."""
    with Store.open(db) as store:
        return [
            (int(e.args["energyWh"]), int(e.args["sellerPricePerWh"]), e.args["penalty"])
            for e in store.events(["TradePublished"])
        ]


def test_an_index_resumed_after_the_clearings_construction_prices_penalties_from_its_event_not_an_eth_call(
    history: History, _desk: Desk, build: Build, tmp_path: Path
) -> None:
    node = CallRecordingNode(node_for(_desk.chain))
    db = tmp_path / "resumed.db"
    constructed = next(e for e in history.events if e.event == "ClearingConfigured").block_number
    index(node, specs_of(_desk.system, build), db, to_block=constructed)
    index(node, specs_of(_desk.system, build), db)
    penalties = published_penalties(db)
    assert len(penalties) == 8 and all(p == wh * price * 2_000 // 10_000 for wh, price, p in penalties)
    assert history.clearing not in node.called


def test_published_trades_without_a_penalty_are_priced_at_the_configured_rate(history: History) -> None:
    """A backfill reads older blocks top down, so it may publish a commit before it meets ClearingConfigured."""
    unpriced = [
        replace(e, args={**e.args, "penalty": None}) if e.event == "TradePublished" else e for e in history.events
    ]
    books, priced = books_of(history.clearing, unpriced), books_of(history.clearing, history.events)
    assert not books.violations and books.split_known
    assert (books.locked, books.free) == (priced.locked, priced.free)


@pytest.mark.parametrize(("rule", "tamper"), CASES, ids=[f"{rule}-{i}" for i, (rule, _) in enumerate(CASES)])
def test_a_tampered_history_breaks_its_rule(history: History, rule: str, tamper: Case) -> None:
    books = books_of(history.clearing, tamper(history))
    assert rule in rules(books), [(f.rule, f.message) for f in books.violations]


def test_an_open_trade_past_its_window_is_overdue(history: History) -> None:
    books = books_of(history.clearing, edited(history.events, closed(history, 0, 0)))
    assert [f.rule for f in books.warnings] == ["delivery-overdue"]


def test_the_dashboard_shows_clearing_trades(history: History) -> None:
    with Store.open(history.db) as store:
        data = dashboard_data(store)
    shown = [(t["mechanism"], t["status"]) for t in data["trades"]]
    assert shown.count(("clearing/double-auction-k", "settled")) == 4 and len(shown) == 7
    assert shown.count(("clearing/mcafee-trade-reduction", "awarded")) == 1
    assert data["totals"]["books_balance"] and data["totals"]["violations"] == 0


def test_the_dashboard_draws_each_clearings_supply_and_demand_at_its_price(history: History) -> None:
    with Store.open(history.db) as store:
        newest, rivals, first = dashboard_data(store)["clearings"]
    assert [c["clearing_id"] for c in (newest, rivals, first)] == [
        str(p.clearing_id) for p in (history.third, history.second, history.first)
    ]
    assert newest["mechanism"] == "mcafee-trade-reduction"
    assert [(o["limit_per_wh"], o["energy_wh"]) for o in newest["demand"]] == [(150, ENERGY), (140, ENERGY)]
    assert [(o["limit_per_wh"], o["energy_wh"]) for o in newest["supply"]] == [(50, ENERGY), (60, ENERGY)]
    assert (newest["clearing_price_per_wh"], newest["seller_price_per_wh"], newest["traded_wh"]) == (
        REDUCED_PRICE,
        REDUCED_SELLER_PRICE,
        2 * ENERGY,
    )
    assert newest["shown"]["clearing_price"] == VEC.price_per_kwh(REDUCED_PRICE)
    assert newest["shown"]["traded"] == energy(2 * ENERGY)


def test_a_clearings_curves_hold_its_unfunded_trades_orders_but_count_only_funded_energy(history: History) -> None:
    with Store.open(history.db) as store:
        _, rivals, _ = dashboard_data(store)["clearings"]
    assert (len(rivals["demand"]), len(rivals["supply"]), rivals["trades"], rivals["funded"]) == (3, 3, 3, 2)
    assert (rivals["traded_wh"], rivals["clearing_price_per_wh"]) == (2 * ENERGY, PRICE)


def test_a_json_rpc_node_reads_a_commits_input_and_calls_a_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, list[object]]] = []
    answers = {"eth_getTransactionByHash": {"input": "0xabcdef"}, "eth_call": "0x" + "00" * 31 + "07"}

    def call(method: str, params: list[object]) -> object:
        asked.append((method, params))
        return answers[method]

    node = HttpNode("http://127.0.0.1:1")
    monkeypatch.setattr(node, "call", call)
    assert node.tx_input("0x12") == "0xabcdef"
    assert int(node.eth_call("0xC", DECIMALS_CALL, 5), 16) == 7
    assert asked == [
        ("eth_getTransactionByHash", ["0x12"]),
        ("eth_call", [{"to": "0xC", "data": DECIMALS_CALL}, "0x5"]),
    ]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"buyerSide": 2}, "does not pair a buy order with a sell order"),
        ({"seller": "BUYER"}, "trades with itself"),
        ({"sellerPricePerWh": 0, "pricePerWh": 0}, "trades nothing"),
        ({"sellerLimit": PRICE + 1}, "below the seller's limit"),
        ({"deliveryEnd": 1}, "empty or over"),
        ({"sellerExpiry": 1}, "the seller's order expired"),
        ({"mechanismId": 3, "sellerPricePerWh": PRICE - 1}, "not uniform"),  # the rows say 3; the commit says 1
    ],
)
def test_each_rule_of_a_trade_is_checked(history: History, edit: dict[str, object], message: str) -> None:
    if edit.get("seller") == "BUYER":
        edit = {"seller": history.first.trades[0].buyer}
    books = books_of(history.clearing, edited(history.events, published(history, 0, 0), **edit))
    found = [f.message for f in books.violations if f.rule == "trade-breaks-rule"]
    assert any(message in m for m in found), found


def test_two_commits_in_one_transaction_are_each_booked(history: History) -> None:
    """As a contract operator could send them: the rival's commit moved into the transaction of the first."""
    first = next(e for e in history.events if committed(history, 0)(e))
    second_tx = next(e for e in history.events if committed(history, 1)(e)).tx_hash
    moved = [e for e in history.events if e.tx_hash == second_tx]
    rest = [e for e in history.events if e.tx_hash != second_tx]
    at = max(i for i, e in enumerate(rest) if e.tx_hash == first.tx_hash) + 1
    merged = [Event(**{**e.__dict__, "tx_hash": first.tx_hash, "block_number": first.block_number}) for e in moved]
    books = books_of(history.clearing, [*rest[:at], *merged, *rest[at:]])
    assert not books.violations, [(f.rule, f.message) for f in books.violations]
    assert len(books.clearings) == 3 and sum(t.funded for t in books.all_trades()) == 7
