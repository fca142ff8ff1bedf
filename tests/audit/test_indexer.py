"""The indexer on the demo's chain: every log once, in pieces or at once, through faults, never twice."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest
from eth_account import Account

from tests.support.audit import Demo, FaultyNode, chain_logs, index, rows
from v2vchain.audit.decode import ContractSpec
from v2vchain.audit.errors import ChainMismatch, RangeTooLarge, RpcTimeout, UnknownAddress
from v2vchain.audit.rpc import node_for
from v2vchain.audit.store import Store


def test_index_of_the_demo_holds_every_log_of_the_three_contracts_exactly_once(demo: Demo) -> None:
    stored = rows(demo.db)
    logs = [(b, tx, li) for b, _, tx, li, _, event, _ in stored if event != "ClosedBy"]
    assert logs == chain_logs(demo.chain, demo.specs)
    assert [event for *_, event, _ in stored].count("ClosedBy") == 1  # beside them, who closed the demo's auction
    assert all(event is not None for *_, event, _ in stored)
    names = {event for *_, event, _ in stored}
    assert {
        "RequestOpened",
        "BidPlaced",
        "Awarded",
        "Settled",
        "Credited",
        "Withdrawn",
        "Deposited",
        "VehicleRegistered",
        "IssuerAdded",
        "Transfer",
        "OwnershipTransferred",
    } <= names


def test_every_indexed_block_is_stored_with_its_hash_and_parent(demo: Demo) -> None:
    with Store.open(demo.db) as store:
        blocks = list(store.db.execute("SELECT number, hash, parent_hash FROM blocks ORDER BY number"))
        assert store.last_block() == demo.chain.w3.eth.block_number
    assert [b[0] for b in blocks] == list(range(blocks[0][0], blocks[-1][0] + 1))
    assert all(after[2] == before[1] for before, after in zip(blocks, blocks[1:]))
    assert blocks[0][0] == 1  # the token's creation block, found by binary search on eth_getCode
    assert blocks[-1][1] == "0x" + bytes(demo.chain.w3.eth.get_block("latest")["hash"]).hex()


def test_resuming_in_small_pieces_gives_exactly_the_index_of_one_run(demo: Demo, tmp_path: Path) -> None:
    db = tmp_path / "pieces.db"
    first = index(demo.chain, demo.specs, db, to_block=10)
    assert first.last == 10
    index(demo.chain, demo.specs, db, to_block=21, batch_blocks=4)
    rest = index(demo.chain, demo.specs, db, batch_blocks=3)
    assert rest.first == 22
    again = index(demo.chain, demo.specs, db)
    assert again.first is None and again.events == 0
    assert rows(db) == rows(demo.db)


def test_blocks_wait_for_their_confirmations(demo: Demo, tmp_path: Path) -> None:
    db = tmp_path / "confirmed.db"
    head = demo.chain.w3.eth.block_number
    report = index(demo.chain, demo.specs, db, confirmations=5)
    assert report.final == report.last == head - 5
    with Store.open(db) as store:
        assert store.db.execute("SELECT max(block_number) FROM events").fetchone()[0] <= head - 5
    index(demo.chain, demo.specs, db)
    assert rows(db) == rows(demo.db)


def test_too_many_results_halves_the_range_until_the_node_accepts_it(demo: Demo, tmp_path: Path) -> None:
    node = FaultyNode(
        node_for(demo.chain),
        lambda a, b: RangeTooLarge("eth_getLogs: query returned more than 10000 results") if b - a + 1 > 4 else None,
    )
    db = tmp_path / "halved.db"
    index(node, demo.specs, db, batch_blocks=32)
    assert node.asked[:4] == [(1, 32), (1, 16), (1, 8), (1, 4)]
    assert max(b - a + 1 for a, b in node.asked[4:]) <= 8  # grows back, refused again above 4
    assert rows(db) == rows(demo.db)


def test_a_node_refusing_even_one_block_is_reported_clearly(demo: Demo, tmp_path: Path) -> None:
    node = FaultyNode(node_for(demo.chain), lambda a, b: RangeTooLarge("eth_getLogs: response size exceeded"))
    with pytest.raises(RangeTooLarge, match="even block 1 alone is too large"):
        index(node, demo.specs, tmp_path / "refused.db", batch_blocks=4)


def test_a_timeout_mid_range_stops_with_a_clear_message_and_the_next_run_resumes_without_gaps(
    demo: Demo, tmp_path: Path
) -> None:
    db = tmp_path / "timeout.db"
    stalled = FaultyNode(
        node_for(demo.chain), lambda a, b: RpcTimeout("eth_getLogs: no answer within 30s") if b >= 20 else None
    )
    with pytest.raises(RpcTimeout) as info:
        index(stalled, demo.specs, db, batch_blocks=8)
    message = str(info.value)
    assert "gave up on blocks" in message and "run the indexer again to resume from block 20" in message
    with Store.open(db) as store:
        assert store.last_block() == 19
        assert store.db.execute("SELECT count(*) FROM blocks WHERE number > 19").fetchone()[0] == 0
    resumed = index(demo.chain, demo.specs, db, batch_blocks=8)
    assert resumed.first == 20
    assert rows(db) == rows(demo.db)


def test_an_address_without_contract_code_is_refused(demo: Demo, tmp_path: Path) -> None:
    nowhere = ContractSpec.of("Market", Account.create().address, demo.specs[-1].abi)
    with pytest.raises(UnknownAddress, match="no contract code at 0x"):
        index(demo.chain, [nowhere], tmp_path / "nowhere.db")


def test_a_database_of_another_deployment_or_chain_is_refused(demo: Demo, tmp_path: Path) -> None:
    db = tmp_path / "copy.db"
    db.write_bytes(demo.db.read_bytes())
    moved = [
        ContractSpec.of(s.name, demo.specs[0].address if s.name == "Market" else s.address, s.abi) for s in demo.specs
    ]
    with pytest.raises(ChainMismatch, match="pass another --db"):
        index(demo.chain, moved, db)
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE meta SET value = '1' WHERE key = 'chain_id'")
    with pytest.raises(ChainMismatch, match="indexes chain 1, not chain"):
        index(demo.chain, demo.specs, db)


def test_a_contract_added_later_is_backfilled_from_its_abi_alone(demo: Demo, tmp_path: Path) -> None:
    """How the batch Clearing joins: one more (name, address, ABI); its past events are read up to the cursor."""
    db = tmp_path / "later.db"
    market_only = [s for s in demo.specs if s.name == "Market"]
    index(demo.chain, market_only, db)
    with Store.open(db) as store:
        assert store.first_block() == 3  # the market's creation block; the token and registry are older
    report = index(demo.chain, demo.specs, db, batch_blocks=1)
    assert report.backfilled == sum(1 for *_, c, e, _ in rows(demo.db) if c != "Market")
    assert rows(db) == rows(demo.db)


def test_a_log_the_abi_does_not_describe_is_kept_raw_not_dropped(demo: Demo, tmp_path: Path) -> None:
    db = tmp_path / "partial_abi.db"
    partial = [
        ContractSpec.of(s.name, s.address, [i for i in s.abi if i.get("name") != "Credited"])
        if s.name == "Market"
        else s
        for s in demo.specs
    ]
    index(demo.chain, partial, db)
    with Store.open(db) as store:
        kept = store.db.execute("SELECT count(*) FROM events WHERE event IS NULL").fetchone()[0]
    assert kept == sum(1 for *_, event, _ in rows(demo.db) if event == "Credited") > 0
    assert len(rows(db)) == len(rows(demo.db))


def test_replaying_a_range_inserts_nothing_twice(demo: Demo, tmp_path: Path) -> None:
    db = tmp_path / "replay.db"
    db.write_bytes(demo.db.read_bytes())
    with Store.open(db) as store:
        raw = list(
            store.db.execute(
                "SELECT block_number, block_hash, tx_hash, tx_index, log_index, contract, "
                "address, event, args, topics, data FROM events"
            )
        )
        assert store.backfill(raw, store.last_block() or 0, "Market") == 0
    assert rows(db) == rows(demo.db)


def test_a_chain_that_moves_while_a_range_is_read_is_read_again(demo: Demo, tmp_path: Path) -> None:
    """Headers that do not chain (a reorg between two calls) are never stored: the run starts the range over."""
    node = FaultyNode(node_for(demo.chain), lambda a, b: None)
    real_headers, calls = node.node.headers, []

    def moving_headers(first: int, last: int) -> list:
        calls.append((first, last))
        headers = real_headers(first, last)
        if len(calls) == 2:  # the second range comes back from a branch that does not extend the first
            headers[0] = dataclasses.replace(headers[0], parent_hash="0x" + "ab" * 32)
        return headers

    node.headers = moving_headers
    db = tmp_path / "moving.db"
    index(node, demo.specs, db, batch_blocks=10)
    assert calls.count(calls[1]) == 2  # the same range, asked again after the reorg check
    assert rows(db) == rows(demo.db)
