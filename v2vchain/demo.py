"""One complete reverse-auction trade, printed step by step: the README's main command."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from eth_utils import keccak

from v2vchain.chain.clock import BLOCK_PATIENCE_S, ChainClock, utc
from v2vchain.chain.connect import Chain
from v2vchain.errors import ConfigError
from v2vchain.identity.registration import ROLE_BUYER, ROLE_SELLER
from v2vchain.protocol.areas import area_id

from .deploy import System, deploy
from .devnet import DEV_UNITS, VEC, Vehicle, add_issuer, onboard

BIDDING_S = 600
BID_PLAN = ((0, 120), (1, 100), (2, 95), (0, 90))  # (seller index, price in units/Wh), sent in this order
DELIVERY_LEAD_S = 300
DELIVERY_WINDOW_S = 2 * 3600
_vec = DEV_UNITS.amount  # exact, in the dev token's decimals and symbol


def min_bidding_s(block_interval_s: int) -> int:
    """The demo's bids are sent one after another, each waiting for its block, after the request's own block."""
    return (len(BID_PLAN) + 3) * block_interval_s + 5


def bidding_time(
    chain: Chain, requested_s: int | None, out: Callable[[str], None], block_wait_s: int = BLOCK_PATIENCE_S
) -> tuple[int, ChainClock | None]:
    """Dev chains jump their clock; on a URL chain the block interval decides the shortest safe bidding time."""
    if chain.is_dev:
        return (BIDDING_S if requested_s is None else requested_s), None
    clock = ChainClock(chain, out=out, patience_s=block_wait_s)
    shortest = min_bidding_s(clock.block_interval())
    if requested_s is None:
        out(f"bidding time: {shortest} s, the shortest safe at this block interval (--bidding-seconds sets it)")
        return shortest, clock
    if requested_s < shortest:
        raise ConfigError(
            f"--bidding-seconds {requested_s} is too short for this chain: the demo's {len(BID_PLAN)} bids each wait "
            f"for a block, so bidding needs at least {shortest} s here; pass --bidding-seconds {shortest} or more"
        )
    return requested_s, clock


def wait_until(chain: Chain, clock: ChainClock | None, ts: int, what: str) -> None:
    if clock is not None:
        clock.wait_until(ts, what)
    elif chain.now() < ts:
        chain.advance_time(ts - chain.now())


def _balances(system: System, parties: list[Vehicle]) -> dict[str, tuple[int, int, int]]:
    """Per party: (wallet, free in the market, locked in the market); the market's own row holds its token balance."""
    rows = {}
    for p in parties:
        account = system.market.account(p.address)
        rows[p.name] = (system.token.balance_of(p.address), account.free, account.locked)
    rows["market contract"] = (system.token.balance_of(system.market.address), 0, 0)
    return rows


def _print_balances(
    title: str, rows: dict[str, tuple[int, int, int]], out: Callable[[str], None], system: System
) -> None:
    out(f"\n{title}")
    out(f"  {'party':<16}{'wallet':>22}{'free in market':>22}{'locked':>20}")
    for name, (wallet, free, locked) in rows.items():
        out(f"  {name:<16}{_vec(wallet):>22}{_vec(free):>22}{_vec(locked):>20}")
    out(f"  market escrow {_vec(system.market.escrowed())}, sink (forfeited penalties) {_vec(system.market.sunk())}")


