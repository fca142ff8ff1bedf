"""The market's books rebuilt from indexed events alone, transaction by transaction, with every rule checked.

One pass in chain order keeps the Registry's state (who may trade at each moment), each request's life, escrows,
stakes, credits and the market's token balance. Handlers are found by name, `_on_<Contract>_<Event>`, so a new
contract (the batch Clearing) adds its own handlers without touching these.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

from .store import Event, Store

ROLE_BUYER, ROLE_SELLER = 1, 2
ZERO = "0x" + "00" * 20


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
    outcome: Event | None = None  # Settled or Reclaimed
    escrow: int = 0

    @property
    def status(self) -> str:
        if self.outcome is not None:
            return "settled" if self.outcome.event == "Settled" else "reclaimed"
        if self.awarded is not None:
            return "awarded"
        return "expired" if self.expired is not None else "open"

    @property
    def seller(self) -> str | None:
        return self.awarded.args["seller"] if self.awarded else None

    @property
    def price(self) -> int:
        return int(self.awarded.args["pricePerWh"]) if self.awarded else 0


class Ledger:
    def __init__(self, addresses: dict[str, str]) -> None:
        self.market = addresses.get("Market", "")
        self.issuers: set[str] = set()
        self.vehicles: dict[str, VehicleState] = {}
        self.requests: dict[int, Request] = {}
        self.stakes: Counter[str] = Counter()
        self.credits: Counter[str] = Counter()
        self.flows: dict[str, Counter[str]] = defaultdict(Counter)  # per account: deposited, paid, penalties...
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

    @classmethod
    def from_store(cls, store: Store) -> "Ledger":
        ledger = cls({c.name: c.address for c in store.contracts()})
        ledger.apply_all(store.events())
        return ledger

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
                                                 f"(escrows + stakes + credits) need {books}")
        self._surplus = surplus

    def books(self) -> int:
        """What the market owes: open escrows + stakes + credits, kept as a running total."""
        return self._books

    def _move(self, delta: int, *, request: Request | None = None, stake: str = "", credit: str = "") -> None:
        """The one place the books change, so their total never needs a sum over every account."""
        if request is not None:
            request.escrow += delta
        elif stake:
            self.stakes[stake] += delta
        elif credit:
            self.credits[credit] += delta
        self._books += delta

    def _violate(self, rule: str, event: Event, message: str) -> None:
        self.violations.append(Finding(rule, message, event.tx_hash, event.block_number))

    def _warn(self, rule: str, event: Event, message: str) -> None:
        self.warnings.append(Finding(rule, message, event.tx_hash, event.block_number))

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
            self._warn("unexplained-deposit", first, f"{who} sent the market {amount} outside any request or stake")
        self._expected_in, self._expected_out = [], []

    def _tx_events(self, contract: str, name: str) -> list[Event]:
        return [e for e in self._processing if e.contract == contract and e.event == name]

    # ---------------------------------------------------------------- market: auction

    def _request(self, e: Event, request_id: int) -> Request | None:
        r = self.requests.get(request_id)
        if r is None:
            self._violate("unknown-request", e, f"{e.event} for request {request_id}, which was never opened")
        return r

    def _on_Market_RequestOpened(self, e: Event, a: dict[str, Any]) -> None:
        rid = int(a["requestId"])
        if rid in self.requests:
            self._violate("opened-twice", e, f"request {rid} opened a second time")
            return
        r = Request(rid, a["buyer"], a["areaId"], int(a["energyWh"]), int(a["maxPricePerWh"]), int(a["deadline"]),
                    int(a["deliveryStart"]), int(a["deliveryEnd"]), e)
        self.requests[rid] = r
        self._move(r.energy_wh * r.max_price, request=r)
        if reason := self.not_active(r.buyer, ROLE_BUYER, e.timestamp):
            self._violate("buyer-not-active", e, f"request {rid} opened by {r.buyer}, {reason}")
        self._expected_in.append((r.buyer, r.escrow))

    def _bid(self, e: Event, a: dict[str, Any], signed: bool) -> None:
        r = self._request(e, int(a["requestId"]))
        if r is None:
            return
        bid = Bid(a["seller"], int(a["pricePerWh"]), e, signed, self.not_active(a["seller"], ROLE_SELLER, e.timestamp))
        if r.status != "open":
            self._violate("bid-when-closed", e, f"bid on request {r.request_id}, which is {r.status}")
        if bid.price > r.max_price or bid.price == 0 or bid.seller == r.buyer:
            self._violate("invalid-bid", e, f"bid of {bid.price}/Wh by {bid.seller} on request {r.request_id} "
                                            f"(max {r.max_price}, buyer {r.buyer})")
        if not signed and e.timestamp >= r.deadline:
            self._violate("bid-after-deadline", e, f"bid on request {r.request_id} at {e.timestamp}, its deadline "
                                                  f"was {r.deadline}")
        if not signed and r.bids and bid.price >= min(b.price for b in r.bids):
            self._violate("bid-not-lower", e, f"bid of {bid.price}/Wh on request {r.request_id} does not beat the best")
        r.bids.append(bid)

    def _on_Market_BidPlaced(self, e: Event, a: dict[str, Any]) -> None:
        self._bid(e, a, signed=False)

    def _on_Market_SignedBidVerified(self, e: Event, a: dict[str, Any]) -> None:
        self._bid(e, a, signed=True)

    def _on_Market_Awarded(self, e: Event, a: dict[str, Any]) -> None:
        r = self._request(e, int(a["requestId"]))
        if r is None:
            return
        if r.status != "open":
            self._violate("closed-twice", e, f"request {r.request_id} awarded while {r.status}")
            return
        r.awarded = e
        seller, price, payment = a["seller"], int(a["pricePerWh"]), int(a["payment"])
        if e.timestamp < r.deadline:
            self._violate("closed-early", e, f"request {r.request_id} awarded at {e.timestamp}, before its deadline "
                                            f"{r.deadline}")
        best: Bid | None = None
        for bid in r.bids:  # lowest wins, the earlier on ties: bids are in chain order
            if best is None or bid.price < best.price:
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
        self._expect_credit(r.buyer, r, r.energy_wh * (r.max_price - price))
        self._move(r.energy_wh * price - r.escrow, request=r)

    def _on_Market_Expired(self, e: Event, a: dict[str, Any]) -> None:
        r = self._request(e, int(a["requestId"]))
        if r is None:
            return
        if r.status != "open":
            self._violate("closed-twice", e, f"request {r.request_id} expired while {r.status}")
            return
        r.expired = e
        if r.bids:
            self._violate("expired-with-bids", e, f"request {r.request_id} expired although {len(r.bids)} bid(s) came")
        if int(a["refund"]) != r.escrow:
            self._violate("wrong-amount", e, f"request {r.request_id}: refund {a['refund']} != escrow {r.escrow}")
        self._expect_credit(r.buyer, r, r.escrow)
        self._move(-r.escrow, request=r)

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
        r = self._finalise(e, int(a["requestId"]))
        if r is None:
            return
        delivered, paid, refund = int(a["deliveredWh"]), int(a["paid"]), int(a["refund"])
        if delivered > r.energy_wh or paid != delivered * r.price or refund != (r.energy_wh - delivered) * r.price:
            self._violate("wrong-amount", e, f"request {r.request_id}: {delivered} Wh of {r.energy_wh} at {r.price}/Wh "
                                            f"settled as paid {paid}, refund {refund}")
        if a["settledBy"] not in (r.buyer, r.seller):
            self._violate("settled-by-stranger", e, f"request {r.request_id} settled by {a['settledBy']}")
        self._expect_credit(r.seller or ZERO, r, paid)
        self._expect_credit(r.buyer, r, refund)
        self.flows[r.buyer]["paid"] += paid
        self.flows[r.seller or ZERO]["received"] += paid
        self._move(-r.escrow, request=r)

    def _on_Market_Reclaimed(self, e: Event, a: dict[str, Any]) -> None:
        r = self._finalise(e, int(a["requestId"]))
        if r is None or r.awarded is None:
            return
        refund, penalty = int(a["refund"]), int(a["penalty"])
        if refund != r.escrow or penalty != int(r.awarded.args["penalty"]):
            self._violate("wrong-amount", e, f"request {r.request_id}: reclaimed {refund} + penalty {penalty}, "
                                            f"escrow was {r.escrow}, penalty awarded {r.awarded.args['penalty']}")
        if e.timestamp < r.delivery_end:
            self._violate("reclaimed-early", e, f"request {r.request_id} reclaimed at {e.timestamp}, before its "
                                               f"delivery window ended at {r.delivery_end}")
        self._expect_credit(r.buyer, r, refund + penalty)
        self._move(-penalty, stake=r.seller or ZERO)
        self.flows[r.seller or ZERO]["penalties_paid"] += penalty
        self.flows[r.buyer]["penalties_received"] += penalty
        self._move(-r.escrow, request=r)

    # ---------------------------------------------------------------- market: money

    def _expect_credit(self, account: str, r: Request, amount: int) -> None:
        if amount:
            self._expected_credits.append((account, r.request_id, amount))

    def _on_Market_Credited(self, e: Event, a: dict[str, Any]) -> None:
        self._move(int(a["amount"]), credit=a["account"])
        self.flows[a["account"]]["credited"] += int(a["amount"])

    def _match_credits(self, first: Event) -> None:
        credited = Counter((e.args["account"], int(e.args["requestId"]), int(e.args["amount"]))
                           for e in self._tx_events("Market", "Credited"))
        expected = Counter(self._expected_credits)
        for (who, rid, amount), _ in (credited - expected).items():
            self._violate("credit-without-settlement", first, f"{who} credited {amount} for request {rid} with no "
                                                              f"award, expiry, delivery confirmation or timeout for it")
        for (who, rid, amount), _ in (expected - credited).items():
            self._violate("settlement-without-credit", first, f"request {rid}: {who} was owed {amount} but not credited")
        self._expected_credits = []

    def _on_Market_Withdrawn(self, e: Event, a: dict[str, Any]) -> None:
        who, amount = a["account"], int(a["amount"])
        if amount != self.credits[who]:
            self._violate("wrong-withdrawal", e, f"{who} withdrew {amount}; its credit was {self.credits[who]}")
        self._move(-amount, credit=who)
        self.flows[who]["withdrawn"] += amount
        self._expected_out.append((who, amount))

    def _on_Market_StakeDeposited(self, e: Event, a: dict[str, Any]) -> None:
        self._move(int(a["amount"]), stake=a["seller"])
        self.flows[a["seller"]]["stake_deposited"] += int(a["amount"])
        self._expected_in.append((a["seller"], int(a["amount"])))

    def _on_Market_StakeWithdrawn(self, e: Event, a: dict[str, Any]) -> None:
        who, amount = a["seller"], int(a["amount"])
        if amount > self.stakes[who]:
            self._violate("stake-overdrawn", e, f"{who} withdrew {amount} of stake; it had {self.stakes[who]}")
        self._move(-amount, stake=who)
        self.flows[who]["stake_withdrawn"] += amount
        self._expected_out.append((who, amount))

    # ---------------------------------------------------------------- the end of the index

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

    def locked_penalty(self, seller: str) -> int:
        """Penalties at risk: the seller's awarded trades not yet settled or reclaimed."""
        return sum(int(r.awarded.args["penalty"]) for r in self.requests.values()
                   if r.status == "awarded" and r.seller == seller and r.awarded)
