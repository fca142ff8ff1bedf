"""Gas of the batch Clearing per settled trade: batches of 1, 10, 100 and 500 one-to-one trades.

Design (B), the contract's: commitClearing (orders + trades as calldata, every rule but signatures checked, both
Merkle roots built on-chain), then after the challenge window settle (the trade list re-hashed to the root, each
trade escrowed). Design (A), for comparison (contracts/test/VerifiedClearingBench.sol): the same commit plus every
order's signature recovered on-chain, settled right after (no window). Every trade has its own buyer and seller,
each with a deposit already in the contract (a cold, non-zero account slot: the steady state).
The largest batch that fits a 30M gas block is solved from a quadratic fit (memory grows quadratically) of the
measured commit and settle gas; the binding transaction is named.
Run: .venv/bin/python scripts/bench_settlement.py [--chains embedded,anvil] [--sizes 1,10,100,500]
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from v2vchain.chain import Chain, connect  # noqa: E402
from v2vchain.clearing_deploy import ClearingDeployParams, deploy_clearing  # noqa: E402
from v2vchain.compiler import Build, compile_contracts  # noqa: E402
from v2vchain.contracts.clearing import ChainOrder, ClearingClient, TradeInput  # noqa: E402
from v2vchain.deploy import System, deploy  # noqa: E402
from v2vchain.devnet import add_issuer, credential_for  # noqa: E402
from v2vchain.identity import ROLE_BUYER, ROLE_SELLER  # noqa: E402

BLOCK_GAS = 30_000_000
ENERGY_WH, BUY_LIMIT, SELL_LIMIT, PRICE = 10_000, 150, 50, 100
DEPOSIT = 50_000_000  # per vehicle per contract: 10 kWh x 100 for five batches, or the sellers' penalty cover
VERIFIED_SIZES = (1, 10, 100)  # design (A) needs its own deposits: measured on the first 100 pairs


def gas(receipt: Any) -> int:
    return int(receipt["gasUsed"])


def calldata_gas(data: bytes) -> int:
    return sum(4 if b == 0 else 16 for b in data)


@dataclass
class Fleet:
    buyers: list[LocalAccount]
    sellers: list[LocalAccount]
    operator: LocalAccount


def _send(chain: Chain, account: LocalAccount, to: str, data: str | bytes, gas_limit: int) -> None:
    chain.sender(account).send({"to": to, "data": data, "gas": gas_limit}, action="bench setup")


def onboard_fleet(system: System, clearings: list[ClearingClient], pairs: int, funded_pairs: list[int]) -> Fleet:
    """Registered vehicles with deposits; explicit gas limits skip estimation (setup only, not measured)."""
    chain, token, registry = system.chain, system.token, system.registry
    issuer = add_issuer(system)
    admin = chain.funder
    operator = Account.create()
    buyers = [Account.create() for _ in range(pairs)]
    sellers = [Account.create() for _ in range(pairs)]
    started = time.monotonic()
    everyone = [(operator, 3, -1)] + [(b, ROLE_BUYER, i) for i, b in enumerate(buyers)] \
        + [(s, ROLE_SELLER, i) for i, s in enumerate(sellers)]
    for n, (account, roles, pair) in enumerate(everyone):
        chain.sender(admin).send({"to": account.address, "value": 10**17, "gas": 21_000}, action="fund")
        credential = credential_for(system, issuer, account, roles)
        data = registry.contract.encode_abi("register", args=[
            credential.vehicle, credential.did_hash, roles, credential.expiry, credential.signature])
        _send(chain, admin, registry.address, data, 300_000)
        contracts = [c for k, c in enumerate(clearings) if pair < funded_pairs[k]]
        _send(chain, admin, token.address, token.contract.encode_abi("mint", args=[account.address, 10**12]), 100_000)
        for clearing in contracts:
            _send(chain, account, token.address, token.contract.encode_abi(
                "approve", args=[clearing.address, 2**256 - 1]), 100_000)
            if account is operator:
                _send(chain, account, clearing.address, clearing.contract.encode_abi(
                    "postBond", args=[clearing.operator_bond() * 8]), 200_000)
            else:
                _send(chain, account, clearing.address, clearing.contract.encode_abi(
                    "deposit", args=[DEPOSIT]), 200_000)
        if n and n % 200 == 0:
            print(f"  ... {n}/{len(everyone)} vehicles onboarded ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    return Fleet(buyers, sellers, operator)


def batch(chain: Chain, clearing: ClearingClient, fleet: Fleet, n: int, nonce: int) -> tuple[list, list[TradeInput]]:
    start = chain.now() + 3_600
    signed, trades = [], []
    for i in range(n):
        for account, side, limit in ((fleet.buyers[i], 1, BUY_LIMIT), (fleet.sellers[i], 2, SELL_LIMIT)):
            order = ChainOrder(owner=account.address, side=side, energy_wh=ENERGY_WH, limit_price_per_wh=limit,
                               area_id=b"\x11" * 32, window_start_ts=start, window_end_ts=start + 7_200, nonce=nonce,
                               expiry_ts=start)
            signed.append(clearing.sign_order(account, order))
        trades.append(TradeInput(2 * i, 2 * i + 1, ENERGY_WH, PRICE, PRICE))
    return signed, trades


def run_batch(chain: Chain, clearing: ClearingClient, fleet: Fleet, n: int, nonce: int, *,
              commit_fn: str = "commitClearing") -> dict[str, int]:
    operator = clearing.connect(chain.sender(fleet.operator))
    signed, trades = batch(chain, clearing, fleet, n, nonce)
    prepared = operator.prepare(signed, trades, mechanism_id=1)  # type: ignore[attr-defined]
    commit = operator.commit(prepared, fn=commit_fn)  # type: ignore[attr-defined]
    wait = clearing.challenge_window_s()
    if wait:
        chain.advance_time(wait)
    settle = operator.settle(prepared)  # type: ignore[attr-defined]
    settle_tx = chain.w3.eth.get_transaction(settle["transactionHash"])
    opened = operator.events(settle, "ClearingSettled")[0]["args"]["openedTrades"]
    if opened != n:
        raise SystemExit(f"only {opened} of {n} trades opened: the bench setup is wrong")
    result = {"commit": gas(commit), "settle": gas(settle),
              "settle_calldata": calldata_gas(bytes(settle_tx["input"]))}
    if n == 100:
        buyer = clearing.connect(chain.sender(fleet.buyers[0]))
        result["confirm_one_trade"] = gas(buyer.confirm_delivery(prepared, 0, ENERGY_WH))  # type: ignore[attr-defined]
        seller = clearing.connect(chain.sender(fleet.sellers[0]))
        result["withdraw"] = gas(seller.withdraw(PRICE * ENERGY_WH))  # type: ignore[attr-defined]
    return result


def largest_fitting(points: dict[int, int]) -> int:
    """Solve a + b n + c n^2 = BLOCK_GAS through the three largest measured sizes."""
    (x1, y1), (x2, y2), (x3, y3) = sorted(points.items())[-3:]
    denom = (x1 - x2) * (x1 - x3) * (x2 - x3)
    c = (x3 * (y2 - y1) + x2 * (y1 - y3) + x1 * (y3 - y2)) / denom
    b = (x3 * x3 * (y1 - y2) + x2 * x2 * (y3 - y1) + x1 * x1 * (y2 - y3)) / denom
    a = y1 - b * x1 - c * x1 * x1
    if abs(c) < 1e-12:
        return int((BLOCK_GAS - a) / b)
    return int((-b + math.sqrt(b * b - 4 * c * (a - BLOCK_GAS))) / (2 * c))


def measure(chain: Chain, build: Build, sizes: list[int]) -> dict[str, Any]:
    system = deploy(chain, build=build)
    big = max(sizes)
    optimistic = deploy_clearing(system, ClearingDeployParams(max_trades=max(big, 1_000),
                                                              max_orders=max(2 * big, 2_000)))
    verified = deploy_clearing(system, ClearingDeployParams(challenge_window_s=0), contract="VerifiedClearingBench")
    verified_sizes = [n for n in sizes if n in VERIFIED_SIZES]
    fleet = onboard_fleet(system, [optimistic, verified], big, [big, max(verified_sizes, default=0)])
    rows: dict[str, Any] = {"B": {}, "A": {}}
    for nonce, n in enumerate(sizes):
        rows["B"][n] = run_batch(chain, optimistic, fleet, n, nonce)
        print(f"  B n={n}: {rows['B'][n]}", file=sys.stderr)
    for nonce, n in enumerate(verified_sizes):
        rows["A"][n] = run_batch(chain, verified, fleet, n, nonce, commit_fn="commitVerified")
        print(f"  A n={n}: {rows['A'][n]}", file=sys.stderr)
    return rows


def report(name: str, rows: dict[str, Any]) -> None:
    print(f"[{name}] design B (optimistic, the contract): commit + settle after the challenge window")
    print(f"{'trades':>7} {'commit':>12} {'settle':>12} {'settle/trade':>13} {'commit/trade':>13} {'total/trade':>12}")
    for n, r in rows["B"].items():
        print(f"{n:>7} {r['commit']:>12,} {r['settle']:>12,} {r['settle'] // n:>13,} {r['commit'] // n:>13,} "
              f"{(r['commit'] + r['settle']) // n:>12,}")
    if rows["A"]:
        print(f"[{name}] design A (every signature verified in the commit; fixture), settled at once")
        print(f"{'trades':>7} {'commit':>12} {'settle':>12} {'total/trade':>12} {'one-tx est./trade':>18}")
        for n, r in rows["A"].items():
            one_tx = r["commit"] + r["settle"] - 21_000 - r["settle_calldata"]
            print(f"{n:>7} {r['commit']:>12,} {r['settle']:>12,} {(r['commit'] + r['settle']) // n:>12,} "
                  f"{one_tx // n:>18,}")
    extra = rows["B"].get(100, {})
    if "confirm_one_trade" in extra:
        print(f"[{name}] per trade after settlement: confirmDelivery {extra['confirm_one_trade']:,}, "
              f"seller's withdraw {extra['withdraw']:,}")
    if len(rows["B"]) >= 3:
        commit_fit = largest_fitting({n: r["commit"] for n, r in rows["B"].items()})
        settle_fit = largest_fitting({n: r["settle"] for n, r in rows["B"].items()})
        binding = "commit" if commit_fit <= settle_fit else "settle"
        print(f"[{name}] largest batch in a {BLOCK_GAS:,} gas block: commit {commit_fit:,} trades, settle "
              f"{settle_fit:,} trades -> {min(commit_fit, settle_fit):,} ({binding} binds)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", default="embedded")
    parser.add_argument("--sizes", default="1,10,100,500")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    build = compile_contracts(include_test=True)
    first: dict[str, Any] | None = None
    for name in args.chains.split(","):
        started = time.monotonic()
        with connect(name) as chain:
            rows = measure(chain, build, sizes)
        report(name, rows)
        print(f"[{name}] measured in {time.monotonic() - started:.0f} s")
        first = first or rows
    assert first is not None
    if 100 in first["B"]:
        print(f"gas_per_trade_batch_100={first['B'][100]['settle'] // 100}")


if __name__ == "__main__":
    main()
