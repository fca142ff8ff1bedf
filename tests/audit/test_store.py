"""The index on either backend: a schema version it checks, a clear word for every database it cannot read, and
writes that are idempotent and all-or-nothing. Each test runs on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from tests.support.postgres import Cluster, free_port
from v2vchain.audit.errors import ChainMismatch, DatabaseUnavailable, NotAnAuditDatabase, SchemaMismatch
from v2vchain.audit.rpc import Header
from v2vchain.audit.store import SCHEMA_VERSION, EventRow, Store
from v2vchain.cli.audit import audit_app

MAX_UINT256 = 2**256 - 1


def with_version(where: str, version: int) -> str:
    with Store.open(where, create=True) as store:
        store.db.execute("UPDATE schema_version SET version = ?", (version,))
    return where


def raw_execute(where: str, sql: str) -> None:
    """SQL run outside the Store, as another program sharing the database would."""
    if where.startswith("postgresql://"):
        with psycopg.connect(where, autocommit=True) as raw:
            raw.execute(sql)
    else:
        with sqlite3.connect(where) as raw:
            raw.execute(sql)


def headers(first: int, last: int) -> list[Header]:
    return [Header(n, f"0x{n:064x}", f"0x{n - 1:064x}", 1_700_000_000 + n) for n in range(first, last + 1)]


def event(block: int, log_index: int, **args: object) -> EventRow:
    return (
        block,
        f"0x{block:064x}",
        f"0x{block:02x}" + "ab" * 31,
        0,
        log_index,
        "Market",
        "0x" + "11" * 20,
        "Moved",
        json.dumps(args),
        "[]",
        "0x",
    )


def test_a_new_index_records_its_schema_version(where: str) -> None:
    with Store.open(where, create=True) as store:
        assert store.db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    Store.open(where).close()  # and opens again


def test_an_index_from_an_older_schema_is_refused_with_what_to_do(where: str) -> None:
    db = with_version(where, SCHEMA_VERSION - 1)
    with pytest.raises(
        SchemaMismatch,
        match=r"older indexer \(schema version 0; this one reads version 1\).*"
        r"run `v2v audit index` again",
    ):
        Store.open(db)
    with pytest.raises(SchemaMismatch):
        Store.open(db, create=True)  # the indexer refuses it too rather than mixing schemas


def test_an_index_from_a_newer_schema_asks_for_an_upgrade(where: str) -> None:
    with pytest.raises(SchemaMismatch, match="newer v2vchain .* upgrade v2vchain"):
        Store.open(with_version(where, SCHEMA_VERSION + 1))


def test_a_missing_index_says_to_run_the_indexer_first(where: str) -> None:
    with pytest.raises(NotAnAuditDatabase, match="no audit database at .*run `v2v audit index` first"):
        Store.open(where)


def test_a_database_holding_other_tables_is_not_taken_for_an_index(where: str) -> None:
    raw_execute(where, "CREATE TABLE things (x TEXT)")
    with pytest.raises(NotAnAuditDatabase, match="not a v2v audit index"):
        Store.open(where, create=True)


def test_a_file_that_is_not_sqlite_is_named_as_such(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite, just bytes " * 100)
    with pytest.raises(NotAnAuditDatabase, match="is not an SQLite database"):
        Store.open(junk)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://v2v:s3cret@127.0.0.1:{port}/audit",
        "postgresql://v2v@127.0.0.1:{port}/audit?password=s3cret&sslmode=disable",
    ],
)
def test_an_unreachable_server_is_named_without_its_password(url: str) -> None:
    with pytest.raises(
        DatabaseUnavailable, match=r"cannot open the audit index postgresql://v2v.*\*\*\*.*refused"
    ) as info:
        Store.open(url.format(port=free_port()))
    assert "s3cret" not in str(info.value)


@pytest.mark.postgres
def test_a_server_that_goes_away_mid_run_is_reported_as_unavailable(postgres: Cluster) -> None:
    url = postgres.database()
    with Store.open(url, create=True) as store:
        with psycopg.connect(postgres.url(), autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (url.rsplit("/", 1)[1],)
            )
        with pytest.raises(DatabaseUnavailable, match="stopped answering"):
            store.last_block()


def test_an_event_written_twice_is_stored_once(where: str) -> None:
    with Store.open(where, create=True) as store:
        assert store.append(headers(1, 2), [event(1, 0), event(2, 0)], 2, []) == 2
        assert store.backfill([event(1, 0), event(2, 0), event(2, 1)], 2, "Market") == 1
        assert store.count_events() == 3


def test_a_range_that_fails_midway_leaves_nothing_behind(where: str) -> None:
    def failing() -> Iterator[EventRow]:
        yield event(1, 0)
        raise RuntimeError("the decoder broke")

    with Store.open(where, create=True) as store:
        with pytest.raises(RuntimeError):
            store.append(headers(1, 3), failing(), 3, [])
        assert (store.count_events(), store.first_block(), store.last_block()) == (0, None, None)


def test_integers_of_any_size_read_back_exact(where: str) -> None:
    with Store.open(where, create=True) as store:
        store.append(headers(1, 1), [event(1, 0, amount=MAX_UINT256, delta=-(2**255))], 1, [])
        (stored,) = store.events()
    assert stored.args == {"amount": MAX_UINT256, "delta": -(2**255)}


def test_a_rollback_forgets_what_follows_the_fork_and_records_the_reorg(where: str) -> None:
    with Store.open(where, create=True) as store:
        store.add_contract("Market", "0x" + "11" * 20, "[]", 1)
        store.append(headers(1, 5), [event(2, 0), event(4, 0), event(5, 0)], 5, ["Market"])
        assert store.rollback(3, head=9) == 2
        assert (store.last_block(), store.block_hash(4), store.contracts()[0].indexed_to) == (3, None, 3)
        assert store.reorgs() == [(3, f"0x{4:064x}", 2, 9)]


def test_contracts_come_back_in_the_order_they_were_added(where: str) -> None:
    with Store.open(where, create=True) as store:
        for n, name in enumerate(["Market", "EnergyToken", "Registry"]):
            store.add_contract(name, f"0x{n:040x}", "[]", 1)
        assert [c.name for c in store.contracts()] == ["Market", "EnergyToken", "Registry"]


def test_an_address_is_mentioned_only_as_a_whole_argument(where: str) -> None:
    seller = "0x" + "Ab" * 20
    with Store.open(where, create=True) as store:
        store.append(headers(1, 1), [event(1, 0, seller=seller)], 1, [])
        assert store.mentions(seller) and not store.mentions(seller[:-2])


def test_an_index_of_one_chain_refuses_another(where: str) -> None:
    with Store.open(where, create=True) as store:
        store.bind_chain(31337)
        with pytest.raises(ChainMismatch, match="indexes chain 31337, not chain 1: pass another --db"):
            store.bind_chain(1)


def test_the_cli_reports_an_old_index_in_one_line_without_a_traceback(where: str, tmp_path: Path) -> None:
    db = with_version(where, 0)
    for command in (["trades"], ["vehicle", "0x" + "11" * 20], ["reconcile"], ["report", "--out", str(tmp_path)]):
        result = CliRunner().invoke(audit_app, [*command, "--db", db])
        assert result.exit_code == 1, command
        assert "error:" in result.output and "older indexer" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    "db, message",
    [
        (f"postgresql://v2v@127.0.0.1:{free_port()}/audit", "cannot open the audit index postgresql://v2v@127.0.0.1"),
        ("postgresql://v2v@127.0.0.1:notaport/audit", "cannot open the audit index"),
        ("mysql://v2v@127.0.0.1/audit", "give an SQLite file path or a postgresql:// URL"),
    ],
)
def test_the_cli_reports_a_database_it_cannot_open_in_one_line(db: str, message: str, tmp_path: Path) -> None:
    for command in (["trades"], ["reconcile"], ["index", "--chain", "http://127.0.0.1:9", "--timeout", "1"]):
        result = CliRunner().invoke(audit_app, [*command, "--db", db])
        assert result.exit_code == 1, command
        assert message in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1
