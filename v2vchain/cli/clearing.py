"""`v2v clearing ...`: an operator's batch clearings: their status from chain, one interval committed, settlement."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from eth_account import Account

from node.config import OperatorSettings, load_config
from node.operator import plan_clearing
from node.peers import order_from_json
from node.service import VehicleNode
from v2vchain.audit.trades import MECHANISM_NAMES
from v2vchain.audit.units import energy, route_text
from v2vchain.chain.connect import connect
from v2vchain.chain.errors import ContractRevert
from v2vchain.contracts.clearing import ClearingClient
from v2vchain.deploy import Deployment, System, attach, load_recorded
from v2vchain.errors import ConfigError, InvalidInput
from v2vchain.identity.keystore import load_keystore
from v2vchain.protocol.clearing import Receipt
from v2vchain.protocol.routes import Route, Waypoint

from .common import address, token_units
from .errors import Typer

clearing_app = Typer(help="An operator's batch clearings: status, commit one interval, settle.", no_args_is_help=True)

CONFIG_HELP = "an operator node's JSON config (its chain, deployment, keystore and store)"
CHAIN_HELP = "an http(s) JSON-RPC URL with a recorded deployment (key in $V2V_PRIVATE_KEY where one signs)"
DEPLOYMENT_HELP = "with --chain: a deployment record (default: the one `v2v deploy` recorded for that chain)"


@contextmanager
def _system(
    config: Path | None, chain: str | None, *, signing: bool, deployment: Path | None = None
) -> Iterator[tuple[System, Any]]:
    """The deployment the node config names (its key unlocked when signing), or for --chain the --deployment file
    or else the one recorded for that chain."""
    if config is not None:
        cfg = load_config(config)
        account = load_keystore(cfg.keystore, password_env=cfg.password_env) if signing else Account.create()
        with connect(cfg.chain, account=account) as connected:
            record = Deployment(**json.loads(cfg.deployment.read_text()))
            yield attach(connected, record, connected.sender(account)), account
        return
    if chain is None:
        raise ConfigError("give --config (an operator node's config) or --chain")
    with connect(chain, account=None if signing else Account.create()) as connected:
        sender = connected.sender(connected.funder)
        if deployment is not None:
            system: System | None = attach(connected, Deployment(**json.loads(deployment.read_text())), sender)
        else:
            system = load_recorded(connected, sender)
        if system is None:
            raise ConfigError(f"no deployment recorded for chain {connected.chain_id}: run `v2v deploy` first")
        yield system, connected.funder


def _client(system: System) -> ClearingClient:
    if system.clearing is None:
        raise ConfigError("the deployment holds no batch Clearing")
    return system.clearing


@clearing_app.command("status")
def status_cmd(
    operator: str = typer.Option("", help="the operator's address (default: the config's key)"),
    config: Path | None = typer.Option(None, exists=True, dir_okay=False, help=CONFIG_HELP),
    chain: str | None = typer.Option(None, help=CHAIN_HELP),
    deployment: Path | None = typer.Option(None, exists=True, dir_okay=False, help=DEPLOYMENT_HELP),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """The operator's clearings from chain: each commit, and each trade (parties, Wh, price, open or closed)."""
    who = address(operator, "--operator") if operator else ""
    if not who and config is None:
        raise InvalidInput("give --operator, or --config to use the node's own address")
    with _system(config, chain, signing=not who, deployment=deployment) as (system, account):
        client = _client(system)
        who = who or account.address
        units = token_units(system.token)
        report: list[dict[str, Any]] = []
        for commit in client.commits(from_block=system.deployment.block):
            if commit.operator.lower() != who.lower():
                continue
            published = client.published(commit.clearing_id, from_block=system.deployment.block)
            routes = [o.order.route for o in published.orders]
            trades = [
                {
                    "trade_index": i,
                    "buyer": t.buyer,
                    "seller": t.seller,
                    "buyer_route": _route(routes[x.buyer_order]),
                    "seller_route": _route(routes[x.seller_order]),
                    "energy_wh": t.energy_wh,
                    "price_per_wh": t.price_per_wh,
                    "delivery_end_ts": t.delivery_end_ts,
                    "state": "unfunded"
                    if i in commit.unfunded
                    else "open"
                    if client.is_trade_open(commit.clearing_id, i)
                    else "closed",
                }
                for i, (t, x) in enumerate(zip(published.trades, published.inputs))
            ]
            report.append(
                {
                    "clearing_id": str(commit.clearing_id),
                    "seq": commit.clearing_id & (2**96 - 1),
                    "mechanism_id": commit.mechanism_id,
                    "orders": commit.order_count,
                    "opened": commit.opened_trades,
                    "escrowed": commit.escrowed,
                    "tx": "0x" + commit.tx_hash.hex(),
                    "trades": trades,
                }
            )
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(f"operator {who}: {len(report)} clearing(s)")
    for c in report:
        mechanism = MECHANISM_NAMES.get(c["mechanism_id"], f"mechanism {c['mechanism_id']}")
        typer.echo(
            f"clearing #{c['seq']} ({c['clearing_id']}): {mechanism}, {c['orders']} orders, "
            f"{c['opened']} of {len(c['trades'])} trades opened, {units.amount(c['escrowed'])} escrowed, tx {c['tx']}"
        )
        for t in c["trades"]:
            typer.echo(
                f"  trade {t['trade_index']}: {t['seller']} -> {t['buyer']} {energy(t['energy_wh'])} at "
                f"{units.price_per_kwh(t['price_per_wh'])}, {t['state']}"
            )
            for side in ("buyer", "seller"):
                if t[f"{side}_route"] is not None:
                    typer.echo(
                        f"    {side}'s route: {route_text(Route(tuple(Waypoint(**w) for w in t[f'{side}_route'])))}"
                    )


