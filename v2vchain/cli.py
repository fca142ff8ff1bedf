"""The `v2v` command."""
from __future__ import annotations

import json
from dataclasses import asdict

import typer

from .chain import connect
from .compiler import compile_contracts, find_compiler
from .errors import V2VError

app = typer.Typer(help="Vehicle-to-vehicle energy trading on an EVM chain.", no_args_is_help=True)

CHAIN_HELP = "embedded (in-process eth-tester), anvil (a child anvil node), or an http(s) JSON-RPC URL " \
             "(funded key in $V2V_PRIVATE_KEY)"


def _fail(exc: V2VError) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


@app.command()
def demo(chain: str = typer.Option("embedded", help=CHAIN_HELP),
         bidding_seconds: int = typer.Option(600, min=1, help="bidding time; a real chain is waited for"),
         lead_seconds: int = typer.Option(300, min=0, help="from the bidding deadline to the delivery start")) -> None:
    """Deploy everything and run one reverse auction to settlement, printing each step and every balance."""
    from .demo import run_demo

    try:
        with connect(chain) as connected:
            result = run_demo(connected, bidding_s=bidding_seconds, lead_s=lead_seconds)
    except V2VError as exc:
        _fail(exc)
    if result["supply"] != result["held"]:
        raise typer.Exit(code=2)


@app.command(name="compile")
def compile_cmd() -> None:
    """Compile the contracts (cached by source hash) and print the compiler used."""
    try:
        build = compile_contracts()
    except V2VError as exc:
        _fail(exc)
    typer.echo(f"solc {build.compiler} via {find_compiler()}; source hash {build.source_hash[:16]}")
    for name in ("EnergyToken", "Registry", "Market"):
        typer.echo(f"  {name}: {len(build[name].deployed_bytecode) // 2} bytes deployed")


@app.command(name="deploy")
def deploy_cmd(chain: str = typer.Option("embedded", help=CHAIN_HELP),
               token: str = typer.Option("", help="an existing ERC-20 to trade in (default: deploy the dev token)")) -> None:
    """Deploy the contracts and record them in the chain's deployments file."""
    from .deploy import deploy, deployments_file

    try:
        with connect(chain) as connected:
            system = deploy(connected, token_address=token or None)
    except V2VError as exc:
        _fail(exc)
    typer.echo(json.dumps(asdict(system.deployment), indent=2))
    typer.echo(f"recorded in {deployments_file(system.deployment.chain_id)}")


if __name__ == "__main__":
    app()
