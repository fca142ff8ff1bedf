"""Gas of the batch Clearing per trade: batches of 1, 10, 100 and 500 one-to-one trades.

A trade's life: commitClearing (orders + trades as calldata, every order's signature recovered, every rule checked,
the buyer's payment escrowed and the seller's penalty locked, the trade root built on-chain), then settleReceipts
(the whole trade list re-hashed to the root, each trade paid on the buyer's signed receipt), then the seller's
withdrawal. Every trade has its own buyer and seller, each with a deposit already in the contract (a cold, non-zero
account slot: the steady state). Sellers withdraw per period, not per trade: the lifecycle carries 1/PERIOD of one
withdrawal (the column "withdraw each trade" shows the price of withdrawing after every trade instead).
The largest batch that fits a 30M gas block is solved from a quadratic fit of the measured commit and settle gas;
the binding transaction is named. The same batches are measured again with every order carrying a 4-waypoint route
(169 bytes of calldata per order, hashed once by the commit): the price of publishing routes (500 routed trades no
longer fit a 30M-gas block with the sender's estimate margin, so the routed sizes stop at 100 by default).
Run: .venv/bin/python scripts/bench_settlement.py [--chains embedded,anvil] [--sizes 1,10,100,500]
     [--routed-sizes 1,10,100]
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

from v2vchain.chain.compiler import Build, compile_contracts
from v2vchain.chain.connect import Chain, connect
from v2vchain.contracts.clearing import ClearingClient
from v2vchain.deploy import ClearingParams, System, deploy
from v2vchain.devnet import add_issuer, credential_for
from v2vchain.identity.registration import ROLE_BUYER, ROLE_SELLER
from v2vchain.protocol.areas import area_id
from v2vchain.protocol.clearing import TradeInput
from v2vchain.protocol.orders import ChainOrder
from v2vchain.protocol.routes import Route, Waypoint

BLOCK_GAS = 30_000_000
ENERGY_WH, BUY_LIMIT, SELL_LIMIT, PRICE = 10_000, 150, 50, 100
DEPOSIT = 50_000_000  # per vehicle per contract: 10 kWh x 100 for five batches, or the sellers' penalty cover


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


def onboard_fleet(system: System, clearing: ClearingClient, pairs: int) -> Fleet:
    """Registered vehicles with deposits; explicit gas limits skip estimation (setup only, not measured)."""
    chain, token, registry = system.chain, system.token, system.registry
    issuer = add_issuer(system)
    admin = chain.funder
    operator = Account.create()
    buyers = [Account.create() for _ in range(pairs)]
    sellers = [Account.create() for _ in range(pairs)]
    started = time.monotonic()
    everyone = [(operator, 3)] + [(b, ROLE_BUYER) for b in buyers] + [(s, ROLE_SELLER) for s in sellers]
    for n, (account, roles) in enumerate(everyone):
        chain.sender(admin).send({"to": account.address, "value": 10**17, "gas": 21_000}, action="fund")
        credential = credential_for(system, issuer, account, roles)
        data = registry.contract.encode_abi(
            "register", args=[credential.vehicle, credential.did_hash, roles, credential.expiry, credential.signature]
        )
        _send(chain, admin, registry.address, data, 300_000)
        if account is operator:
            continue
        _send(chain, admin, token.address, token.contract.encode_abi("mint", args=[account.address, 10**12]), 100_000)
        _send(
            chain,
            account,
            token.address,
            token.contract.encode_abi("approve", args=[clearing.address, 2**256 - 1]),
            100_000,
        )
        _send(chain, account, clearing.address, clearing.contract.encode_abi("deposit", args=[DEPOSIT]), 200_000)
        if n and n % 200 == 0:
            print(f"  ... {n}/{len(everyone)} vehicles onboarded ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    return Fleet(buyers, sellers, operator)


ROUTE_CELLS = ("u33dc0", "u33dc1", "u33dc4", "u33dc5")  # a 4-waypoint trip across neighbouring cells


def four_waypoints(start: int, end: int) -> Route:
    """A route through ROUTE_CELLS spread over [start, end]: each waypoint a quarter of the window."""
    step = (end - start) // len(ROUTE_CELLS)
    return Route(tuple(Waypoint(c, start + k * step, start + (k + 1) * step) for k, c in enumerate(ROUTE_CELLS)))


def batch(
    chain: Chain, clearing: ClearingClient, fleet: Fleet, n: int, nonce: int, routed: bool = False
) -> tuple[list, list[TradeInput]]:
    start = chain.now() + 3_600
    route = four_waypoints(start, start + 7_200) if routed else None
    signed, trades = [], []
    for i in range(n):
        for account, side, limit in ((fleet.buyers[i], 1, BUY_LIMIT), (fleet.sellers[i], 2, SELL_LIMIT)):
            order = ChainOrder(
                owner=account.address,
                side=side,
                energy_wh=ENERGY_WH,
                limit_price_per_wh=limit,
                area_id=area_id("u33dc0"),
                window_start_ts=start,
                window_end_ts=start + 7_200,
                nonce=nonce,
                expiry_ts=start,
                route=route,
            )
            signed.append(clearing.sign_order(account, order))
        trades.append(TradeInput(2 * i, 2 * i + 1, ENERGY_WH, PRICE, PRICE))
    return signed, trades


def run_batch(
    chain: Chain, clearing: ClearingClient, fleet: Fleet, n: int, nonce: int, routed: bool = False
) -> dict[str, int]:
    operator = clearing.connect(chain.sender(fleet.operator))
    signed, trades = batch(chain, clearing, fleet, n, nonce, routed)
    prepared = operator.prepare(signed, trades, mechanism_id=1)
    commit = operator.commit(prepared)
    opened = operator.events(commit, "ClearingCommitted")[0]["args"]["openedTrades"]
    if opened != n:
        raise SystemExit(f"only {opened} of {n} trades opened: the bench setup is wrong")
    buyer_of = {b.address: b for b in fleet.buyers}
    receipts = [clearing.receipt(buyer_of[t.buyer], prepared, i) for i, t in enumerate(prepared.trades)]
    chain.advance_time(prepared.trades[0].delivery_start_ts - chain.now())
    settle = operator.settle_receipts(prepared, receipts)
    if len(operator.events(settle, "TradeClosed")) != n:
        raise SystemExit("not every trade settled: the bench setup is wrong")
    seller = clearing.connect(chain.sender(fleet.sellers[0]))
    seller.withdraw(PRICE * ENERGY_WH)
    withdraw = chain.w3.eth.get_transaction_receipt(chain.w3.eth.get_block("latest")["transactions"][-1])
    return {"commit": gas(commit), "settle": gas(settle), "withdraw": gas(withdraw)}


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


def measure(
    chain: Chain, build: Build, sizes: list[int], routed_sizes: list[int]
) -> tuple[dict[int, dict[str, int]], dict[int, dict[str, int]]]:
    """Gas per size for parked orders, then per routed size with every order routed."""
    big = max(sizes + routed_sizes)
    system = deploy(chain, build=build, clearing=ClearingParams(max_trades=max(big, 100), max_orders=2 * max(big, 100)))
    clearing = system.clearing
    assert clearing is not None
    fleet = onboard_fleet(system, clearing, big)
    rows: dict[int, dict[str, int]] = {}
    routed: dict[int, dict[str, int]] = {}
    for nonce, n in enumerate(sizes):
        rows[n] = run_batch(chain, clearing, fleet, n, nonce)
        print(f"  n={n}: {rows[n]}", file=sys.stderr)
    for nonce, n in enumerate(routed_sizes, start=len(sizes)):
        routed[n] = run_batch(chain, clearing, fleet, n, nonce, routed=True)
        print(f"  n={n}, routed: {routed[n]}", file=sys.stderr)
    return rows, routed


PERIOD = 10  # trades a seller settles between two withdrawals


def lifecycle(n: int, r: dict[str, int], period: int = PERIOD) -> int:
    """Per trade: its share of the commit and of the batch settlement, plus its share of the seller's withdrawal."""
    return r["commit"] // n + r["settle"] // n + r["withdraw"] // period


