"""The `v2v` command."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from v2vchain.chain.compiler import compile_contracts, find_compiler
from v2vchain.chain.connect import connect
from v2vchain.errors import ConfigError, InvalidInput

from .audit import audit_app
from .errors import Typer
from .fleet import fleet_app

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from v2vchain.chain.connect import Chain
    from v2vchain.deploy import System

app = Typer(help="Vehicle-to-vehicle energy trading on an EVM chain.", no_args_is_help=True)

CHAIN_HELP = "embedded (in-process eth-tester), anvil (a child anvil node), or an http(s) JSON-RPC URL " \
             "(funded key in $V2V_PRIVATE_KEY)"


def _address(value: str, option: str) -> str:
    """A 0x address given on the command line, checksummed; checked before any key is unlocked or chain reached."""
    from eth_utils import is_address, to_checksum_address

    if not is_address(value):
        raise InvalidInput(f"{option} {value!r} is not a 0x address (40 hex digits; mixed case must be a valid "
                           f"EIP-55 checksum)")
    return str(to_checksum_address(value))


@app.command()
def demo(chain: str = typer.Option("embedded", help=CHAIN_HELP),
         bidding_seconds: int = typer.Option(600, min=1, help="bidding time; a real chain is waited for"),
         lead_seconds: int = typer.Option(300, min=0, help="from the bidding deadline to the delivery start"),
         nodes: int = typer.Option(0, min=0, max=20, help="run N vehicle node processes trading over HTTP "
                                                           "(needs --chain anvil)")) -> None:
    """Deploy everything and run one reverse auction to settlement, printing each step and every balance."""
    if nodes:
        if chain != "anvil":
            raise ConfigError("--nodes needs --chain anvil: separate processes share a real chain whose clock "
                              "the demo advances")
        if nodes < 2:
            raise ConfigError("--nodes: a fleet needs one buyer and at least one seller (2 or more)")
        from node.demo_fleet import run_fleet_demo

        with connect(chain) as connected:
            run_fleet_demo(connected, nodes)
        return
    from v2vchain.demo import run_demo

    with connect(chain) as connected:
        result = run_demo(connected, bidding_s=bidding_seconds, lead_s=lead_seconds)
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
def deploy_cmd(chain: str = typer.Option("embedded", help=CHAIN_HELP),
               token: str = typer.Option("", help="an existing ERC-20 to trade in (default: deploy the dev token)")) -> None:
    """Deploy the contracts and record them in the chain's deployments file."""
    from v2vchain.deploy import deploy, deployments_file

    token_address = _address(token, "--token") if token else None
    with connect(chain) as connected:
        system = deploy(connected, token_address=token_address)
    typer.echo(json.dumps(asdict(system.deployment), indent=2))
    typer.echo(f"recorded in {deployments_file(system.deployment.chain_id)}")


node_app = Typer(help="The vehicle node service.", no_args_is_help=True)
app.add_typer(node_app, name="node")


@node_app.command("run")
def node_run(config: Path = typer.Option(..., exists=True, dir_okay=False, help="the node's JSON config")) -> None:
    """Serve one vehicle's node (key password and API token from the environment variables the config names)."""
    from node.runner import serve

    serve(config)


issuer_app = Typer(help="The credential issuer (grid operator or platform).", no_args_is_help=True)
app.add_typer(issuer_app, name="issuer")
PASSWORD_ENV_HELP = "environment variable holding the keystore password (prompted when unset)"


@issuer_app.command("init")
def issuer_init(keystore: Path = typer.Option(..., help="where to write the issuer's encrypted key"),
                password_env: str = typer.Option("V2V_ISSUER_PASSWORD", help=PASSWORD_ENV_HELP),
                chain: str = typer.Option("", help="also authorise it on this chain, as the admin "
                                                    "($V2V_PRIVATE_KEY)")) -> None:
    """Create the issuer's keystore (and have the admin authorise it in the Registry)."""
    from v2vchain.identity.keystore import create_keystore

    issuer = create_keystore(keystore, password_env=password_env)
    typer.echo(f"issuer {issuer.address} in {keystore}")
    if chain:
        with connect(chain) as connected:
            system = _recorded(connected, connected.funder)
            system.registry.add_issuer(issuer.address)
            typer.echo(f"authorised in registry {system.registry.address}")


@issuer_app.command("issue")
def issuer_issue(keystore: Path = typer.Option(..., exists=True), chain: str = typer.Option(..., help=CHAIN_HELP),
                 vehicle: str = typer.Option(..., help="the vehicle's address"),
                 roles: str = typer.Option("buyer,seller", help="buyer, seller or both"),
                 battery_wh: int = typer.Option(80_000, min=1), power_w: int = typer.Option(30_000, min=1),
                 days: int = typer.Option(365, min=1, max=3650), out: Path = typer.Option(..., help="VC JSON file"),
                 register: bool = typer.Option(True, help="also register the credential on-chain"),
                 password_env: str = typer.Option("V2V_ISSUER_PASSWORD", help=PASSWORD_ENV_HELP)) -> None:
    """Issue a vehicle a W3C VC 2.0 credential whose EIP-712 proof the Registry verifies."""
    from v2vchain.identity.credentials import issue_vc, roles_from_names, verify_vc
    from v2vchain.identity.did import did_for
    from v2vchain.identity.keystore import load_keystore

    vehicle = _address(vehicle, "--vehicle")
    issuer = load_keystore(keystore, password_env=password_env)
    with connect(chain, account=issuer) as connected:
        system = _recorded(connected, issuer)
        now = connected.now()
        vc = issue_vc(issuer, registry=system.registry.address, chain_id=connected.chain_id,
                      vehicle_did=did_for(vehicle, connected.chain_id), roles=roles_from_names(roles.split(",")),
                      battery_capacity_wh=battery_wh, max_v2v_power_w=power_w, valid_from=now,
                      valid_until=now + days * 86_400)
        out.write_text(json.dumps(vc, indent=2))
        typer.echo(f"credential for {vehicle} written to {out}")
        if register:
            system.registry.register(verify_vc(vc, now=now).registration)
            typer.echo(f"registered in {system.registry.address}")


@issuer_app.command("revoke")
def issuer_revoke(keystore: Path = typer.Option(..., exists=True), chain: str = typer.Option(..., help=CHAIN_HELP),
                  vehicle: str = typer.Option(..., help="the vehicle's address"),
                  password_env: str = typer.Option("V2V_ISSUER_PASSWORD", help=PASSWORD_ENV_HELP)) -> None:
    """Revoke a credential this issuer issued: the vehicle can no longer trade."""
    from v2vchain.identity.keystore import load_keystore

    vehicle = _address(vehicle, "--vehicle")
    issuer = load_keystore(keystore, password_env=password_env)
    with connect(chain, account=issuer) as connected:
        _recorded(connected, issuer).registry.revoke(vehicle)
        typer.echo(f"revoked {vehicle}")


def _recorded(chain: "Chain", account: "LocalAccount") -> "System":
    from v2vchain.deploy import load_recorded

    system = load_recorded(chain, chain.sender(account))
    if system is None:
        raise ConfigError(f"no deployment recorded for chain {chain.chain_id}: run `v2v deploy --chain ...` first")
    return system


app.add_typer(audit_app, name="audit")
app.add_typer(fleet_app, name="fleet")
