"""The audit tests' chain: indexing helpers, the demo's deployment, and a node that fails on purpose."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from v2vchain.audit.decode import ContractSpec, specs_from_deployment
from v2vchain.audit.indexer import Indexer, IndexReport
from v2vchain.audit.rpc import Node, node_for
from v2vchain.audit.store import Store
from v2vchain.chain.compiler import Build
from v2vchain.chain.connect import Chain
from v2vchain.deploy import System


def abis(build: Build) -> dict[str, list[dict[str, Any]]]:
    return {name: artifact.abi for name, artifact in build.artifacts.items()}


def specs_of(system: System, build: Build) -> list[ContractSpec]:
    return specs_from_deployment(asdict(system.deployment), abis(build))


def index(target: Any, specs: list[ContractSpec], db: Path | str, **kw: Any) -> IndexReport:
    """Open (or create) the index at db and run the indexer once; confirmations default to 0 on dev chains."""
    node = target if hasattr(target, "logs") else node_for(target)
    kw.setdefault("confirmations", 0)
    to_block = kw.pop("to_block", None)
    with Store.open(db, create=True) as store:
        return Indexer(store, node, specs, **kw).run(to_block=to_block)


def rows(db: Path | str) -> list[tuple[Any, ...]]:
    """Every stored event as comparable values, in chain order."""
    with Store.open(db) as store:
        return list(
            store.db.execute(
                "SELECT block_number, block_hash, tx_hash, log_index, contract, event, args "
                "FROM events ORDER BY block_number, tx_index, log_index"
            )
        )


def chain_logs(chain: Chain, specs: list[ContractSpec]) -> list[tuple[int, str, int]]:
    """What the node itself holds for these contracts: (block, tx hash, log index) of every log."""
    logs = chain.w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest", "address": [s.address for s in specs]})
    return [(int(l["blockNumber"]), "0x" + bytes(l["transactionHash"]).hex(), int(l["logIndex"])) for l in logs]


def deployment_on(chain: Chain) -> dict[str, Any]:
    """The demo's deployment read back from the chain (the shared deployments file may belong to another process
    by now): deploy() creates the token, the registry and the market, in that order, first thing."""
    created = []
    for number in range(1, chain.w3.eth.block_number + 1):
        for tx in chain.w3.eth.get_block(number)["transactions"]:
            receipt = chain.w3.eth.get_transaction_receipt(tx)
            if receipt["contractAddress"]:
                created.append((str(receipt["contractAddress"]), number))
        if len(created) >= 3:
            break
    (token, _), (registry, _), (market, block) = created[:3]
    return {
        "chain_id": chain.chain_id,
        "token": token,
        "registry": registry,
        "market": market,
        "block": block,
        "dev_token": True,
    }


@dataclass
class Demo:
    chain: Chain
    deployment: dict[str, Any]
    specs: list[ContractSpec]
    result: dict[str, int]
    db: Path  # indexed to the head: read it, never write it


class FaultyNode:
    """A real node with faults injected by a rule on each eth_getLogs range: `fault(first, last)` returns an
    exception to raise, or None to pass the call through. Every range asked for is recorded."""

    def __init__(self, node: Node, fault: Any) -> None:
        self.node = node
        self.fault = fault
        self.asked: list[tuple[int, int]] = []

    def logs(self, first: int, last: int, addresses: Any) -> Any:
        self.asked.append((first, last))
        error = self.fault(first, last)
        if error is not None:
            raise error
        return self.node.logs(first, last, addresses)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.node, name)


class CallRecordingNode:
    """A real node that records the address of every eth_call made through it."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.called: list[str] = []

    def eth_call(self, address: str, data: str, block: int) -> str:
        self.called.append(address)
        return self.node.eth_call(address, data, block)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.node, name)