def report(name: str, rows: dict[int, dict[str, int]], fit: bool = True) -> None:
    print(f"[{name}] commit (signatures + rules + escrow), settleReceipts (batch), seller's withdraw; gas per trade")
    print(
        f"{'trades':>7} {'commit':>12} {'settle':>12} {'commit/trade':>13} {'settle/trade':>13} {'withdraw':>9} "
        f"{'lifecycle/trade':>16} {'withdraw each trade':>20}"
    )
    for n, r in rows.items():
        print(
            f"{n:>7} {r['commit']:>12,} {r['settle']:>12,} {r['commit'] // n:>13,} {r['settle'] // n:>13,} "
            f"{r['withdraw']:>9,} {lifecycle(n, r):>16,} {lifecycle(n, r, 1):>20,}"
        )
    if fit and len(rows) >= 3:
        commit_fit = largest_fitting({n: r["commit"] for n, r in rows.items()})
        settle_fit = largest_fitting({n: r["settle"] for n, r in rows.items()})
        binding = "commit" if commit_fit <= settle_fit else "settleReceipts"
        print(
            f"[{name}] largest batch in a {BLOCK_GAS:,} gas block: commit {commit_fit:,} trades, settleReceipts "
            f"{settle_fit:,} trades -> {min(commit_fit, settle_fit):,} ({binding} binds)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", default="embedded")
    parser.add_argument("--sizes", default="1,10,100,500")
    parser.add_argument("--routed-sizes", default="1,10,100")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    routed_sizes = [int(s) for s in args.routed_sizes.split(",")]
    build = compile_contracts(include_test=True)
    first: tuple[dict[int, dict[str, int]], dict[int, dict[str, int]]] | None = None
    for name in args.chains.split(","):
        started = time.monotonic()
        with connect(name) as chain:
            rows, routed = measure(chain, build, sizes, routed_sizes)
        report(name, rows)
        # no block fit: the routed batches run after the parked ones, on warm accounts, so their sizes do not line up
        report(f"{name}, every order with a 4-waypoint route", routed, fit=False)
        print(f"[{name}] measured in {time.monotonic() - started:.0f} s")
        first = first or (rows, routed)
    assert first is not None
    if 100 in first[0]:
        print(f"gas_per_trade_batch_100={first[0][100]['commit'] // 100}")
        print(f"gas_per_trade_lifecycle_batch_100={lifecycle(100, first[0][100])}")
    if 100 in first[1]:
        print(f"gas_per_trade_batch_100_routed={first[1][100]['commit'] // 100}")
        print(f"gas_per_trade_lifecycle_batch_100_routed={lifecycle(100, first[1][100])}")


if __name__ == "__main__":
    main()
