"""`v2v vehicle ...`: a vehicle's owner onboards it on any chain: key, gas and tokens, approvals and deposit, node
config, status."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path

import typer
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from node.config import PINNED_URL, NodeConfig, credential_subject, load_config
from node.demo_fleet import PASSWORD_ENV, TOKEN_ENV, write_node_config
from v2vchain.audit.units import roles, when
from v2vchain.chain.connect import Chain, connect
from v2vchain.contracts.token import TokenClient
from v2vchain.deploy import System
from v2vchain.errors import ConfigError, InvalidInput
from v2vchain.identity.did import did_for
from v2vchain.identity.keystore import create_keystore, load_keystore

from .common import address, eth, recorded, token_units
from .errors import Typer

vehicle_app = Typer(
    help="A vehicle's owner: key, funding, approvals and deposit, node config, status.", no_args_is_help=True
)
PASSWORD_HELP = "environment variable holding the vehicle's keystore password (prompted when unset)"
URL_HELP = "the chain's http(s) JSON-RPC URL"
MAX_APPROVAL = 2**256 - 1
SETUP_GAS = 400_000  # two approvals and a deposit, with room to spare


def _url(chain: str) -> str:
    if not chain.startswith(("http://", "https://")):
        raise InvalidInput(f"--chain {chain!r} is not an http(s) JSON-RPC URL")
    return chain


def _reader(chain: str) -> Chain:
    """A connection that only reads: signed by a throwaway key, so no $V2V_PRIVATE_KEY is needed."""
    throwaway: LocalAccount = Account.create()
    return connect(_url(chain), account=throwaway)


def _units(amount: str, token: TokenClient, option: str) -> int:
    """A human amount of tokens ("12.5") in the token's smallest units."""
    try:
        value = Decimal(amount) * 10 ** token.decimals()
    except InvalidOperation:
        raise InvalidInput(f"{option} {amount!r} is not a number") from None
    if value < 0 or value != value.to_integral_value():
        raise InvalidInput(f"{option} {amount!r} is negative or finer than the token's {token.decimals()} decimals")
    return int(value)


def _human(units: int, token: TokenClient) -> str:
    return token_units(token).amount(units)


@vehicle_app.command("init")
def vehicle_init(
    keystore: Path = typer.Option(..., help="where to write the vehicle's encrypted key"),
    password_env: str = typer.Option(PASSWORD_ENV, help=PASSWORD_HELP),
    chain_id: int = typer.Option(31337, min=1, help="the chain id its did:pkh DID names"),
) -> None:
    """Create the vehicle's encrypted key; print its address and did:pkh DID."""

    account = create_keystore(keystore, password_env=password_env)
    typer.echo(f"vehicle {account.address} in {keystore}")
    typer.echo(f"did {did_for(account.address, chain_id)}")


@vehicle_app.command("fund")
def vehicle_fund(
    chain: str = typer.Option(..., help=URL_HELP + " (the funder's key in $V2V_PRIVATE_KEY)"),
    vehicle: str = typer.Option(..., help="the vehicle's address"),
    gas_wei: int = typer.Option(10**17, min=0, help="ETH to send for gas, in wei"),
    tokens: str = typer.Option("0", help="dev tokens to mint (or transfer) to it, in whole tokens (e.g. 100)"),
) -> None:
    """From the funded key in $V2V_PRIVATE_KEY: send the vehicle gas money and, on the dev token, tokens."""

    vehicle = address(vehicle, "--vehicle")
    with connect(_url(chain)) as connected:
        funder = connected.funder
        system = recorded(connected, funder)
        amount = _units(tokens, system.token, "--tokens")
        if amount and not system.deployment.dev_token:
            raise ConfigError(
                f"the deployment trades in {system.token.symbol()} at {system.token.address}, not the dev token: "
                f"fund the vehicle's tokens from a holder of that token"
            )
        balance = int(connected.w3.eth.get_balance(funder.address))
        if balance < gas_wei + 200_000 * int(connected.w3.eth.gas_price):
            raise ConfigError(f"the funder {funder.address} has {eth(balance)}, too little to send {eth(gas_wei)}")
        mint = bool(amount) and funder.address == system.deployment.admin
        if amount and not mint and system.token.balance_of(funder.address) < amount:
            raise ConfigError(
                f"the funder {funder.address} cannot mint (the token's owner is {system.deployment.admin}) and holds "
                f"{_human(system.token.balance_of(funder.address), system.token)}, fewer than "
                f"{_human(amount, system.token)}"
            )
        if gas_wei:
            connected.fund(vehicle, gas_wei)
            typer.echo(f"sent {eth(gas_wei)} to {vehicle}")
        if mint:
            system.token.mint(vehicle, amount)
        elif amount:
            system.token.transfer(vehicle, amount)
        if amount:
            typer.echo(f"{'minted' if mint else 'transferred'} {_human(amount, system.token)} to {vehicle}")


