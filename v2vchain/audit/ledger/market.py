"""The Market's books rebuilt from indexed events alone, with every rule of its reverse auctions checked.

The Market's constructor emits MarketConfigured (penaltyBps, gracePeriod, maxLeadTime, maxDeliveryWindow,
relayPeriod), its first event, so the rules that depend on them are judged from events too: each penalty locked by a
bid or an award (energy x price x penaltyBps / 10000, rounded down, never zero), each request's deadline and delivery
window, and the settlements that wait for a window's end plus grace (a reclaim, a finalize, a confirmation of less
than the award settling at once). A Market deployed before that event existed has none: penaltyBps is then inferred
from its Awarded events (each names its payment and penalty) and the timing rules are skipped; without penaltyBps the
split between free and locked of a best bidder is unknown until its award, and the checks that need it are skipped.
Who closed an auction is in no event: the indexer adds it (ClosedBy rows, audit/closers.py), so the relay period is
judged too (only the buyer or the relayer it named closes before the deadline plus relayPeriod).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from v2vchain.audit.store import Event, Store

from .clearing import ClearingBooks
from .vault import ZERO, VaultBooks

ROLE_BUYER, ROLE_SELLER = 1, 2
BPS = 10_000


@dataclass
class Bid:
    seller: str
    price: int
    event: Event
    signed: bool
    not_active: str | None  # why the seller could not trade at that moment, if it could not
    void: bool = False  # an on-chain best bid dropped at close (BidDisqualified)


@dataclass
class Request:
    request_id: int
    buyer: str
    area_id: str
    energy_wh: int
    max_price: int
    deadline: int
    delivery_start: int
    delivery_end: int
    opened: Event
    bids: list[Bid] = field(default_factory=list)
    awarded: Event | None = None
    expired: Event | None = None
    confirmed: Event | None = None  # a pending confirmation of less than the award (DeliveryConfirmed)
    outcome: Event | None = None  # Settled or Reclaimed
    escrow: int = 0
    relayer: str | None = None
    best: tuple[str, int, int] | None = None  # on-chain best bid while open: (seller, price, penalty locked)

    @property
    def status(self) -> str:
        if self.outcome is not None:
            return "settled" if self.outcome.event == "Settled" else "reclaimed"
        if self.confirmed is not None:
            return "confirmed"
        if self.awarded is not None:
            return "awarded"
        return "expired" if self.expired is not None else "open"

    @property
    def seller(self) -> str | None:
        return self.awarded.args["seller"] if self.awarded else None

    @property
    def price(self) -> int:
        return int(self.awarded.args["pricePerWh"]) if self.awarded else 0

    @property
    def penalty(self) -> int:
        return int(self.awarded.args["penalty"]) if self.awarded else 0


@dataclass(frozen=True)
class MarketConfig:
    """The Market's immutables, as its constructor's MarketConfigured event states them."""

    penalty_bps: int
    grace_period: int
    max_lead_time: int
    max_delivery_window: int
    relay_period: int

    @classmethod
    def of(cls, a: dict[str, Any]) -> MarketConfig:
        names = ("penaltyBps", "gracePeriod", "maxLeadTime", "maxDeliveryWindow", "relayPeriod")
        return cls(*(int(a[name]) for name in names))


def infer_penalty_bps(events: Iterable[Event]) -> int | None:
    """The one penaltyBps consistent with every Awarded(payment, penalty) seen: penalty = payment x bps / 10000
    rounded down. None when the awards seen leave it open."""
    low, high = 0, BPS
    seen = False
    for e in events:
        if e.contract != "Market" or e.event != "Awarded":
            continue
        payment, penalty = int(e.args["payment"]), int(e.args["penalty"])
        if payment == 0:
            continue
        seen = True
        low = max(low, -(-penalty * BPS // payment))
        high = min(high, ((penalty + 1) * BPS - 1) // payment)
    return low if seen and low == high else None


class Ledger(VaultBooks):
    def __init__(self, addresses: dict[str, str], *, penalty_bps: int | None = None) -> None:
        super().__init__(addresses.get("Market", ""), "Market")
        self.penalty_bps = penalty_bps
        self.config: MarketConfig | None = None  # from MarketConfigured; None for a Market deployed before it
        self.requests: dict[int, Request] = {}
        self.rejected_bids: list[Event] = []
        self.clearing: ClearingBooks | None = None  # the batch Clearing's books, when the index holds it

    @classmethod
    def from_store(cls, store: Store, *, penalty_bps: int | None = None) -> Ledger:
        """The Market's books, with the Clearing's (its own Vault, its own instance) as `clearing`. penaltyBps comes
        from MarketConfigured; inferred from the awards only for a Market that never emitted it."""
        if penalty_bps is None and not any(e.contract == "Market" for e in store.events(["MarketConfigured"])):
            penalty_bps = infer_penalty_bps(store.events(["Awarded"]))
        ledger = cls({c.name: c.address for c in store.contracts()}, penalty_bps=penalty_bps)
        ledger.apply_all(store.events())
        ledger.clearing = ClearingBooks.from_store(store)
        return ledger

    @property
    def split_known(self) -> bool:
        """Whether free and locked are known apart (they are once penaltyBps is)."""
        return self.penalty_bps is not None

    def penalty_for(self, energy_wh: int, price: int) -> int:
        return energy_wh * price * (self.penalty_bps or 0) // BPS

    def _request(self, e: Event, request_id: int) -> Request | None:
        r = self.requests.get(request_id)
        if r is None:
            self._violate("unknown-request", e, f"{e.event} for request {request_id}, which was never opened")
        return r

    def _not_while_paused(self, e: Event, what: str) -> None:
        if self.paused:
            self._violate("traded-while-paused", e, f"{what} while the market was paused")

    def settleable_from(self, r: Request) -> int | None:
        """When `r`'s window plus grace ends (reclaim, finalize, a short confirmation settling at once), if known."""
        return None if self.config is None else r.delivery_end + self.config.grace_period

    def _on_Market_MarketConfigured(self, e: Event, a: dict[str, Any]) -> None:
        self.config = MarketConfig.of(a)
        self.penalty_bps = self.config.penalty_bps

    def _check_times(self, e: Event, r: Request) -> None:
        """What open checks of the deadline and the delivery window against maxLeadTime and maxDeliveryWindow."""
        c = self.config
        if c is None:
            return
        if not e.timestamp < r.deadline <= e.timestamp + c.max_lead_time:
            self._violate(
                "bad-deadline",
                e,
                f"request {r.request_id} opened at {e.timestamp} with deadline {r.deadline}: not in the future or "
                f"more than maxLeadTime {c.max_lead_time} s away",
            )
        start, end = r.delivery_start, r.delivery_end
        if start < r.deadline or end <= start or start > r.deadline + c.max_lead_time:
            self._violate(
                "bad-delivery-window",
                e,
                f"request {r.request_id}: window {start}..{end} does not start between its deadline {r.deadline} "
                f"and maxLeadTime {c.max_lead_time} s after it, or is empty",
            )
        elif end - start > c.max_delivery_window:
            self._violate(
                "bad-delivery-window",
                e,
                f"request {r.request_id}: window of {end - start} s, longer than maxDeliveryWindow "
                f"{c.max_delivery_window} s",
            )

    def _on_Market_RequestOpened(self, e: Event, a: dict[str, Any]) -> None:
        rid = int(a["requestId"])
        if rid in self.requests:
            self._violate("opened-twice", e, f"request {rid} opened a second time")
            return
        r = Request(
            rid,
            a["buyer"],
            a["areaId"],
            int(a["energyWh"]),
            int(a["maxPricePerWh"]),
            int(a["deadline"]),
            int(a["deliveryStart"]),
            int(a["deliveryEnd"]),
            e,
        )
        self.requests[rid] = r
        self._not_while_paused(e, f"request {rid} opened")
        self._check_times(e, r)
        escrow = r.energy_wh * r.max_price
        if self.split_known or not self.locked[r.buyer]:
            from_free = max(0, min(self.free[r.buyer], escrow))
        else:  # the buyer's free part is uncertain: what it paid in this transaction says how much came from free
            pulled = sum(
                int(t.args["value"])
                for t in self._tx_events("EnergyToken", "Transfer")
                if t.args["from"] == r.buyer and t.args["to"] == self.market
            )
            from_free = max(0, escrow - pulled)
        self._move(-from_free, free=r.buyer)
        self._move(escrow, request=r)
        if reason := self.not_active(r.buyer, ROLE_BUYER, e.timestamp):
            self._violate("buyer-not-active", e, f"request {rid} opened by {r.buyer}, {reason}")
        if escrow > from_free:
            self._expected_in.append((r.buyer, escrow - from_free))

    def _on_Market_RelayerNamed(self, e: Event, a: dict[str, Any]) -> None:
        r = self._request(e, int(a["requestId"]))
        if r is not None:
            r.relayer = a["relayer"]

    def _bid(self, e: Event, a: dict[str, Any], signed: bool) -> Bid | None:
        r = self._request(e, int(a["requestId"]))
        if r is None:
            return None
        bid = Bid(a["seller"], int(a["pricePerWh"]), e, signed, self.not_active(a["seller"], ROLE_SELLER, e.timestamp))
        self._not_while_paused(e, f"bid on request {r.request_id}")
        if r.status != "open":
            self._violate("bid-when-closed", e, f"bid on request {r.request_id}, which is {r.status}")
        if bid.price > r.max_price or bid.price == 0 or bid.seller == r.buyer:
            self._violate(
                "invalid-bid",
                e,
                f"bid of {bid.price}/Wh by {bid.seller} on request {r.request_id} (max {r.max_price}, buyer {r.buyer})",
            )
        if not signed and e.timestamp >= r.deadline:
            self._violate(
                "bid-after-deadline",
                e,
                f"bid on request {r.request_id} at {e.timestamp}, its deadline was {r.deadline}",
            )
        live = [b.price for b in r.bids if not b.signed and not b.void]
        if not signed and live and bid.price >= min(live):
            self._violate("bid-not-lower", e, f"bid of {bid.price}/Wh on request {r.request_id} does not beat the best")
        r.bids.append(bid)
        return bid

    def _on_Market_BidPlaced(self, e: Event, a: dict[str, Any]) -> None:
        bid = self._bid(e, a, signed=False)
        r = self.requests.get(int(a["requestId"]))
        if bid is None or r is None or r.status != "open":
            return
        if r.best is not None:
            self._lock(r.best[0], -r.best[2])
        penalty = self.penalty_for(r.energy_wh, bid.price)
        self._lock(bid.seller, penalty)
        r.best = (bid.seller, bid.price, penalty)

    def _on_Market_SignedBidVerified(self, e: Event, a: dict[str, Any]) -> None:
        bid = self._bid(e, a, signed=True)
        if bid is not None and int(a["nonce"]) < self.nonce_floor[bid.seller]:
            self._violate(
                "cancelled-bid-accepted",
                e,
                f"signed bid of {bid.seller} with nonce {a['nonce']} accepted "
                f"below its nonce floor {self.nonce_floor[bid.seller]}",
            )

    def _on_Market_SignedBidRejected(self, e: Event, a: dict[str, Any]) -> None:
        self.rejected_bids.append(e)

    def _on_Market_BidDisqualified(self, e: Event, a: dict[str, Any]) -> None:
        r = self._request(e, int(a["requestId"]))
        if r is None:
            return
        if r.best is None or r.best[0] != a["seller"]:
            self._violate(
                "wrong-disqualification",
                e,
                f"request {r.request_id}: {a['seller']} disqualified, the best "
                f"bid was {r.best[0] if r.best else 'none'}",
            )
            return
        if self.not_active(a["seller"], ROLE_SELLER, e.timestamp) is None:
            self._violate(
                "wrong-disqualification",
                e,
                f"request {r.request_id}: {a['seller']} disqualified while still an active seller",
            )
        self._lock(r.best[0], -r.best[2])
        r.best = None
        for b in r.bids:
            if not b.signed:
                b.void = True

    def _on_Market_Awarded(self, e: Event, a: dict[str, Any]) -> None:
        r = self._request(e, int(a["requestId"]))
        if r is None:
            return
        if r.status != "open":
            self._violate("closed-twice", e, f"request {r.request_id} awarded while {r.status}")
            return
        r.awarded = e
        seller, price, payment, penalty = a["seller"], int(a["pricePerWh"]), int(a["payment"]), int(a["penalty"])
        if e.timestamp < r.deadline:
            self._violate(
                "closed-early", e, f"request {r.request_id} awarded at {e.timestamp}, before its deadline {r.deadline}"
            )
        best: Bid | None = None
        for bid in r.bids:  # lowest wins, the earlier on ties: on-chain bids come first in chain order
            if not bid.void and (best is None or bid.price < best.price):
                best = bid
        if best is None or (best.seller, best.price) != (seller, price):
            shown = f"{best.seller} at {best.price}/Wh" if best else "no bid at all"
            self._violate(
                "wrong-winner", e, f"request {r.request_id} awarded to {seller} at {price}/Wh; the best bid was {shown}"
            )
        elif best.not_active:
            self._violate(
                "winner-not-active",
                e,
                f"request {r.request_id} won by {seller}, whose bid (block "
                f"{best.event.block_number}, tx {best.event.tx_hash}) came when it "
                f"was {best.not_active}",
            )
        if payment != r.energy_wh * price:
            self._violate("wrong-amount", e, f"request {r.request_id}: payment {payment} != {r.energy_wh} Wh x {price}")
        if self.penalty_bps is not None and (
            penalty != self.penalty_for(r.energy_wh, price) or (penalty == 0 and self.penalty_bps != 0)
        ):
            self._violate(
                "wrong-penalty",
                e,
                f"request {r.request_id}: penalty {penalty}, not {r.energy_wh} Wh x {price} x {self.penalty_bps} bps "
                f"(rounded down, never zero)",
            )
        if r.best is not None:  # the on-chain best's lock moves to the winner's award (the same lock if it won)
            self._lock(r.best[0], -r.best[2])
            r.best = None
        self._lock(seller, penalty)
        if self.split_known and self.free[seller] < 0:
            self._violate(
                "uncovered-penalty",
                e,
                f"request {r.request_id}: {seller}'s penalty {penalty} locked beyond its free balance",
            )
        unused = r.energy_wh * (r.max_price - price)
        self._expect_credit(r.buyer, r.request_id, unused)
        self._move(-unused, request=r)

    def _on_Market_Expired(self, e: Event, a: dict[str, Any]) -> None:
        r = self._request(e, int(a["requestId"]))
        if r is None:
            return
        if r.status != "open":
            self._violate("closed-twice", e, f"request {r.request_id} expired while {r.status}")
            return
        r.expired = e
        if e.timestamp < r.deadline:
            self._violate(
                "closed-early", e, f"request {r.request_id} expired at {e.timestamp}, before its deadline {r.deadline}"
            )
        live = [b for b in r.bids if not b.void]
        if live:
            self._violate("expired-with-bids", e, f"request {r.request_id} expired although {len(live)} bid(s) came")
        if int(a["refund"]) != r.escrow:
            self._violate("wrong-amount", e, f"request {r.request_id}: refund {a['refund']} != escrow {r.escrow}")
        if r.best is not None:
            self._lock(r.best[0], -r.best[2])
            r.best = None
        self._expect_credit(r.buyer, r.request_id, r.escrow)
        self._move(-r.escrow, request=r)

    def _on_Market_ClosedBy(self, e: Event, a: dict[str, Any]) -> None:
        r = self._request(e, int(a["requestId"]))
        if r is None or self.config is None:
            return
        caller, open_from = a["caller"], r.deadline + self.config.relay_period
        if e.timestamp < open_from and caller not in (r.buyer, r.relayer):
            self._violate(
                "closed-in-relay-period",
                e,
                f"request {r.request_id} closed at {e.timestamp} by {caller}, neither its buyer nor its relayer, "
                f"before the relay period ended at {open_from}",
            )

    def _on_Market_DeliveryConfirmed(self, e: Event, a: dict[str, Any]) -> None:
        r = self._request(e, int(a["requestId"]))
        if r is None:
            return
        if r.status != "awarded":
            self._violate("confirmed-when-not-awarded", e, f"request {r.request_id} confirmed while {r.status}")
            return
        if int(a["deliveredWh"]) >= r.energy_wh:
            self._violate("wrong-amount", e, f"request {r.request_id}: the full {a['deliveredWh']} Wh left pending")
        final_from = self.settleable_from(r)
        if final_from is not None and e.timestamp >= final_from:
            self._violate(
                "confirmed-after-grace",
                e,
                f"request {r.request_id}: {a['deliveredWh']} Wh left pending at {e.timestamp}, after the grace period "
                f"ended at {final_from} (it settles at once then)",
            )
        if final_from is not None and int(a["finalFrom"]) != final_from:
            self._violate(
                "wrong-final-from",
                e,
                f"request {r.request_id}: pending until {a['finalFrom']}, not its window's end plus grace {final_from}",
            )
        r.confirmed = e

    def _finalise(self, e: Event, request_id: int) -> Request | None:
        r = self._request(e, request_id)
        if r is None:
            return None
        if r.outcome is not None:
            first = r.outcome
            self._violate(
                "settled-twice",
                e,
                f"request {request_id} {e.event} after it was already {r.status} in tx {first.tx_hash}",
            )
            return None
        if r.awarded is None:
            self._violate("settled-without-award", e, f"request {request_id} {e.event} while {r.status}")
            return None
        r.outcome = e
        return r

    def _on_Market_Settled(self, e: Event, a: dict[str, Any]) -> None:
        pending = self.requests.get(int(a["requestId"]))
        confirmed = pending.confirmed if pending is not None else None
        r = self._finalise(e, int(a["requestId"]))
        if r is None:
            return
        delivered, paid, refund = int(a["deliveredWh"]), int(a["paid"]), int(a["refund"])
        if delivered > r.energy_wh or paid != delivered * r.price or refund != (r.energy_wh - delivered) * r.price:
            self._violate(
                "wrong-amount",
                e,
                f"request {r.request_id}: {delivered} Wh of {r.energy_wh} at {r.price}/Wh "
                f"settled as paid {paid}, refund {refund}",
            )
        self._check_settlement(e, r, confirmed, a["settledBy"], delivered)
        seller = r.seller or ZERO
        self._lock(seller, -r.penalty)
        self._expect_credit(seller, r.request_id, paid)
        self._expect_credit(r.buyer, r.request_id, refund)
        self.flows[r.buyer]["paid"] += paid
        self.flows[seller]["received"] += paid
        self._move(-r.escrow, request=r)

    def _check_settlement(self, e: Event, r: Request, confirmed: Event | None, by: str, delivered: int) -> None:
        """Who settled, how and when: a receipt (the seller, from the window's start, above any pending confirmation),
        a finalize (anyone, at the pending figure, from the window's end plus grace) or the buyer's confirmation (less
        than the award settles at once only from then on)."""
        final_from = self.settleable_from(r)
        after_grace = final_from is not None and e.timestamp >= final_from
        figure = None if confirmed is None else int(confirmed.args["deliveredWh"])
        receipt = by == r.seller and not (delivered == figure and after_grace)  # the seller may finalize too
        if receipt and e.timestamp < r.delivery_start:
            self._violate(
                "claimed-before-window",
                e,
                f"request {r.request_id}: the seller's receipt settled at {e.timestamp}, before the window opened at "
                f"{r.delivery_start}",
            )
        if figure is None:
            if by not in (r.buyer, r.seller):
                self._violate("settled-by-stranger", e, f"request {r.request_id} settled by {by}")
            elif by == r.buyer and delivered < r.energy_wh and final_from is not None and not after_grace:
                self._violate(
                    "short-settled-in-grace",
                    e,
                    f"request {r.request_id}: the buyer's {delivered} of {r.energy_wh} Wh settled at once at "
                    f"{e.timestamp}; it stays pending until {final_from}",
                )
        elif receipt and delivered <= figure:
            self._violate(
                "wrong-amount",
                e,
                f"request {r.request_id}: the seller's receipt for {delivered} Wh "
                f"does not exceed the buyer's pending {figure} Wh",
            )
        elif not receipt and delivered != figure:
            self._violate(
                "wrong-amount",
                e,
                f"request {r.request_id} finalized at {delivered} Wh; the buyer confirmed {figure} Wh",
            )
        elif not receipt and final_from is not None and not after_grace:
            self._violate(
                "finalized-in-grace",
                e,
                f"request {r.request_id} finalized at {e.timestamp}, inside the grace period: from {final_from}",
            )

    def _on_Market_Reclaimed(self, e: Event, a: dict[str, Any]) -> None:
        pending = self.requests.get(int(a["requestId"]))
        if pending is not None and pending.confirmed is not None and pending.outcome is None:
            self._violate(
                "reclaimed-when-confirmed",
                e,
                f"request {pending.request_id} reclaimed although the buyer "
                f"confirmed {pending.confirmed.args['deliveredWh']} Wh",
            )
        r = self._finalise(e, int(a["requestId"]))
        if r is None or r.awarded is None:
            return
        refund, penalty = int(a["refund"]), int(a["penalty"])
        if refund != r.escrow or penalty != r.penalty:
            self._violate(
                "wrong-amount",
                e,
                f"request {r.request_id}: reclaimed {refund} + penalty {penalty}, "
                f"escrow was {r.escrow}, penalty awarded {r.penalty}",
            )
        if e.timestamp < r.delivery_end:
            self._violate(
                "reclaimed-early",
                e,
                f"request {r.request_id} reclaimed at {e.timestamp}, before its "
                f"delivery window ended at {r.delivery_end}",
            )
        elif (allowed_from := self.settleable_from(r)) is not None and e.timestamp < allowed_from:
            self._violate(
                "reclaimed-in-grace",
                e,
                f"request {r.request_id} reclaimed at {e.timestamp}, inside the grace period: allowed from "
                f"{allowed_from}",
            )
        self._expect_credit(r.buyer, r.request_id, refund)
        if penalty:
            self._expected_forfeits.append((r.seller or ZERO, r.request_id, penalty))
        self.flows[r.seller or ZERO]["penalties_paid"] += penalty
        self._move(-r.escrow, request=r)

    def expected_locked(self, account: str) -> int:
        """What `account` should have locked: the penalties of its awards not yet settled or reclaimed, and of its
        best bids on open requests."""
        return sum(
            r.penalty for r in self.requests.values() if r.status in ("awarded", "confirmed") and r.seller == account
        ) + sum(r.best[2] for r in self.requests.values() if r.best is not None and r.best[0] == account)

    def _finish(self) -> None:
        if self.last is None:
            return
        now = self.last.timestamp
        for r in self.requests.values():
            if r.status == "awarded" and r.delivery_end < now:
                self._warn(
                    "delivery-overdue",
                    r.awarded or r.opened,
                    f"request {r.request_id}: awarded, neither confirmed nor reclaimed, its delivery window "
                    f"ended at {r.delivery_end}",
                )
            elif r.status == "open" and r.deadline < now:
                self._warn(
                    "close-overdue",
                    r.opened,
                    f"request {r.request_id}: bidding ended at {r.deadline}, nobody closed it",
                )
        if self.split_known:
            for account in sorted(set(self.locked) | {r.seller for r in self.requests.values() if r.seller}):
                want = self.expected_locked(account)
                if self.locked[account] != want:
                    self._violate(
                        "locked-mismatch",
                        self.last,
                        f"{account} has {self.locked[account]} locked; its open awards and best bids need {want}",
                    )
                if self.free[account] < 0:
                    self._violate("negative-free", self.last, f"{account}'s free balance is {self.free[account]}")

    def locked_penalty(self, seller: str) -> int:
        """Penalties at risk: the seller's awarded trades not yet settled or reclaimed, and its best open bids."""
        return self.expected_locked(seller)
