"""`v2v demo --nodes N`: an anvil chain and N vehicle node processes (one buyer, N-1 sellers, in Berlin) that
trade with each other over pinned TLS, driven here exactly as their owners would drive them."""

from __future__ import annotations

import json
import os
import random
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from node.config import load_config
from node.transport import client_for, ensure_certificate
from v2vchain.chain.anvil import free_port
from v2vchain.chain.connect import Chain
from v2vchain.chain.errors import ChainUnavailable
from v2vchain.deploy import Deployment, System, deploy
from v2vchain.devnet import DEV_UNITS, GAS_MONEY_WEI, VEC, add_issuer
from v2vchain.identity.credentials import issue_vc, verify_vc
from v2vchain.identity.did import did_for
from v2vchain.identity.keystore import create_keystore
from v2vchain.identity.registration import ROLE_BUYER, ROLE_SELLER
from v2vchain.paths import state_dir

BERLIN = (52.5219, 13.4132)  # Alexanderplatz
SELLER_DEPOSIT = 20 * VEC  # penalty cover each seller node deposits at provisioning
PASSWORD_ENV = "V2V_KEY_PASSWORD"
TOKEN_ENV = "V2V_API_TOKEN"


@dataclass
class RunningNode:
    name: str
    address: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def _position(rng: random.Random) -> dict[str, float]:
    return {
        "lat": round(BERLIN[0] + rng.uniform(-0.03, 0.03), 6),
        "lon": round(BERLIN[1] + rng.uniform(-0.05, 0.05), 6),
    }


def write_node_config(
    out: Path,
    *,
    chain_url: str,
    deployment: Deployment,
    keystore: Path,
    credential: Path,
    port: int,
    position: dict[str, float],
    peers: list[str],
    pricing: dict[str, int] | None = None,
    name: str = "",
    password_env: str = PASSWORD_ENV,
    api_token_env: str = TOKEN_ENV,
    extra: dict[str, Any] | None = None,
    plain_http: bool = False,
) -> Path:
    """A node config for `v2v node run` at `out` (named after its file unless `name` is given), with beside it a copy
    of the deployment record (so later deployments cannot change it), its database and, unless `plain_http` opts
    out of TLS, its TLS key and self-signed certificate, made now so the node's pinned URL can be handed to peers
    before it first starts; every path absolute. `extra` adds config keys (an `operator` section, `operator_url`)."""
    out = out.resolve()
    stem = out.name.removesuffix(".json")
    record = out.with_name(f"{stem}.deployment.json")
    record.write_text(json.dumps(asdict(deployment), indent=2))
    config: dict[str, Any] = {
        "name": name or stem,
        "chain": chain_url,
        "deployment": str(record),
        "keystore": str(keystore.resolve()),
        "credential": str(credential.resolve()),
        "db": str(out.with_name(f"{stem}.sqlite")),
        "port": port,
        "password_env": password_env,
        "api_token_env": api_token_env,
        "position": position,
        "peers": peers,
    }
    if pricing:
        config["pricing"] = pricing
    if plain_http:
        config["transport"] = "plain-http"
    config.update(extra or {})
    out.write_text(json.dumps(config, indent=2))
    written = load_config(out)
    if written.tls:
        ensure_certificate(*written.tls_files, written.host)
    return out


