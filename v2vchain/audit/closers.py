"""Who closed each auction, as the index keeps it: the close transaction's sender, one `ClosedBy` row per close.

The Market's Awarded and Expired events do not name their caller, and during the relay period only the buyer or the
relayer it named may close. So when the indexer meets either event it reads the transaction and, if it called the
Market directly (its recipient is the Market, so its sender is the contract's msg.sender), stores a row beside the
real logs: contract "Market", the close's block and transaction, a log index past every real one (CLOSED_BASE + the
close's log index), empty topics and data "0x", args {requestId, caller}. A close made through another contract
gets no row (its msg.sender is not in the chain data), and the ledger does not judge it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .rpc import Log
from .store import EventRow

CLOSED_BY = "ClosedBy"
CLOSES = ("Awarded", "Expired")
CLOSED_BASE = 1 << 41  # above every TradePublished row's log index (published.PUBLISHED_BASE = 1 << 40)


def closer_rows(log: Log, name: str, args: dict[str, Any], parties: Callable[[str], tuple[str, str]]) -> list[EventRow]:
    """The ClosedBy row of one Awarded or Expired log (none if its transaction did not call the Market itself)."""
    sender, recipient = parties(log.tx_hash)
    if recipient != log.address:
        return []
    return [
        (
            log.block_number,
            log.block_hash,
            log.tx_hash,
            log.tx_index,
            CLOSED_BASE + log.log_index,
            name,
            log.address,
            CLOSED_BY,
            json.dumps({"requestId": int(args["requestId"]), "caller": sender}),
            "[]",
            "0x",
        )
    ]
