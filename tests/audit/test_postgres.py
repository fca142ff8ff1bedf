"""The demo's chain indexed into PostgreSQL: the same rows as SQLite, and every audit command the same answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.audit import Demo, index, rows
from tests.support.postgres import Cluster
from v2vchain.cli.audit import audit_app

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def demo_pg(demo: Demo, postgres: Cluster) -> str:
    """The demo indexed into a PostgreSQL database in one run, like demo.db: read it, never write it."""
    url = postgres.database()
    index(demo.chain, demo.specs, url)
    return url


def answer(db: str, *args: str) -> str:
    result = CliRunner().invoke(audit_app, [*args, "--db", db])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_demo_in_postgresql_holds_exactly_the_rows_of_sqlite(demo: Demo, demo_pg: str) -> None:
    assert rows(demo_pg) == rows(demo.db)


def test_every_audit_command_answers_the_same_from_either_backend(demo: Demo, demo_pg: str) -> None:
    seller = json.loads(answer(demo_pg, "trades", "--format", "json"))[0]["seller"]
    for command in (
        ["trades"],
        ["trades", "--vehicle", seller, "--area", "u33", "--format", "csv"],
        ["vehicle", seller, "--format", "json"],
        ["vehicle", seller],
        ["reconcile", "--format", "json"],
        ["reconcile"],
    ):
        assert answer(demo_pg, *command) == answer(str(demo.db), *command), command


def test_resuming_in_small_pieces_gives_postgresql_the_index_of_one_run(demo: Demo, postgres: Cluster) -> None:
    url = postgres.database()
    index(demo.chain, demo.specs, url, to_block=10)
    index(demo.chain, demo.specs, url, batch_blocks=3)
    assert index(demo.chain, demo.specs, url).events == 0
    assert rows(url) == rows(demo.db)


def test_a_contract_added_later_is_backfilled_into_postgresql(demo: Demo, postgres: Cluster) -> None:
    url = postgres.database()
    index(demo.chain, [s for s in demo.specs if s.name == "Market"], url)
    report = index(demo.chain, demo.specs, url, batch_blocks=1)
    assert report.backfilled == sum(1 for *_, contract, _, _ in rows(demo.db) if contract != "Market")
    assert rows(url) == rows(demo.db)


def test_the_report_from_postgresql_lists_the_same_trades(demo: Demo, demo_pg: str, tmp_path: Path) -> None:
    for db, out in ((demo_pg, tmp_path / "pg"), (str(demo.db), tmp_path / "sqlite")):
        answer(db, "report", "--out", str(out))
    for name in ("trades.csv", "trades.json"):
        assert (tmp_path / "pg" / name).read_text() == (tmp_path / "sqlite" / name).read_text()
