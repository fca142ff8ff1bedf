"""Deploys the batch Clearing next to a deployed System (same token, same registry) and records it.

The record lives beside the System's deployments file, as `<chain id>.clearing.json`, so deploy.py and its record
stay as they are.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from v2vchain.chain.reverts import register_abi
from v2vchain.contracts.clearing import ClearingClient

from .deploy import System, _deploy_one, deployments_file
from .errors import ConfigError


@dataclass(frozen=True)
class ClearingDeployParams:
    penalty_bps: int = 2_000  # the Market's: 20 % of the seller's receipt is its no-show penalty (never 0)
    grace_period_s: int = 3_600  # after a delivery window: receipts, then finalize or reclaim (never 0)
    max_trades: int = 500  # one commit (signatures, escrow) fits well inside a 30M gas block
    max_orders: int = 1_000


@dataclass(frozen=True)
class ClearingDeployment:
    chain_id: int
    clearing: str
    token: str
    registry: str
    block: int
    admin: str
    compiler: str
    source_hash: str
    contract: str = "Clearing"
    params: dict[str, int] = field(default_factory=dict)


def clearing_deployments_file(chain_id: int) -> Path:
    main = deployments_file(chain_id)
    return main.with_name(f"{chain_id}.clearing.json")


def deploy_clearing(system: System, params: ClearingDeployParams = ClearingDeployParams(), *,
                    contract: str = "Clearing") -> ClearingClient:
    """Deploy (signed by the System's admin key) and record; `contract` names a test/bench subclass if needed."""
    if contract not in system.build.artifacts:
        raise ConfigError(f"{contract} is not in this build (test fixtures need compile_contracts(include_test=True))")
    chain, sender = system.chain, system.market.sender
    address, block = _deploy_one(
        chain, sender, system.build, contract, system.deployment.admin, system.deployment.token,
        system.deployment.registry, params.penalty_bps, params.grace_period_s, params.max_trades, params.max_orders,
    )
    record = ClearingDeployment(
        chain_id=chain.chain_id, clearing=address, token=system.deployment.token,
        registry=system.deployment.registry, block=block, admin=system.deployment.admin,
        compiler=system.build.compiler, source_hash=system.build.source_hash, contract=contract, params=asdict(params),
    )
    path = clearing_deployments_file(record.chain_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(record), indent=2))
    return _client(system, address, contract)


def load_clearing(system: System, path: Path | None = None) -> ClearingClient | None:
    """The recorded Clearing for this chain (or in `path`), if it serves this System's token and registry and is
    still there."""
    path = path or clearing_deployments_file(system.chain.chain_id)
    if not path.exists():
        return None
    record = ClearingDeployment(**json.loads(path.read_text()))
    if (record.token, record.registry) != (system.deployment.token, system.deployment.registry):
        return None
    if record.contract not in system.build.artifacts:
        return None
    if not system.chain.w3.eth.get_code(record.clearing):  # type: ignore[arg-type]
        return None  # a fresh dev chain under the same chain id
    return _client(system, record.clearing, record.contract)


def _client(system: System, address: str, contract: str) -> ClearingClient:
    abi = system.build[contract].abi
    register_abi(abi)
    bound = system.chain.w3.eth.contract(address=address, abi=abi)  # type: ignore[arg-type]
    return ClearingClient(bound, system.market.sender)
