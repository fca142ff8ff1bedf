"""The node's own records in SQLite: what it must not lose across a crash (signed bids, meeting secrets, intents).

Intents are written before the chain is touched and marked done after, so a restart can tell "never sent" from
"sent, outcome unknown" and settle the question from chain state instead of sending twice.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from v2vchain.errors import ConfigError

from .errors import RecordConflict

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    request_id INTEGER PRIMARY KEY, role TEXT NOT NULL, buyer TEXT NOT NULL, energy_wh INTEGER NOT NULL,
    max_price_per_wh INTEGER NOT NULL, deadline_ts INTEGER NOT NULL, delivery_start_ts INTEGER NOT NULL,
    delivery_end_ts INTEGER NOT NULL, area TEXT NOT NULL, status TEXT NOT NULL, seller TEXT,
    price_per_wh INTEGER, buyer_url TEXT, seller_url TEXT, updated_ts INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS signed_bids (
    request_id INTEGER NOT NULL, seller TEXT NOT NULL, nonce INTEGER NOT NULL, price_per_wh INTEGER NOT NULL,
    energy_wh INTEGER NOT NULL, expiry_ts INTEGER NOT NULL, signature TEXT NOT NULL, seller_url TEXT NOT NULL,
    received_ts INTEGER NOT NULL, rejected TEXT, PRIMARY KEY (request_id, seller, nonce));
CREATE TABLE IF NOT EXISTS secrets (request_id INTEGER PRIMARY KEY, kind TEXT NOT NULL, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS intents (
    key TEXT PRIMARY KEY, payload TEXT NOT NULL, state TEXT NOT NULL, result TEXT, created_ts INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS inbox (
    request_id INTEGER NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL, PRIMARY KEY (request_id, kind));
"""


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not self.path.exists()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        if fresh:
            os.chmod(self.path, 0o600)  # meeting secrets live here
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        version = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if version is None:
            self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(version[0]) != SCHEMA_VERSION:
            raise ConfigError(f"{self.path} has schema version {version[0]}; this node needs {SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # ------------------------------------------------------------------ requests

    def upsert_request(self, **row: Any) -> None:
        """Insert a record, or update the one held for this request. A record never changes role or buyer: an
        update that would (a seller record over this node's own buyer record, say) is refused with RecordConflict
        and nothing is written."""
        row["updated_ts"] = int(time.time())
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        updates = ", ".join(f"{c}=excluded.{c}" for c in row if c not in ("request_id", "role", "buyer"))
        with self._lock:
            held = self._db.execute(
                "SELECT role, buyer FROM requests WHERE request_id=?", (row["request_id"],)
            ).fetchone()
            if held is not None and (
                held["role"] != row.get("role", held["role"])
                or held["buyer"].lower() != str(row.get("buyer", held["buyer"])).lower()
            ):
                raise RecordConflict(
                    f"request {row['request_id']} is held as {held['role']} of buyer "
                    f"{held['buyer']}; a record never changes role or buyer"
                )
            self._db.execute(
                f"INSERT INTO requests ({cols}) VALUES ({marks}) ON CONFLICT(request_id) DO UPDATE SET {updates}",
                tuple(row.values()),
            )

    def update_request(self, request_id: int, **fields: Any) -> None:
        fields["updated_ts"] = int(time.time())
        sets = ", ".join(f"{c}=?" for c in fields)
        self._run(f"UPDATE requests SET {sets} WHERE request_id=?", (*fields.values(), request_id))

    def request(self, request_id: int) -> dict[str, Any] | None:
        rows = self._run("SELECT * FROM requests WHERE request_id=?", (request_id,))
        return dict(rows[0]) if rows else None

    def requests(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._run("SELECT * FROM requests ORDER BY request_id")]

    # ------------------------------------------------------------------ signed bids

    def add_signed_bid(self, bid: dict[str, Any]) -> bool:
        """Store one received bid as it is (no one-per-seller rule: that is put_seller_bid's); False for a replay."""
        with self._lock:
            try:
                self._insert_bid(bid)
            except sqlite3.IntegrityError:
                return False
        return True

    def _insert_bid(self, bid: dict[str, Any]) -> None:
        row = ("request_id", "seller", "nonce", "price_per_wh", "energy_wh", "expiry_ts", "signature", "seller_url")
        self._db.execute(
            "INSERT INTO signed_bids VALUES (?,?,?,?,?,?,?,?,?,NULL)", (*(bid[k] for k in row), int(time.time()))
        )

    def put_seller_bid(self, bid: dict[str, Any]) -> str | None:
        """Keep at most one usable bid per (request, seller): the first, or a strictly cheaper one that replaces it.
        Returns None when stored, else why not (a replay, or not better than the bid already held)."""
        with self._lock:
            held = self._db.execute(
                "SELECT nonce, price_per_wh, rejected FROM signed_bids WHERE request_id=? AND seller=?",
                (bid["request_id"], bid["seller"]),
            ).fetchall()
            if any(h["rejected"] is not None for h in held):
                return f"{bid['seller']} was dropped from request {bid['request_id']} for an invalid bid"
            if any(h["nonce"] == bid["nonce"] for h in held):
                return f"bid nonce {bid['nonce']} from {bid['seller']} was already received (replay)"
            if held and bid["price_per_wh"] >= min(h["price_per_wh"] for h in held):
                return (
                    f"one bid per seller and request: {bid['seller']} already has a bid at "
                    f"{min(h['price_per_wh'] for h in held)}/Wh here; only a cheaper one replaces it"
                )
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "DELETE FROM signed_bids WHERE request_id=? AND seller=?", (bid["request_id"], bid["seller"])
                )
                self._insert_bid(bid)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return None

    def reject_seller(self, request_id: int, seller: str, reason: str) -> None:
        """Drop every bid of `seller` on this request: caught once with an invalid bid, it is out of this close."""
        self._run(
            "UPDATE signed_bids SET rejected=? WHERE request_id=? AND seller=? AND rejected IS NULL",
            (reason, request_id, seller),
        )

    def signed_bids(self, request_id: int) -> list[dict[str, Any]]:
        """Usable bids, best first: lowest price, then the earliest received."""
        return [
            dict(r)
            for r in self._run(
                "SELECT * FROM signed_bids WHERE request_id=? AND rejected IS NULL ORDER BY price_per_wh, received_ts, "
                "seller",
                (request_id,),
            )
        ]

    def reject_bid(self, request_id: int, seller: str, nonce: int, reason: str) -> None:
        self._run(
            "UPDATE signed_bids SET rejected=? WHERE request_id=? AND seller=? AND nonce=?",
            (reason, request_id, seller, nonce),
        )

    def get_meta(self, key: str) -> str | None:
        rows = self._run("SELECT value FROM meta WHERE key=?", (key,))
        return str(rows[0]["value"]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._run("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def next_nonce(self, floor: int) -> int:
        """A fresh signed-bid nonce, never reused even across restarts, and never below the on-chain floor."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key='bid_nonce'").fetchone()
            nonce = max(floor, int(row[0]) + 1 if row else 0)
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('bid_nonce', ?)", (str(nonce),))
            return nonce

    # ------------------------------------------------------------------ secrets, inbox, intents

    def put_secret(self, request_id: int, kind: str, value: str) -> None:
        self._run("INSERT OR REPLACE INTO secrets VALUES (?,?,?)", (request_id, kind, value))

    def secret(self, request_id: int) -> tuple[str, str] | None:
        rows = self._run("SELECT kind, value FROM secrets WHERE request_id=?", (request_id,))
        return (rows[0]["kind"], rows[0]["value"]) if rows else None

    def put_inbox(self, request_id: int, kind: str, payload: dict[str, Any]) -> None:
        self._run("INSERT OR REPLACE INTO inbox VALUES (?,?,?)", (request_id, kind, json.dumps(payload)))

    def put_receipt_if_larger(self, request_id: int, delivered_wh: int, signature_hex: str) -> int:
        """Keep the buyer's receipt for the most energy: a later one for less never replaces it. Returns the Wh of
        the receipt held afterwards."""
        with self._lock:
            row = self._db.execute(
                "SELECT payload FROM inbox WHERE request_id=? AND kind='receipt'", (request_id,)
            ).fetchone()
            held = json.loads(row["payload"])["delivered_wh"] if row else -1
            if delivered_wh <= held:
                return int(held)
            self._db.execute(
                "INSERT OR REPLACE INTO inbox VALUES (?,'receipt',?)",
                (request_id, json.dumps({"delivered_wh": delivered_wh, "signature": signature_hex})),
            )
            return delivered_wh

    def inbox(self, request_id: int, kind: str) -> dict[str, Any] | None:
        rows = self._run("SELECT payload FROM inbox WHERE request_id=? AND kind=?", (request_id, kind))
        return json.loads(rows[0]["payload"]) if rows else None

    def begin(self, key: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Record an intent before acting; returns the earlier record if this key was already begun."""
        rows = self._run("SELECT * FROM intents WHERE key=?", (key,))
        if rows:
            return dict(rows[0])
        self._run("INSERT INTO intents VALUES (?,?,'pending',NULL,?)", (key, json.dumps(payload), int(time.time())))
        return None

    def finish(self, key: str, state: str, result: Any = None) -> None:
        self._run("UPDATE intents SET state=?, result=? WHERE key=?", (state, json.dumps(result), key))

    def pending_intents(self) -> Iterator[dict[str, Any]]:
        yield from (dict(r) for r in self._run("SELECT * FROM intents WHERE state='pending' ORDER BY created_ts"))
