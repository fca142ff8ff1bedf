"""The index in a PostgreSQL database: for whoever indexes a city, on a server many readers share.

The same tables as SQLite with 64-bit integer types; the event args stay JSON text, so integers of any size read back
exactly. Connections run in autocommit, like SQLite's, and a range write is one explicit transaction. A server that
cannot be reached (or stops answering mid-run) is a DatabaseUnavailable: one line from the CLI, never a traceback.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg

from v2vchain.audit.errors import DatabaseUnavailable

CONNECT_TIMEOUT_S = 10


def _redacted(url: str) -> str:
    """The URL as messages show it: any password (user:password@ or ?password=) replaced by ***."""
    return re.sub(r"([?&]password=)[^&]*", r"\1***", re.sub(r"^(\w+://[^:/@]*:)[^@/]*@", r"\1***@", url))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class PostgresDatabase:
    kind = "a PostgreSQL database"
    types = {"int": "BIGINT", "id": "BIGSERIAL PRIMARY KEY", "rowid": ",\n    rowid BIGSERIAL"}
    contains = "strpos(args, ?) > 0"

    def __init__(self, where: str, conn: psycopg.Connection[Any]) -> None:
        self.where = where
        self.conn = conn

    @classmethod
    def connect(cls, url: str) -> PostgresDatabase:
        where = _redacted(url)
        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg.Error as exc:
            raise DatabaseUnavailable(f"cannot open the audit index {where}: {_one_line(exc)}") from None
        return cls(where, conn)

    @contextlib.contextmanager
    def _reported(self) -> Iterator[None]:
        try:
            yield
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(f"the audit index {self.where} stopped answering: {_one_line(exc)}") from None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        with self._reported():
            return self.conn.execute(sql.replace("?", "%s"), params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        with self._reported(), self.conn.cursor() as cursor:
            cursor.executemany(sql.replace("?", "%s"), rows)
            return cursor.rowcount

    def tables(self) -> set[str]:
        rows = self.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
        return {r[0] for r in rows}

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._reported(), self.conn.transaction():
            yield

    def close(self) -> None:
        self.conn.close()
