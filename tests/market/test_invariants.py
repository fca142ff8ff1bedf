"""Stateful property test of the Market with adversarial actors: a Foundry-style invariant handler, in Python.

Hypothesis drives random sequences over the real contracts on the embedded chain. Actors: buyer0 (buyer), buyer1
(both roles: it can try to bid on its own requests), three sellers with penalty cover deposited, an unregistered
outsider, the admin (pause) and the issuer (revocations). Every rule is open to everyone at any time: requests opened
with random energy, prices and relayers; on-chain bids (self-bids, above the maximum, too late, penalties rounding to
zero); sellers signing bids off-chain (some malleated, v of 0/1, forged by another key, expired, for the wrong energy,
later cancelled); closes and closeWithSignedBids by anyone with random subsets (and duplicates) of the signed bids;
revocations mid-auction; confirmations of any Wh by anyone (confirm-0 after signing a receipt); claims with valid,
forged, malleated and lower receipts; finalize, reclaim, deposits and withdrawals of any amount, cancelNonces, the
pause, and the clock moved by seconds or to the deadline, relay-period, delivery and grace boundaries.

A ghost model predicts each action: success with its exact effect, or the custom error's name (and key arguments).
After every step the whole state is read back from the chain and checked:
 (1) conservation: token.balanceOf(market) == sum(free + locked) + escrowed + sunk, and supply == wallets + market;
 (2) no account's funds (wallet + free + locked) fall except as its own actions allow: a buyer loses at most the
     escrow of its open requests, the price of its awards and delivered Wh x price of its settled ones; a seller
     only its penalty on a trade it won and that was reclaimed; the outsider nothing (checked against the chain's
     request records and the delivered Wh of the Settled events, as a bound and as an equality);
 (3) each seller's locked balance == the penalties of the requests where it holds the best bid or the award;
 (4) statuses only move forward along Open -> Awarded|Expired, Awarded -> Confirmed|Settled|Reclaimed,
     Confirmed -> Settled; Settled, Expired and Reclaimed are final;
 and the chain's accounts, escrow, sink, pause flag and requests equal the ghost's, field by field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.support.builders import AREA
from tests.support.market_bench import ACCESS, PARAMS, Bench, fresh, high_s, make_bench, raw_v
from v2vchain.chain.compiler import compile_contracts
from v2vchain.chain.errors import ContractRevert
from v2vchain.contracts.market import RequestStatus, SignedBid
from v2vchain.devnet import credential_for
from v2vchain.identity.registration import ROLE_BOTH, ROLE_BUYER, ROLE_SELLER

MAX_AMOUNT = 2**96 - 1
MAX_ENERGY = 1_000_000
MAX_SIGNED_BIDS = 16
BPS = 10_000
RELAY, GRACE, MAX_LEAD = PARAMS.relay_period_s, PARAMS.grace_period_s, PARAMS.max_lead_time_s
NONE, OPEN, AWARDED, SETTLED, EXPIRED, RECLAIMED, CONFIRMED = list(RequestStatus)
LIVE = (OPEN, AWARDED, CONFIRMED)  # a seller's penalty is locked in these
NEXT = {
    OPEN: {AWARDED, EXPIRED},
    AWARDED: {CONFIRMED, SETTLED, RECLAIMED},
    CONFIRMED: {SETTLED},
    SETTLED: set(),
    EXPIRED: set(),
    RECLAIMED: set(),
}
REJECTION = [
    "Expired",
    "Cancelled",
    "EnergyMismatch",
    "BadSignature",
    "NotActiveSeller",
    "SelfBid",
    "ZeroPrice",
    "AboveMax",
    "InsufficientCover",
]


def penalty(energy: int, price: int) -> int:
    return energy * price * PARAMS.penalty_bps // BPS


# ---------------------------------------------------------------------------------------------- the ghost


class Actor:
    def __init__(self, name: str, vehicle: Any, roles: int) -> None:
        self.name, self.vehicle, self.roles = name, vehicle, roles
        self.account, self.system, self.address = vehicle.account, vehicle.system, vehicle.address
        self.revoked = False

    def __repr__(self) -> str:
        return self.name


class Req:
    def __init__(
        self,
        rid: int,
        buyer: Actor,
        energy: int,
        max_price: int,
        deadline: int,
        start: int,
        end: int,
        relayer: str | None,
    ) -> None:
        self.rid, self.buyer, self.energy, self.max_price = rid, buyer, energy, max_price
        self.deadline, self.start, self.end, self.relayer = deadline, start, end, relayer
        self.status = OPEN
        self.seller: Actor | None = None
        self.price = 0
        self.confirmed = 0
        self.delivered = 0  # from the Settled event

    def __repr__(self) -> str:
        return f"#{self.rid}"


@dataclass
class Offer:
    """A signed bid as relayed, and what the ghost knows of its signature."""

    bid: SignedBid
    signed_for: int  # the request id the seller signed
    sig_ok: bool  # recovers to bid.seller (not malleated, not forged)
    label: str

    def __repr__(self) -> str:
        return f"{self.label}:{self.bid.price_per_wh}@#{self.signed_for}"


@dataclass
class Receipt:
    rid: int
    seller: str
    wh: int
    signer: str
    sig: bytes
    malleated: bool


Expected = tuple[str, dict[str, Any]] | None


@dataclass
class Ghost:
    wallet: dict[str, int]
    free: dict[str, int]
    locked: dict[str, int]
    floor: dict[str, int]
    escrowed: int = 0
    sunk: int = 0
    paused: bool = False
    requests: list[Req] = field(default_factory=list)

    def req(self, rid: int) -> Req | None:
        return self.requests[rid - 1] if 1 <= rid <= len(self.requests) else None


@pytest.fixture(scope="module")
def bench() -> Iterator[Bench]:
    b = make_bench(compile_contracts(include_test=True), cover=300_000)
    yield b
    b.chain.close()


class MarketMachine(RuleBasedStateMachine):
    bench: Bench

    def __init__(self) -> None:
        super().__init__()
        b = self.b = self.bench
        self.snapshot_cm = fresh(b)
        self.snapshot_cm.__enter__()
        self.market, self.token = b.market, b.token
        self.actors = [
            Actor("buyer0", b.buyers[0], ROLE_BUYER),
            Actor("buyer1", b.buyers[1], ROLE_BOTH),
            *(Actor(f"seller{i}", s, ROLE_SELLER) for i, s in enumerate(b.sellers)),
            Actor("outsider", b.outsider, 0),
        ]
        self.by_address = {a.address: a for a in self.actors}
        self.others = [b.admin, b.issuer.address]
        addresses = [a.address for a in self.actors]
        accounts = {a: self.market.account(a) for a in addresses}
        self.ghost = Ghost(
            wallet={a: b.wallet(a) for a in addresses},
            free={a: accounts[a].free for a in addresses},
            locked={a: 0 for a in addresses},
            floor={a: 0 for a in addresses},
        )
        self.initial = {a: self.ghost.wallet[a] + self.ghost.free[a] for a in addresses}
        self.supply = self.token.total_supply()
        self.offers: list[Offer] = []
        self.receipts: list[Receipt] = []
        self.seen: dict[int, RequestStatus] = {}
        self.reregistered = 0
        self.focus: int | None = None

    def teardown(self) -> None:
        self.snapshot_cm.__exit__(None, None, None)

    # ------------------------------------------------------------------------------------------ helpers

    def now(self) -> int:
        return self.b.now()

    def actor(self, data: st.DataObject, label: str, preferred: list[Actor] | None = None) -> Actor:
        pool = st.sampled_from(self.actors)
        if preferred:
            pool = st.one_of(st.sampled_from(preferred), st.sampled_from(preferred), pool)
        return data.draw(pool, label=label)

    def rid(
        self, data: st.DataObject, statuses: tuple[RequestStatus, ...], ready: Callable[[Req], bool] | None = None
    ) -> int:
        n = len(self.ghost.requests)
        if self.focus is not None:
            return self.focus if data.draw(st.sampled_from([True] * 9 + [False]), label="known") else n + 1
        if not n:
            return data.draw(st.sampled_from([0, 1]), label="request")
        good = [r.rid for r in self.ghost.requests if r.status in statuses and (ready is None or ready(r))]
        good = good or [r.rid for r in self.ghost.requests if r.status in statuses]
        which = data.draw(
            st.sampled_from(["good"] * 8 + ["any", "unknown"] if good else ["any", "unknown"]), label="which"
        )
        if which == "good":
            return data.draw(st.sampled_from(good), label="request")
        return data.draw(st.integers(1, n), label="request") if which == "any" else n + 1

    def act(self, what: str, call: Callable[[], Any], expected: Expected) -> Any:
        event(f"{what.split('(')[0].split('.', 1)[1]}: {'ok' if expected is None else expected[0]}")
        if expected is None:
            try:
                return call()
            except ContractRevert as exc:
                raise AssertionError(f"{what}: legal per the model, but reverted: {exc}") from None
        name, arguments = expected
        try:
            call()
        except ContractRevert as exc:
            assert exc.name == name, f"{what}: expected {name}{arguments}, got {exc}"
            for key, value in arguments.items():
                assert exc.arguments.get(key) == value, f"{what}: {key}={exc.arguments.get(key)!r}, expected {value!r}"
            return None
        raise AssertionError(f"{what}: expected to revert with {name}{arguments}, but it succeeded")

    def active_error(self, actor: Actor, role: int) -> Expected:
        if actor.roles == 0:
            return ("NotRegistered", {"vehicle": actor.address})
        if actor.revoked:
            return ("CredentialRevoked", {"vehicle": actor.address})
        if actor.roles & role != role:
            return ("MissingRole", {"vehicle": actor.address, "required": role})
        return None

    def is_active_seller(self, actor: Actor) -> bool:
        return self.active_error(actor, ROLE_SELLER) is None

    def status_error(self, rid: int, required: RequestStatus, also: RequestStatus | None = None) -> Expected:
        r = self.ghost.req(rid)
        if r is None:
            return ("UnknownRequest", {"requestId": rid})
        if r.status != required and r.status != also:
            return ("WrongStatus", {"requestId": rid, "status": int(r.status), "required": int(required)})
        return None

    def closable_error(self, rid: int, caller: Actor) -> Expected:
        if (err := self.status_error(rid, OPEN)) is not None:
            return err
        r, ts = self.ghost.req(rid), self.now()
        assert r is not None
        if ts < r.deadline:
            return ("BiddingStillOpen", {"requestId": rid, "deadline": r.deadline, "nowTs": ts})
        if ts < r.deadline + RELAY and caller is not r.buyer and caller.address != r.relayer:
            return ("RelayPeriod", {"requestId": rid, "caller": caller.address, "openToAllFrom": r.deadline + RELAY})
        return None

    # the ghost's copies of the Vault's internal functions

    def unlock(self, a: str, amount: int) -> None:
        self.ghost.locked[a] -= amount
        self.ghost.free[a] += amount

    def take_best(self, r: Req, seller: Actor, price: int) -> None:
        if r.seller is not None:
            self.unlock(r.seller.address, penalty(r.energy, r.price))
        pen = penalty(r.energy, price)
        self.ghost.free[seller.address] -= pen
        self.ghost.locked[seller.address] += pen
        r.seller, r.price = seller, price

    def disqualify(self, r: Req) -> bool:
        if r.seller is not None and not self.is_active_seller(r.seller):
            self.unlock(r.seller.address, penalty(r.energy, r.price))
            r.seller, r.price = None, 0
            return True
        return False

    def close_request(self, r: Req) -> None:
        g = self.ghost
        if r.seller is None:
            r.status = EXPIRED
            g.escrowed -= r.energy * r.max_price
            g.free[r.buyer.address] += r.energy * r.max_price
        else:
            r.status = AWARDED
            g.escrowed -= r.energy * (r.max_price - r.price)
            g.free[r.buyer.address] += r.energy * (r.max_price - r.price)

    def settle(self, r: Req, wh: int, receipt: Any) -> None:
        g, seller = self.ghost, r.seller
        assert seller is not None
        delivered = min(wh, r.energy)
        r.status = SETTLED
        self.unlock(seller.address, penalty(r.energy, r.price))
        g.escrowed -= r.energy * r.price
        g.free[seller.address] += delivered * r.price
        g.free[r.buyer.address] += (r.energy - delivered) * r.price
        settled = self.market.events(receipt, "Settled")
        assert len(settled) == 1 and settled[0]["args"]["deliveredWh"] == delivered
        r.delivered = int(settled[0]["args"]["deliveredWh"])

    # ------------------------------------------------------------------------------------------ the auction

    def do_open(
        self, caller: Actor, energy: int, price: int, deadline: int, start: int, end: int, relayer: Actor | None
    ) -> None:
        g, ts = self.ghost, self.now()
        escrow = energy * price
        expected: Expected = None
        if g.paused:
            expected = ("EnforcedPause", {})
        elif (expected := self.active_error(caller, ROLE_BUYER)) is not None:
            pass
        elif energy == 0 or energy > MAX_ENERGY:
            expected = ("EnergyOutOfRange", {"energyWh": energy})
        elif price == 0:
            expected = ("ZeroPrice", {})
        elif deadline <= ts or deadline > ts + MAX_LEAD:
            expected = ("BadDeadline", {"deadline": deadline, "nowTs": ts})
        elif start < deadline or end <= start or end - start > PARAMS.max_delivery_window_s:
            expected = ("BadDeliveryWindow", {"start": start, "end": end})
        from_free = min(g.free[caller.address], escrow)
        if expected is None and g.wallet[caller.address] < escrow - from_free:
            expected = ("ERC20InsufficientBalance", {})
        relayer_address = relayer.address if relayer else None
        rid = self.act(
            f"{caller}.open(energy={energy}, max={price}, deadline={deadline}, relayer={relayer}) at {ts}",
            lambda: caller.system.market.open(
                energy_wh=energy,
                max_price_per_wh=price,
                deadline_ts=deadline,
                delivery_start_ts=start,
                delivery_end_ts=end,
                area_id=AREA,
                access_hash=ACCESS,
                relayer=relayer_address,
            ),
            expected,
        )
        if expected is None:
            assert rid == len(g.requests) + 1
            named = relayer_address if relayer is not None and relayer is not caller else None
            g.requests.append(Req(rid, caller, energy, price, deadline, start, end, named))
            g.free[caller.address] -= from_free
            g.wallet[caller.address] -= escrow - from_free
            g.escrowed += escrow

    def open_params(self, data: st.DataObject) -> tuple[int, int, int, int, int]:
        ts = self.now()
        energy = data.draw(st.sampled_from([10_000, 1_000, 10, 10_000, 4, 1]), label="energyWh")
        price = data.draw(st.sampled_from([100, 7, 100, 3, 1]), label="maxPrice")
        deadline = ts + data.draw(st.sampled_from([60, 600]), label="bidding_s")
        lead = data.draw(st.sampled_from([0, 300]), label="lead_s")
        window = data.draw(st.sampled_from([1, 600, 3_600]), label="window_s")
        flaw = data.draw(
            st.sampled_from(["none"] * 8 + ["energy=0", "price=0", "deadline=now", "end=start"]), label="flaw"
        )
        if flaw == "energy=0":
            energy = 0
        elif flaw == "price=0":
            price = 0
        elif flaw == "deadline=now":
            deadline = ts
        elif flaw == "end=start":
            window = 0
        return energy, price, deadline, deadline + lead, deadline + lead + window

    @initialize(
        data=st.data(),
        stages=st.lists(st.sampled_from(["awarded", "revoked", "awarded", "open"]), min_size=1, max_size=3),
    )
    def start_auctions(self, data: st.DataObject, stages: list[str]) -> None:
        """A few requests with an on-chain bid or two, some closed by their buyer at the deadline (after the issuer
        revoked the best bidder, for "revoked"), so that later stages are reached within the step budget."""
        for _ in stages:
            buyer = data.draw(st.sampled_from(self.actors[:2]), label="buyer")
            relayer = data.draw(st.sampled_from([None, self.actors[5], self.actors[2]]), label="relayer")
            ts = self.now()
            energy = data.draw(st.sampled_from([10, 1_000, 10_000]), label="energyWh")
            self.do_open(buyer, energy, 100, ts + 120, ts + 120, ts + 720, relayer)
            for seller in data.draw(st.lists(st.sampled_from(self.actors[1:5]), max_size=2), label="bidders"):
                self.bid_as(seller, len(self.ghost.requests), data.draw(st.integers(5, 100), label="price"))
        closing = [r for r, stage in zip(self.ghost.requests, stages) if stage in ("awarded", "revoked")]
        for r, stage in zip(self.ghost.requests, stages):
            best = r.seller
            if stage == "revoked" and best is not None and not best.revoked:
                self.act(
                    f"issuer.revoke({best})", lambda best=best: self.b.issuer_system.registry.revoke(best.address), None
                )
                best.revoked = True
        if closing:
            self.b.at(max(r.deadline for r in closing))
            for r in closing:
                receipt = self.act(f"{r.buyer}.close({r})", lambda r=r: r.buyer.system.market.close(r.rid), None)
                dropped = self.disqualify(r)
                assert len(self.market.events(receipt, "BidDisqualified")) == int(dropped)
                if dropped:
                    event("best bidder revoked before the close")
                self.close_request(r)
            then = data.draw(st.sampled_from(["start", "stay", "grace"]), label="then")
            if then != "stay":  # into the delivery windows, or past them and the grace period
                ts = max(r.start if then == "start" else r.end + GRACE for r in closing)
                if ts > self.now():
                    self.b.at(ts)

    @precondition(lambda self: sum(r.status in LIVE for r in self.ghost.requests) < 4)
    @rule(data=st.data())
    def open_request(self, data: st.DataObject) -> None:
        self.open(data)

    def open(self, data: st.DataObject) -> None:
        caller = self.actor(data, "caller", self.actors[:2])
        relayer = data.draw(st.sampled_from([None, None, caller, *self.actors]), label="relayer")
        self.do_open(caller, *self.open_params(data), relayer)

    def bid_price(self, data: st.DataObject, r: Req | None, label: str) -> int:
        max_price = r.max_price if r else 100
        best = r.price if r and r.seller else max_price + 1
        kind = data.draw(
            st.sampled_from(["undercut", "undercut", "best-1", "best", "max", "max+1", "0", "1", "any"]), label=label
        )
        price = {
            "undercut": max(1, min(best - 1, max_price) * 9 // 10),
            "best-1": best - 1,
            "best": best,
            "max": max_price,
            "max+1": max_price + 1,
            "0": 0,
            "1": 1,
        }.get(kind)
        if price is None:
            price = data.draw(st.integers(1, max_price), label=f"{label}-any")
        return max(price, 0)

    def bid(self, data: st.DataObject) -> None:
        caller = self.actor(data, "caller", self.actors[1:5])
        rid = self.rid(data, (OPEN,), lambda r: self.now() < r.deadline)
        self.bid_as(caller, rid, self.bid_price(data, self.ghost.req(rid), "price"))

    def bid_as(self, caller: Actor, rid: int, price: int) -> None:
        g, r, ts = self.ghost, self.ghost.req(rid), self.now()
        expected: Expected
        if g.paused:
            expected = ("EnforcedPause", {})
        elif (expected := self.status_error(rid, OPEN)) is not None:
            pass
        elif r is None:
            raise AssertionError("unreachable")
        elif ts >= r.deadline:
            expected = ("BiddingClosed", {"requestId": rid, "deadline": r.deadline, "nowTs": ts})
        elif (expected := self.active_error(caller, ROLE_SELLER)) is not None:
            pass
        elif caller is r.buyer:
            expected = ("SelfBid", {"requestId": rid, "buyer": caller.address})
        elif price == 0:
            expected = ("ZeroPrice", {})
        elif price > r.max_price:
            expected = ("BidAboveMax", {"price": price, "maxPrice": r.max_price})
        elif r.seller is not None and price >= r.price:
            expected = ("BidNotLower", {"price": price, "bestPrice": r.price})
        elif penalty(r.energy, price) == 0:
            expected = ("PenaltyRoundsToZero", {"energyWh": r.energy, "pricePerWh": price})
        else:
            free = g.free[caller.address] + (penalty(r.energy, r.price) if r.seller is caller else 0)
            if free < penalty(r.energy, price):
                expected = (
                    "InsufficientFreeBalance",
                    {"account": caller.address, "free": free, "needed": penalty(r.energy, price)},
                )
        self.act(f"{caller}.bid({r or rid}, {price}) at {ts}", lambda: caller.system.market.bid(rid, price), expected)
        if expected is None:
            assert r is not None
            self.take_best(r, caller, price)

    def sign_bid(self, data: st.DataObject, flaw: str) -> None:
        """A seller signs a bid off-chain (or an attacker forges or mangles one) for the request in focus."""
        g = self.ghost
        r = g.req(self.focus)
        assert r is not None
        seller = self.actor(data, "seller", self.actors[1:5])
        price = 0 if flaw == "zero" else self.bid_price(data, r, "price")
        floor = g.floor[seller.address]
        nonce = max(floor - 1, 0) if flaw == "cancelled" else floor + data.draw(st.integers(0, 2), label="nonce")
        ts = self.now()
        expiry = {"expired": ts - 1, "expiring": ts + 30}.get(flaw, ts + 4 * 3_600)
        energy = r.energy + 1 if flaw == "energy" else r.energy
        signer = (
            self.actors[2]
            if flaw == "forged" and seller is not self.actors[2]
            else self.actors[3]
            if flaw == "forged"
            else seller
        )
        bid = self.market.sign_bid(
            signer.account, request_id=r.rid, price_per_wh=price, energy_wh=energy, nonce=nonce, expiry_ts=expiry
        )
        bid = dataclasses.replace(bid, seller=seller.address)
        if flaw == "high-s":
            bid = dataclasses.replace(bid, signature=high_s(bid.signature))
        elif flaw == "v0/1":
            bid = dataclasses.replace(bid, signature=raw_v(bid.signature))
        self.offers.append(Offer(bid, r.rid, flaw not in ("high-s", "v0/1", "forged"), f"{seller}/{flaw}"))
        event(f"sign_bid: {flaw}")

    def rejection(self, r: Req, offer: Offer, ts: int) -> str | None:
        """Market._checkSignedBid, in its order, at the close's timestamp ts."""
        b, g = offer.bid, self.ghost
        seller = self.by_address[b.seller]
        if ts > b.expiry_ts:
            return "Expired"
        if b.nonce < g.floor[b.seller]:
            return "Cancelled"
        if b.energy_wh != r.energy:
            return "EnergyMismatch"
        if not offer.sig_ok or offer.signed_for != r.rid:
            return "BadSignature"
        if not self.is_active_seller(seller):
            return "NotActiveSeller"
        if seller is r.buyer:
            return "SelfBid"
        if b.price_per_wh == 0:
            return "ZeroPrice"
        if b.price_per_wh > r.max_price:
            return "AboveMax"
        cover = penalty(r.energy, b.price_per_wh)
        if cover == 0 or g.free[b.seller] < cover:
            return "InsufficientCover"
        return None

    def ready_to_close(self, r: Req) -> bool:
        return self.now() >= r.deadline

    def travel(self, data: st.DataObject, rid: int, moments: list[str]) -> None:
        """Often the attacker acts at a boundary of the request: move the clock there first (never back)."""
        r = self.ghost.req(rid)
        when = data.draw(st.sampled_from(moments), label="when")
        if r is None or when == "now":
            return
        base, _, minus = when.partition("-")
        ts = {"deadline": r.deadline, "relay": r.deadline + RELAY, "start": r.start, "grace": r.end + GRACE}[base] - (
            1 if minus else 0
        )
        if ts > self.now():
            self.b.at(ts)

    def close(self, data: st.DataObject) -> None:
        caller = self.actor(data, "caller")
        rid = self.rid(data, (OPEN,), self.ready_to_close)
        self.travel(data, rid, ["deadline", "now", "relay", "deadline-1", "relay-1"])
        r, expected = self.ghost.req(rid), self.closable_error(rid, caller)
        receipt = self.act(
            f"{caller}.close({r or rid}) at {self.now()}", lambda: caller.system.market.close(rid), expected
        )
        if expected is None:
            assert r is not None
            dropped = self.disqualify(r)
            assert len(self.market.events(receipt, "BidDisqualified")) == int(dropped)
            self.close_request(r)

    def close_with_signed_bids(self, data: st.DataObject, count: int) -> None:
        g = self.ghost
        caller = self.actor(data, "caller")
        rid = self.rid(data, (OPEN,), self.ready_to_close)
        self.travel(data, rid, ["deadline", "now", "relay", "deadline-1", "relay-1"])
        r = g.req(rid)
        mine = [o for o in self.offers if o.signed_for == rid]
        offers = []
        for i in range(count if self.offers else 0):
            own = mine and data.draw(st.sampled_from([True, True, True, False]), label=f"own{i}")
            offers.append(data.draw(st.sampled_from(mine if own else self.offers), label=f"offer{i}"))
        expected: Expected = None
        if g.paused:
            expected = ("EnforcedPause", {})
        elif len(offers) > MAX_SIGNED_BIDS:
            expected = ("TooManyBids", {"count": len(offers), "max": MAX_SIGNED_BIDS})
        else:
            expected = self.closable_error(rid, caller)
        ts = self.now()
        receipt = self.act(
            f"{caller}.closeWithSignedBids({r or rid}, {offers}) at {ts}",
            lambda: caller.system.market.close_with_signed_bids(rid, [o.bid for o in offers]),
            expected,
        )
        if expected is None:
            assert r is not None
            dropped = self.disqualify(r)
            assert len(self.market.events(receipt, "BidDisqualified")) == int(dropped)
            best, winner = (r.price if r.seller else MAX_AMOUNT), None
            reasons = []
            for i, o in enumerate(offers):
                if o.bid.price_per_wh >= best:
                    continue  # cannot win: passed over unchecked
                why = self.rejection(r, o, ts)
                if why is not None:
                    reasons.append((i, why))
                    event(f"signed bid rejected: {why}")
                else:
                    best, winner = o.bid.price_per_wh, o
            got = [
                (int(e["args"]["index"]), REJECTION[int(e["args"]["reason"])])
                for e in self.market.events(receipt, "SignedBidRejected")
            ]
            assert got == reasons, f"rejections on chain {got} != ghost {reasons}"
            if winner is not None:
                self.take_best(r, self.by_address[winner.bid.seller], winner.bid.price_per_wh)
            self.close_request(r)

    # ------------------------------------------------------------------------------------------ settlement

    ANY = ["reclaim", "confirm", "close", "claim", "finalize", "close-signed", "bid", "sign"]

    def natural(self, r: Req) -> list[str]:
        """The actions a request's status and the clock invite, the likeliest first (Hypothesis favours it)."""
        ts = self.now()
        if r.status == OPEN:
            if ts < r.deadline:
                return (
                    ["close-signed", "sign", "bid", "sign", "close"]
                    if any(o.signed_for == r.rid for o in self.offers)
                    else ["sign", "bid", "close-signed", "close"]
                )
            return ["close-signed", "close", "sign", "bid"]
        if r.status == AWARDED:
            if ts < r.start:
                return ["confirm", "receipt", "claim", "reclaim"]
            if ts < r.end + GRACE:
                return ["confirm", "claim", "receipt", "reclaim", "finalize"]
            return ["reclaim", "claim", "confirm", "finalize"]
        if r.status == CONFIRMED:
            return (
                ["claim", "finalize", "receipt", "reclaim", "confirm"]
                if ts < r.end + GRACE
                else ["finalize", "claim", "reclaim"]
            )
        return self.ANY

    def progress(self, data: st.DataObject) -> None:
        """Pick a request and act on it: mostly what its status allows, sometimes anything (twice, too early, by
        the wrong party: every action still picks its caller from everyone)."""
        live = [r for r in self.ghost.requests if r.status in LIVE]
        if not live:
            self.open(data)
            return
        which = data.draw(st.sampled_from(["live", "live", "live", "any"]), label="pick")
        r = data.draw(st.sampled_from(live if which == "live" else self.ghost.requests), label="focus")
        self.focus = r.rid
        natural = data.draw(st.sampled_from([True, True, True, False]), label="natural")
        kinds = self.natural(r) if natural else self.ANY
        kind = data.draw(st.sampled_from(kinds), label="action")
        try:
            if kind == "bid":
                self.bid(data)
            elif kind == "sign":
                if r.status == OPEN:
                    self.sign_bid(
                        data,
                        data.draw(
                            st.sampled_from(
                                [
                                    "none",
                                    "high-s",
                                    "none",
                                    "v0/1",
                                    "none",
                                    "forged",
                                    "none",
                                    "expired",
                                    "none",
                                    "expiring",
                                    "energy",
                                    "cancelled",
                                    "zero",
                                ]
                            ),
                            label="flaw",
                        ),
                    )
            elif kind == "close":
                self.close(data)
            elif kind == "close-signed":
                self.close_with_signed_bids(
                    data, data.draw(st.sampled_from([2, 3, 1, 0, 4, 5, MAX_SIGNED_BIDS + 1]), label="count")
                )
            elif kind == "confirm":
                self.confirm_delivery(data)
            elif kind == "receipt":
                self.sign_receipt(data)
            elif kind == "claim":
                self.claim_with_receipt(
                    data,
                    data.draw(
                        st.sampled_from(["stored", "stored", "stored", "forged", "high-s", "inflated"]),
                        label="receipt_kind",
                    ),
                )
            elif kind == "finalize":
                self.finalize(data)
            else:
                self.reclaim(data)
        finally:
            self.focus = None

    @precondition(lambda self: bool(self.ghost.requests))
    @rule(data=st.data())
    def act_on_a_request(self, data: st.DataObject) -> None:
        self.progress(data)

    @precondition(lambda self: bool(self.ghost.requests))
    @rule(data=st.data())
    def act_on_a_request_again(self, data: st.DataObject) -> None:
        """The same (a second rule, so requests get most of the steps under swarm testing)."""
        self.progress(data)

    def confirm_delivery(self, data: st.DataObject) -> None:
        rid = self.rid(data, (AWARDED,))
        self.travel(data, rid, ["now", "now", "start", "grace-1", "grace"])
        r = self.ghost.req(rid)
        caller = self.actor(data, "caller", [r.buyer] if r else None)
        energy = r.energy if r else 10
        wh = data.draw(st.sampled_from([0, 0, 1, energy // 2, energy - 1, energy, energy + 1]), label="wh")
        expected = self.status_error(rid, AWARDED)
        if expected is None and r is not None and caller is not r.buyer:
            expected = ("NotBuyer", {"caller": caller.address, "buyer": r.buyer.address})
        ts = self.now()
        receipt = self.act(
            f"{caller}.confirmDelivery({r or rid}, {wh}) at {ts}",
            lambda: caller.system.market.confirm_delivery(rid, wh),
            expected,
        )
        if expected is None:
            assert r is not None
            if wh >= r.energy or ts >= r.end + GRACE:
                self.settle(r, wh, receipt)
            else:
                r.status, r.confirmed = CONFIRMED, wh

    def sign_receipt(self, data: st.DataObject) -> None:
        """The buyer signs a meter receipt at delivery (whether or not it later confirms as much)."""
        r = self.ghost.req(self.focus) if self.focus else None
        if r is None or r.status not in (AWARDED, CONFIRMED):
            return
        assert r.seller is not None
        wh = data.draw(st.sampled_from([1, r.energy // 2, r.energy]), label="wh")
        sig = self.market.sign_receipt(r.buyer.account, request_id=r.rid, seller=r.seller.address, delivered_wh=wh)
        self.receipts.append(Receipt(r.rid, r.seller.address, wh, r.buyer.address, sig, False))

    def claim_with_receipt(self, data: st.DataObject, kind: str) -> None:
        rid = self.rid(data, (AWARDED, CONFIRMED))
        self.travel(data, rid, ["now", "now", "start-1", "start", "grace"])
        r = self.ghost.req(rid)
        caller = self.actor(data, "caller", [r.seller] if r and r.seller else None)
        stored = [x for x in self.receipts if x.rid == rid]
        if kind == "stored" and stored:
            rec = data.draw(st.sampled_from(stored), label="receipt")
        else:
            wh = r.energy if r else 10
            signer = caller if kind == "forged" else (r.buyer if r else caller)
            sig = self.market.sign_receipt(signer.account, request_id=rid, seller=caller.address, delivered_wh=wh)
            rec = Receipt(
                rid, caller.address, wh, signer.address, high_s(sig) if kind == "high-s" else sig, kind == "high-s"
            )
        wh = rec.wh * 2 if kind == "inflated" else rec.wh  # a receipt for less, claimed for more
        ts = self.now()
        expected = self.status_error(rid, AWARDED, also=CONFIRMED)
        if expected is None and r is not None:
            assert r.seller is not None
            if caller is not r.seller:
                expected = ("NotSeller", {"caller": caller.address, "seller": r.seller.address})
            elif ts < r.start:
                expected = ("TooEarly", {"nowTs": ts, "allowedFrom": r.start})
            elif r.status == CONFIRMED and wh <= r.confirmed:
                expected = (
                    "ReceiptNotAboveConfirmation",
                    {"requestId": rid, "receiptWh": wh, "confirmedWh": r.confirmed},
                )
            elif rec.malleated or rec.signer != r.buyer.address or rec.seller != caller.address or wh != rec.wh:
                expected = ("NotSignedByBuyer", {"buyer": r.buyer.address})
        receipt = self.act(
            f"{caller}.claimWithReceipt({r or rid}, {wh}, {kind}) at {ts}",
            lambda: caller.system.market.claim_with_receipt(rid, wh, rec.sig),
            expected,
        )
        if expected is None:
            assert r is not None
            self.settle(r, wh, receipt)

    def after_grace(self, r: Req) -> bool:
        return self.now() >= r.end + GRACE

    def finalize(self, data: st.DataObject) -> None:
        caller = self.actor(data, "caller")
        rid = self.rid(data, (CONFIRMED,), self.after_grace)
        self.travel(data, rid, ["now", "grace-1", "grace", "grace"])
        r, ts = self.ghost.req(rid), self.now()
        expected = self.status_error(rid, CONFIRMED)
        if expected is None and r is not None and ts < r.end + GRACE:
            expected = ("TooEarly", {"nowTs": ts, "allowedFrom": r.end + GRACE})
        receipt = self.act(
            f"{caller}.finalize({r or rid}) at {ts}", lambda: caller.system.market.finalize(rid), expected
        )
        if expected is None:
            assert r is not None
            self.settle(r, r.confirmed, receipt)

    def reclaim(self, data: st.DataObject) -> None:
        caller = self.actor(data, "caller")
        rid = self.rid(data, (AWARDED,), self.after_grace)
        self.travel(data, rid, ["now", "grace-1", "grace", "grace"])
        r, ts, g = self.ghost.req(rid), self.now(), self.ghost
        expected = self.status_error(rid, AWARDED)
        if expected is None and r is not None and ts < r.end + GRACE:
            expected = ("TooEarly", {"nowTs": ts, "allowedFrom": r.end + GRACE})
        self.act(f"{caller}.reclaim({r or rid}) at {ts}", lambda: caller.system.market.reclaim(rid), expected)
        if expected is None:
            assert r is not None and r.seller is not None
            pen = penalty(r.energy, r.price)
            r.status = RECLAIMED
            g.escrowed -= r.energy * r.price
            g.locked[r.seller.address] -= pen
            g.sunk += pen
            g.free[r.buyer.address] += r.energy * r.price

    # ------------------------------------------------------------------------------------------ accounts

    @rule(data=st.data(), kind=st.sampled_from(["withdraw", "deposit", "withdraw", "cancel"]))
    def account(self, data: st.DataObject, kind: str) -> None:
        """Money in and out of the vault (any amount, anyone) and nonce cancellations."""
        if kind == "cancel":
            self.cancel_nonces(data, data.draw(st.sampled_from([1, 1, 2, 0]), label="step"))
        elif kind == "deposit":
            self.deposit(data, data.draw(st.sampled_from(["cover", "1", "0", "wallet+1"]), label="amount"))
        else:
            self.withdraw(data, data.draw(st.sampled_from(["free", "half", "0", "1", "free+1"]), label="amount"))

    def withdraw(self, data: st.DataObject, kind: str) -> None:
        g = self.ghost
        caller = self.actor(data, "caller", [a for a in self.actors if g.free[a.address]])
        free = g.free[caller.address]
        amount = {"0": 0, "1": 1, "half": free // 2, "free": free, "free+1": free + 1}[kind]
        expected: Expected = None
        if amount == 0:
            expected = ("ZeroAmount", {})
        elif amount > free:
            expected = ("InsufficientFreeBalance", {"account": caller.address, "free": free, "needed": amount})
        self.act(f"{caller}.withdraw({amount})", lambda: caller.system.market.withdraw(amount), expected)
        if expected is None:
            g.free[caller.address] -= amount
            g.wallet[caller.address] += amount

    def deposit(self, data: st.DataObject, kind: str) -> None:
        g = self.ghost
        caller = self.actor(data, "caller", self.actors[1:5])
        amount = {"0": 0, "1": 1, "cover": 200_000, "wallet+1": g.wallet[caller.address] + 1}[kind]
        expected = self.active_error(caller, 0)
        if expected is None:
            if amount == 0:
                expected = ("ZeroAmount", {})
            elif amount > g.wallet[caller.address]:
                expected = ("ERC20InsufficientBalance", {})
        self.act(f"{caller}.deposit({amount})", lambda: caller.system.market.deposit(amount), expected)
        if expected is None:
            g.free[caller.address] += amount
            g.wallet[caller.address] -= amount

    def cancel_nonces(self, data: st.DataObject, step: int) -> None:
        caller = self.actor(data, "caller", self.actors[1:5])
        floor = self.ghost.floor[caller.address]
        expected: Expected = ("NonceFloorNotRaised", {"newFloor": floor + step, "floor": floor}) if step == 0 else None
        self.act(
            f"{caller}.cancelNonces({floor + step})", lambda: caller.system.market.cancel_nonces(floor + step), expected
        )
        if expected is None:
            self.ghost.floor[caller.address] = floor + step

    # ------------------------------------------------------------------------------------------ governance

    @rule(data=st.data(), kind=st.sampled_from(["revoke", "pause", "reregister", "unpause", "pause-by-anyone"]))
    def govern(self, data: st.DataObject, kind: str) -> None:
        """The issuer revokes a trader mid-auction (at most two at a time) or re-registers one; the admin pauses or
        unpauses; anyone else tries to pause."""
        if kind == "revoke" and sum(a.revoked for a in self.actors) >= 2:
            kind = "reregister"
        if kind == "revoke":
            bidders = [r.seller for r in self.ghost.requests if r.status == OPEN and r.seller and not r.seller.revoked]
            target = data.draw(st.sampled_from(bidders + self.actors[1:5]), label="target")  # a best bidder first
            expected = ("CredentialRevoked", {"vehicle": target.address}) if target.revoked else None
            self.act(f"issuer.revoke({target})", lambda: self.b.issuer_system.registry.revoke(target.address), expected)
            target.revoked = True
        elif kind == "reregister":
            revoked = [a for a in self.actors if a.revoked]
            if not revoked:
                return
            target = data.draw(st.sampled_from(revoked), label="target")
            self.reregistered += 1
            credential = credential_for(
                self.b.system, self.b.issuer, target.account, target.roles, lifetime_s=365 * 86_400 + self.reregistered
            )
            self.act(f"{target}.register(again)", lambda: self.b.system.registry.register(credential), None)
            target.revoked = False
        elif kind == "pause-by-anyone":
            caller = self.actor(data, "caller")
            self.act(
                f"{caller}.pause()",
                lambda: caller.system.market.pause(),
                ("OwnableUnauthorizedAccount", {"account": caller.address}),
            )
        else:
            pause = kind == "pause"
            expected = None
            if pause and self.ghost.paused:
                expected = ("EnforcedPause", {})
            elif not pause and not self.ghost.paused:
                expected = ("ExpectedPause", {})
            self.act(f"admin.{kind}()", self.market.pause if pause else self.market.unpause, expected)
            self.ghost.paused = pause

    # ------------------------------------------------------------------------------------------ the clock

    @rule(
        data=st.data(),
        jump=st.sampled_from(
            [
                "1",
                "30",
                "300",
                "deadline-1",
                "deadline",
                "deadline",
                "relay-1",
                "relay",
                "start",
                "grace-1",
                "grace",
                "grace",
            ]
        ),
    )
    def advance(self, data: st.DataObject, jump: str) -> None:
        if jump.isdigit():
            self.b.at(self.now() + int(jump))
            return
        live = [r for r in self.ghost.requests if r.status in LIVE]
        if not live:
            return
        r = data.draw(st.sampled_from(live), label="request")
        base, _, minus = jump.partition("-")
        ts = {"deadline": r.deadline, "relay": r.deadline + RELAY, "start": r.start, "grace": r.end + GRACE}[base] - (
            1 if minus else 0
        )
        if ts > self.now():
            self.b.at(ts)

    # ------------------------------------------------------------------------------------------ invariants

    @invariant()
    def books(self) -> None:
        g, m = self.ghost, self.market
        addresses = [a.address for a in self.actors]
        wallets = {a: self.b.wallet(a) for a in addresses + self.others}
        accounts = {a: m.account(a) for a in addresses + self.others}
        held, escrowed, sunk = self.b.wallet(m.address), m.escrowed(), m.sunk()
        requests = [m.request(rid) for rid in range(1, len(g.requests) + 1)]
        # (1) conservation
        assert held == sum(x.total for x in accounts.values()) + escrowed + sunk, "market balance != books"
        assert self.token.total_supply() == self.supply == sum(wallets.values()) + held, "supply != wallets + market"
        assert escrowed == sum(
            r.energy_wh * (r.max_price_per_wh if r.status == OPEN else r.price_per_wh)
            for r in requests
            if r.status in LIVE
        ), "escrow != what live requests hold"
        # the ghost, field by field
        for a in addresses:
            got = (wallets[a], accounts[a].free, accounts[a].locked, accounts[a].nonce_floor)
            want = (g.wallet[a], g.free[a], g.locked[a], g.floor[a])
            assert got == want, f"{self.by_address[a]}: chain {got} != ghost {want}"
        for a in self.others:
            assert accounts[a].total == 0 and wallets[a] == 0, f"{a} holds something"
        assert (escrowed, sunk, m.paused()) == (g.escrowed, g.sunk, g.paused)
        assert int(m.contract.functions.nextRequestId().call()) == len(g.requests) + 1
        for r, c in zip(g.requests, requests):
            want = (
                r.buyer.address,
                r.energy,
                r.max_price,
                r.status,
                r.seller.address if r.seller else None,
                r.price,
                r.confirmed if r.status in (CONFIRMED, SETTLED) else 0,
                r.relayer,
            )
            got = (
                c.buyer,
                c.energy_wh,
                c.max_price_per_wh,
                c.status,
                c.seller,
                c.price_per_wh,
                c.confirmed_wh if c.status in (CONFIRMED, SETTLED) else 0,
                m.relayer_of(r.rid),
            )
            assert got == want, f"request {r}: chain {got} != ghost {want}"
        # (2) nobody loses more than its own actions allow (from the chain's records)
        for a in addresses:
            spent = sum(
                c.energy_wh * c.max_price_per_wh
                if c.status == OPEN
                else c.energy_wh * c.price_per_wh
                if c.status in (AWARDED, CONFIRMED)
                else r.delivered * c.price_per_wh
                if c.status == SETTLED
                else 0
                for r, c in zip(g.requests, requests)
                if c.buyer == a
            )
            earned = sum(
                r.delivered * c.price_per_wh
                for r, c in zip(g.requests, requests)
                if c.status == SETTLED and c.seller == a
            )
            forfeited = sum(
                penalty(c.energy_wh, c.price_per_wh) for c in requests if c.status == RECLAIMED and c.seller == a
            )
            funds = wallets[a] + accounts[a].total
            assert funds >= self.initial[a] - spent - forfeited, f"{self.by_address[a]} lost more than it allowed"
            assert funds == self.initial[a] - spent + earned - forfeited, f"{self.by_address[a]}: funds {funds}"
            if self.by_address[a].name == "outsider":
                assert funds == self.initial[a]
        # (3) locked == penalties of the best bids and awards held
        for a in addresses:
            held_penalties = sum(
                penalty(c.energy_wh, c.price_per_wh) for c in requests if c.status in LIVE and c.seller == a
            )
            assert accounts[a].locked == held_penalties, f"{self.by_address[a]} locked {accounts[a].locked}"
        # (4) each request moves forward only, once per transition
        for c in requests:
            before = self.seen.get(c.request_id, OPEN)
            assert c.status == before or c.status in NEXT[before], f"#{c.request_id}: {before.name} -> {c.status.name}"
            self.seen[c.request_id] = c.status


def test_market_invariants_under_adversarial_random_actions(bench: Bench) -> None:
    MarketMachine.bench = bench
    run_state_machine_as_test(
        MarketMachine,
        settings=settings(
            max_examples=15,
            stateful_step_count=35,
            deadline=None,
            suppress_health_check=[
                HealthCheck.too_slow,
                HealthCheck.function_scoped_fixture,
                HealthCheck.filter_too_much,
            ],
        ),
    )
