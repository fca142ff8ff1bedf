"""`v2v audit ...`: index a chain's market events, then answer from the index alone."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import asdict, fields
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Any

import typer
from eth_account import Account

from v2vchain.audit.clearing_audit import audit_clearing
from v2vchain.audit.decode import DEPLOYMENT_FIELDS, specs_from_deployment
from v2vchain.audit.errors import IncompleteIndex
from v2vchain.audit.htmlreport import write_report
from v2vchain.audit.indexer import DEFAULT_BATCH_BLOCKS, DEFAULT_CONFIRMATIONS, Indexer, IndexReport
from v2vchain.audit.ledger.market import Ledger
from v2vchain.audit.order_watch import use_text, watch
from v2vchain.audit.reconcile import reconcile as run_reconcile
from v2vchain.audit.reconcile import reconciliation_text
from v2vchain.audit.render import render
from v2vchain.audit.rpc import HttpNode
from v2vchain.audit.statement import statement, statement_text
from v2vchain.audit.store import Store
from v2vchain.audit.trades import (
    GRID_EXPORT_PER_WH,
    GRID_IMPORT_PER_WH,
    TABLE_COLUMNS,
    Trade,
    filter_trades,
    parse_time,
    require_known,
    resolve_vehicle,
    table_rows,
    trade_rows,
    trades,
)
from v2vchain.audit.units import index_units
from v2vchain.chain.compiler import compile_contracts
from v2vchain.chain.connect import connect
from v2vchain.deploy import deployments_file, load_recorded
from v2vchain.errors import ConfigError, InvalidInput
from v2vchain.identity.keystore import load_keystore
from v2vchain.matching import ClearingParams
from v2vchain.paths import state_dir

from .errors import Typer

audit_app = Typer(
    help="Audit trades from chain data alone: index events, then query, reconcile, report.", no_args_is_help=True
)


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def default_db() -> Path:
    return state_dir() / "audit.db"


DB_OPTION = typer.Option(
    None, "--db", help="the index: an SQLite file, or a postgresql://user@host/database URL (default: .v2v/audit.db)"
)
FORMAT_OPTION = typer.Option(Format.table, "--format", help="table, csv or json")


class _reading:
    """An existing index opened for reading (errors reach the one handler in v2vchain.clierrors)."""

    def __init__(self, db: str | None) -> None:
        self.db = db or default_db()

    def __enter__(self) -> Store:
        self.store = Store.open(self.db)
        return self.store

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        self.store.close()


def _require_indexed(store: Store) -> None:
    """Refuse an index no run has filled (e.g. the file a failed `index` left): "0 violations" would be vacuous."""
    if store.chain_id is None or not store.contracts():
        raise IncompleteIndex(
            f"the index {store.path} is empty (no chain or contracts recorded; did `v2v audit index` "
            f"fail?): run `v2v audit index` against the chain first"
        )
    if store.last_block() is None:
        raise IncompleteIndex(
            f"the index {store.path} is incomplete: no final block indexed yet (the chain is "
            f"shorter than --confirmations?); run `v2v audit index` again later"
        )


def _specs(node: Any, store: Store, deployment: Path | None) -> list[Any]:
    """The deployment's contracts, compiled ABIs attached; nothing new to compile when the index has them all."""

    path = deployment or deployments_file(node.chain_id(), node.headers(0, 0)[0].hash)
    if not path.exists():
        if store.contracts():
            return []  # resume with the contracts the index already holds
        raise ConfigError(f"no deployment record at {path}: pass --deployment FILE (written by `v2v deploy`)")
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} is not a deployment record: {exc}") from None
    held = {c.address.lower() for c in store.contracts()}
    if all(str(record.get(f, "")).lower() in held for f in DEPLOYMENT_FIELDS if record.get(f)):
        return []
    build = compile_contracts()
    return specs_from_deployment(record, {name: a.abi for name, a in build.artifacts.items()})


def _summary(r: IndexReport, confirmations: int) -> str:
    done = f"blocks {r.first}..{r.last}" if r.first is not None else "no new final blocks"
    text = (
        f"chain {r.chain_id}: indexed {done} ({r.blocks} blocks, {r.events} events) in {r.seconds:.2f}s; "
        f"head {r.head}, final up to {r.final} ({confirmations} confirmations)"
    )
    if r.backfilled:
        text += f"; {r.backfilled} events of newly added contracts"
    for fork, removed in r.reorgs:
        text += f"\nreorg: blocks after {fork} replaced, {removed} events removed and re-indexed"
    return text


