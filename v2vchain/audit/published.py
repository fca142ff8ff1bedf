"""A clearing's trades as the index keeps them: read from its commit's calldata (the publication), one row each.

The Clearing's events name a commit's totals, not its trades: who traded with whom, how much, at what prices. Those
are in the calldata of commitClearing, which the contract checked in full. The indexer reads the commit transaction's
input when it meets a ClearingCommitted event and stores one `TradePublished` row per trade beside the real logs:
contract "Clearing", the commit's block and transaction, a log index past every real one (PUBLISHED_BASE + the
commit's log index x 4096 + the trade's index), empty topics and data "0x" (what tells them apart from logs). The
seller's penalty (energy x seller price x penaltyBps / 10000, the rate from the Clearing's ClearingConfigured event,
emitted once by its constructor) rides along, so the ledger knows what each trade locked, and so do each order's
window and its route as published (`buyerRoute`/`sellerRoute`: the packed bytes as 0x-hex, null for a parked
order), for the ledger to judge (audit/routes.py). A commit made through another contract has no readable input: it
gets no rows, and the ledger warns that its trades are unpublished.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from v2vchain.protocol.calldata import decode_call
from v2vchain.protocol.errors import InvalidRoute
from v2vchain.protocol.routes import route_segments

from .decode import plain
from .rpc import Log
from .store import EventRow

PUBLISHED = "TradePublished"
PUBLISHED_BASE = 1 << 40
BPS = 10_000
COMMIT = "commitClearing"
UNSPLIT = "unsplit"  # a routed order's route that could not be cut out of the commit's routes


def _json(value: Any) -> Any:
    """A decoded call's value as JSON: dicts and lists kept, every leaf made plain."""
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return plain(value)


def decode_commit(abi: Sequence[dict[str, Any]], tx_input: str) -> dict[str, Any] | None:
    """commitClearing's arguments (header, orders, trades, routes) by name, read as the contract read them
    (protocol/calldata.py: whatever encoding it accepted is its publication), or None if the input is not such a
    call (a truncated or foreign input: unpublished)."""
    fn = next((f for f in abi if f.get("type") == "function" and f.get("name") == COMMIT), None)
    raw = bytes.fromhex(tx_input[2:] if tx_input.startswith("0x") else tx_input)
    call = None if fn is None else decode_call(fn, raw)
    return None if call is None else _json(call)


def trade_args(
    clearing_id: int, mechanism_id: int, call: dict[str, Any], penalty_bps: int | None
) -> list[dict[str, Any]]:
    """One TradePublished argument set per trade of the call, derived as the contract derives its Trade."""
    orders = [o["order"] for o in call["orders"]]
    routes = order_routes(call)
    out = []
    for i, x in enumerate(call["trades"]):
        b, s = orders[x["buyerOrder"]], orders[x["sellerOrder"]]
        energy, seller_price = int(x["energyWh"]), int(x["sellerPricePerWh"])
        out.append(
            {
                "clearingId": clearing_id,
                "tradeIndex": i,
                "mechanismId": mechanism_id,
                "buyer": b["owner"],
                "seller": s["owner"],
                "buyerOrder": int(x["buyerOrder"]),
                "sellerOrder": int(x["sellerOrder"]),
                "buyerSide": int(b["side"]),
                "sellerSide": int(s["side"]),
                "buyerNonce": int(b["nonce"]),
                "sellerNonce": int(s["nonce"]),
                "buyerOrderWh": int(b["energyWh"]),
                "sellerOrderWh": int(s["energyWh"]),
                "buyerLimit": int(b["limitPricePerWh"]),
                "sellerLimit": int(s["limitPricePerWh"]),
                "buyerExpiry": int(b["expiry"]),
                "sellerExpiry": int(s["expiry"]),
                "areaId": b["areaId"],
                "energyWh": energy,
                "pricePerWh": int(x["pricePerWh"]),
                "sellerPricePerWh": seller_price,
                "deliveryStart": max(int(b["windowStart"]), int(s["windowStart"])),
                "deliveryEnd": min(int(b["windowEnd"]), int(s["windowEnd"])),
                "buyerWindow": [int(b["windowStart"]), int(b["windowEnd"])],
                "sellerWindow": [int(s["windowStart"]), int(s["windowEnd"])],
                "buyerRoute": routes[int(x["buyerOrder"])],
                "sellerRoute": routes[int(x["sellerOrder"])],
                "penalty": None if penalty_bps is None else energy * seller_price * penalty_bps // BPS,
            }
        )
    return out


def order_routes(call: dict[str, Any]) -> list[str | None]:
    """Each order's published route as 0x-hex (None: parked), split from the call's `routes` as the contract splits
    it. A blob the contract would have refused (so no commit of this contract) marks every routed order with
    UNSPLIT, which the ledger reports."""
    hashes = [bytes.fromhex(str(o["order"]["routeHash"])[2:]) for o in call["orders"]]
    try:
        segments = route_segments(bytes.fromhex(str(call.get("routes", "0x"))[2:]), hashes)
    except InvalidRoute:
        return [None if h == bytes(32) else UNSPLIT for h in hashes]
    return [None if seg is None else "0x" + seg.hex() for seg in segments]


CONFIGURED = "ClearingConfigured"  # the constructor's event: the penalty rate and grace period


def publication_rows(
    log: Log,
    name: str,
    args: dict[str, Any],
    abi: Sequence[dict[str, Any]],
    tx_input: Callable[[str], str],
    tx_parties: Callable[[str], tuple[str, str]],
    penalty_bps: int | None,
) -> list[EventRow]:
    """The TradePublished rows of one ClearingCommitted log (none if its transaction is not a direct commit). Only a
    transaction sent to the Clearing itself has the Clearing's calldata as its input: one sent to another contract
    (or to an EOA delegating to code) may carry a commitClearing-shaped input of the same clearing id while it calls
    the Clearing with other arguments."""
    if tx_parties(log.tx_hash)[1].lower() != log.address.lower():
        return []
    call = decode_commit(abi, tx_input(log.tx_hash))
    if call is None or int(call["header"]["clearingId"]) != int(args["clearingId"]):
        return []
    rows: list[EventRow] = []
    for a in trade_args(int(args["clearingId"]), int(args["mechanismId"]), call, penalty_bps):
        rows.append(
            (
                log.block_number,
                log.block_hash,
                log.tx_hash,
                log.tx_index,
                PUBLISHED_BASE + log.log_index * 4096 + int(a["tradeIndex"]),
                name,
                log.address,
                PUBLISHED,
                json.dumps(a),
                "[]",
                "0x",
            )
        )
    return rows