def run_demo(
    chain: Chain,
    out: Callable[[str], None] = print,
    *,
    bidding_s: int | None = None,
    lead_s: int = DELIVERY_LEAD_S,
    block_wait_s: int = BLOCK_PATIENCE_S,
) -> dict[str, int]:
    """Deploy, credential one buyer and three sellers, run one auction to settlement; returns key figures."""
    out(f"chain: {chain.kind} (chain id {chain.chain_id})")
    bidding_s, clock = bidding_time(chain, bidding_s, out, block_wait_s)
    system = deploy(chain)
    d = system.deployment
    out(f"deployed with solc {d.compiler}: token {d.token}, registry {d.registry}, market {d.market}")

    issuer = add_issuer(system)
    out(f"issuer {issuer.address} authorised by the admin")
    buyer = onboard(system, issuer, "buyer", ROLE_BUYER, tokens=100 * VEC)
    sellers = [onboard(system, issuer, f"seller-{c}", ROLE_SELLER, tokens=50 * VEC, deposit=20 * VEC) for c in "ABC"]
    parties = [buyer, *sellers]
    for p in parties:
        out(f"  {p.name:<9} {p.address}  {p.credential.did}")
    before = _balances(system, parties)
    _print_balances("balances before the trade (each seller deposited 20 VEC of penalty cover)", before, out, system)

    energy_wh, max_price = 20_000, 150  # 20 kWh at most 150 units/Wh = 0.15 VEC/kWh, the grid import price
    deadline = chain.now() + bidding_s
    secret = secrets.token_bytes(32)
    request_id = buyer.system.market.open(
        energy_wh=energy_wh,
        max_price_per_wh=max_price,
        deadline_ts=deadline,
        delivery_start_ts=deadline + lead_s,
        delivery_end_ts=deadline + lead_s + DELIVERY_WINDOW_S,
        area_id=area_id("u33db"),
        access_hash=keccak(secret),
    )
    out(
        f"\nrequest #{request_id}: {energy_wh:,} Wh, max {max_price} units/Wh, escrow {_vec(energy_wh * max_price)}, "
        f"bidding closes at {utc(deadline)}, area u33db (geohash cell)"
    )

    for index, price in BID_PLAN:
        seller = sellers[index]
        seller.system.market.bid(request_id, price)
        out(f"  bid {seller.name}: {price} units/Wh ({DEV_UNITS.price_per_kwh(price)})")

    wait_until(chain, clock, deadline, "the bidding deadline")
    buyer.system.market.close(request_id)  # the buyer closes: during the relay period only it (or its relayer) may
    awarded = system.market.request(request_id)
    winner = next(s for s in sellers if s.address == awarded.seller)
    payment = awarded.energy_wh * awarded.price_per_wh
    out(
        f"\naward: {winner.name} at {awarded.price_per_wh} units/Wh, payment {_vec(payment)} held in escrow, "
        f"penalty {_vec(system.market.penalty_for(energy_wh, awarded.price_per_wh))} locked from its deposit"
    )

    wait_until(chain, clock, awarded.delivery_start_ts, "the delivery window")
    delivered_wh = 19_500
    receipt = system.market.sign_receipt(
        buyer.account, request_id=request_id, seller=winner.address, delivered_wh=delivered_wh
    )
    winner.system.market.claim_with_receipt(request_id, delivered_wh, receipt)
    paid = delivered_wh * awarded.price_per_wh
    out(
        f"delivery: the meter reads {delivered_wh:,} of {energy_wh:,} Wh; the buyer signs a receipt and the seller "
        f"settles with it: seller is paid {_vec(paid)}, buyer refunded {_vec(energy_wh * max_price - paid)} "
        f"(a confirmation of less than the award would wait out the grace period)"
    )
    for party, amount in ((winner, paid), (buyer, None)):
        withdrawn = party.system.market.withdraw(amount)
        out(f"  {party.name} withdraws {_vec(withdrawn)}")
    out(f"  {winner.name} keeps {_vec(system.market.free_of(winner.address))} free in the market as penalty cover")

    after = _balances(system, parties)
    _print_balances("balances after the trade", after, out, system)
    supply = system.token.total_supply()
    held = sum(wallet for wallet, _, _ in after.values())  # the market's row is its whole token balance
    out(f"\ntoken supply {_vec(supply)} = wallets + market {_vec(held)}: {'conserved' if supply == held else 'BROKEN'}")
    return {
        "request_id": request_id,
        "price_per_wh": awarded.price_per_wh,
        "paid": paid,
        "supply": supply,
        "held": held,
        "seller_gain": after[winner.name][0] - before[winner.name][0],
        "buyer_spent": before["buyer"][0] - after["buyer"][0],
    }
