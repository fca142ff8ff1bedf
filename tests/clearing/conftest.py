"""A deployed System with the batch Clearing beside it: two operators, three buyers and three sellers (all with
deposits in the Clearing), rolled back to that start after each test. Every transaction sent through a desk client is
followed by the conservation check: the Clearing's token balance equals free + locked over every account, plus the
escrow, plus the sink."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.desk import (
    Desk,
    make_desk,
)
from tests.support.world import catch_up_with_the_clock
from v2vchain.chain.compiler import Build
from v2vchain.chain.connect import connect


@pytest.fixture(scope="session")
def _desk(build: Build) -> Iterator[Desk]:
    yield make_desk(connect("embedded"), build)


@pytest.fixture
def desk(_desk: Desk) -> Iterator[Desk]:
    catch_up_with_the_clock(_desk.chain)
    snapshot = _desk.chain.snapshot()
    yield _desk
    _desk.assert_books_balance()
    _desk.chain.revert(snapshot)
