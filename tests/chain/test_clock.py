"""A waiting program's view of a chain's clock: measured, reported, and a clock that stands still named as such.

These run on the embedded chain, whose clock moves only when a block is mined (as an automining node's does); the
sleep passed to the clock is where a test mines blocks, or lets fake time pass without one.
"""

from __future__ import annotations

import pytest

from v2vchain.chain.clock import ChainClock, stale_head_warning, utc
from v2vchain.chain.connect import Chain, connect
from v2vchain.chain.errors import ClockStopped


@pytest.fixture
def chain() -> Chain:
    return connect("embedded")


class FakeTime:
    """A monotonic clock that moves only when the clock under test sleeps; each sleep may mine a block."""

    def __init__(self, chain: Chain, *, mine_every_s: int | None) -> None:
        self.chain, self.mine_every_s, self.now, self.lines = chain, mine_every_s, 0.0, []

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        if self.mine_every_s is not None and self.now % self.mine_every_s == 0:
            self.chain.advance_time(self.mine_every_s)

    def clock(self, patience_s: float = 30) -> ChainClock:
        return ChainClock(
            self.chain, out=self.lines.append, patience_s=patience_s, sleep=self.sleep, monotonic=lambda: self.now
        )


def test_a_chain_that_mines_no_block_is_reported_as_a_stopped_clock_saying_how_to_start_it(chain: Chain) -> None:
    time = FakeTime(chain, mine_every_s=None)
    with pytest.raises(ClockStopped, match=r"no new block for 3\d s .* `anvil --block-time 1`"):
        time.clock().block_interval()
    assert time.now == pytest.approx(30.5)  # it waited its patience, no longer


def test_the_block_interval_is_measured_from_the_chain_s_own_timestamps(chain: Chain) -> None:
    time = FakeTime(chain, mine_every_s=5)
    assert time.clock().block_interval() == 5
    assert time.lines[-1].startswith("clock: a block every ~5 s")


def test_waiting_prints_what_it_waits_for_and_until_when_then_returns_at_that_chain_time(chain: Chain) -> None:
    time = FakeTime(chain, mine_every_s=5)
    target = chain.now() + 100
    time.clock().wait_until(target, "the bidding deadline")
    assert chain.now() >= target
    assert (
        time.lines[0] == f"waiting for the bidding deadline at {utc(target)} chain time (100 s from the chain's head)"
    )
    assert any(line.startswith("  still waiting for the bidding deadline") for line in time.lines[1:])


def test_a_chain_that_stops_mining_during_a_wait_is_reported_not_waited_on_forever(chain: Chain) -> None:
    time = FakeTime(chain, mine_every_s=None)
    with pytest.raises(ClockStopped, match="its clock does not move"):
        time.clock(patience_s=10).wait_until(chain.now() + 60, "the delivery window")


def test_a_head_far_older_than_the_wall_clock_gets_a_warning_and_a_recent_one_none() -> None:
    assert stale_head_warning(1_000, 1_000 + 119) is None
    warning = stale_head_warning(1_000, 1_000 + 600)
    assert warning is not None and "600 s old" in warning and "anvil --block-time 1" in warning


def test_an_absurd_chain_timestamp_is_shown_raw_not_raised_on() -> None:
    assert utc(2**64) == f"unix {2**64} (out of range)"
    assert utc(0) == "1970-01-01T00:00:00Z"


class _FrozenTimeChain:
    """A hostile or broken JSON-RPC server: a new block each second, every one at the same timestamp."""

    def __init__(self) -> None:
        self.number, self.now = 0, 0.0
        self.w3 = self
        self.eth = self

    def get_block(self, _which: str) -> dict[str, int]:
        self.number += 1
        self.now += 1  # the wall clock moves between calls; the chain's does not
        return {"number": self.number, "timestamp": 1_700_000_000}

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_blocks_that_keep_coming_at_one_timestamp_are_a_stopped_clock_not_a_wait_forever() -> None:
    """Redteam: each new block reset the patience, so a chain whose blocks never moved its time was waited on
    forever."""
    chain = _FrozenTimeChain()
    clock = ChainClock(chain, out=lambda _: None, patience_s=30, sleep=chain.sleep, monotonic=lambda: chain.now)  # type: ignore[arg-type]  # a stand-in for Chain: only w3.eth.get_block is read
    with pytest.raises(ClockStopped, match="blocks keep coming .* the delivery window never comes"):
        clock.wait_until(1_700_000_060, "the delivery window")
    assert 30 < chain.now < 35
