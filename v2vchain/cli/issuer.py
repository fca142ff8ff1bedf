"""`v2v issuer ...`: the credential issuer (a grid operator or platform) creates its key, issues and revokes."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from v2vchain.chain.connect import connect
from v2vchain.errors import ConfigError
from v2vchain.identity.credentials import issue_vc, roles_from_names, verify_vc
from v2vchain.identity.did import did_for
from v2vchain.identity.keystore import create_keystore, load_keystore

from .common import CHAIN_HELP, address, eth, recorded
from .errors import Typer

issuer_app = Typer(help="The credential issuer (grid operator or platform).", no_args_is_help=True)
REGISTER_GAS = 200_000  # one Registry.register, with room to spare
PASSWORD_ENV_HELP = "environment variable holding the keystore password (prompted when unset)"


@issuer_app.command("init")
def issuer_init(
    keystore: Path = typer.Option(..., help="where to write the issuer's encrypted key"),
    password_env: str = typer.Option("V2V_ISSUER_PASSWORD", help=PASSWORD_ENV_HELP),
    chain: str = typer.Option("", help="also authorise it on this chain, as the admin ($V2V_PRIVATE_KEY)"),
) -> None:
    """Create the issuer's keystore (and have the admin authorise it in the Registry)."""

    issuer = create_keystore(keystore, password_env=password_env)
    typer.echo(f"issuer {issuer.address} in {keystore}")
    if chain:
        with connect(chain) as connected:
            system = recorded(connected, connected.funder)
            system.registry.add_issuer(issuer.address)
            typer.echo(f"authorised in registry {system.registry.address}")


@issuer_app.command("issue")
def issuer_issue(
    keystore: Path = typer.Option(..., exists=True),
    chain: str = typer.Option(..., help=CHAIN_HELP),
    vehicle: str = typer.Option(..., help="the vehicle's address"),
    roles: str = typer.Option("buyer,seller", help="buyer, seller or both"),
    battery_wh: int = typer.Option(80_000, min=1),
    power_w: int = typer.Option(30_000, min=1),
    days: int = typer.Option(365, min=1, max=3650),
    out: Path = typer.Option(..., help="VC JSON file"),
    register: bool = typer.Option(True, help="also register the credential on-chain"),
    password_env: str = typer.Option("V2V_ISSUER_PASSWORD", help=PASSWORD_ENV_HELP),
) -> None:
    """Issue a vehicle a W3C VC 2.0 credential whose EIP-712 proof the Registry verifies."""

    vehicle = address(vehicle, "--vehicle")
    issuer = load_keystore(keystore, password_env=password_env)
    with connect(chain, account=issuer) as connected:
        system = recorded(connected, issuer)
        if not system.registry.is_issuer(issuer.address):
            raise ConfigError(
                f"issuer {issuer.address} is not authorised on registry {system.registry.address}: "
                f"the admin runs `v2v issuer init --chain ...` (or Registry.addIssuer) first"
            )
        gas = int(connected.w3.eth.get_balance(issuer.address))
        if register and gas < REGISTER_GAS * int(connected.w3.eth.gas_price):
            raise ConfigError(
                f"issuer {issuer.address} has {eth(gas)}, no gas to register the credential: fund it first "
                f"(e.g. `v2v vehicle fund --vehicle {issuer.address}`) or pass --no-register"
            )
        now = connected.now()
        vc = issue_vc(
            issuer,
            registry=system.registry.address,
            chain_id=connected.chain_id,
            vehicle_did=did_for(vehicle, connected.chain_id),
            roles=roles_from_names(roles.split(",")),
            battery_capacity_wh=battery_wh,
            max_v2v_power_w=power_w,
            valid_from=now,
            valid_until=now + days * 86_400,
        )
        out.write_text(json.dumps(vc, indent=2))
        typer.echo(f"credential for {vehicle} written to {out}")
        if register:
            system.registry.register(verify_vc(vc, now=now).registration)
            typer.echo(f"registered in {system.registry.address}")


@issuer_app.command("revoke")
def issuer_revoke(
    keystore: Path = typer.Option(..., exists=True),
    chain: str = typer.Option(..., help=CHAIN_HELP),
    vehicle: str = typer.Option(..., help="the vehicle's address"),
    password_env: str = typer.Option("V2V_ISSUER_PASSWORD", help=PASSWORD_ENV_HELP),
) -> None:
    """Revoke a credential this issuer issued: the vehicle can no longer trade."""

    vehicle = address(vehicle, "--vehicle")
    issuer = load_keystore(keystore, password_env=password_env)
    with connect(chain, account=issuer) as connected:
        recorded(connected, issuer).registry.revoke(vehicle)
        typer.echo(f"revoked {vehicle}")
