"""The audit of the Market: a world history with every way an auction can end, indexed; and a ledger of the Market
fed any event list (to tamper with)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tests.support.audit import index, specs_of
from tests.support.world import PARAMS, World
from v2vchain.audit.ledger.market import Ledger
from v2vchain.audit.store import Event, Store
from v2vchain.chain.compiler import Build


@dataclass
class MarketHistory:
    ids: dict[str, int]  # request ids by how they ended (see `history`)
    addresses: dict[str, str]  # the indexed contracts by name
    events: list[Event]


def history(w: World) -> dict[str, int]:
    """Confirmed in full, claimed with a receipt, reclaimed (penalty to the sink), expired, won by a signed bid (one
    passed over), confirmed for less and finalized, confirmed for less and raised by a receipt, pending a confirmation,
    awarded and pending, still open; withdrawals, a nonce cancellation and a pause in between."""
    m = w.market
    confirmed = w.awarded(price=80, seller=0)
    w.to(m.request(confirmed).delivery_start_ts)
    w.buyer.system.market.confirm_delivery(confirmed, 10_000)
    claimed = w.awarded(price=70, seller=1)
    w.to(m.request(claimed).delivery_start_ts)
    receipt = m.sign_receipt(w.buyer.account, request_id=claimed, seller=w.sellers[1].address, delivered_wh=9_000)
    w.sellers[1].system.market.claim_with_receipt(claimed, 9_000, receipt)
    reclaimed = w.awarded(price=90, seller=2)
    w.to(m.request(reclaimed).delivery_end_ts + PARAMS.grace_period_s)
    w.outsider.system.market.reclaim(reclaimed)
    expired = w.open_request()
    w.to(m.request(expired).deadline_ts)
    w.buyer.system.market.close(expired)
    w.sellers[2].system.market.cancel_nonces(1)
    signed = w.open_request()
    w.sellers[0].system.market.bid(signed, 95)
    r = m.request(signed)
    bids = [
        m.sign_bid(
            w.sellers[i].account,
            request_id=signed,
            price_per_wh=p,
            energy_wh=r.energy_wh,
            nonce=n,
            expiry_ts=r.deadline_ts + 3_600,
        )
        for i, p, n in ((1, 85, 1), (2, 60, 1), (2, 50, 0))
    ]
    w.to(r.deadline_ts)
    w.buyer.system.market.close_with_signed_bids(signed, bids)  # seller 2's nonce 0 is cancelled: passed over
    w.to(m.request(signed).delivery_start_ts)
    w.buyer.system.market.confirm_delivery(signed, 10_000)
    finalized = w.awarded(price=60, seller=1)
    w.buyer.system.market.confirm_delivery(finalized, 4_000)
    raised = w.awarded(price=65, seller=2)
    raise_receipt = m.sign_receipt(w.buyer.account, request_id=raised, seller=w.sellers[2].address, delivered_wh=8_000)
    w.buyer.system.market.confirm_delivery(raised, 5_000)
    w.to(m.request(raised).delivery_start_ts)
    w.sellers[2].system.market.claim_with_receipt(raised, 8_000, raise_receipt)
    w.to(m.request(finalized).delivery_end_ts + PARAMS.grace_period_s)
    w.outsider.system.market.finalize(finalized)
    w.market.pause()
    w.market.unpause()
    pending_confirmation = w.awarded(price=55, seller=2)
    w.buyer.system.market.confirm_delivery(pending_confirmation, 3_000)
    pending = w.awarded(price=75, seller=0)
    still_open = w.open_request()
    w.sellers[1].system.market.bid(still_open, 50)
    w.sellers[1].system.market.withdraw(1_000_000)
    w.buyer.system.market.deposit(5_000)
    w.buyer.system.market.withdraw(2_000)
    w.sellers[2].system.market.withdraw(1_000_000)
    return {
        "confirmed": confirmed,
        "claimed": claimed,
        "reclaimed": reclaimed,
        "expired": expired,
        "signed": signed,
        "finalized": finalized,
        "raised": raised,
        "pending_confirmation": pending_confirmation,
        "pending": pending,
        "open": still_open,
    }


def play(world: World, build: Build, db: Path) -> MarketHistory:
    """`history` played on the world and indexed into db."""
    ids = history(world)
    index(world.chain, specs_of(world.system, build), db)
    with Store.open(db) as store:
        return MarketHistory(ids, {c.name: c.address for c in store.contracts()}, list(store.events()))


def market_books_of(h: MarketHistory, events: Iterable[Event], *, penalty_bps: int | None = None) -> Ledger:
    ledger = Ledger(h.addresses, penalty_bps=penalty_bps)
    ledger.apply_all(events)
    return ledger
