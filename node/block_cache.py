"""Chain reads that cannot change within a block, kept for the block they were read at.

The peer endpoints ask the chain the same questions many times a block (is this seller active, what is its nonce
floor, which requests are open); each answer costs a JSON-RPC round trip. Here each is asked once per block: the
head is read once a call (one round trip for number and timestamp), and every answer read at an older head is
dropped. A signed bid's checks may use a head up to HEAD_TTL_S old, so a burst of bids costs one round trip; a
listing always reads the head, so a request just opened is listed at once. A check made here is advisory like
every check the node makes before the chain's own: the close re-checks each bid against the chain as it is then,
and a signed bid carries an expiry well past the deadline it is checked against.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from v2vchain.chain.connect import Chain

T = TypeVar("T")

HEAD_TTL_S = 0.25


class BlockCache:
    def __init__(self, chain: Chain) -> None:
        self._chain = chain
        self._lock = threading.Lock()
        self._block = -1
        self._timestamp = 0
        self._read_at = -HEAD_TTL_S
        self._values: dict[Hashable, Any] = {}
        self._reading: dict[Hashable, threading.Lock] = {}

    def head(self, max_age_s: float = 0.0) -> tuple[int, int]:
        """(number, timestamp) of the latest block, or of the one read less than max_age_s ago; answers kept for an
        older block are forgotten."""
        with self._lock:
            if time.monotonic() - self._read_at < max_age_s:
                return self._block, self._timestamp
        block = self._chain.w3.eth.get_block("latest")
        number, timestamp = int(block["number"]), int(block["timestamp"])
        with self._lock:
            if number != self._block:
                self._block, self._values = number, {}
            self._timestamp, self._read_at = timestamp, time.monotonic()
        return number, timestamp

    def get(self, key: Hashable, read: Callable[[], T]) -> T:
        """`read()` once per block for `key` (call head() first in each request). Concurrent callers missing the
        same key wait for the first one's read instead of all reading (a burst of listings after a new block would
        otherwise build the list once per thread)."""
        with self._lock:
            if key in self._values:
                value: T = self._values[key]
                return value
            reading = self._reading.setdefault(key, threading.Lock())
        with reading:
            try:
                with self._lock:
                    if key in self._values:
                        value = self._values[key]
                        return value
                    block = self._block
                value = read()
                with self._lock:
                    if self._block == block:
                        self._values[key] = value
            finally:
                with self._lock:
                    self._reading.pop(key, None)
        return value
