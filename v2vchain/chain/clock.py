"""A chain's clock as a program that waits on it sees it: time moves on-chain only when a block is mined.

An automining node (a plain `anvil`, a dev geth) mines only when a transaction arrives, so its latest block's
timestamp stands still and a deadline never passes. Programs that wait on a URL chain measure its block interval
first, say what they wait for and until when, and stop with a clear error when blocks stop coming.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from .connect import Chain
from .errors import ClockStopped

BLOCK_PATIENCE_S = 30  # longer than any public chain's block time (Ethereum 12 s, typical PoA 5-15 s)
PROGRESS_EVERY_S = 30
STALE_HEAD_S = 120  # a head this far behind the wall clock: the chain is probably not mining on its own
HOW_TO_MINE = (
    "an automining node mines only when a transaction arrives, so deadlines never pass; "
    "start it with a block time, for example `anvil --block-time 1`"
)


MAX_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z: the last instant a 4-digit ISO 8601 year can say


def utc(ts: int) -> str:
    """ISO 8601 UTC for a chain timestamp; a hostile chain's absurd one is shown raw, never raised on."""
    if not 0 <= ts <= MAX_TIMESTAMP:
        return f"unix {ts} (out of range)"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Head:
    number: int
    timestamp: int


@dataclass
class ChainClock:
    """Reads and waits on one chain's head; the sleep and monotonic clock are injectable for tests."""

    chain: Chain
    out: Callable[[str], None] = print
    patience_s: float = BLOCK_PATIENCE_S
    poll_s: float = 0.5
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic

    def head(self) -> Head:
        block = self.chain.w3.eth.get_block("latest")
        return Head(int(block["number"]), int(block["timestamp"]))

    def block_interval(self) -> int:
        """Seconds between two blocks, measured by waiting for the next one (at least 1)."""
        start = self.head()
        self.out(
            f"clock: waiting up to {self.patience_s:g} s for a new block to see that the chain's clock moves "
            f"(head #{start.number} at {utc(start.timestamp)})"
        )
        new = self._next_block(start)
        interval = max(1, (new.timestamp - start.timestamp) // max(1, new.number - start.number))
        self.out(f"clock: a block every ~{interval} s (#{new.number} at {utc(new.timestamp)})")
        return interval

    def wait_until(self, ts: int, what: str) -> None:
        """Block until the chain's time reaches `ts`, printing what it waits for, and progress."""
        head = self.head()
        if head.timestamp >= ts:
            return
        self.out(f"waiting for {what} at {utc(ts)} chain time ({ts - head.timestamp} s from the chain's head)")
        last_report = moved = self.monotonic()
        latest = head.timestamp  # the chain's time moves only when a block is later than every one seen
        while head.timestamp < ts:
            head = self._next_block(head)
            if head.timestamp > latest:
                latest, moved = head.timestamp, self.monotonic()
            elif self.monotonic() - moved > self.patience_s:
                raise ClockStopped(
                    f"blocks keep coming (#{head.number}) but the chain's time has not passed {utc(latest)} for "
                    f"{self.monotonic() - moved:.0f} s: its clock does not move, so {what} never comes"
                )
            if self.monotonic() - last_report >= PROGRESS_EVERY_S and head.timestamp < ts:
                self.out(f"  still waiting for {what}: chain time {utc(head.timestamp)}, {ts - head.timestamp} s to go")
                last_report = self.monotonic()

    def _next_block(self, after: Head) -> Head:
        since = self.monotonic()
        while True:
            head = self.head()
            if head.number > after.number:
                return head
            waited = self.monotonic() - since
            if waited > self.patience_s:
                raise ClockStopped(
                    f"no new block for {waited:.0f} s on this chain (head #{after.number} at "
                    f"{utc(after.timestamp)}): its clock does not move; {HOW_TO_MINE}"
                )
            self.sleep(self.poll_s)


def stale_head_warning(head_ts: int, wall_ts: int) -> str | None:
    """A one-line warning when the chain's head is far older than the wall clock, else None."""
    age = wall_ts - head_ts
    if age < STALE_HEAD_S:
        return None
    return (
        f"warning: the chain's latest block is {age} s old ({utc(head_ts)}); if the chain does not mine on its "
        f"own, no deadline will pass: {HOW_TO_MINE}"
    )
