"""The audit of the batch Clearing: a desk history with every way a trade opens and closes, indexed; and a ledger of
the Clearing fed any event list (to tamper with)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.audit import index, specs_of
from tests.support.desk import BUY, ENERGY, GRACE, PRICE, SELL, Desk
from v2vchain.audit.clearing_audit import matching_order
from v2vchain.audit.ledger.clearing import ClearingBooks
from v2vchain.audit.store import Event, Store
from v2vchain.chain.compiler import Build
from v2vchain.matching import MECHANISMS, ClearingParams
from v2vchain.protocol.clearing import MECHANISM_IDS, PreparedClearing, TradeInput, params_hash, trade_inputs

PENALTY = ENERGY * PRICE * 2_000 // 10_000  # the desk's penaltyBps
PAYMENT = ENERGY * PRICE
WITHDRAWN = 1_234
REDUCED_PRICE, REDUCED_SELLER_PRICE = 130, 70


@dataclass
class History:
    first: PreparedClearing  # the operator's: 3 trades
    second: PreparedClearing  # the rival's: 3 trades, the middle one unfunded (a spent order)
    third: PreparedClearing  # the operator's McAfee trade reduction: 2 trades with a spread, one still open
    db: Path
    clearing: str  # its address
    events: list[Event]


def play(desk: Desk, build: Build, db: Path) -> History:
    """Clearing 1 (operator, buyer i with seller i): trade 0 confirmed in full, trade 1 confirmed in part then
    claimed by the seller with a receipt for 9,000 Wh, trade 2 reclaimed after the grace period. Clearing 2 (rival):
    trade 0 settled by the operator's batch of receipts, trade 1 unfunded (buyer1's order nonce 0 is spent), trade 2
    confirmed in part (3,000 Wh) and finalized. Then buyer0 withdraws a little, and clearing 3 (operator, McAfee
    trade reduction) opens two trades with a spread: buyer1's confirmed in full, buyer0's left open."""
    first = desk.committed(3)
    desk.as_(desk.buyers[0]).confirm_delivery(first, 0, ENERGY)
    desk.as_(desk.buyers[1]).confirm_delivery(first, 1, 4_000)
    desk.to(first.trades[1].delivery_start_ts)
    desk.as_(desk.sellers[1]).claim_with_receipt(first, 1, 9_000, desk.receipt(first, 1, 9_000).signature)

    orders, trades = [], []
    for k, (i, nonce) in enumerate(((0, 1), (1, 0), (2, 1))):
        orders.append(desk.sign(desk.buyers[i], desk.order(desk.buyers[i], BUY, nonce=nonce)))
        orders.append(desk.sign(desk.sellers[i], desk.order(desk.sellers[i], SELL, nonce=nonce)))
        trades.append(TradeInput(2 * k, 2 * k + 1, ENERGY, PRICE, PRICE))
    second = desk.commit(orders, trades, operator=desk.rival)
    desk.as_(desk.buyers[2]).confirm_delivery(second, 2, 3_000)
    desk.to(second.trades[0].delivery_start_ts)
    desk.as_(desk.rival).settle_receipts(second, [desk.receipt(second, 0)])

    desk.to(max(first.trades[2].delivery_end_ts, second.trades[2].delivery_end_ts) + GRACE + 1)
    desk.as_(desk.outsider).reclaim(first, 2)
    desk.as_(desk.outsider).finalize(second, 2)
    desk.as_(desk.buyers[0]).withdraw(WITHDRAWN)
    third = trade_reduction(desk)
    settled = next(i for i, t in enumerate(third.trades) if t.buyer == desk.buyers[1].address)
    desk.as_(desk.buyers[1]).confirm_delivery(third, settled, ENERGY)

    index(desk.chain, specs_of(desk.system, build), db)
    with Store.open(db) as store:
        events = list(store.events())
    return History(first, second, third, db, desk.clearing.address, events)


def trade_reduction(desk: Desk, nonce: int = 2) -> PreparedClearing:
    """Buyers' limits 150, 140, 130 and sellers' 50, 60, 70: McAfee drops the marginal pair (buyer 2, seller 2) and
    prices the other two trades at its limits, 130 to pay and 70 to receive; the operator keeps the spread."""
    orders = [
        desk.sign(desk.buyers[i], desk.order(desk.buyers[i], BUY, limit=150 - 10 * i, nonce=nonce)) for i in range(3)
    ]
    orders += [
        desk.sign(desk.sellers[i], desk.order(desk.sellers[i], SELL, limit=50 + 10 * i, nonce=nonce)) for i in range(3)
    ]
    params = ClearingParams()
    result = MECHANISMS["mcafee-trade-reduction"]([matching_order(o) for o in orders], params)
    trades = trade_inputs(orders, result.trades)
    assert [(t.price_per_wh, t.seller_price_per_wh) for t in trades] == [(REDUCED_PRICE, REDUCED_SELLER_PRICE)] * 2
    return desk.commit(
        orders,
        trades,
        mechanism_id=MECHANISM_IDS["mcafee-trade-reduction"],
        params_hash=params_hash(params),
        marginal=(2, 5),
    )


def books_of(address: str, events: Iterable[Event]) -> ClearingBooks:
    books = ClearingBooks(address)
    books.apply_all(events)
    return books


def rules(books: ClearingBooks) -> set[str]:
    return {f.rule for f in books.violations}


def edited(events: list[Event], pick: Any, **args: Any) -> list[Event]:
    """The events with the first one `pick` accepts given new arguments (or dropped, if args is empty)."""
    out, done = [], False
    for e in events:
        if not done and pick(e):
            done = True
            if args:
                out.append(Event(**{**e.__dict__, "args": {**e.args, **args}}))
            continue
        out.append(e)
    assert done, "nothing to edit"
    return out


def retimed(events: list[Event], pick: Any, timestamp: int) -> list[Event]:
    """The events with every one `pick` accepts stamped `timestamp` instead of its block's time."""
    return [Event(**{**e.__dict__, "timestamp": timestamp}) if pick(e) else e for e in events]
