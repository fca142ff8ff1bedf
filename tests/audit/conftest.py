"""Chains with real trades, indexed: the demo's trade on the embedded chain, shared by the read-only tests; and
where an index goes on each backend, SQLite or a throwaway PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.audit import Demo, abis, deployment_on, index
from tests.support.postgres import Cluster, running_cluster
from v2vchain.audit.decode import specs_from_deployment
from v2vchain.chain.compiler import Build
from v2vchain.chain.connect import connect
from v2vchain.demo import run_demo


@pytest.fixture(scope="session")
def demo(build: Build, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    chain = connect("embedded")
    result = run_demo(chain, out=lambda line: None)
    deployment = deployment_on(chain)
    specs = specs_from_deployment(deployment, abis(build))
    db = tmp_path_factory.mktemp("demo") / "audit.db"
    index(chain, specs, db)
    yield Demo(chain, deployment, specs, result, db)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """One PostgreSQL server for the whole run, started only if a test asks for it."""
    yield from running_cluster()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a new index goes, on each backend: a file not yet made, or an empty PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "audit.db")
    database: str = request.getfixturevalue("postgres").database()
    return database
