"""The `v2v` command: the demo, compile and deploy, and every command group mounted under one app."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer

from node.demo_clearing import run_clearing_demo
from node.demo_fleet import run_fleet_demo
from v2vchain.chain.clock import BLOCK_PATIENCE_S
from v2vchain.chain.compiler import compile_contracts, find_compiler
from v2vchain.chain.connect import connect
from v2vchain.demo import run_demo
from v2vchain.deploy import deploy, deployments_file
from v2vchain.errors import ConfigError

from .audit import audit_app
from .clearing import clearing_app
from .common import CHAIN_HELP, address
from .errors import Typer
from .fleet import fleet_app
from .issuer import issuer_app
from .node import node_app
from .vehicle import vehicle_app

app = Typer(help="Vehicle-to-vehicle energy trading on an EVM chain.", no_args_is_help=True)


@app.command()
def demo(
    chain: str = typer.Option("embedded", help=CHAIN_HELP),
    bidding_seconds: int | None = typer.Option(
        None,
        min=1,
        help="bidding time (default 600 on dev chains, whose clock the demo advances; on a URL chain, the shortest "
        "safe time at its measured block interval, and a shorter one is refused)",
    ),
    lead_seconds: int = typer.Option(300, min=0, help="from the bidding deadline to the delivery start"),
    block_wait_seconds: int = typer.Option(
        BLOCK_PATIENCE_S,
        min=1,
        help="on a URL chain: how long it may go without a block before the demo says its clock does not move",
    ),
    nodes: int = typer.Option(
        0, min=0, max=20, help="run N vehicle node processes trading over HTTP (needs --chain anvil)"
    ),
    market: str = typer.Option(
        "auction", help="with --nodes: auction (reverse auction) or clearing (an operator node and batch clearing)"
    ),
) -> None:
    """Deploy everything and run one reverse auction to settlement, printing each step and every balance."""
    if nodes:
        if chain != "anvil":
            raise ConfigError(
                "--nodes needs --chain anvil: separate processes share a real chain whose clock the demo advances"
            )
        if nodes < 2:
            raise ConfigError("--nodes: a fleet needs one buyer and at least one seller (2 or more)")

        if market not in ("auction", "clearing"):
            raise ConfigError(f"--market {market!r}: use auction or clearing")
        with connect(chain) as connected:
            if market == "auction":
                run_fleet_demo(connected, nodes)
                return
            result = run_clearing_demo(connected, nodes)
        if result["held"] != result["owed"] or not result["forged_revert"] or result["forged_status"] < 400:
            raise typer.Exit(code=2)
        return

    with connect(chain) as connected:
        result = run_demo(connected, bidding_s=bidding_seconds, lead_s=lead_seconds, block_wait_s=block_wait_seconds)
    if result["supply"] != result["held"]:
        raise typer.Exit(code=2)


@app.command(name="compile")
def compile_cmd() -> None:
    """Compile the contracts (cached by source hash) and print the compiler used."""
    build = compile_contracts()
    typer.echo(f"solc {build.compiler} via {find_compiler()}; source hash {build.source_hash[:16]}")
    for name in ("EnergyToken", "Registry", "Market"):
        typer.echo(f"  {name}: {len(build[name].deployed_bytecode) // 2} bytes deployed")


@app.command(name="deploy")
def deploy_cmd(
    chain: str = typer.Option("embedded", help=CHAIN_HELP),
    token: str = typer.Option("", help="an existing ERC-20 to trade in (default: deploy the dev token)"),
) -> None:
    """Deploy the contracts and record them in the chain's deployments file."""

    token_address = address(token, "--token") if token else None
    with connect(chain) as connected:
        system = deploy(connected, token_address=token_address)
    typer.echo(json.dumps(asdict(system.deployment), indent=2))
    typer.echo(f"recorded in {deployments_file(system.deployment.chain_id, system.deployment.genesis_hash)}")


app.add_typer(node_app, name="node")
app.add_typer(issuer_app, name="issuer")
app.add_typer(audit_app, name="audit")
app.add_typer(fleet_app, name="fleet")
app.add_typer(vehicle_app, name="vehicle")
app.add_typer(clearing_app, name="clearing")
