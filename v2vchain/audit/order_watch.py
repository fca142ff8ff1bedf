"""A vehicle's watch over the clearings: every commit that used one of its orders, and what it filled.

The contract checks every order's signature and rule at commit, so there is nothing left to challenge: a forged order
is refused, and no commit can take more than the owner signed. What a vehicle still wants to know is where its orders
went: which operator's clearing used which order, how much of it traded (opened in escrow) and how much was listed in
trades its funds could not cover (skipped, TradeUnfunded). The node reports this on POST /clearings/watch, and
`v2v audit watch` prints it.
"""

from __future__ import annotations

from dataclasses import dataclass

from v2vchain.contracts.clearing import ClearingClient
from v2vchain.contracts.errors import ClearingDataUnavailable

from .units import energy


@dataclass(frozen=True)
class OrderUse:
    clearing_id: int
    operator: str
    order_index: int
    nonce: int
    side: int  # 1 buy, 2 sell
    energy_wh: int  # what the order signed
    filled_wh: int  # in trades the commit opened
    unfunded_wh: int  # in trades the commit skipped for lack of funds
    trades: tuple[int, ...]  # indices of the opened trades that use it


def watch(client: ClearingClient, owner: str, *, from_block: int = 0) -> list[OrderUse]:
    """Every committed clearing since from_block that lists an order of `owner`, with what each order filled."""
    found = []
    owner = owner.lower()
    for commit in client.commits(from_block=from_block):
        try:
            published = client.published(commit.clearing_id, from_block=from_block)
        except ClearingDataUnavailable:
            continue
        unfunded = set(commit.unfunded)
        for k, signed in enumerate(published.orders):
            if signed.order.owner.lower() != owner:
                continue
            filled = skipped = 0
            trades = []
            for i, x in enumerate(published.inputs):
                if k not in (x.buyer_order, x.seller_order):
                    continue
                if i in unfunded:
                    skipped += x.energy_wh
                else:
                    filled += x.energy_wh
                    trades.append(i)
            found.append(
                OrderUse(
                    commit.clearing_id,
                    commit.operator,
                    k,
                    signed.order.nonce,
                    signed.order.side,
                    signed.order.energy_wh,
                    filled,
                    skipped,
                    tuple(trades),
                )
            )
    return found


def use_text(use: OrderUse) -> str:
    """One line per use, energies in kWh: what `v2v audit watch` prints."""
    side = "buy" if use.side == 1 else "sell"
    unfunded = f", {energy(use.unfunded_wh)} listed in unfunded trades" if use.unfunded_wh else ""
    return (
        f"clearing {use.clearing_id:#x} by {use.operator}: {side} order nonce {use.nonce} filled "
        f"{energy(use.filled_wh)} of {energy(use.energy_wh)} in trades {list(use.trades)}{unfunded}"
    )