@audit_app.command()
def index(
    chain: str = typer.Option("http://127.0.0.1:8545", help="the node's http(s) JSON-RPC URL"),
    confirmations: int = typer.Option(
        DEFAULT_CONFIRMATIONS, min=0, help="blocks a block needs on top of it before it is indexed as final"
    ),
    db: str = DB_OPTION,
    deployment: Path = typer.Option(
        None, help="deployment record (default: the one `v2v deploy` wrote for this chain id)"
    ),
    batch_blocks: int = typer.Option(
        DEFAULT_BATCH_BLOCKS, min=1, help="blocks per eth_getLogs (halved on 'too many results' or a timeout)"
    ),
    timeout: float = typer.Option(30.0, min=0.1, help="seconds to wait for each RPC answer"),
    follow: bool = typer.Option(False, help="keep indexing new blocks until interrupted"),
    poll_seconds: float = typer.Option(2.0, min=0.1, help="with --follow, the pause between runs"),
) -> None:
    """Run or resume the indexer: every final block not yet indexed, undoing any reorganised ones first."""

    if not chain.startswith(("http://", "https://")):
        raise ConfigError(
            f"--chain {chain!r}: the indexer reads a running node, give its http(s) JSON-RPC URL "
            f"(embedded and anvil would start a new, empty chain)"
        )
    try:
        with Store.open(db or default_db(), create=True) as store:
            node = HttpNode(chain, timeout_s=timeout)
            indexer = Indexer(
                store, node, _specs(node, store, deployment), batch_blocks=batch_blocks, confirmations=confirmations
            )
            while True:
                typer.echo(_summary(indexer.run(), confirmations))
                if not follow:
                    break
                time.sleep(poll_seconds)
    except KeyboardInterrupt:
        typer.echo("stopped; the next run resumes where this one stopped")


@audit_app.command(name="trades")
def trades_cmd(
    vehicle: str = typer.Option(None, help="a 0x address or a did:pkh DID: trades it bought or sold"),
    since: str = typer.Option(None, help="awarded at or after: unix seconds or ISO 8601"),
    until: str = typer.Option(None, help="awarded at or before: unix seconds or ISO 8601"),
    area: str = typer.Option(None, help="geohash cell or prefix of the cloaked area, or a 0x area id"),
    mechanism: str = typer.Option(
        None, help="auction, clearing, or clearing/<mechanism> (e.g. clearing/double-auction-k)"
    ),
    fmt: Format = FORMAT_OPTION,
    db: str = DB_OPTION,
) -> None:
    """Trades from the index, filtered, as a table, CSV or JSON."""

    with _reading(db) as store:
        ledger = Ledger.from_store(store)
        vehicles = None
        if vehicle:
            vehicles = resolve_vehicle(vehicle, ledger, store.chain_id)
            require_known(store, vehicles, vehicle)
        selected = filter_trades(
            trades(ledger),
            vehicles=vehicles,
            since=parse_time(since, "since"),
            until=parse_time(until, "until"),
            area=area,
            mechanism=mechanism,
        )
        if fmt is not Format.table:
            typer.echo(render(trade_rows(selected), fmt.value, [f.name for f in fields(Trade)]))
        elif not selected:
            typer.echo("no trades match")
        else:
            units = index_units(store)
            typer.echo(render(table_rows(selected, units), "table", TABLE_COLUMNS))
            typer.echo(f"amounts in {units.label}, energy in kWh, prices per kWh, times UTC")


@audit_app.command(name="vehicle")
def vehicle_cmd(
    address: str = typer.Argument(..., help="a 0x address or a did:pkh DID"),
    fmt: Format = FORMAT_OPTION,
    db: str = DB_OPTION,
) -> None:
    """One vehicle's statement: energy bought and sold, paid and received, stake and penalties, open obligations."""

    with _reading(db) as store:
        ledger = Ledger.from_store(store)
        addresses = resolve_vehicle(address, ledger, store.chain_id)
        require_known(store, addresses, address)
        statements = [statement(ledger, a, store.chain_id) for a in sorted(addresses) if store.mentions(a)]
        if fmt is Format.json:
            typer.echo(json.dumps(statements[0] if len(statements) == 1 else statements, indent=2))
        elif fmt is Format.csv:
            typer.echo(render([row for s in statements for row in _flatten(s)], "csv", ["vehicle", "field", "value"]))
        else:
            typer.echo("\n".join(statement_text(s, index_units(store)) for s in statements))


