"""The market's books rebuilt from indexed events alone, transaction by transaction, with every rule checked.

One pass in chain order keeps the Registry's state (who may trade at each moment), each request's life, its escrow,
every account of the Market's Vault (free, locked), the sink of forfeited penalties and the market's token balance.
Books: token balance == sum(free + locked) + escrows + sunk. Handlers are found by name, `_on_<Contract>_<Event>`, so
a new contract (the batch Clearing) adds its own handlers without touching these.

Penalties locked by bids are energy x price x penaltyBps / 10000; penaltyBps is not in any event, so it is passed in
or inferred from the Awarded events (each names its payment and penalty). Without it the split between free and locked
of a best bidder is unknown until its award, and the checks that need the split are skipped.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

from .store import Event, Store

ROLE_BUYER, ROLE_SELLER = 1, 2
ZERO = "0x" + "00" * 20
BPS = 10_000


@dataclass(frozen=True)
class Finding:
    rule: str
    message: str
    tx_hash: str
    block: int


@dataclass
class VehicleState:
    did_hash: str
    issuer: str
    roles: int
    expiry: int
    registered: Event
    revoked: Event | None = None


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


class Ledger:
    def __init__(self, addresses: dict[str, str], *, penalty_bps: int | None = None) -> None:
        self.market = addresses.get("Market", "")
        self.penalty_bps = penalty_bps
        self.issuers: set[str] = set()
        self.vehicles: dict[str, VehicleState] = {}
        self.requests: dict[int, Request] = {}
        self.free: Counter[str] = Counter()
        self.locked: Counter[str] = Counter()
        self.nonce_floor: Counter[str] = Counter()
        self.sunk = 0
        self.paused = False
        self.rejected_bids: list[Event] = []
        self.flows: dict[str, Counter[str]] = defaultdict(Counter)  # per account: deposited, paid, forfeited...
        self.token_balance = 0
        self.violations: list[Finding] = []
        self.warnings: list[Finding] = []
        self.last: Event | None = None
        self._surplus = 0
        self._books = 0
        self._tx: list[Event] = []
        self._processing: list[Event] = []
        self._expected_in: list[tuple[str, int]] = []
        self._expected_out: list[tuple[str, int]] = []
        self._expected_credits: list[tuple[str, int, int]] = []
        self._expected_forfeits: list[tuple[str, int, int]] = []

    @classmethod
    def from_store(cls, store: Store, *, penalty_bps: int | None = None) -> "Ledger":
        if penalty_bps is None:
            penalty_bps = infer_penalty_bps(store.events(["Awarded"]))
        ledger = cls({c.name: c.address for c in store.contracts()}, penalty_bps=penalty_bps)
        ledger.apply_all(store.events())
        return ledger

    @property
    def split_known(self) -> bool:
        """Whether free and locked are known apart (they are once penaltyBps is)."""
        return self.penalty_bps is not None

    # ---------------------------------------------------------------- driving

    def apply_all(self, events: Iterable[Event]) -> None:
        for event in events:
            if self._tx and event.tx_hash != self._tx[0].tx_hash:
                self._end_tx()
            self._tx.append(event)
        if self._tx:
            self._end_tx()
        self._finish()

    def _end_tx(self) -> None:
        tx, self._tx = self._tx, []
        self._processing = tx
        for event in tx:
            self.last = event
            handler = getattr(self, f"_on_{event.contract}_{event.event}", None)
            if handler is not None:
                handler(event, event.args)
        self._match_tokens(tx[0])
        self._match_credits(tx[0])
        books = self.books()
        surplus = self.token_balance - books
        if surplus < 0 and surplus != self._surplus:
            self._violate("market-short", tx[0], f"the market holds {self.token_balance} token units but its books "
                                                 f"(free + locked + escrows + sunk) need {books}")
        self._surplus = surplus

    def books(self) -> int:
        """What the market owes: every account's free + locked, open escrows and the sink, kept as a running total."""
        return self._books

    def _move(self, delta: int, *, request: Request | None = None, free: str = "", locked: str = "",
              sunk: bool = False) -> None:
        """The one place the books' total changes, so it never needs a sum over every account."""
        if request is not None:
            request.escrow += delta
        elif free:
            self.free[free] += delta
        elif locked:
            self.locked[locked] += delta
        elif sunk:
            self.sunk += delta
        self._books += delta

    def _lock(self, account: str, amount: int) -> None:
        """free -> locked: the books' total does not change."""
        self.free[account] -= amount
        self.locked[account] += amount

    def _violate(self, rule: str, event: Event, message: str) -> None:
        self.violations.append(Finding(rule, message, event.tx_hash, event.block_number))

    def _warn(self, rule: str, event: Event, message: str) -> None:
        self.warnings.append(Finding(rule, message, event.tx_hash, event.block_number))

    def penalty_for(self, energy_wh: int, price: int) -> int:
        return energy_wh * price * (self.penalty_bps or 0) // BPS

    # ---------------------------------------------------------------- registry

    def not_active(self, vehicle: str, role: int, ts: int) -> str | None:
        """Why `vehicle` could not trade in `role` at time ts by the Registry's events so far; None if it could."""
        v = self.vehicles.get(vehicle)
        if v is None:
            return "not registered"
        if v.revoked is not None:
            return f"revoked at block {v.revoked.block_number} (tx {v.revoked.tx_hash})"
        if v.expiry <= ts:
            return f"credential expired at {v.expiry}"
        if v.roles & role != role:
            return f"registered with roles {v.roles}, lacks role {role}"
        if v.issuer not in self.issuers:
            return f"issuer {v.issuer} not authorised"
        return None

    def _on_Registry_IssuerAdded(self, e: Event, a: dict[str, Any]) -> None:
        self.issuers.add(a["issuer"])

    def _on_Registry_IssuerRemoved(self, e: Event, a: dict[str, Any]) -> None:
        self.issuers.discard(a["issuer"])

    def _on_Registry_VehicleRegistered(self, e: Event, a: dict[str, Any]) -> None:
        self.vehicles[a["vehicle"]] = VehicleState(a["didHash"], a["issuer"], int(a["roles"]), int(a["expiry"]), e)

    def _on_Registry_VehicleRevoked(self, e: Event, a: dict[str, Any]) -> None:
        if a["vehicle"] in self.vehicles:
            self.vehicles[a["vehicle"]].revoked = e

    # ---------------------------------------------------------------- token

    def _on_EnergyToken_Transfer(self, e: Event, a: dict[str, Any]) -> None:
        if a["to"] == self.market:
            self.token_balance += int(a["value"])
        if a["from"] == self.market:
            self.token_balance -= int(a["value"])

    def _match_tokens(self, first: Event) -> None:
        moved_in = Counter((e.args["from"], int(e.args["value"])) for e in self._tx_events("EnergyToken", "Transfer")
                           if e.args["to"] == self.market and e.args["from"] != self.market)
        moved_out = Counter((e.args["to"], int(e.args["value"])) for e in self._tx_events("EnergyToken", "Transfer")
                            if e.args["from"] == self.market and e.args["to"] != self.market)
        expected_in, expected_out = Counter(self._expected_in), Counter(self._expected_out)
        for (who, amount), n in (expected_in - moved_in).items():
            self._violate("books-without-tokens", first, f"the market booked {amount} in from {who} but received no "
                                                         f"such transfer ({n}x)")
        for (who, amount), n in (expected_out - moved_out).items():
            self._violate("books-without-tokens", first, f"the market booked {amount} out to {who} but sent no such "
                                                         f"transfer ({n}x)")
        for (who, amount), n in (moved_out - expected_out).items():
            self._violate("tokens-without-books", first, f"{amount} token units left the market to {who} with no "
                                                         f"withdrawal booked ({n}x)")
        for (who, amount), _ in (moved_in - expected_in).items():
            self._warn("unexplained-deposit", first, f"{who} sent the market {amount} outside any request or deposit")
        self._expected_in, self._expected_out = [], []

    def _tx_events(self, contract: str, name: str) -> list[Event]:
        return [e for e in self._processing if e.contract == contract and e.event == name]

    # ---------------------------------------------------------------- market: auction

    def _request(self, e: Event, request_id: int) -> Request | None:
        r = self.requests.get(request_id)
        if r is None:
            self._violate("unknown-request", e, f"{e.event} for request {request_id}, which was never opened")
        return r

    def _not_while_paused(self, e: Event, what: str) -> None:
        if self.paused:
            self._violate("traded-while-paused", e, f"{what} while the market was paused")

    def _on_Market_RequestOpened(self, e: Event, a: dict[str, Any]) -> None:
        rid = int(a["requestId"])
        if rid in self.requests:
            self._violate("opened-twice", e, f"request {rid} opened a second time")
            return
        r = Request(rid, a["buyer"], a["areaId"], int(a["energyWh"]), int(a["maxPricePerWh"]), int(a["deadline"]),
                    int(a["deliveryStart"]), int(a["deliveryEnd"]), e)
        self.requests[rid] = r
        self._not_while_paused(e, f"request {rid} opened")
        escrow = r.energy_wh * r.max_price
        if self.split_known or not self.locked[r.buyer]:
            from_free = max(0, min(self.free[r.buyer], escrow))
        else:  # the buyer's free part is uncertain: what it paid in this transaction says how much came from free
            pulled = sum(int(t.args["value"]) for t in self._tx_events("EnergyToken", "Transfer")
                         if t.args["from"] == r.buyer and t.args["to"] == self.market)
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
            self._violate("invalid-bid", e, f"bid of {bid.price}/Wh by {bid.seller} on request {r.request_id} "
                                            f"(max {r.max_price}, buyer {r.buyer})")
        if not signed and e.timestamp >= r.deadline:
            self._violate("bid-after-deadline", e, f"bid on request {r.request_id} at {e.timestamp}, its deadline "
                                                  f"was {r.deadline}")
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
            self._violate("cancelled-bid-accepted", e, f"signed bid of {bid.seller} with nonce {a['nonce']} accepted "
                                                      f"below its nonce floor {self.nonce_floor[bid.seller]}")

    def _on_Market_SignedBidRejected(self, e: Event, a: dict[str, Any]) -> None:
        self.rejected_bids.append(e)

    def _on_Market_BidDisqualified(self, e: Event, a: dict[str, Any]) -> None:
        r = self._request(e, int(a["requestId"]))
        if r is None:
            return
        if r.best is None or r.best[0] != a["seller"]:
            self._violate("wrong-disqualification", e, f"request {r.request_id}: {a['seller']} disqualified, the best "
                                                      f"bid was {r.best[0] if r.best else 'none'}")
            return
        if self.not_active(a["seller"], ROLE_SELLER, e.timestamp) is None:
            self._violate("wrong-disqualification", e, f"request {r.request_id}: {a['seller']} disqualified while "
                                                      f"still an active seller")
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
            self._violate("closed-early", e, f"request {r.request_id} awarded at {e.timestamp}, before its deadline "
                                            f"{r.deadline}")
        best: Bid | None = None
        for bid in r.bids:  # lowest wins, the earlier on ties: on-chain bids come first in chain order
            if not bid.void and (best is None or bid.price < best.price):
                best = bid
        if best is None or (best.seller, best.price) != (seller, price):
            shown = f"{best.seller} at {best.price}/Wh" if best else "no bid at all"
            self._violate("wrong-winner", e, f"request {r.request_id} awarded to {seller} at {price}/Wh; the best bid "
                                            f"was {shown}")
        elif best.not_active:
            self._violate("winner-not-active", e, f"request {r.request_id} won by {seller}, whose bid (block "
                                                 f"{best.event.block_number}, tx {best.event.tx_hash}) came when it "
                                                 f"was {best.not_active}")
        if payment != r.energy_wh * price:
            self._violate("wrong-amount", e, f"request {r.request_id}: payment {payment} != {r.energy_wh} Wh x {price}")
        if self.penalty_bps is not None and penalty != self.penalty_for(r.energy_wh, price):
            self._violate("wrong-amount", e, f"request {r.request_id}: penalty {penalty} != {r.energy_wh} Wh x "
                                            f"{price} x {self.penalty_bps} bps")
        if r.best is not None:  # the on-chain best's lock moves to the winner's award (the same lock if it won)
            self._lock(r.best[0], -r.best[2])
            r.best = None
        self._lock(seller, penalty)
        if self.split_known and self.free[seller] < 0:
            self._violate("uncovered-penalty", e, f"request {r.request_id}: {seller}'s penalty {penalty} locked "
                                                 f"beyond its free balance")
        unused = r.energy_wh * (r.max_price - price)
        self._expect_credit(r.buyer, r, unused)
        self._move(-unused, request=r)

    def _on_Market_Expired(self, e: Event, a: dict[str, Any]) -> None:
        r = self._request(e, int(a["requestId"]))
        if r is None:
            return
        if r.status != "open":
            self._violate("closed-twice", e, f"request {r.request_id} expired while {r.status}")
            return
        r.expired = e
        live = [b for b in r.bids if not b.void]
        if live:
            self._violate("expired-with-bids", e, f"request {r.request_id} expired although {len(live)} bid(s) came")
        if int(a["refund"]) != r.escrow:
            self._violate("wrong-amount", e, f"request {r.request_id}: refund {a['refund']} != escrow {r.escrow}")
        if r.best is not None:
            self._lock(r.best[0], -r.best[2])
            r.best = None
        self._expect_credit(r.buyer, r, r.escrow)
        self._move(-r.escrow, request=r)

    def _on_Market_DeliveryConfirmed(self, e: Event, a: dict[str, Any]) -> None:
        r = self._request(e, int(a["requestId"]))
        if r is None:
            return
        if r.status != "awarded":
            self._violate("confirmed-when-not-awarded", e, f"request {r.request_id} confirmed while {r.status}")
            return
        if int(a["deliveredWh"]) >= r.energy_wh:
            self._violate("wrong-amount", e, f"request {r.request_id}: the full {a['deliveredWh']} Wh left pending")
        r.confirmed = e

    def _finalise(self, e: Event, request_id: int) -> Request | None:
        r = self._request(e, request_id)
        if r is None:
            return None
        if r.outcome is not None:
            first = r.outcome
            self._violate("settled-twice", e, f"request {request_id} {e.event} after it was already {r.status} in "
                                             f"tx {first.tx_hash}")
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
            self._violate("wrong-amount", e, f"request {r.request_id}: {delivered} Wh of {r.energy_wh} at {r.price}/Wh "
                                            f"settled as paid {paid}, refund {refund}")
        by = a["settledBy"]
        if confirmed is not None:
            figure = int(confirmed.args["deliveredWh"])
            if by == r.seller and delivered <= figure:
                self._violate("wrong-amount", e, f"request {r.request_id}: the seller's receipt for {delivered} Wh "
                                                f"does not exceed the buyer's pending {figure} Wh")
            elif by != r.seller and delivered != figure:
                self._violate("wrong-amount", e, f"request {r.request_id} finalized at {delivered} Wh; the buyer "
                                                f"confirmed {figure} Wh")
        elif by not in (r.buyer, r.seller):
            self._violate("settled-by-stranger", e, f"request {r.request_id} settled by {by}")
        seller = r.seller or ZERO
        self._lock(seller, -r.penalty)
        self._expect_credit(seller, r, paid)
        self._expect_credit(r.buyer, r, refund)
        self.flows[r.buyer]["paid"] += paid
        self.flows[seller]["received"] += paid
        self._move(-r.escrow, request=r)

    def _on_Market_Reclaimed(self, e: Event, a: dict[str, Any]) -> None:
        pending = self.requests.get(int(a["requestId"]))
        if pending is not None and pending.confirmed is not None and pending.outcome is None:
            self._violate("reclaimed-when-confirmed", e, f"request {pending.request_id} reclaimed although the buyer "
                                                        f"confirmed {pending.confirmed.args['deliveredWh']} Wh")
        r = self._finalise(e, int(a["requestId"]))
        if r is None or r.awarded is None:
            return
        refund, penalty = int(a["refund"]), int(a["penalty"])
        if refund != r.escrow or penalty != r.penalty:
            self._violate("wrong-amount", e, f"request {r.request_id}: reclaimed {refund} + penalty {penalty}, "
                                            f"escrow was {r.escrow}, penalty awarded {r.penalty}")
        if e.timestamp < r.delivery_end:
            self._violate("reclaimed-early", e, f"request {r.request_id} reclaimed at {e.timestamp}, before its "
                                               f"delivery window ended at {r.delivery_end}")
        self._expect_credit(r.buyer, r, refund)
        if penalty:
            self._expected_forfeits.append((r.seller or ZERO, r.request_id, penalty))
        self.flows[r.seller or ZERO]["penalties_paid"] += penalty
        self._move(-r.escrow, request=r)

    # ---------------------------------------------------------------- market: money (the Vault)

    def _expect_credit(self, account: str, r: Request, amount: int) -> None:
        if amount:
            self._expected_credits.append((account, r.request_id, amount))

    def _on_Market_Credited(self, e: Event, a: dict[str, Any]) -> None:
        self._move(int(a["amount"]), free=a["account"])
        self.flows[a["account"]]["credited"] += int(a["amount"])

    def _on_Market_Forfeited(self, e: Event, a: dict[str, Any]) -> None:
        who, amount = a["account"], int(a["amount"])
        if amount > self.locked[who]:
            self._violate("forfeit-beyond-locked", e, f"{who} forfeited {amount}; it had {self.locked[who]} locked")
        self._move(-amount, locked=who)
        self._move(amount, sunk=True)
        self.flows[who]["forfeited"] += amount

    def _match_credits(self, first: Event) -> None:
        credited = Counter((e.args["account"], int(e.args["ref"]), int(e.args["amount"]))
                           for e in self._tx_events("Market", "Credited"))
        expected = Counter(self._expected_credits)
        for (who, rid, amount), _ in (credited - expected).items():
            self._violate("credit-without-settlement", first, f"{who} credited {amount} for request {rid} with no "
                                                              f"award, expiry, delivery confirmation or timeout for it")
        for (who, rid, amount), _ in (expected - credited).items():
            self._violate("settlement-without-credit", first, f"request {rid}: {who} was owed {amount} but not credited")
        forfeited = Counter((e.args["account"], int(e.args["ref"]), int(e.args["amount"]))
                            for e in self._tx_events("Market", "Forfeited"))
        expected_forfeits = Counter(self._expected_forfeits)
        for (who, rid, amount), _ in (forfeited - expected_forfeits).items():
            self._violate("forfeit-without-reclaim", first, f"{who} forfeited {amount} for request {rid} with no "
                                                            f"reclaim of it")
        for (who, rid, amount), _ in (expected_forfeits - forfeited).items():
            self._violate("reclaim-without-forfeit", first, f"request {rid} reclaimed but {who}'s penalty {amount} "
                                                            f"was not forfeited")
        self._expected_credits, self._expected_forfeits = [], []

    def _on_Market_Deposited(self, e: Event, a: dict[str, Any]) -> None:
        who, amount = a["account"], int(a["amount"])
        if reason := self.not_active(who, 0, e.timestamp):
            self._violate("deposit-not-active", e, f"{who} deposited {amount} while {reason}")
        self._move(amount, free=who)
        self.flows[who]["deposited"] += amount
        self._expected_in.append((who, amount))

    def _on_Market_Withdrawn(self, e: Event, a: dict[str, Any]) -> None:
        who, amount = a["account"], int(a["amount"])
        available = self.free[who] if self.split_known else self.free[who] + self.locked[who]
        if amount > available:
            self._violate("overdrawn", e, f"{who} withdrew {amount}; its free balance was {available}")
        self._move(-amount, free=who)
        self.flows[who]["withdrawn"] += amount
        self._expected_out.append((who, amount))

    def _on_Market_NoncesCancelled(self, e: Event, a: dict[str, Any]) -> None:
        who, floor = a["account"], int(a["nonceFloor"])
        if floor <= self.nonce_floor[who]:
            self._violate("nonce-floor-lowered", e, f"{who}'s nonce floor set to {floor}, not above "
                                                    f"{self.nonce_floor[who]}")
        self.nonce_floor[who] = floor

    def _on_Market_Paused(self, e: Event, a: dict[str, Any]) -> None:
        self.paused = True

    def _on_Market_Unpaused(self, e: Event, a: dict[str, Any]) -> None:
        self.paused = False

    # ---------------------------------------------------------------- the end of the index

    def expected_locked(self, account: str) -> int:
        """What `account` should have locked: the penalties of its awards not yet settled or reclaimed, and of its
        best bids on open requests."""
        return (sum(r.penalty for r in self.requests.values() if r.status in ("awarded", "confirmed")
                    and r.seller == account)
                + sum(r.best[2] for r in self.requests.values() if r.best is not None and r.best[0] == account))

    def _finish(self) -> None:
        if self.last is None:
            return
        now = self.last.timestamp
        for r in self.requests.values():
            if r.status == "awarded" and r.delivery_end < now:
                self._warn("delivery-overdue", r.awarded or r.opened,
                           f"request {r.request_id}: awarded, neither confirmed nor reclaimed, its delivery window "
                           f"ended at {r.delivery_end}")
            elif r.status == "open" and r.deadline < now:
                self._warn("close-overdue", r.opened, f"request {r.request_id}: bidding ended at {r.deadline}, "
                                                      f"nobody closed it")
        if self.split_known:
            for account in sorted(set(self.locked) | {r.seller for r in self.requests.values() if r.seller}):
                want = self.expected_locked(account)
                if self.locked[account] != want:
                    self._violate("locked-mismatch", self.last, f"{account} has {self.locked[account]} locked; its "
                                                                f"open awards and best bids need {want}")
                if self.free[account] < 0:
                    self._violate("negative-free", self.last, f"{account}'s free balance is {self.free[account]}")

    def locked_penalty(self, seller: str) -> int:
        """Penalties at risk: the seller's awarded trades not yet settled or reclaimed, and its best open bids."""
        return self.expected_locked(seller)