def _route(route: Route | None) -> list[dict[str, str | int]] | None:
    return None if route is None else route.as_json()


@clearing_app.command("commit")
def commit_cmd(
    config: Path | None = typer.Option(None, exists=True, dir_okay=False, help=CONFIG_HELP),
    orders: Path | None = typer.Option(None, exists=True, dir_okay=False, help="a JSON list of signed orders"),
    chain: str | None = typer.Option(None, help=CHAIN_HELP + " (with --orders)"),
    deployment: Path | None = typer.Option(None, exists=True, dir_okay=False, help=DEPLOYMENT_HELP),
    mechanism: str = typer.Option("", help="with --orders: the mechanism (default double-auction-k)"),
) -> None:
    """Run one interval: the pending orders in an operator node's store (stop the node first, or call its
    POST /clearings/run), or the signed orders of a JSON file (as POST /p2p/orders takes them). Orders the contract
    would refuse (forged, spent, expired, unregistered) are dropped and reported, never committed."""
    if (config is None) == (orders is None):
        raise InvalidInput("give exactly one of --config (a node's store) or --orders (a JSON file)")
    if config is not None:
        cfg = load_config(config)
        if cfg.operator is None:
            raise ConfigError(f"{config} has no `operator` section: it is not an operator node")
        node = VehicleNode.start(cfg, load_keystore(cfg.keystore, password_env=cfg.password_env))
        try:
            _print_run(node.run_interval())
        finally:
            node.close_resources()
        return
    assert orders is not None
    raw = json.loads(orders.read_text())
    if not isinstance(raw, list):
        raise InvalidInput(f"{orders} holds no JSON list of signed orders")
    try:
        signed = [order_from_json(o) for o in raw]
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidInput(f"{orders}: an order is malformed ({type(exc).__name__}: {exc})") from None
    settings = OperatorSettings.model_validate({"mechanism": mechanism} if mechanism else {})
    with _system(None, chain, signing=True, deployment=deployment) as (system, _):
        client = _client(system)
        plan = plan_clearing(client, system.registry, signed, settings, system.chain.now())
        summary: dict[str, Any] = {
            "orders": len(signed),
            "candidates": len(plan.candidates),
            "dropped": [{"owner": o, "nonce": n, "reason": r} for (o, n), r in plan.dropped.items()],
            "clearing_id": None,
        }
        if plan.prepared is not None:
            client.commit(plan.prepared)
            [commit] = client.commits(from_block=system.deployment.block, clearing_id=plan.prepared.clearing_id)
            summary.update(
                clearing_id=str(commit.clearing_id),
                trades=commit.trade_count,
                opened=commit.opened_trades,
                tx_hash="0x" + commit.tx_hash.hex(),
            )
    _print_run(summary)


