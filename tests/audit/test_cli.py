"""`v2v audit` as a user runs it: the index of the demo's trade, read through every command and format."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from eth_account import Account
from typer.testing import CliRunner

from node.api.routes.dashboard import dashboard_data
from tests.support.audit import Demo, deployment_on, index
from v2vchain.audit.store import Store
from v2vchain.chain.connect import connect
from v2vchain.cli.audit import audit_app
from v2vchain.demo import run_demo
from v2vchain.identity.did import did_for


def audit(*args: str) -> CliRunner:
    return CliRunner().invoke(audit_app, list(args))


def test_trades_in_every_format(demo: Demo) -> None:
    db = str(demo.db)
    table = audit("trades", "--db", db)
    assert table.exit_code == 0 and "auction-1" in table.output and "settled" in table.output
    rows = json.loads(audit("trades", "--db", db, "--format", "json").output)
    assert [(r["trade_id"], r["price_per_wh"], r["paid"], r["area"]) for r in rows] == [
        ("auction-1", 90, 1_755_000, "u33db")
    ]
    (row,) = csv.DictReader(io.StringIO(audit("trades", "--db", db, "--format", "csv").output))
    assert row["buyer"] == rows[0]["buyer"] and row["delivered_wh"] == "19500"


def test_trades_filters_from_the_command_line(demo: Demo) -> None:
    db = str(demo.db)
    seller = json.loads(audit("trades", "--db", db, "--format", "json").output)[0]["seller"]
    did = did_for(seller, demo.chain.chain_id)
    picked = audit("trades", "--db", db, "--vehicle", did, "--area", "u33", "--since", "2000-01-01", "--format", "json")
    assert len(json.loads(picked.output)) == 1
    assert "no trades match" in audit("trades", "--db", db, "--until", "2000-01-01").output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--vehicle", "0x1234"], "neither a 0x address"),
        (["--vehicle", "did:web:example.com"], "not a did:pkh"),
        (["--since", "last tuesday"], "is neither unix seconds nor an ISO 8601"),
        (["--since", "200", "--until", "100"], "is after --until"),
        (["--area", "0xfeed"], "neither a 0x-prefixed 32-byte area id nor a geohash cell"),
        (["--vehicle", Account.create().address], "appears in no indexed event"),
    ],
)
def test_malformed_or_unknown_filters_exit_1_with_a_message(demo: Demo, args: list[str], message: str) -> None:
    result = audit("trades", "--db", str(demo.db), *args)
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_vehicle_statement_as_table_json_and_csv(demo: Demo) -> None:
    db = str(demo.db)
    seller = json.loads(audit("trades", "--db", db, "--format", "json").output)[0]["seller"]
    text = audit("vehicle", seller, "--db", db)
    assert text.exit_code == 0 and "sold: trades 1, energy 19.5 kWh, received 1.755 VEC" in text.output
    statement = json.loads(
        audit("vehicle", did_for(seller, demo.chain.chain_id), "--db", db, "--format", "json").output
    )
    assert statement["account"]["free"] == 20_000_000 and statement["account"]["locked"] == 0
    assert statement["registration"]["status"] == "active"
    fields = {
        r["field"]: r["value"]
        for r in csv.DictReader(io.StringIO(audit("vehicle", seller, "--db", db, "--format", "csv").output))
    }
    assert fields["sold.received"] == "1755000"
    unknown = audit("vehicle", Account.create().address, "--db", db)
    assert unknown.exit_code == 1 and "appears in no indexed event" in unknown.output


def test_reconcile_passes_on_the_demo_in_every_format(demo: Demo) -> None:
    result = audit("reconcile", "--db", str(demo.db))
    assert result.exit_code == 0 and "0 violation(s), 0 warning(s)" in result.output
    assert json.loads(audit("reconcile", "--db", str(demo.db), "--format", "json").output)["ok"] is True


def test_report_writes_html_with_embedded_plots(demo: Demo, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = audit("report", "--out", str(out), "--db", str(demo.db))
    assert result.exit_code == 0, result.output
    page = (out / "index.html").read_text()
    assert page.count("data:image/png;base64,") == 3
    assert "no violations" in page and "auction-1" in page
    assert (out / "trades.csv").read_text().startswith("mechanism,trade_id,")


def run_index(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "v2vchain.cli", "audit", "index", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
    )


@pytest.mark.anvil
def test_index_command_runs_and_resumes_against_a_node_url(tmp_path: Path, where: str) -> None:
    with connect("anvil") as chain:
        run_demo(chain, out=lambda line: None)
        record = tmp_path / "deployment.json"
        record.write_text(json.dumps(deployment_on(chain)))
        common = ["--chain", chain.anvil.url, "--deployment", str(record), "--db", where]
        first = run_index(*common, "--confirmations", "3")  # a real process, as a user starts it
        head = chain.w3.eth.block_number
        assert first.returncode == 0, first.stderr
        assert f"indexed blocks 1..{head - 3}" in first.stdout and "(3 confirmations)" in first.stdout
        second = audit("index", *common, "--confirmations", "0")
        assert f"indexed blocks {head - 2}..{head}" in second.output
        assert "no new final blocks" in audit("index", *common, "--confirmations", "0").output
    reconcile = audit("reconcile", "--db", where)
    assert reconcile.exit_code == 0 and "1 trades" in reconcile.output


def test_index_command_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    embedded = audit("index", "--chain", "embedded", "--db", str(tmp_path / "a.db"))
    assert embedded.exit_code == 1 and "give its http(s) JSON-RPC URL" in embedded.output
    nobody = audit("index", "--chain", "http://127.0.0.1:9", "--db", str(tmp_path / "b.db"), "--timeout", "2")
    assert nobody.exit_code == 1 and "cannot reach http://127.0.0.1:9" in nobody.output
    assert "Traceback" not in embedded.output + nobody.output


def test_the_trades_table_reads_in_kwh_token_units_per_kwh_and_utc(demo: Demo) -> None:
    table = audit("trades", "--db", str(demo.db)).output
    (row,) = [line for line in table.splitlines() if line.startswith("auction ")]
    assert "20 kWh" in row and "19.5 kWh" in row and "0.09 VEC/kWh" in row
    assert "1.755 VEC" in row and "0.045 VEC" in row  # paid, and the undelivered 500 Wh refunded
    assert re.search(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\b", row)
    assert "1755000" not in table and "19500" not in table
    assert table.splitlines()[-1] == "amounts in VEC (6 decimals), energy in kWh, prices per kWh, times UTC"


def test_the_vehicle_statement_text_names_roles_and_reads_in_kwh_and_the_token(demo: Demo) -> None:
    rows = json.loads(audit("trades", "--db", str(demo.db), "--format", "json").output)
    seller, buyer = rows[0]["seller"], rows[0]["buyer"]
    text = audit("vehicle", seller, "--db", str(demo.db)).output
    assert "roles seller," in text and re.search(r"expires \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text)
    assert "sold: trades 1, energy 19.5 kWh, received 1.755 VEC, penalties paid 0 VEC" in text
    assert "free 20 VEC, locked 0 VEC" in text
    bought = audit("vehicle", buyer, "--db", str(demo.db)).output
    assert "roles buyer," in bought and "escrow: refunded 0.045 VEC, open 0 VEC" in bought


def test_reconcile_text_reads_in_the_tokens_units(demo: Demo) -> None:
    text = audit("reconcile", "--db", str(demo.db)).output
    assert re.search(r"market token balance [\d,.]+ VEC = free [\d,.]+ VEC \+ locked 0 VEC", text)


def test_a_token_without_decimals_is_shown_in_raw_units_with_the_reason(demo: Demo, tmp_path: Path) -> None:
    """The index names the Registry (no decimals(), no symbol()) as the token: nothing crashes, amounts stay raw
    and every human answer says why."""
    registry = demo.deployment["registry"]
    specs = [replace(s, address=registry) if s.name == "EnergyToken" else s for s in demo.specs if s.name != "Registry"]
    db = tmp_path / "hostile.db"
    index(demo.chain, specs, db)
    table = audit("trades", "--db", str(db))
    assert table.exit_code == 0, table.output
    assert "1,755,000 units" in table.output and "90,000 units/kWh" in table.output and "19.5 kWh" in table.output
    assert "amounts in raw token units (the token's decimals() call was refused" in table.output
    seller = json.loads(audit("trades", "--db", str(db), "--format", "json").output)[0]["seller"]
    statement = audit("vehicle", seller, "--db", str(db))
    assert statement.exit_code == 0 and "received 1,755,000 units" in statement.output
    assert "amounts in raw token units" in statement.output
    report = audit("report", "--out", str(tmp_path / "report"), "--db", str(db))
    assert report.exit_code == 0 and "raw token units" in (tmp_path / "report" / "index.html").read_text()
    with Store.open(db) as store:
        data = dashboard_data(store)
    assert data["units"]["known"] is False and data["trades"][0]["shown"]["paid"] == "1,755,000 units"


def test_the_report_links_each_trades_vehicles_to_their_statements(demo: Demo, tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert audit("report", "--out", str(out), "--db", str(demo.db)).exit_code == 0
    (trade,) = json.loads((out / "trades.json").read_text())
    page = (out / "index.html").read_text()
    for role in ("buyer", "seller"):
        assert f'href="vehicles/{trade[role]}.html"' in page
        assert (out / "vehicles" / f"{trade[role]}.html").exists()
    assert "0.09 VEC/kWh" in page and "1.755 VEC" in page and "1755000" not in page
    seller_page = (out / "vehicles" / f"{trade['seller']}.html").read_text()
    assert "roles</th>" in seller_page and "<td>seller</td>" in seller_page and "19.5 kWh" in seller_page
    assert f'href="{trade["buyer"]}.html"' in seller_page  # its trades link on to the counterparty


def test_the_report_shows_refunds_open_escrow_and_forfeited_penalties(demo: Demo, tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert audit("report", "--out", str(out), "--db", str(demo.db)).exit_code == 0
    page = (out / "index.html").read_text()
    money = page[page.index("Money in flight") :]
    assert "<th>refunded</th>" in money and "<td>0.045 VEC</td>" in money
    assert "<th>open escrow</th>" in money and "<th>penalties forfeited</th>" in money and "<td>0 VEC</td>" in money