def _flatten(s: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for section, value in s.items():
        if isinstance(value, dict):
            for key, item in value.items():
                yield {"vehicle": s["vehicle"], "field": f"{section}.{key}", "value": item}
        elif isinstance(value, list):
            for i, item in enumerate(value):
                yield {"vehicle": s["vehicle"], "field": f"{section}[{i}]", "value": json.dumps(item)}


@audit_app.command()
def reconcile(fmt: Format = FORMAT_OPTION, db: str = DB_OPTION) -> None:
    """Check every invariant from the indexed events; print each violation with its transaction; exit 2 if any."""

    with _reading(db) as store:
        _require_indexed(store)
        result = run_reconcile(Ledger.from_store(store), store)
        if fmt is Format.json:
            typer.echo(
                json.dumps(
                    {
                        "ok": result.ok,
                        "totals": result.totals,
                        "violations": [asdict(f) for f in result.violations],
                        "warnings": [asdict(f) for f in result.warnings],
                    },
                    indent=2,
                )
            )
        elif fmt is Format.csv:
            rows = [
                {"kind": kind, **asdict(f)}
                for kind, fs in (("violation", result.violations), ("warning", result.warnings))
                for f in fs
            ]
            typer.echo(render(rows, "csv", ["kind", "rule", "block", "tx_hash", "message"]))
        else:
            typer.echo(reconciliation_text(result, index_units(store)))
    if not result.ok:
        raise typer.Exit(code=2)


@audit_app.command()
def report(
    out: Path = typer.Option(..., "--out", help="directory for index.html, trades.csv and trades.json"),
    grid_import: int = typer.Option(GRID_IMPORT_PER_WH, min=0, help="grid import price, units per Wh"),
    grid_export: int = typer.Option(GRID_EXPORT_PER_WH, min=0, help="grid export price, units per Wh"),
    db: str = DB_OPTION,
) -> None:
    """An HTML report with plots: price against the grid's prices, volume per day, savings per vehicle."""

    if out.exists() and not out.is_dir():
        raise ConfigError(
            f"--out {out} is an existing file; give a directory (it gets index.html, trades.csv, trades.json)"
        )
    with _reading(db) as store:
        path = write_report(store, out, grid_import=grid_import, grid_export=grid_export)
    typer.echo(f"report written to {path}")


@audit_app.command(name="clearing")
def clearing_cmd(
    clearing_id: int = typer.Argument(..., min=1, help="the clearing's id"),
    chain: str = typer.Option("http://127.0.0.1:8545", help="the node's http(s) JSON-RPC URL"),
    k: str = typer.Option("1/2", help="the k the operator declared, as a fraction (price-only mechanisms)"),
) -> None:
    """Recompute a committed clearing from its published orders: roots, per-trade rules, the mechanism's result.

    Exits 2 when the roots differ, a trade breaks a rule, or the trades are not the mechanism's."""

    try:
        params = ClearingParams(k=Fraction(k))
    except (ValueError, ZeroDivisionError):
        raise InvalidInput(f"--k {k!r} is not a fraction such as 1/2") from None

    with connect(chain, account=Account.create()) as connected:  # read-only: a throwaway key signs nothing
        system = load_recorded(connected, connected.sender(connected.funder))
        client = system.clearing if system else None
        if system is None or client is None:
            raise ConfigError(f"no Clearing deployment recorded for chain {connected.chain_id}")
        audit = audit_clearing(client, clearing_id, params=params, from_block=system.deployment.block)
    typer.echo(audit.text())
    if not audit.ok:
        raise typer.Exit(code=2)


@audit_app.command(name="watch")
def watch_cmd(
    chain: str = typer.Option("http://127.0.0.1:8545", help="the node's http(s) JSON-RPC URL"),
    keystore: Path = typer.Option(..., exists=True, dir_okay=False, help="the vehicle's keystore"),
    password_env: str = typer.Option("V2V_KEY_PASSWORD", help="env var with the keystore password"),
) -> None:
    """Every committed clearing that used one of this vehicle's orders, with what each order filled.

    The contract verifies every order's signature at commit, so nothing forged can be used: this is the record of
    where the vehicle's signed orders went (operator, trades opened, Wh filled, Wh left unfunded)."""

    account = load_keystore(keystore, password_env=password_env)
    with connect(chain, account=account) as connected:
        system = load_recorded(connected, connected.sender(account))
        client = system.clearing if system else None
        if system is None or client is None:
            raise ConfigError(f"no Clearing deployment recorded for chain {connected.chain_id}")
        findings = watch(client, account.address, from_block=system.deployment.block)
    for f in findings:
        typer.echo(use_text(f))
    typer.echo(f"{len(findings)} order(s) of {account.address} used in committed clearings")
