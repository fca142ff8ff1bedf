"""The index on disk: one SQLite file holding every indexed block's hash and every decoded event.

An event's key is (block_number, tx_hash, log_index): inserting it twice is a no-op, so a range replayed after a
crash cannot duplicate anything. A range is written in one transaction with the cursor that says it is done.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ChainMismatch, NotAnAuditDatabase, SchemaMismatch

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE contracts (
    name TEXT PRIMARY KEY,
    address TEXT NOT NULL UNIQUE,
    abi TEXT NOT NULL,
    start_block INTEGER NOT NULL,
    indexed_to INTEGER NOT NULL              -- every log of this contract up to here is stored
);
CREATE TABLE blocks (
    number INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    parent_hash TEXT NOT NULL,
    timestamp INTEGER NOT NULL
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    block_number INTEGER NOT NULL,
    block_hash TEXT NOT NULL,
    tx_hash TEXT NOT NULL,
    tx_index INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    contract TEXT NOT NULL,
    address TEXT NOT NULL,
    event TEXT,                              -- NULL: the ABI has no such event; topics and data are kept
    args TEXT NOT NULL,                      -- JSON, integers exact
    topics TEXT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (block_number, tx_hash, log_index)
);
CREATE INDEX events_by_name ON events (event, block_number);
CREATE TABLE reorgs (
    id INTEGER PRIMARY KEY,
    fork_block INTEGER NOT NULL,             -- the last block both branches share
    old_hash TEXT NOT NULL,                  -- what the index held at fork_block + 1
    events_removed INTEGER NOT NULL,
    detected_at_head INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class StoredContract:
    name: str
    address: str
    abi: list[dict[str, Any]]
    start_block: int
    indexed_to: int


@dataclass(frozen=True)
class Event:
    block_number: int
    timestamp: int
    tx_hash: str
    tx_index: int
    log_index: int
    contract: str
    event: str | None
    args: dict[str, Any]

    @property
    def position(self) -> tuple[int, int, int]:
        return (self.block_number, self.tx_index, self.log_index)


EventRow = tuple[int, str, str, int, int, str, str, "str | None", str, str, str]


def _connect(path: Path) -> sqlite3.Connection:
    try:
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")  # readers (reports, a dashboard) never block the indexer
        db.execute("PRAGMA synchronous=NORMAL")
        return db
    except sqlite3.DatabaseError as exc:
        raise NotAnAuditDatabase(f"{path} is not an SQLite database ({exc})") from None


class Store:
    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self.db = db

    @classmethod
    def open(cls, path: str | Path, *, create: bool = False) -> Store:
        """Open an index; with create, start a new one. Any other schema version is refused with what to do."""
        path = Path(path)
        if not path.exists() and not create:
            raise NotAnAuditDatabase(f"no audit database at {path}: run `v2v audit index` first (or pass --db)")
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        db = _connect(path)
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as exc:
            db.close()
            raise NotAnAuditDatabase(f"{path} is not an SQLite database ({exc})") from None
        if not tables and create:
            db.executescript("BEGIN;" + _SCHEMA + f"INSERT INTO schema_version VALUES ({SCHEMA_VERSION}); COMMIT;")
        elif "schema_version" not in tables:
            db.close()
            raise NotAnAuditDatabase(f"{path} is an SQLite file but not a v2v audit index (no schema_version table)")
        (version,) = db.execute("SELECT max(version) FROM schema_version").fetchone()
        if version != SCHEMA_VERSION:
            db.close()
            if version is not None and version > SCHEMA_VERSION:
                raise SchemaMismatch(
                    f"{path} was written by a newer v2vchain (index schema version {version}; this "
                    f"one reads version {SCHEMA_VERSION}): upgrade v2vchain to read it"
                )
            raise SchemaMismatch(
                f"{path} was written by an older indexer (schema version {version}; this one reads "
                f"version {SCHEMA_VERSION}). The chain is the source of truth: delete the file or "
                f"pass another --db, and run `v2v audit index` again"
            )
        return cls(path, db)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- meta and contracts

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: Any) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(value)))

    @property
    def chain_id(self) -> int | None:
        value = self.meta("chain_id")
        return int(value) if value is not None else None

    def bind_chain(self, chain_id: int) -> None:
        if self.chain_id is None:
            self.set_meta("chain_id", chain_id)
        elif self.chain_id != chain_id:
            raise ChainMismatch(f"{self.path} indexes chain {self.chain_id}, not chain {chain_id}: pass another --db")

    def contracts(self) -> list[StoredContract]:
        rows = self.db.execute("SELECT name, address, abi, start_block, indexed_to FROM contracts ORDER BY rowid")
        return [StoredContract(n, a, json.loads(abi), s, i) for n, a, abi, s, i in rows]

    def add_contract(self, name: str, address: str, abi_json: str, start_block: int) -> None:
        self.db.execute(
            "INSERT INTO contracts VALUES (?, ?, ?, ?, ?)", (name, address, abi_json, start_block, start_block - 1)
        )

    # ---------------------------------------------------------------- blocks

    def last_block(self) -> int | None:
        """The cursor: every block up to here is indexed for every contract registered before it."""
        value = self.meta("last_block")
        return int(value) if value is not None else None

    def block_hash(self, number: int) -> str | None:
        row = self.db.execute("SELECT hash FROM blocks WHERE number = ?", (number,)).fetchone()
        return row[0] if row else None

    def first_block(self) -> int | None:
        first = self.db.execute("SELECT min(number) FROM blocks").fetchone()[0]
        return None if first is None else int(first)

    def timestamp(self, number: int) -> int | None:
        row = self.db.execute("SELECT timestamp FROM blocks WHERE number = ?", (number,)).fetchone()
        return row[0] if row else None

    # ---------------------------------------------------------------- writes, each one transaction

    def append(self, headers: Sequence[Any], rows: Iterable[EventRow], last: int, contracts: Sequence[str]) -> int:
        """Blocks, their events and the cursor, all or nothing. Returns how many events were new."""
        with self._transaction():
            self.db.executemany(
                "INSERT INTO blocks VALUES (?, ?, ?, ?)",
                [(h.number, h.hash, h.parent_hash, h.timestamp) for h in headers],
            )
            added = self._insert_events(rows)
            self.set_meta("last_block", last)
            self._advance(contracts, last)
        return added

    def backfill(self, rows: Iterable[EventRow], upto: int | None, contract: str, headers: Sequence[Any] = ()) -> int:
        """A contract added to an existing index: its older events up to the cursor the others reached, and the
        headers of blocks older than the index's first, if it began before them."""
        with self._transaction():
            self.db.executemany(
                "INSERT OR IGNORE INTO blocks VALUES (?, ?, ?, ?)",
                [(h.number, h.hash, h.parent_hash, h.timestamp) for h in headers],
            )
            added = self._insert_events(rows)
            if upto is not None:
                self._advance([contract], upto)
        return added

    def rollback(self, fork_block: int, *, head: int) -> int:
        """Forget everything after the fork point (the last block the index and the chain share)."""
        with self._transaction():
            old = self.block_hash(fork_block + 1) or ""
            removed = self.db.execute("DELETE FROM events WHERE block_number > ?", (fork_block,)).rowcount
            self.db.execute("DELETE FROM blocks WHERE number > ?", (fork_block,))
            self.db.execute("UPDATE contracts SET indexed_to = min(indexed_to, ?)", (fork_block,))
            self.set_meta("last_block", fork_block)
            self.db.execute(
                "INSERT INTO reorgs (fork_block, old_hash, events_removed, detected_at_head) VALUES (?, ?, ?, ?)",
                (fork_block, old, removed, head),
            )
        return removed

    def _insert_events(self, rows: Iterable[EventRow]) -> int:
        before = self.db.total_changes
        self.db.executemany(
            "INSERT INTO events (block_number, block_hash, tx_hash, tx_index, log_index, contract, address, event, "
            "args, topics, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (block_number, tx_hash, log_index) DO NOTHING",
            rows,
        )
        return self.db.total_changes - before

    def _advance(self, contracts: Sequence[str], upto: int) -> None:
        self.db.executemany(
            "UPDATE contracts SET indexed_to = ? WHERE name = ? AND indexed_to < ?",
            [(upto, name, upto) for name in contracts],
        )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ---------------------------------------------------------------- reads

    def events(self, names: Sequence[str] | None = None) -> Iterator[Event]:
        """Decoded events in chain order, with their block's timestamp."""
        sql = (
            "SELECT e.block_number, b.timestamp, e.tx_hash, e.tx_index, e.log_index, e.contract, e.event, e.args "
            "FROM events e JOIN blocks b ON b.number = e.block_number"
        )
        params: tuple[Any, ...] = ()
        if names is not None:
            sql += f" WHERE e.event IN ({','.join('?' * len(names))})"
            params = tuple(names)
        sql += " ORDER BY e.block_number, e.tx_index, e.log_index"
        for n, ts, tx, ti, li, contract, event, args in self.db.execute(sql, params):
            yield Event(n, ts, tx, ti, li, contract, event, json.loads(args))

    def count_events(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM events").fetchone()[0])

    def mentions(self, address: str) -> bool:
        """Does any indexed event carry this (checksummed) address as an argument?"""
        row = self.db.execute("SELECT 1 FROM events WHERE instr(args, ?) LIMIT 1", (f'"{address}"',)).fetchone()
        return row is not None

    def reorgs(self) -> list[tuple[int, str, int, int]]:
        return list(self.db.execute("SELECT fork_block, old_hash, events_removed, detected_at_head FROM reorgs"))