def provision(
    system: System,
    issuer: Any,
    workdir: Path,
    name: str,
    roles: int,
    *,
    position: dict[str, float],
    peers: list[str],
    degradation: int,
    env: dict[str, str],
    clearing_deposit: int = 0,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Key in an encrypted keystore, gas and tokens, a VC registered on-chain, the market approved, and for a seller
    a deposit of penalty cover; with clearing_deposit, that much in the batch Clearing too (a buyer's payments, a
    seller's cover). `extra` adds config keys (an `operator` section, `operator_url`)."""
    chain = system.chain
    os.environ[PASSWORD_ENV] = env[PASSWORD_ENV]
    account = create_keystore(workdir / f"{name}.key.json", password_env=PASSWORD_ENV)
    chain.fund(account.address, GAS_MONEY_WEI)
    system.token.mint(account.address, 100 * VEC)
    now = chain.now()
    vc = issue_vc(
        issuer,
        registry=system.registry.address,
        chain_id=chain.chain_id,
        vehicle_did=did_for(account.address, chain.chain_id),
        roles=roles,
        battery_capacity_wh=80_000,
        max_v2v_power_w=30_000,
        valid_from=now - 60,
        valid_until=now + 365 * 86_400,
    )
    (workdir / f"{name}.vc.json").write_text(json.dumps(vc, indent=2))
    system.registry.register(verify_vc(vc, now=now).registration)
    own = system.as_(chain.sender(account))
    own.token.approve(system.market.address, 2**256 - 1)
    if roles & ROLE_SELLER:
        own.market.deposit(SELLER_DEPOSIT)
    if clearing_deposit and own.clearing is not None:
        own.token.approve(own.clearing.address, 2**256 - 1)
        own.clearing.deposit(clearing_deposit)
    port = free_port()
    path = write_node_config(
        workdir / f"{name}.json",
        chain_url=chain.anvil.url if chain.anvil else "",
        deployment=system.deployment,
        keystore=workdir / f"{name}.key.json",
        credential=workdir / f"{name}.vc.json",
        port=port,
        position=position,
        peers=peers,
        pricing={"degradation_per_wh": degradation},
        extra=extra,
    )
    return {"name": name, "address": account.address, "config": path, "url": load_config(path).url}


def start_node(spec: dict[str, Any], env: dict[str, str], workdir: Path) -> RunningNode:
    log = workdir / f"{spec['name']}.log"
    with open(log, "wb") as out:  # the child holds its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "v2vchain.cli", "node", "run", "--config", str(spec["config"])],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return RunningNode(spec["name"], spec["address"], spec["url"], process, log)


def wait_ready(node: RunningNode, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if node.process.poll() is not None:
            raise ChainUnavailable(f"node {node.name} exited: {node.log.read_text()[-2000:]}")
        try:
            if node_call(node.url, "GET", "/identity", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise ChainUnavailable(f"node {node.name} did not answer within {timeout_s}s; log {node.log}")


def node_call(url: str, method: str, path: str, *, timeout: float = 30, **kwargs: Any) -> httpx.Response:
    """One HTTP call to a node at its URL: over TLS pinned to the certificate the URL names (or plain HTTP when
    the node was configured so)."""
    client, base = client_for(url, allow_plain=True, timeout=timeout)
    with client:
        return client.request(method, f"{base}{path}", **kwargs)


class Owner:
    """How a vehicle's owner talks to its node: the bearer token on every state change."""

    def __init__(self, node: RunningNode, token: str) -> None:
        self.node = node
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str) -> Any:
        return self._check(node_call(self.node.url, "GET", path, headers=self.headers, timeout=60))

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._check(node_call(self.node.url, "POST", path, json=body or {}, headers=self.headers, timeout=120))

    def _check(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise ChainUnavailable(f"{self.node.name} answered {response.status_code}: {response.text[:500]}")
        return response.json()


def fleet_env() -> dict[str, str]:
    """The environment every node of one fleet runs with: a fresh keystore password and API token."""
    return {**os.environ, PASSWORD_ENV: secrets.token_hex(16), TOKEN_ENV: secrets.token_hex(16)}


def demo_workdir(kind: str) -> Path:
    """Where one demo run keeps its node files: .v2v/<kind>/<timestamp>."""
    workdir = state_dir() / kind / time.strftime("%Y%m%d-%H%M%S")
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir


def provision_auction_fleet(
    system: System, issuer: Any, workdir: Path, env: dict[str, str], rng: random.Random, degradations: list[int]
) -> dict[str, dict[str, Any]]:
    """A buyer and one seller per degradation (seller-1, seller-2, ...), each seller peered with the buyer."""
    buyer = provision(
        system, issuer, workdir, "buyer", ROLE_BUYER, position=_position(rng), peers=[], degradation=20, env=env
    )
    specs = {"buyer": buyer}
    for i, degradation in enumerate(degradations, start=1):
        specs[f"seller-{i}"] = provision(
            system,
            issuer,
            workdir,
            f"seller-{i}",
            ROLE_SELLER,
            position=_position(rng),
            peers=[buyer["url"]],
            degradation=degradation,
            env=env,
        )
    return specs


def run_fleet_demo(chain: Chain, n_nodes: int, out: Callable[[str], None] = print) -> dict[str, Any]:
    if n_nodes < 2:
        raise ValueError("a fleet needs one buyer and at least one seller")
    rng = random.Random(7)
    workdir, env = demo_workdir("fleet"), fleet_env()
    system = deploy(chain)
    issuer = add_issuer(system)
    out(f"anvil {chain.anvil.url if chain.anvil else ''}, market {system.market.address}; node files in {workdir}")
    specs = provision_auction_fleet(system, issuer, workdir, env, rng, [10 + 7 * i for i in range(1, n_nodes)])
    nodes = [start_node(spec, env, workdir) for spec in specs.values()]
    try:
        for node in nodes:
            wait_ready(node)
        owners = {n.name: Owner(n, env[TOKEN_ENV]) for n in nodes}
        for n in nodes:
            identity = owners[n.name].get("/identity")
            out(f"  node {n.name:<9} {n.url}  {identity['did']}")
        buyer = owners["buyer"]
        request = buyer.post(
            "/requests",
            {
                "energy_wh": 20_000,
                "max_price_per_wh": 150,
                "bidding_s": 600,
                "delivery_lead_s": 300,
                "delivery_window_s": 7_200,
            },
        )
        request_id = request["request_id"]
        out(
            f"\nbuyer opened request #{request_id}: 20,000 Wh, max 150 units/Wh, published area {request['area']!r} "
            f"(its position stays on its node)"
        )
        for n in nodes[1:]:
            for placed in owners[n.name].post("/bids/auto", {"region": ""}):
                out(f"  {n.name} signed a gasless bid: {placed['price_per_wh']} units/Wh (nonce {placed['nonce']})")
        chain.advance_time(request["deadline_ts"] - chain.now())
        closed = buyer.post(f"/requests/{request_id}/close")
        winner = next(n for n in nodes if n.address == closed["seller"])
        out(f"\nclosed with the signed bids relayed: {winner.name} wins at {closed['price_per_wh']} units/Wh")
        met = buyer.post(f"/requests/{request_id}/meet")
        out(
            f"meeting: presentations verified both ways; exact point sealed to {winner.name} "
            f"({'sent' if met['point_sent'] else 'not sent'})"
        )
        chain.advance_time(request["delivery_start_ts"] - chain.now())
        confirmed = buyer.post(f"/requests/{request_id}/confirm", {"delivered_wh": 19_500})
        out(f"delivery confirmed: 19,500 Wh (a signed receipt went to {winner.name}), status {confirmed['status']}")
        grace_end = request["delivery_end_ts"] + system.market.grace_period_s()
        chain.advance_time(grace_end - chain.now())
        finalized = buyer.post(f"/requests/{request_id}/finalize")
        out(
            f"  less than the award: pending until the window's end plus grace, then finalized: status "
            f"{finalized['status']}"
        )
        paid = 19_500 * closed["price_per_wh"]
        owners[winner.name].post("/withdraw", {"amount": paid})
        refund = buyer.post("/withdraw")["withdrawn"]
        balances = owners[winner.name].get("/balances")
        out(
            f"  {winner.name} withdrew {DEV_UNITS.amount(paid)} and keeps {DEV_UNITS.amount(balances['free'])} free "
            f"as penalty cover; buyer withdrew its refund {DEV_UNITS.amount(refund)}"
        )
        out("\ntrades as each node records them:")
        for n in nodes:
            for trade in owners[n.name].get("/trades"):
                out(
                    f"  {n.name:<9} request #{trade['request_id']} role {trade['role']:<6} status {trade['status']:<8} "
                    f"price {trade['price_per_wh']}"
                )
        return {
            "request_id": request_id,
            "winner": winner.name,
            "price_per_wh": closed["price_per_wh"],
            "paid": paid,
            "refund": refund,
        }
    finally:
        for node in nodes:
            node.process.terminate()
        for node in nodes:
            try:
                node.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                node.process.kill()
