"""Deploys the system and records each deployment per chain, so later commands reuse it."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from v2vchain.chain.compiler import Build, compile_contracts
from v2vchain.chain.connect import Chain
from v2vchain.chain.reverts import register_abi
from v2vchain.chain.tx import Sender
from v2vchain.contracts.market import MarketClient
from v2vchain.contracts.registry import RegistryClient
from v2vchain.contracts.token import TokenClient

from .errors import ConfigError, DeploymentError
from .paths import state_dir


@dataclass(frozen=True)
class MarketParams:
    penalty_bps: int = 2_000  # 20 % of the trade's value is the seller's no-show penalty
    grace_period_s: int = 3_600
    max_lead_time_s: int = 7 * 86_400
    max_delivery_window_s: int = 2 * 86_400
    relay_period_s: int = 600  # after the deadline, only the buyer or its relayer may close for this long


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    token: str
    registry: str
    market: str
    block: int
    admin: str
    compiler: str
    source_hash: str
    dev_token: bool
    params: dict[str, int] = field(default_factory=dict)


@dataclass
class System:
    """The deployed contracts, bound to the admin's key; `.connect(sender)` on each for other keys."""

    chain: Chain
    build: Build
    deployment: Deployment
    token: TokenClient
    registry: RegistryClient
    market: MarketClient

    def as_(self, sender: Sender) -> "System":
        return System(self.chain, self.build, self.deployment, self.token.connect(sender),  # type: ignore[arg-type]
                      self.registry.connect(sender), self.market.connect(sender))  # type: ignore[arg-type]


def deployments_file(chain_id: int) -> Path:
    return state_dir() / "deployments" / f"{chain_id}.json"


def _deploy_one(chain: Chain, sender: Sender, build: Build, name: str, *args: Any) -> tuple[str, int]:
    artifact = build[name]
    factory = chain.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    data = factory.constructor(*args).data_in_transaction
    receipt = sender.send({"data": data}, action=f"deploy {name}")
    address = receipt["contractAddress"]
    if not address:
        raise DeploymentError(f"{name}: the receipt carries no contract address")
    return str(address), int(receipt["blockNumber"])


def deploy(chain: Chain, *, admin: LocalAccount | None = None, token_address: str | None = None,
           params: MarketParams = MarketParams(), build: Build | None = None) -> System:
    """Deploy Registry and Market (and the dev EnergyToken unless a token is given) and record them."""
    build = build or compile_contracts()
    admin = admin or chain.funder
    sender = chain.sender(admin)
    dev_token = token_address is None
    if dev_token:
        token_address, _ = _deploy_one(chain, sender, build, "EnergyToken", admin.address)
    elif not chain.w3.eth.get_code(token_address):  # type: ignore[arg-type]
        raise ConfigError(f"no contract at token address {token_address}")
    registry_address, _ = _deploy_one(chain, sender, build, "Registry", admin.address)
    market_address, block = _deploy_one(
        chain, sender, build, "Market", admin.address, token_address, registry_address, params.penalty_bps,
        params.grace_period_s, params.max_lead_time_s, params.max_delivery_window_s, params.relay_period_s,
    )
    deployment = Deployment(
        chain_id=chain.chain_id, token=str(token_address), registry=registry_address, market=market_address,
        block=block, admin=admin.address, compiler=build.compiler, source_hash=build.source_hash,
        dev_token=dev_token, params=asdict(params),
    )
    path = deployments_file(deployment.chain_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(deployment), indent=2))
    return attach(chain, deployment, sender, build)


def attach(chain: Chain, deployment: Deployment, sender: Sender, build: Build | None = None) -> System:
    build = build or compile_contracts()
    for artifact in build.artifacts.values():
        register_abi(artifact.abi)

    def bound(name: str, address: str) -> Any:
        return chain.w3.eth.contract(address=address, abi=build[name].abi)  # type: ignore[arg-type]

    return System(
        chain=chain, build=build, deployment=deployment,
        token=TokenClient(bound("EnergyToken", deployment.token), sender),
        registry=RegistryClient(bound("Registry", deployment.registry), sender),
        market=MarketClient(bound("Market", deployment.market), sender),
    )


def load_recorded(chain: Chain, sender: Sender) -> System | None:
    """The recorded deployment for this chain, if its contracts are still there with today's code."""
    path = deployments_file(chain.chain_id)
    if not path.exists():
        return None
    deployment = Deployment(**json.loads(path.read_text()))
    build = compile_contracts()
    if deployment.source_hash != build.source_hash:
        return None
    if not chain.w3.eth.get_code(deployment.market):  # type: ignore[arg-type]
        return None  # a fresh dev chain under the same chain id
    return attach(chain, deployment, sender, build)
