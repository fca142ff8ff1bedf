"""The index in one SQLite file: the embedded default, nothing to run or administer."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from v2vchain.audit.errors import NotAnAuditDatabase


class SqliteDatabase:
    kind = "an SQLite file"
    types = {"int": "INTEGER", "id": "INTEGER PRIMARY KEY", "rowid": ""}
    contains = "instr(args, ?) > 0"

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.where = str(path)
        self.conn = conn

    @classmethod
    def connect(cls, path: Path) -> SqliteDatabase:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")  # readers (reports, a dashboard) never block the indexer
            conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise NotAnAuditDatabase(f"{path} is not an SQLite database ({exc})") from None
        return cls(path, conn)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        return self.conn.executemany(sql, rows).rowcount

    def tables(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")  # the write lock up front: one writer, readers never blocked
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()