def _print_run(summary: dict[str, Any]) -> None:
    for d in summary["dropped"]:
        typer.echo(f"dropped order {d['owner']} nonce {d['nonce']}: {d['reason']}")
    if summary["clearing_id"] is None:
        typer.echo(f"no trade among {summary['candidates']} valid order(s): nothing committed")
        return
    typer.echo(
        f"committed clearing {summary['clearing_id']}: {summary['opened']} of {summary['trades']} trades opened, "
        f"tx {summary['tx_hash']}"
    )


@clearing_app.command("settle")
def settle_cmd(
    operator: str = typer.Option("", help="settle this operator's clearings (default: the config's key)"),
    config: Path | None = typer.Option(None, exists=True, dir_okay=False, help=CONFIG_HELP),
    chain: str | None = typer.Option(None, help=CHAIN_HELP),
    deployment: Path | None = typer.Option(None, exists=True, dir_okay=False, help=DEPLOYMENT_HELP),
    receipts: Path | None = typer.Option(
        None,
        exists=True,
        dir_okay=False,
        help="JSON list of buyer receipts {clearing_id, trade_index, "
        "delivered_wh, signature} to settle in one settleReceipts call per clearing",
    ),
) -> None:
    """Settle what can be settled: the given buyer receipts in batch (settleReceipts), then every open trade whose
    window plus grace has passed: finalize at a pending confirmation, else reclaim (payment back to the buyer)."""
    with _system(config, chain, signing=True, deployment=deployment) as (system, account):
        client = _client(system)
        who = address(operator, "--operator") if operator else account.address
        if receipts is not None:
            by_clearing: dict[int, list[Receipt]] = {}
            for r in json.loads(receipts.read_text()):
                by_clearing.setdefault(int(r["clearing_id"]), []).append(
                    Receipt(int(r["trade_index"]), int(r["delivered_wh"]), bytes.fromhex(str(r["signature"])[2:]))
                )
            for clearing_id, batch in by_clearing.items():
                prepared = client.published(clearing_id, from_block=system.deployment.block)
                client.settle_receipts(prepared, batch)
                typer.echo(f"clearing {clearing_id}: {len(batch)} receipt(s) settled")
        grace = client.grace_period_s()
        now = system.chain.now()
        for commit in client.commits(from_block=system.deployment.block):
            if commit.operator.lower() != who.lower():
                continue
            prepared = client.published(commit.clearing_id, from_block=system.deployment.block)
            for i, t in enumerate(prepared.trades):
                if i in commit.unfunded or not client.is_trade_open(commit.clearing_id, i):
                    continue
                if now < t.delivery_end_ts + grace:
                    typer.echo(f"clearing {commit.clearing_id} trade {i}: open until {t.delivery_end_ts + grace}")
                    continue
                try:
                    client.finalize(prepared, i)
                    how = "finalized at the buyer's confirmation"
                except ContractRevert as exc:
                    if exc.name != "NoPendingConfirmation":
                        raise
                    client.reclaim(prepared, i)
                    how = "reclaimed: payment back to the buyer, the seller's penalty to the sink"
                typer.echo(f"clearing {commit.clearing_id} trade {i}: {how}")
