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

from .errors import OwnerLimitReached, RecordConflict

INT64 = 2**63 - 1  # the largest SQLite INTEGER: every stored number must fit

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
CREATE TABLE IF NOT EXISTS collected_orders (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL, nonce INTEGER NOT NULL, payload TEXT NOT NULL,
    node_url TEXT NOT NULL, status TEXT NOT NULL, clearing_id TEXT, reason TEXT, received_ts INTEGER NOT NULL,
    UNIQUE (owner, nonce));
CREATE TABLE IF NOT EXISTS clearings (
    clearing_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, cut INTEGER NOT NULL, mechanism TEXT NOT NULL,
    tx_hash TEXT NOT NULL, trades INTEGER NOT NULL, opened INTEGER NOT NULL, orders INTEGER NOT NULL,
    unfunded TEXT NOT NULL, committed_ts INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS own_orders (
    nonce INTEGER PRIMARY KEY, payload TEXT NOT NULL, operator_url TEXT NOT NULL, status TEXT NOT NULL,
    answer TEXT, created_ts INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS order_uses (
    clearing_id TEXT NOT NULL, order_index INTEGER NOT NULL, nonce INTEGER NOT NULL, payload TEXT NOT NULL,
    PRIMARY KEY (clearing_id, order_index));
CREATE TABLE IF NOT EXISTS clearing_trades (
    clearing_id TEXT NOT NULL, trade_index INTEGER NOT NULL, role TEXT NOT NULL, payload TEXT NOT NULL,
    status TEXT NOT NULL, receipt TEXT, PRIMARY KEY (clearing_id, trade_index));
CREATE TABLE IF NOT EXISTS clearing_meetings (
    clearing_id TEXT NOT NULL, trade_index INTEGER NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL,
    PRIMARY KEY (clearing_id, trade_index, kind));
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
        self._db.execute("PRAGMA synchronous=FULL")  # each commit on disk before the node acts on it
        self._db.executescript(SCHEMA)
        version = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if version is None:
            self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(version[0]) != SCHEMA_VERSION:
            raise ConfigError(f"{self.path} has schema version {version[0]}; this node needs {SCHEMA_VERSION}")
        columns = {r["name"] for r in self._db.execute("PRAGMA table_info(collected_orders)")}
        if "endpoint_signature" not in columns:  # a store from before the owners' signatures were kept
            self._db.execute("ALTER TABLE collected_orders ADD COLUMN endpoint_signature TEXT NOT NULL DEFAULT ''")

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
            # A received bid is a peer's, and the seller can send it again: its commit skips the fsync (WAL
            # synchronous=NORMAL: safe against a crash of the node, lost only with the machine's power before the
            # next synced commit). The node's own intents, secrets and receipts stay fully synced.
            self._db.execute("PRAGMA synchronous=NORMAL")
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
            finally:
                self._db.execute("PRAGMA synchronous=FULL")
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

    # ------------------------------------------------------------------ batch clearing: the operator's orders
    # Clearing ids are (operator << 96 | seq): over SQLite's 64-bit INTEGER, so they are kept as decimal text.

    def add_collected_order(
        self,
        owner: str,
        nonce: int,
        payload: dict[str, Any],
        node_url: str,
        endpoint_signature: str = "",
        *,
        max_pending: int,
    ) -> int | None:
        """Keep one received signed order, durably, with the node URL its owner signed for it; its sequence number
        orders the intervals' cuts. None when this (owner, nonce) is already held; OwnerLimitReached when the owner
        already has `max_pending` waiting (counted and inserted under one lock, so concurrent posts cannot pass the
        limit together)."""
        with self._lock:
            waiting = self._db.execute(
                "SELECT COUNT(*) FROM collected_orders WHERE owner=? AND status='pending'", (owner.lower(),)
            ).fetchone()[0]
            if waiting >= max_pending:
                raise OwnerLimitReached(
                    f"{owner} already has {waiting} orders waiting for a clearing (at most {max_pending} per "
                    f"owner): send more after the next interval"
                )
            try:
                cursor = self._db.execute(
                    "INSERT INTO collected_orders (owner, nonce, payload, node_url, status, received_ts, "
                    "endpoint_signature) VALUES (?,?,?,?,'pending',?,?)",
                    (owner.lower(), nonce, json.dumps(payload), node_url, int(time.time()), endpoint_signature),
                )
            except sqlite3.IntegrityError:
                return None
            return int(cursor.lastrowid or 0)

    def collected_order(self, owner: str, nonce: int) -> dict[str, Any] | None:
        rows = self._run("SELECT * FROM collected_orders WHERE owner=? AND nonce=?", (owner.lower(), nonce))
        return {**dict(rows[0]), "payload": json.loads(rows[0]["payload"])} if rows else None

    def collected_orders(self, *, status: str | None = None, up_to: int | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM collected_orders WHERE 1=1", list[Any]()
        if status is not None:
            sql += " AND status=?"
            args.append(status)
        if up_to is not None:
            sql += " AND seq<=?"
            args.append(up_to)
        return [{**dict(r), "payload": json.loads(r["payload"])} for r in self._run(sql + " ORDER BY seq", tuple(args))]

    def last_order_seq(self) -> int:
        rows = self._run("SELECT MAX(seq) AS m FROM collected_orders")
        return int(rows[0]["m"] or 0)

    def mark_order(
        self, owner: str, nonce: int, status: str, *, clearing_id: int | None = None, reason: str = ""
    ) -> None:
        self._run(
            "UPDATE collected_orders SET status=?, clearing_id=?, reason=? WHERE owner=? AND nonce=?",
            (status, None if clearing_id is None else str(clearing_id), reason or None, owner.lower(), nonce),
        )

    def add_clearing(self, row: dict[str, Any]) -> None:
        row = {**row, "clearing_id": str(row["clearing_id"]), "unfunded": json.dumps(list(row["unfunded"]))}
        cols = ", ".join(row)
        self._run(
            f"INSERT OR REPLACE INTO clearings ({cols}) VALUES ({', '.join('?' for _ in row)})", tuple(row.values())
        )

    def clearings(self) -> list[dict[str, Any]]:
        rows = self._run("SELECT * FROM clearings ORDER BY seq")
        return [{**dict(r), "clearing_id": int(r["clearing_id"]), "unfunded": json.loads(r["unfunded"])} for r in rows]

    # ------------------------------------------------------------------ batch clearing: the vehicle's side

    def next_order_nonce(self, floor: int) -> int:
        """A fresh order nonce, above every one this node signed and never below the Clearing's floor."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key='order_nonce'").fetchone()
            nonce = max(floor, int(row[0]) + 1 if row else 0)
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('order_nonce', ?)", (str(nonce),))
            return nonce

    def put_own_order(self, nonce: int, payload: dict[str, Any], operator_url: str, status: str) -> None:
        self._run(
            "INSERT OR REPLACE INTO own_orders VALUES (?,?,?,?,NULL,?)",
            (nonce, json.dumps(payload), operator_url, status, int(time.time())),
        )

    def update_own_order(self, nonce: int, status: str, answer: Any = None) -> None:
        self._run("UPDATE own_orders SET status=?, answer=? WHERE nonce=?", (status, json.dumps(answer), nonce))

    def own_orders(self) -> list[dict[str, Any]]:
        return [
            {**dict(r), "payload": json.loads(r["payload"]), "answer": json.loads(r["answer"] or "null")}
            for r in self._run("SELECT * FROM own_orders ORDER BY nonce")
        ]

    def put_order_use(self, clearing_id: int, order_index: int, nonce: int, payload: dict[str, Any]) -> bool:
        """Keep one finding of the watch; True when it is new."""
        with self._lock:
            held = self._db.execute(
                "SELECT 1 FROM order_uses WHERE clearing_id=? AND order_index=?", (str(clearing_id), order_index)
            ).fetchone()
            self._db.execute(
                "INSERT OR REPLACE INTO order_uses VALUES (?,?,?,?)",
                (str(clearing_id), order_index, nonce, json.dumps(payload)),
            )
            return held is None

    def order_uses(self) -> list[dict[str, Any]]:
        return [json.loads(r["payload"]) for r in self._run("SELECT payload FROM order_uses ORDER BY rowid")]

    def put_clearing_trade(self, clearing_id: int, trade_index: int, role: str, payload: dict[str, Any]) -> None:
        """Record a trade of this vehicle once; a later sighting never resets its status or receipt."""
        self._run(
            "INSERT OR IGNORE INTO clearing_trades VALUES (?,?,?,?,'open',NULL)",
            (str(clearing_id), trade_index, role, json.dumps(payload)),
        )

    def update_clearing_trade(self, clearing_id: int, trade_index: int, **fields: Any) -> None:
        if "receipt" in fields:
            fields["receipt"] = json.dumps(fields["receipt"])
        sets = ", ".join(f"{c}=?" for c in fields)
        self._run(
            f"UPDATE clearing_trades SET {sets} WHERE clearing_id=? AND trade_index=?",
            (*fields.values(), str(clearing_id), trade_index),
        )

    def put_clearing_receipt_if_larger(
        self, clearing_id: int, trade_index: int, delivered_wh: int, signature_hex: str
    ) -> tuple[bool, int]:
        """As put_receipt_if_larger, for a cleared trade: one statement, so two receipts racing keep the larger.
        Returns (whether this receipt was stored, the Wh of the receipt held afterwards)."""
        receipt = json.dumps({"delivered_wh": delivered_wh, "signature": signature_hex})
        with self._lock:
            stored = self._db.execute(
                "UPDATE clearing_trades SET receipt=? WHERE clearing_id=? AND trade_index=? "
                "AND (receipt IS NULL OR json_extract(receipt, '$.delivered_wh') < ?)",
                (receipt, str(clearing_id), trade_index, delivered_wh),
            ).rowcount
            row = self._db.execute(
                "SELECT json_extract(receipt, '$.delivered_wh') FROM clearing_trades WHERE clearing_id=? "
                "AND trade_index=?",
                (str(clearing_id), trade_index),
            ).fetchone()
        return stored == 1, -1 if row is None or row[0] is None else int(row[0])

    def clearing_trade(self, clearing_id: int, trade_index: int) -> dict[str, Any] | None:
        rows = self._run(
            "SELECT * FROM clearing_trades WHERE clearing_id=? AND trade_index=?", (str(clearing_id), trade_index)
        )
        return _trade_row(rows[0]) if rows else None

    def clearing_trades(self) -> list[dict[str, Any]]:
        return [_trade_row(r) for r in self._run("SELECT * FROM clearing_trades ORDER BY rowid")]

    def put_meeting_record(self, clearing_id: int, trade_index: int, kind: str, payload: dict[str, Any]) -> None:
        """One record of a cleared trade's meeting (the buyer verified, the sealed point opened, the counterparty's
        signed URL), as the inbox keeps a request's."""
        self._run(
            "INSERT OR REPLACE INTO clearing_meetings VALUES (?,?,?,?)",
            (str(clearing_id), trade_index, kind, json.dumps(payload)),
        )

    def keep_meeting_record(
        self, clearing_id: int, trade_index: int, kind: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """The record held for this kind, or `payload` stored first: a buyer's access secret is made once per trade,
        written before anything is sent, and never replaced."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO clearing_meetings VALUES (?,?,?,?)",
                (str(clearing_id), trade_index, kind, json.dumps(payload)),
            )
            row = self._db.execute(
                "SELECT payload FROM clearing_meetings WHERE clearing_id=? AND trade_index=? AND kind=?",
                (str(clearing_id), trade_index, kind),
            ).fetchone()
        return dict(json.loads(row["payload"]))

    def meeting_record(self, clearing_id: int, trade_index: int, kind: str) -> dict[str, Any] | None:
        rows = self._run(
            "SELECT payload FROM clearing_meetings WHERE clearing_id=? AND trade_index=? AND kind=?",
            (str(clearing_id), trade_index, kind),
        )
        return dict(json.loads(rows[0]["payload"])) if rows else None

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


def _trade_row(row: sqlite3.Row) -> dict[str, Any]:
    return {
        **json.loads(row["payload"]),
        "clearing_id": int(row["clearing_id"]),
        "trade_index": row["trade_index"],
        "role": row["role"],
        "status": row["status"],
        "receipt": json.loads(row["receipt"]) if row["receipt"] else None,
    }
