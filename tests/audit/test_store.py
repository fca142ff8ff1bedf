"""The index file: a schema version it checks, and a clear word for every file it cannot read."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from v2vchain.audit.errors import NotAnAuditDatabase, SchemaMismatch
from v2vchain.audit.store import SCHEMA_VERSION, Store
from v2vchain.cli.audit import audit_app


def with_version(path: Path, version: int) -> Path:
    Store.open(path, create=True).close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE schema_version SET version = ?", (version,))
    return path


def test_a_new_index_records_its_schema_version(tmp_path: Path) -> None:
    with Store.open(tmp_path / "new.db", create=True) as store:
        assert store.db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    Store.open(tmp_path / "new.db").close()  # and opens again


def test_an_index_from_an_older_schema_is_refused_with_what_to_do(tmp_path: Path) -> None:
    db = with_version(tmp_path / "old.db", SCHEMA_VERSION - 1)
    with pytest.raises(
        SchemaMismatch,
        match=r"older indexer \(schema version 0; this one reads version 1\).*"
        r"run `v2v audit index` again",
    ):
        Store.open(db)
    with pytest.raises(SchemaMismatch):
        Store.open(db, create=True)  # the indexer refuses it too rather than mixing schemas


def test_an_index_from_a_newer_schema_asks_for_an_upgrade(tmp_path: Path) -> None:
    with pytest.raises(SchemaMismatch, match="newer v2vchain .* upgrade v2vchain"):
        Store.open(with_version(tmp_path / "future.db", SCHEMA_VERSION + 1))


def test_files_that_are_not_an_index_are_named_as_such(tmp_path: Path) -> None:
    with pytest.raises(NotAnAuditDatabase, match="no audit database at .*run `v2v audit index` first"):
        Store.open(tmp_path / "missing.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite, just bytes " * 100)
    with pytest.raises(NotAnAuditDatabase, match="is not an SQLite database"):
        Store.open(junk)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as raw:
        raw.execute("CREATE TABLE things (x)")
    with pytest.raises(NotAnAuditDatabase, match="not a v2v audit index"):
        Store.open(other, create=True)


def test_the_cli_reports_an_old_index_in_one_line_without_a_traceback(tmp_path: Path) -> None:
    db = with_version(tmp_path / "old.db", 0)
    for command in (["trades"], ["vehicle", "0x" + "11" * 20], ["reconcile"], ["report", "--out", str(tmp_path)]):
        result = CliRunner().invoke(audit_app, [*command, "--db", str(db)])
        assert result.exit_code == 1, command
        assert "error:" in result.output and "older indexer" in result.output and "Traceback" not in result.output
