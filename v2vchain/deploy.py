"""Deploys the system (token, Registry, Market, Clearing) and records it per chain in one file, so later commands
reuse it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from v2vchain.chain.compiler import Build, compile_contracts
from v2vchain.chain.connect import Chain
from v2vchain.chain.reverts import register_abi
from v2vchain.chain.tx import Sender
from v2vchain.contracts.base import ContractClient
from v2vchain.contracts.clearing import ClearingClient
from v2vchain.contracts.market import MarketClient
from v2vchain.contracts.registry import RegistryClient
from v2vchain.contracts.token import TokenClient

from .errors import ConfigError, DeploymentError
from .paths import state_dir

C = TypeVar("C", bound=ContractClient)


@dataclass(frozen=True)
class MarketParams:
    penalty_bps: int = 2_000  # 20 % of the trade's value is the seller's no-show penalty
    grace_period_s: int = 3_600
    max_lead_time_s: int = 7 * 86_400
    max_delivery_window_s: int = 2 * 86_400
    relay_period_s: int = 600  # after the deadline, only the buyer or its relayer may close for this long


@dataclass(frozen=True)
class ClearingParams:
    penalty_bps: int = 2_000  # the Market's: 20 % of the seller's receipt is its no-show penalty (never 0)
    grace_period_s: int = 3_600  # after a delivery window: receipts, then finalize or reclaim (never 0)
    max_trades: int = 500  # one commit (signatures, escrow) fits well inside a 30M gas block
    max_orders: int = 1_000


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
    clearing: str | None = None  # the batch Clearing beside the Market: same token, same registry
    clearing_contract: str = "Clearing"  # a test or benchmark subclass when deployed as one
    clearing_params: dict[str, int] = field(default_factory=dict)


@dataclass
class System:
    """The deployed contracts, bound to the admin's key; `.connect(sender)` on each for other keys."""

    chain: Chain
    build: Build
    deployment: Deployment
    token: TokenClient
    registry: RegistryClient
    market: MarketClient
    clearing: ClearingClient | None = None

    def as_(self, sender: Sender) -> System:
        return System(
            self.chain,
            self.build,
            self.deployment,
            self.token.connect(sender),
            self.registry.connect(sender),
            self.market.connect(sender),
            None if self.clearing is None else self.clearing.connect(sender),
        )


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


def deploy(
    chain: Chain,
    *,
    admin: LocalAccount | None = None,
    token_address: str | None = None,
    params: MarketParams = MarketParams(),
    clearing: ClearingParams | None = ClearingParams(),
    build: Build | None = None,
) -> System:
    """Deploy Registry, Market, Clearing (unless `clearing` is None) and the dev EnergyToken unless a token is
    given, and record them in one file."""
    build = build or compile_contracts()
    admin = admin or chain.funder
    sender = chain.sender(admin)
    dev_token = token_address is None
    if dev_token:
        token_address, _ = _deploy_one(chain, sender, build, "EnergyToken", admin.address)
    elif not chain.w3.eth.get_code(token_address):  # type: ignore[arg-type]  # web3 wants a ChecksumAddress; the address was checksummed by the CLI
        raise ConfigError(f"no contract at token address {token_address}")
    registry_address, _ = _deploy_one(chain, sender, build, "Registry", admin.address)
    market_address, block = _deploy_one(
        chain,
        sender,
        build,
        "Market",
        admin.address,
        token_address,
        registry_address,
        params.penalty_bps,
        params.grace_period_s,
        params.max_lead_time_s,
        params.max_delivery_window_s,
        params.relay_period_s,
    )
    deployment = Deployment(
        chain_id=chain.chain_id,
        token=str(token_address),
        registry=registry_address,
        market=market_address,
        block=block,
        admin=admin.address,
        compiler=build.compiler,
        source_hash=build.source_hash,
        dev_token=dev_token,
        params=asdict(params),
    )
    if clearing is not None:
        deployment = _with_clearing(chain, sender, build, deployment, clearing, "Clearing")
    _record(deployment)
    return attach(chain, deployment, sender, build)


def deploy_clearing(
    system: System, params: ClearingParams = ClearingParams(), *, contract: str = "Clearing"
) -> ClearingClient:
    """Deploy a Clearing beside `system` (signed by its admin key), bind it to `system` and record it in place of
    any earlier one; `contract` names a test or benchmark subclass if needed."""
    if contract not in system.build.artifacts:
        raise ConfigError(f"{contract} is not in this build (test fixtures need compile_contracts(include_test=True))")
    system.deployment = _with_clearing(
        system.chain, system.market.sender, system.build, system.deployment, params, contract
    )
    _record(system.deployment)
    system.clearing = _bind(
        system.chain, system.build, contract, system.deployment.clearing, ClearingClient, system.market.sender
    )
    return system.clearing


def _with_clearing(
    chain: Chain, sender: Sender, build: Build, deployment: Deployment, params: ClearingParams, contract: str
) -> Deployment:
    address, _ = _deploy_one(
        chain,
        sender,
        build,
        contract,
        deployment.admin,
        deployment.token,
        deployment.registry,
        params.penalty_bps,
        params.grace_period_s,
        params.max_trades,
        params.max_orders,
    )
    return replace(deployment, clearing=address, clearing_contract=contract, clearing_params=asdict(params))


def _record(deployment: Deployment) -> None:
    path = deployments_file(deployment.chain_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(deployment), indent=2))


def attach(chain: Chain, deployment: Deployment, sender: Sender, build: Build | None = None) -> System:
    build = build or compile_contracts()
    for artifact in build.artifacts.values():
        register_abi(artifact.abi)
    if deployment.clearing is not None and deployment.clearing_contract not in build.artifacts:
        raise ConfigError(f"the recorded Clearing is a {deployment.clearing_contract}, which this build lacks")
    return System(
        chain=chain,
        build=build,
        deployment=deployment,
        token=_bind(chain, build, "EnergyToken", deployment.token, TokenClient, sender),
        registry=_bind(chain, build, "Registry", deployment.registry, RegistryClient, sender),
        market=_bind(chain, build, "Market", deployment.market, MarketClient, sender),
        clearing=None
        if deployment.clearing is None
        else _bind(chain, build, deployment.clearing_contract, deployment.clearing, ClearingClient, sender),
    )


def _bind(chain: Chain, build: Build, name: str, address: str | None, client: type[C], sender: Sender) -> C:
    contract = chain.w3.eth.contract(address=to_checksum_address(str(address)), abi=build[name].abi)
    return client(contract, sender)


def load_recorded(chain: Chain, sender: Sender) -> System | None:
    """The recorded deployment for this chain, if its contracts are still there with today's code."""
    path = deployments_file(chain.chain_id)
    if not path.exists():
        return None
    deployment = Deployment(**json.loads(path.read_text()))
    build = compile_contracts()
    if deployment.source_hash != build.source_hash:
        return None
    if not chain.w3.eth.get_code(deployment.market):  # type: ignore[arg-type]  # web3 wants a ChecksumAddress; the record holds checksummed addresses
        return None  # a fresh dev chain under the same chain id
    return attach(chain, deployment, sender, build)
