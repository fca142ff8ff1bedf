"""Chains with real trades, indexed: the demo's trade on the embedded chain, shared by the read-only tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.audit import Demo, abis, deployment_on, index
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
