"""Shared fixtures: a deployed market with one issuer, one buyer and three sellers with deposits, reset between
tests; a fleet of real node processes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings as hypothesis_settings

from tests.support.fleet_nodes import Fleet, running_clearing_fleet, running_fleet
from tests.support.world import World, catch_up_with_the_clock, make_world
from v2vchain.chain.compiler import Build, compile_contracts
from v2vchain.chain.connect import connect

# Property tests are derandomized with no example database, so every clone runs the same examples and a test never
# fails on one machine and passes on another. `./dev test --hypothesis-profile=explore` searches afresh.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
hypothesis_settings.register_profile("explore", derandomize=False, max_examples=1_000)
hypothesis_settings.load_profile("ci")


@pytest.fixture(scope="session")
def build() -> Build:
    return compile_contracts(include_test=True)


@pytest.fixture(scope="session")
def _embedded_world(build: Build) -> Iterator[World]:
    chain = connect("embedded")
    yield make_world(chain, build)


@pytest.fixture
def world(_embedded_world: World) -> Iterator[World]:
    """The shared world, rolled back to its starting state after each test."""
    catch_up_with_the_clock(_embedded_world.chain)
    snapshot = _embedded_world.chain.snapshot()
    yield _embedded_world
    _embedded_world.chain.revert(snapshot)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """Real node processes on a real anvil, shared by the node and dashboard tests of one module."""
    with running_fleet(tmp_path_factory.mktemp("fleet")) as running:
        yield running


@pytest.fixture(scope="module")
def clearing_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """An operator node, a buyer node and two seller nodes trading through the batch Clearing on a real anvil."""
    with running_clearing_fleet(tmp_path_factory.mktemp("clearing-fleet")) as running:
        yield running