@vehicle_app.command("setup")
def vehicle_setup(
    chain: str = typer.Option(..., help=URL_HELP),
    keystore: Path = typer.Option(..., exists=True, dir_okay=False),
    deposit: str = typer.Option("0", help="tokens to deposit in the Market (penalty cover, escrow), in whole tokens"),
    password_env: str = typer.Option(PASSWORD_ENV, help=PASSWORD_HELP),
) -> None:
    """As the vehicle: approve the Market (and the Clearing) for its tokens and deposit into the Market."""

    account = load_keystore(keystore, password_env=password_env)
    with connect(_url(chain), account=account) as connected:
        system = recorded(connected, account)
        amount = _units(deposit, system.token, "--deposit")
        record = system.registry.vehicle(account.address)
        if record.expiry == 0:
            raise ConfigError(
                f"vehicle {account.address} is not registered yet: an authorised issuer runs `v2v issuer issue`"
            )
        if record.revoked:
            raise ConfigError(f"vehicle {account.address} has a revoked credential")
        gas = int(connected.w3.eth.get_balance(account.address))
        if gas < SETUP_GAS * int(connected.w3.eth.gas_price):
            raise ConfigError(f"vehicle {account.address} has {eth(gas)}, no gas: `v2v vehicle fund` it first")
        held = system.token.balance_of(account.address)
        if held < amount:
            raise ConfigError(
                f"vehicle {account.address} holds {_human(held, system.token)}, too few to deposit "
                f"{_human(amount, system.token)}"
            )
        venues = [system.market] + ([system.clearing] if system.clearing is not None else [])
        for venue in venues:
            if system.token.allowance(account.address, venue.address) < MAX_APPROVAL // 2:
                system.token.approve(venue.address, MAX_APPROVAL)
            typer.echo(f"approved {type(venue).__name__.removesuffix('Client')} {venue.address}")
        if amount:
            system.market.deposit(amount)
            typer.echo(f"deposited {_human(amount, system.token)} in the Market")


@vehicle_app.command("node-config")
def vehicle_node_config(
    chain: str = typer.Option(..., help=URL_HELP),
    keystore: Path = typer.Option(..., exists=True, dir_okay=False),
    credential: Path = typer.Option(..., exists=True, dir_okay=False, help="the VC from `v2v issuer issue`"),
    out: Path = typer.Option(..., help="the node config JSON to write"),
    port: int = typer.Option(8700, min=1, max=65535),
    peer: list[str] = typer.Option(
        [], help="another node's URL as its node-config printed it, https://host:port#sha256=... (repeat for more)"
    ),
    lat: float = typer.Option(52.5219, min=-90, max=90, help="the vehicle's position: stays on its node"),
    lon: float = typer.Option(13.4132, min=-180, max=180),
    password_env: str = typer.Option(PASSWORD_ENV, help="the variable `v2v node run` reads the key password from"),
    api_token_env: str = typer.Option(TOKEN_ENV, help="the variable `v2v node run` reads the owner API token from"),
    plain_http: bool = typer.Option(
        False,
        "--plain-http",
        help="UNSAFE: serve and talk to peers in clear (bid prices, receipts and presentations readable on the path)",
    ),
) -> None:
    """Write a node config for `v2v node run` (and beside it the deployment record, the node's database and its TLS
    key and self-signed certificate, whose fingerprint is in the node URL printed for its peers)."""

    keyfile = json.loads(keystore.read_text())
    if not isinstance(keyfile, dict) or "address" not in keyfile:
        raise ConfigError(f"keystore {keystore} has no address: is it from `v2v vehicle init`?")
    owner = address("0x" + str(keyfile["address"]).removeprefix("0x"), "keystore address")
    subject = credential_subject(NodeConfig.model_construct(credential=credential))  # reads only the credential
    if subject.lower() != owner.lower():
        raise ConfigError(f"credential {credential} was issued to {subject}, not to this keystore's {owner}")
    unpinned = [p for p in peer if not PINNED_URL.match(p)]
    if unpinned and not plain_http:
        raise InvalidInput(
            f"--peer {unpinned[0]!r} is not a pinned node URL (https://host:port#sha256=<64 hex>, as the peer's "
            "`v2v vehicle node-config` printed it)"
        )
    with _reader(chain) as connected:
        system: System = recorded(connected, connected.funder)
        path = write_node_config(
            out,
            chain_url=chain,
            deployment=system.deployment,
            keystore=keystore,
            credential=credential,
            port=port,
            position={"lat": lat, "lon": lon},
            peers=peer,
            password_env=password_env,
            api_token_env=api_token_env,
            plain_http=plain_http,
        )
    config = load_config(path)  # what `v2v node run` will read, checked as strictly
    typer.echo(f"node config for {owner} written to {path}; run it with `v2v node run --config {path}`")
    typer.echo(f"its peers reach it at {config.url}")


@vehicle_app.command("status")
def vehicle_status(
    chain: str = typer.Option(..., help=URL_HELP),
    vehicle: str = typer.Option(..., help="the vehicle's address"),
) -> None:
    """Registration, roles, wallet, and free/locked funds in each venue, in the token's units."""

    vehicle = address(vehicle, "--vehicle")
    with _reader(chain) as connected:
        system = recorded(connected, connected.funder)
        token = system.token
        record = system.registry.vehicle(vehicle)
        typer.echo(f"vehicle {vehicle} ({did_for(vehicle, connected.chain_id)})")
        if record.expiry == 0:
            typer.echo("  registration: not registered")
        else:
            state = "revoked" if record.revoked else ("expired" if record.expiry <= connected.now() else "active")
            typer.echo(f"  registration: {state}, issuer {record.issuer}, until {when(record.expiry)}")
            typer.echo(f"  roles: {roles(record.roles)}")
        gas = int(connected.w3.eth.get_balance(to_checksum_address(vehicle)))
        typer.echo(f"  wallet: {eth(gas)}, {_human(token.balance_of(vehicle), token)}")
        venues = [("Market", system.market)] + ([("Clearing", system.clearing)] if system.clearing else [])
        for name, venue in venues:
            funds = venue.account(vehicle)
            approved = "approved" if token.allowance(vehicle, venue.address) else "not approved"
            typer.echo(f"  {name}: free {_human(funds.free, token)}, locked {_human(funds.locked, token)} ({approved})")
