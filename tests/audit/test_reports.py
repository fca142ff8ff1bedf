"""Trades, statements and the reconciliation from the demo's index equal what happened on the chain."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from eth_account import Account

from tests.support.audit import Demo
from v2vchain.audit.errors import InvalidFilter, UnknownAddress
from v2vchain.audit.ledger.market import Ledger
from v2vchain.audit.reconcile import Reconciliation, reconcile
from v2vchain.audit.render import render
from v2vchain.audit.statement import statement
from v2vchain.audit.store import Store
from v2vchain.audit.trades import filter_trades, parse_time, require_known, resolve_vehicle, trades
from v2vchain.identity.did import did_for


def ledger_of(db: Path) -> Ledger:
    with Store.open(db) as store:
        return Ledger.from_store(store)


def test_the_demo_trade_is_reported_as_it_happened(demo: Demo) -> None:
    (trade,) = trades(ledger_of(demo.db))
    r = demo.result
    assert trade.trade_id == f"auction-{r['request_id']}" and trade.status == "settled"
    assert (trade.energy_wh, trade.delivered_wh, trade.price_per_wh) == (20_000, 19_500, r["price_per_wh"])
    assert trade.payment == 20_000 * 90 and trade.paid == r["paid"] == 1_755_000
    assert trade.refund == 500 * 90 and trade.area == "u33db"
    assert trade.settle_tx and trade.award_tx.startswith("0x") and len(trade.award_tx) == 66


def test_statements_of_buyer_and_seller_match_their_wallets(demo: Demo) -> None:
    ledger = ledger_of(demo.db)
    (trade,) = trades(ledger)
    seller = statement(ledger, trade.seller, demo.chain.chain_id)
    buyer = statement(ledger, trade.buyer, demo.chain.chain_id)
    assert seller["sold"] == {
        "trades": 1,
        "energy_wh": 19_500,
        "received": demo.result["seller_gain"],
        "penalties_paid": 0,
    }
    assert buyer["bought"]["paid"] == demo.result["buyer_spent"] and buyer["bought"]["energy_wh"] == 19_500
    assert (seller["account"]["free"], seller["account"]["locked"]) == (20 * 10**6, 0)
    assert seller["account"]["deposited"] == 20 * 10**6 and seller["account"]["withdrawn"] == demo.result["seller_gain"]
    assert buyer["registration"]["did"] == did_for(trade.buyer, demo.chain.chain_id)
    assert buyer["open_obligations"] == [] and seller["open_obligations"] == []


def test_reconcile_of_the_demo_finds_the_books_balanced(demo: Demo) -> None:
    with Store.open(demo.db) as store:
        result = reconcile(Ledger.from_store(store), store)
    market = demo.deployment["market"]
    on_chain = demo.chain.w3.eth.contract(address=market, abi=[s for s in demo.specs if s.name == "EnergyToken"][0].abi)
    token = demo.chain.w3.eth.contract(address=demo.deployment["token"], abi=on_chain.abi)
    assert result.ok and result.warnings == []
    assert result.totals["token_balance"] == token.functions.balanceOf(market).call() == 3 * 20 * 10**6
    assert result.totals["books"] == result.totals["free"] == result.totals["token_balance"]
    assert (result.totals["locked"], result.totals["escrows"], result.totals["sunk"]) == (0, 0, 0)


def test_filters_select_by_vehicle_did_time_and_area(demo: Demo) -> None:
    ledger = ledger_of(demo.db)
    all_trades = trades(ledger)
    (trade,) = all_trades
    by_did = resolve_vehicle(did_for(trade.seller, demo.chain.chain_id), ledger, demo.chain.chain_id)
    assert filter_trades(all_trades, vehicles=by_did) == all_trades
    assert filter_trades(all_trades, vehicles={Account.create().address}) == []
    assert filter_trades(all_trades, since=trade.awarded_at, until=trade.awarded_at) == all_trades
    assert filter_trades(all_trades, since=trade.awarded_at + 1) == []
    assert filter_trades(all_trades, area="u33") == all_trades  # the cell lies in the region
    assert filter_trades(all_trades, area="gcpv") == []
    assert filter_trades(all_trades, area=trade.area_id) == all_trades
    assert parse_time("1970-01-02", "since") == 86_400
    assert parse_time("1970-01-01T01:00:00+01:00", "since") == 0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda l: resolve_vehicle("0x1234", l, 1), "neither a 0x address"),
        (lambda l: resolve_vehicle("did:pkh:eip155:1:0xZZ", l, 1), "not a did:pkh"),
        (lambda l: resolve_vehicle(did_for(Account.create().address, 5), l, 1), "names chain 5"),
        (lambda l: parse_time("yesterday", "since"), "--since 'yesterday' is neither unix seconds"),
        (lambda l: filter_trades([], since=10, until=5), "is after --until"),
        (lambda l: filter_trades([], area="u33a"), "is neither a 0x-prefixed 32-byte area id"),
        (lambda l: filter_trades([], mechanism="barter"), "one of auction"),
        (lambda l: render([], "xml"), "one of table, csv, json"),
    ],
)
def test_malformed_filters_are_refused_with_what_was_expected(demo: Demo, call, message) -> None:
    with pytest.raises(InvalidFilter, match=message):
        call(ledger_of(demo.db))


def test_an_address_never_seen_is_reported_unknown(demo: Demo) -> None:
    with Store.open(demo.db) as store, pytest.raises(UnknownAddress, match="appears in no indexed event"):
        require_known(store, {Account.create().address}, "that vehicle")


def tampered(demo: Demo, tmp_path: Path, sql: str) -> Path:
    db = tmp_path / "tampered.db"
    db.write_bytes(demo.db.read_bytes())
    with sqlite3.connect(db) as raw:
        assert raw.execute(sql).rowcount > 0
    return db


def reconcile_db(db: Path) -> Reconciliation:
    with Store.open(db) as store:
        return reconcile(Ledger.from_store(store), store)


def test_a_deleted_delivery_confirmation_leaves_payments_without_settlement(demo: Demo, tmp_path: Path) -> None:
    db = tampered(demo, tmp_path, "DELETE FROM events WHERE event = 'Settled'")
    result = reconcile_db(db)
    settle_tx = trades(ledger_of(demo.db))[0].settle_tx
    rules = {(f.rule, f.tx_hash) for f in result.violations}
    assert ("credit-without-settlement", settle_tx) in rules
    assert any(
        "credited 1755000 for request 1 with no award, expiry, delivery confirmation or timeout" in f.message
        for f in result.violations
    )


def test_a_trade_settled_twice_is_found(demo: Demo, tmp_path: Path) -> None:
    db = tampered(
        demo,
        tmp_path,
        "INSERT INTO events (block_number, block_hash, tx_hash, tx_index, log_index, contract, "
        "address, event, args, topics, data) SELECT block_number, block_hash, tx_hash, "
        "tx_index, log_index + 100, contract, address, event, args, topics, data "
        "FROM events WHERE event = 'Settled'",
    )
    assert [f.rule for f in reconcile_db(db).violations] == ["settled-twice"]


def test_a_forged_award_price_breaks_the_winner_and_the_amounts(demo: Demo, tmp_path: Path) -> None:
    db = tampered(demo, tmp_path, "UPDATE events SET args = json_set(args, '$.pricePerWh', 80) WHERE event = 'Awarded'")
    rules = {f.rule for f in reconcile_db(db).violations}
    assert {"wrong-winner", "wrong-amount"} <= rules


def test_a_withdrawal_without_its_token_transfer_is_found(demo: Demo, tmp_path: Path) -> None:
    db = tampered(demo, tmp_path, "DELETE FROM events WHERE id = (SELECT max(id) FROM events WHERE event = 'Transfer')")
    result = reconcile_db(db)
    assert [f.rule for f in result.violations] == ["books-without-tokens"]
    assert "the market booked 1245000 out to" in result.violations[0].message
