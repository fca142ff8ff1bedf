"""Indexer throughput on a real anvil, into SQLite and into PostgreSQL: thousands of events in dense, packed and
empty stretches of blocks.

Generates, on a fresh anvil: a deployment with onboarded vehicles and complete reverse-auction trades; token
transfers one per block (automine); token transfers packed many per block (automine off, evm_mine); and a run of
empty blocks (anvil_mine). Then indexes each stretch into each backend in turn, a fresh index each, and prints
blocks/s and events/s. PostgreSQL is the server --postgres names (an empty database), or else a throwaway cluster
started from Debian's binaries as the tests start it (tests/support/postgres.py), with fsync on as a server keeps it.
Run: .venv/bin/python scripts/bench_indexer.py [--trades 100] [--transfers 4000] [--per-block 200]
     [--empty-blocks 5000] [--batch-blocks 2000] [--postgres postgresql://user@host/empty_database]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import requests
from eth_account import Account
from eth_utils import keccak

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' cluster helper, not an installed module

from tests.support.postgres import running_cluster
from v2vchain.audit.decode import ContractSpec, specs_from_deployment
from v2vchain.audit.indexer import Indexer
from v2vchain.audit.ledger.market import Ledger
from v2vchain.audit.reconcile import reconcile
from v2vchain.audit.rpc import HttpNode
from v2vchain.audit.store import Store
from v2vchain.chain.connect import Chain, connect
from v2vchain.deploy import System, deploy
from v2vchain.devnet import VEC, add_issuer, onboard
from v2vchain.identity.registration import ROLE_BUYER, ROLE_SELLER
from v2vchain.protocol.areas import area_id


def trades(chain: Chain, system: System, count: int) -> None:
    issuer = add_issuer(system)
    buyer = onboard(system, issuer, "buyer", ROLE_BUYER, tokens=10_000 * VEC)
    sellers = [onboard(system, issuer, f"s{i}", ROLE_SELLER, tokens=100 * VEC, deposit=100 * VEC) for i in range(3)]
    for n in range(count):
        deadline = chain.now() + 600
        rid = buyer.system.market.open(
            energy_wh=10_000,
            max_price_per_wh=150,
            deadline_ts=deadline,
            delivery_start_ts=deadline + 60,
            delivery_end_ts=deadline + 3_600,
            area_id=area_id("u33db"),
            access_hash=keccak(n.to_bytes(8, "big")),
        )
        for i in range(3):  # descending bids, each one beating the last; the winner rotates
            sellers[(n + i) % 3].system.market.bid(rid, 120 - 10 * i - n % 7)
        chain.advance_time(600)
        buyer.system.market.close(rid)  # the buyer: the relay period
        chain.advance_time(60)
        buyer.system.market.confirm_delivery(rid, 9_000 + 50 * (n % 20))
    for party in (buyer, *sellers):
        if system.market.free_of(party.address):
            party.system.market.withdraw()


def transfers(chain: Chain, system: System, count: int, per_block: int) -> None:
    """Locally signed ERC-20 transfers, sent as JSON-RPC batches (one HTTP request per block's worth);
    per_block > 1 packs them with automine off, 1 leaves anvil mining a block per transaction."""
    sender = Account.create()
    chain.fund(sender.address, 100 * 10**18)
    system.token.mint(sender.address, count)
    token = system.token.contract
    recipients = [Account.create().address for _ in range(50)]
    nonce = chain.w3.eth.get_transaction_count(sender.address)
    raw = [
        sender.sign_transaction(
            {
                "to": token.address,
                "data": token.encode_abi("transfer", [recipients[i % 50], 1]),
                "value": 0,
                "gas": 80_000,
                "maxFeePerGas": 50 * 10**9,
                "maxPriorityFeePerGas": 10**9,
                "nonce": nonce + i,
                "chainId": chain.chain_id,
                "type": 2,
            }
        ).raw_transaction.hex()
        for i in range(count)
    ]
    packed = per_block > 1
    if packed:
        chain._rpc("evm_setAutomine", [False])
    url = chain.anvil.url
    step = per_block if packed else 1  # a batch is handled concurrently: automine would pack it unevenly
    for start in range(0, count, step):
        batch = [
            {"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": ["0x" + tx.removeprefix("0x")]}
            for i, tx in enumerate(raw[start : start + step])
        ]
        answers = requests.post(url, json=batch, timeout=120).json()
        failed = [a["error"] for a in answers if "error" in a]
        if failed:
            raise SystemExit(f"anvil refused transfers: {failed[:3]}")
        if packed:
            chain._rpc("evm_mine", [])
    if packed:
        chain._rpc("evm_setAutomine", [True])
    deadline = time.monotonic() + 60
    while chain.w3.eth.get_transaction_count(sender.address) != nonce + count:
        if time.monotonic() > deadline:
            raise SystemExit("not every transfer was mined")
        time.sleep(0.1)


def mine_empty(chain: Chain, blocks: int) -> None:
    for left in range(blocks, 0, -1_000):  # in chunks: one big anvil_mine outlasts the HTTP timeout
        chain._rpc("anvil_mine", [hex(min(left, 1_000))])


@contextlib.contextmanager
def postgres_database(url: str | None) -> Iterator[str]:
    """The --postgres URL, or an empty database on a throwaway cluster that is gone afterwards."""
    if url:
        yield url
        return
    cluster = running_cluster(fsync=True)
    try:
        yield next(cluster).database()
    finally:
        cluster.close()  # stops and deletes it


def size_mb(store: Store) -> float:
    if store.path.startswith("postgresql://"):
        return int(store.db.execute("SELECT pg_database_size(current_database())").fetchone()[0]) / 1e6
    return Path(store.path).stat().st_size / 1e6


def bench(
    where: str, label: str, rpc_url: str, specs: list[ContractSpec], stretches: list[tuple[str, int]], batch_blocks: int
) -> tuple[int, float]:
    """Index every stretch into a fresh index at `where`, print a line per stretch; (events, seconds) overall."""
    with Store.open(where, create=True) as store:
        indexer = Indexer(store, HttpNode(rpc_url), specs, batch_blocks=batch_blocks, confirmations=0)
        print(f"\nindexing with eth_getLogs over {batch_blocks}-block ranges into {label}\n")
        print(f"{'stretch':<38}{'blocks':>8}{'events':>9}{'seconds':>9}{'blocks/s':>10}{'events/s':>10}")
        total_blocks = total_events = 0
        total_s = 0.0
        for name, upto in stretches:
            r = indexer.run(to_block=upto)
            total_blocks, total_events, total_s = total_blocks + r.blocks, total_events + r.events, total_s + r.seconds
            print(
                f"{name:<38}{r.blocks:>8}{r.events:>9}{r.seconds:>9.2f}{r.blocks_per_s:>10,.0f}{r.events_per_s:>10,.0f}"
            )
        print(
            f"{'all':<38}{total_blocks:>8}{total_events:>9}{total_s:>9.2f}"
            f"{total_blocks / total_s:>10,.0f}{total_events / total_s:>10,.0f}"
        )
        idle = indexer.run()
        print(
            f"\na resumed run with nothing new: {idle.seconds * 1000:.0f} ms; "
            f"index {size_mb(store):.1f} MB, {store.count_events()} events"
        )
        t = time.perf_counter()
        result = reconcile(Ledger.from_store(store), store)
        print(
            f"reconcile from the index: {time.perf_counter() - t:.2f}s, {len(result.violations)} violations, "
            f"{result.totals['trades']} trades"
        )
    return total_events, total_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=100)
    parser.add_argument("--transfers", type=int, default=4_000, help="half one per block, half packed")
    parser.add_argument("--per-block", type=int, default=200)
    parser.add_argument("--empty-blocks", type=int, default=5_000)
    parser.add_argument("--batch-blocks", type=int, default=2_000)
    parser.add_argument("--postgres", help="an empty PostgreSQL database's URL (default: a throwaway local cluster)")
    args = parser.parse_args()

    with connect("anvil") as chain:
        started = time.perf_counter()
        system = deploy(chain)
        stretches: list[tuple[str, int]] = []
        half = args.transfers // 2
        steps = [
            (f"deploy, onboarding, {args.trades} trades", lambda: trades(chain, system, args.trades)),
            (f"{half} transfers, automine", lambda: transfers(chain, system, half, 1)),
            (
                f"{args.transfers - half} transfers, {args.per_block} per block",
                lambda: transfers(chain, system, args.transfers - half, args.per_block),
            ),
            (f"{args.empty_blocks} empty blocks", lambda: mine_empty(chain, args.empty_blocks)),
        ]
        for name, step in steps:
            t = time.perf_counter()
            step()
            stretches.append((name, chain.w3.eth.block_number))
            print(f"generated {name}: {time.perf_counter() - t:.1f}s")
        print(f"{chain.w3.eth.block_number} blocks on anvil in {time.perf_counter() - started:.1f}s")

        specs = specs_from_deployment(asdict(system.deployment), {n: a.abi for n, a in system.build.artifacts.items()})
        rpc_url = chain.anvil.url
        totals: dict[str, tuple[int, float]] = {}
        with tempfile.TemporaryDirectory() as tmp, postgres_database(args.postgres) as url:
            for label, where in (("SQLite", str(Path(tmp) / "bench.db")), ("PostgreSQL", url)):
                totals[label] = bench(where, label, rpc_url, specs, stretches, args.batch_blocks)
        print(
            "\n"
            + "; ".join(f"{label}: {events / seconds:,.0f} events/s" for label, (events, seconds) in totals.items())
        )


if __name__ == "__main__":
    main()
