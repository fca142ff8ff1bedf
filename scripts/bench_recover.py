"""Signed orders and bids recovered per second on one core: eth-account (tests/support/eth_account_recover.py, how
the project verified before) beside the fast path (protocol.recover), on the same signatures in the same run.

    .venv/bin/python scripts/bench_recover.py [--signatures N]

Each path recovers every signature from the message dict and the 65 bytes (struct hashing included; the fast path's
TypedHasher is built once per type and domain, as a verifier keeps it; protocol.signatures.recover_typed, which
every verifier in v2vchain and node goes through, finds its hasher per call). The answers are compared, signature
by signature, before anything is timed. One thread; the figure is process CPU time, best of 3. Last, the same orders
checked as columns (v2vchain.matching.columnar_signatures: structs encoded with NumPy, signer compared as bytes).

With coincurve installed, eth-keys (under eth-account) recovers with it too, so eth-account's figure here is already
its fastest; the pure-Python backend it used before is measured by running with
ECC_BACKEND_CLASS=eth_keys.backends.NativeECCBackend.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from bench_clearing import city
from eth_account import Account

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # the tests' eth-account reference, not an installed module

from tests.support.eth_account_recover import eth_account_signer
from v2vchain.matching import Order, columnar
from v2vchain.matching.columnar_signatures import signed_by_owner
from v2vchain.matching.signing import order_message
from v2vchain.protocol import eip712, signatures
from v2vchain.protocol.recover import TypedHasher

CHAIN_ID, CONTRACT = 31337, "0x" + "5f" * 20


def signed(
    n: int, rng: random.Random
) -> tuple[dict[str, tuple[dict, dict, list[tuple[dict[str, Any], bytes]]]], list[Order]]:
    """n signed orders and n signed bids, each by one of 64 keys (an order by its owner), and the orders."""
    keys = [Account.from_key(rng.getrandbits(256).to_bytes(32, "big")) for _ in range(64)]
    clearing = eip712.domain(eip712.CLEARING_DOMAIN, CHAIN_ID, CONTRACT)
    market = eip712.domain(eip712.MARKET_DOMAIN, CHAIN_ID, CONTRACT)
    orders = [dataclasses.replace(o, owner=keys[i % 64].address) for i, o in enumerate(city(n, rng, cells=50))]
    bids = [
        {
            "requestId": rng.getrandbits(64),
            "seller": keys[i % 64].address,
            "pricePerWh": rng.randrange(50, 151),
            "energyWh": rng.randrange(1_000, 40_001),
            "nonce": i,
            "expiry": 1_750_000_000 + i,
        }
        for i in range(n)
    ]
    kinds = (
        ("order", clearing, eip712.ORDER_TYPES, [order_message(o) for o in orders]),
        ("bid", market, eip712.BID_TYPES, bids),
    )
    books = {
        kind: (domain, types, [(m, eip712.sign(keys[i % 64], domain, types, m)) for i, m in enumerate(messages)])
        for kind, domain, types, messages in kinds
    }
    return books, orders


def per_second(count: int, run: Callable[[], Any]) -> float:
    best = math.inf
    for _ in range(3):
        t = time.process_time()
        run()
        best = min(best, time.process_time() - t)
    return count / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signatures", type=int, default=2_000, help="per type")
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    ratios = []
    books, orders = signed(args.signatures, random.Random(args.seed))
    for kind, (domain, types, vectors) in books.items():
        hasher = TypedHasher(domain, types)
        slow = [eth_account_signer(domain, types, m, s) for m, s in vectors]
        assert [hasher.recover(m, s) for m, s in vectors] == slow, "the fast path disagrees with eth-account"
        assert [signatures.recover_typed(domain, types, m, s) for m, s in vectors] == slow, "recover_typed disagrees"
        eth = per_second(len(vectors), lambda: [eth_account_signer(domain, types, m, s) for m, s in vectors])
        fast = per_second(len(vectors), lambda: [hasher.recover(m, s) for m, s in vectors])
        typed = per_second(len(vectors), lambda: [signatures.recover_typed(domain, types, m, s) for m, s in vectors])
        ratios.append(min(fast, typed) / eth)
        print(
            f"{kind}s: eth-account {eth:,.0f}/s, fast path {fast:,.0f}/s per core ({fast / eth:.1f}x), "
            f"signatures.recover_typed {typed:,.0f}/s ({typed / eth:.1f}x), {len(vectors):,} signatures, "
            "identical signers"
        )
    domain, _, vectors = books["order"]
    cols = columnar.from_orders(orders)
    sigs = np.frombuffer(b"".join(s for _, s in vectors), np.uint8).reshape(len(vectors), 65)
    on_columns = per_second(len(vectors), lambda: signed_by_owner(cols, domain, sigs))
    print(
        f"orders as columns (columnar_signatures.signed_by_owner): {on_columns:,.0f}/s per core, "
        f"{int(signed_by_owner(cols, domain, sigs).sum()):,} of {len(vectors):,} signed by their owners"
    )
    print(f"recover_per_s_over_eth_account={min(ratios):.1f}")


if __name__ == "__main__":
    main()
