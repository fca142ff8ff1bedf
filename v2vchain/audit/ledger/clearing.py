"""The batch Clearing's books rebuilt from indexed events alone, with the rules of Clearing.sol checked.

A commit's trades are the TradePublished rows the indexer read from its calldata (audit/published.py); its events
say which of them were funded (every trade not named by a TradeUnfunded of the same transaction) and what was
escrowed. Money, per funded trade: the buyer's payment (energy x price) leaves its free balance for the escrow, the
seller's penalty (energy x seller price x penaltyBps / 10000) moves from its free balance to locked. TradeClosed
releases the escrow: delivered x seller price to the seller with its penalty unlocked, delivered x (price - seller
price) to the operator, the rest back to the buyer; a reclaim returns the whole payment and sinks the penalty
(Forfeited, ref = the clearing id). None of these moves emits Credited: a Credited from the Clearing is unexplained.
The contract's constructor emits ClearingConfigured (penaltyBps, gracePeriod): each trade's penalty and every
settlement that must wait for a window's end plus grace (a reclaim, a finalize, a receipt above a pending
confirmation only before it) is judged against them. A traded order's route, as its commit published it, is judged
once per order (audit/routes.py: route-malformed, route-outside-window): the contract checks only its hash.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from v2vchain.audit.published import UNSPLIT
from v2vchain.audit.routes import MALFORMED, judge_route
from v2vchain.audit.store import Event, Store

from .vault import VaultBooks

ROLE_BUYER, ROLE_SELLER = 1, 2
SIDE_BUY, SIDE_SELL = 1, 2
TRADE_REDUCTION = 2
MAX_MECHANISM = 5
RESOLUTIONS = ("Confirmed", "Receipt", "Finalized", "Reclaimed")
UNPUBLISHED = "(parties of unpublished clearings)"
BPS = 10_000
SHORTFALLS = (
    "None",
    "BuyerFree",
    "SellerCover",
    "BuyerOrderSpent",
    "SellerOrderSpent",
    "BuyerInactive",
    "SellerInactive",
)


@dataclass
class ClearingTrade:
    clearing_id: int
    index: int
    published: Event
    commit: Event | None = None
    funded: bool = False
    unfunded: str = ""  # the TradeUnfunded reason
    escrow: int = 0
    confirmed: Event | None = None  # a pending partial confirmation (DeliveryConfirmed)
    closed: Event | None = None  # TradeClosed

    @property
    def a(self) -> dict[str, Any]:
        return self.published.args

    @property
    def buyer(self) -> str:
        return str(self.a["buyer"])

    @property
    def seller(self) -> str:
        return str(self.a["seller"])

    @property
    def energy_wh(self) -> int:
        return int(self.a["energyWh"])

    @property
    def price(self) -> int:
        return int(self.a["pricePerWh"])

    @property
    def seller_price(self) -> int:
        return int(self.a["sellerPricePerWh"])

    @property
    def payment(self) -> int:
        return self.energy_wh * self.price

    @property
    def penalty(self) -> int:
        return int(self.a.get("penalty") or 0)

    @property
    def delivery_end(self) -> int:
        return int(self.a["deliveryEnd"])

    @property
    def status(self) -> str:
        if self.closed is not None:
            return "reclaimed" if RESOLUTIONS[int(self.closed.args["how"])] == "Reclaimed" else "settled"
        if not self.funded:
            return "unfunded"
        return "confirmed" if self.confirmed is not None else "awarded"


@dataclass
class Clearing:
    clearing_id: int
    operator: str
    mechanism_id: int
    committed: Event
    trades: dict[int, ClearingTrade] = field(default_factory=dict)


class ClearingBooks(VaultBooks):
    def __init__(self, address: str) -> None:
        super().__init__(address, "Clearing")
        self.clearings: dict[int, Clearing] = {}
        self.active = False  # any event of the Clearing seen
        self.next_seq: Counter[str] = Counter()
        self.filled: Counter[tuple[str, int]] = Counter()  # funded Wh per (owner, nonce), over every clearing
        self._split = True
        self.penalty_bps: int | None = None  # from ClearingConfigured: unknown until the index holds it
        self.grace_period: int | None = None
        # this transaction's commits, and their published trades and unfunded ones by clearing id
        self._commits: list[Event] = []
        self._published: dict[int, list[Event]] = {}
        self._unfunded: dict[int, dict[int, str]] = {}

    @classmethod
    def from_store(cls, store: Store) -> ClearingBooks | None:
        address = next((c.address for c in store.contracts() if c.name == "Clearing"), None)
        if address is None:
            return None
        books = cls(address)
        books.apply_all(store.events())
        return books

    @property
    def split_known(self) -> bool:
        return self._split

    def _handler(self, event: Event) -> Any:
        if event.contract == self.venue:
            self.active = True
        return super()._handler(event)

    def trade(self, e: Event, clearing_id: int, index: int) -> ClearingTrade | None:
        c = self.clearings.get(clearing_id)
        t = c.trades.get(index) if c else None
        if t is None and c is not None and -1 in c.trades:  # unpublished: only the escrow's total is known
            if e.event == "TradeClosed":
                paid = int(e.args["toSeller"]) + int(e.args["toOperator"]) + int(e.args["toBuyer"])
                self._move(-paid, request=c.trades[-1])
                self._move(paid, free=UNPUBLISHED)
            return None
        if t is None:
            self._violate(
                "unknown-trade", e, f"{e.event} for trade {index} of clearing {clearing_id:#x}, never committed"
            )
        return t

    def _on_Clearing_ClearingConfigured(self, e: Event, a: dict[str, Any]) -> None:
        self.penalty_bps, self.grace_period = int(a["penaltyBps"]), int(a["gracePeriod"])

    def _penalty(self, a: dict[str, Any]) -> int:
        """A published trade's penalty at the configured rate (energy x seller price x bps / 10000, rounded down)."""
        return int(a["energyWh"]) * int(a["sellerPricePerWh"]) * (self.penalty_bps or 0) // BPS

    def _settleable_from(self, t: ClearingTrade) -> int | None:
        """When the window plus grace of `t` ends (reclaim and finalize from then on), if the grace is known."""
        return None if self.grace_period is None else t.delivery_end + self.grace_period

    # ---------------------------------------------------------------- commit

    def _on_Clearing_TradeUnfunded(self, e: Event, a: dict[str, Any]) -> None:
        reason = int(a["reason"])
        why = SHORTFALLS[reason] if reason < len(SHORTFALLS) else str(reason)
        self._unfunded.setdefault(int(a["clearingId"]), {})[int(a["tradeIndex"])] = why

    def _on_Clearing_ClearingCommitted(self, e: Event, a: dict[str, Any]) -> None:
        self._commits.append(e)

    def _on_Clearing_TradePublished(self, e: Event, a: dict[str, Any]) -> None:
        self._published.setdefault(int(a["clearingId"]), []).append(e)

    def _after_tx(self, first: Event) -> None:
        """A commit's trades are published after its event (the rows follow the logs): each is booked here."""
        for commit in self._commits:
            cid = int(commit.args["clearingId"])
            self._committed(commit, self._published.get(cid, []), self._unfunded.get(cid, {}))
        self._commits, self._published, self._unfunded = [], {}, {}
        super()._after_tx(first)

    def _committed(self, e: Event, published: list[Event], unfunded: dict[int, str]) -> None:
        a = e.args
        cid, operator, mechanism = int(a["clearingId"]), str(a["operator"]), int(a["mechanismId"])
        if cid in self.clearings:
            self._violate("committed-twice", e, f"clearing {cid:#x} committed a second time")
            return
        c = Clearing(cid, operator, mechanism, e)
        self.clearings[cid] = c
        if self.paused:
            self._violate("traded-while-paused", e, f"clearing {cid:#x} committed while the clearing was paused")
        if reason := self.not_active(operator, 0, e.timestamp):
            self._violate("operator-not-active", e, f"clearing {cid:#x} committed by {operator}, {reason}")
        seq = cid & ((1 << 96) - 1)
        if cid >> 96 != int(operator, 16) or seq != self.next_seq[operator]:
            self._violate(
                "wrong-clearing-id",
                e,
                f"clearing {cid:#x} by {operator}: expected its sequence number {self.next_seq[operator]}",
            )
        if cid >> 96 == int(operator, 16):
            self.next_seq[operator] = seq + 1
        if not 1 <= mechanism <= MAX_MECHANISM:
            self._violate("unknown-mechanism", e, f"clearing {cid:#x}: mechanism id {mechanism}")
        count, opened, total = int(a["tradeCount"]), int(a["openedTrades"]), int(a["escrowedAmount"])
        if not published:
            if count:
                self._warn(
                    "clearing-unpublished",
                    e,
                    f"clearing {cid:#x}: its {count} trade(s) could not be read from the commit's calldata; "
                    f"its escrow of {total} is booked as a whole",
                )
            self._split = False  # who paid and who locked what is unknown: the whole moves as one pseudo-account's
            self._move(-total, free=UNPUBLISHED)
            self._move(total, request=c.trades.setdefault(-1, ClearingTrade(cid, -1, e, e, funded=False)))
            return
        if len(published) != count:
            self._violate("wrong-count", e, f"clearing {cid:#x}: {count} trades committed, {len(published)} published")
        for p in published:
            if p.args.get("penalty") is None and self.penalty_bps is not None:  # indexed before the rate was met
                p = replace(p, args={**p.args, "penalty": self._penalty(p.args)})
            t = ClearingTrade(cid, int(p.args["tradeIndex"]), p, e)
            c.trades[t.index] = t
            if p.args.get("penalty") is None:
                self._split = False
        funded = [t for t in c.trades.values() if t.index not in unfunded]
        for t in c.trades.values():
            t.unfunded = unfunded.get(t.index, "")
        if opened != len(funded) or total != sum(t.payment for t in funded):
            self._violate(
                "wrong-amount",
                e,
                f"clearing {cid:#x}: {opened} trades opened escrowing {total}; its published funded trades are "
                f"{len(funded)} worth {sum(t.payment for t in funded)}",
            )
        self._check_trades(e, c)
        floors: dict[str, int] = {}
        for t in funded:
            self._open(e, c, t, floors)
        for owner, floor in floors.items():
            self.nonce_floor[owner] = max(self.nonce_floor[owner], floor)

    def _check_trades(self, e: Event, c: Clearing) -> None:
        """What the contract checks of every trade, funded or not, before it funds any."""
        filled: Counter[int] = Counter()
        judged: set[int] = set()  # order indices whose route was judged
        first: ClearingTrade | None = None
        for t in sorted(c.trades.values(), key=lambda t: t.index):
            a, where = t.a, f"clearing {c.clearing_id:#x} trade {t.index}"
            problems = []
            if int(a["buyerSide"]) != SIDE_BUY or int(a["sellerSide"]) != SIDE_SELL:
                problems.append("does not pair a buy order with a sell order")
            if t.buyer == t.seller:
                problems.append(f"{t.buyer} trades with itself")
            if t.energy_wh == 0 or t.seller_price == 0:
                problems.append("trades nothing")
            if t.price > int(a["buyerLimit"]):
                problems.append(f"price {t.price} above the buyer's limit {a['buyerLimit']}")
            if t.seller_price < int(a["sellerLimit"]):
                problems.append(f"seller price {t.seller_price} below the seller's limit {a['sellerLimit']}")
            if t.seller_price > t.price:
                problems.append(f"seller price {t.seller_price} above the buyer's price {t.price}")
            if c.mechanism_id != TRADE_REDUCTION and t.price != t.seller_price:
                problems.append(f"a spread ({t.price} vs {t.seller_price}) under mechanism {c.mechanism_id}")
            if c.mechanism_id <= TRADE_REDUCTION:
                first = first or t
                if (t.price, t.seller_price) != (first.price, first.seller_price):
                    problems.append(f"prices {t.price}/{t.seller_price} not uniform")
            if int(a["deliveryStart"]) >= t.delivery_end or t.delivery_end <= e.timestamp:
                problems.append(f"delivery window {a['deliveryStart']}..{t.delivery_end} empty or over")
            for side in ("buyer", "seller"):
                if int(a[f"{side}Expiry"]) < e.timestamp:
                    problems.append(f"the {side}'s order expired at {a[f'{side}Expiry']}")
            for msg in problems:
                self._violate("trade-breaks-rule", e, f"{where}: {msg}")
            bps = self.penalty_bps
            if bps is not None and a.get("penalty") is not None and t.penalty != self._penalty(a):
                self._violate(
                    "wrong-penalty",
                    e,
                    f"{where}: penalty {t.penalty}, not energy x seller price x {bps} bps (rounded down)",
                )
            for side in ("buyer", "seller"):
                order = int(a[f"{side}Order"])
                filled[order] += t.energy_wh
                if filled[order] > int(a[f"{side}OrderWh"]):
                    self._violate(
                        "order-overfilled",
                        e,
                        f"{where}: order {order} of {a[side]} filled {filled[order]} Wh of its {a[f'{side}OrderWh']}",
                    )
            for side in ("buyer", "seller"):
                order = int(a[f"{side}Order"])
                if order not in judged:
                    judged.add(order)
                    self._check_route(
                        e, f"clearing {c.clearing_id:#x} order {order} ({side} of trade {t.index})", a, side
                    )
            self._check_parties(e, t, where)

    def _check_parties(self, e: Event, t: ClearingTrade, where: str) -> None:
        """A lapsed party's trade must be skipped for that reason: the contract reads the buyer's registration,
        then the seller's, and skips the trade as BuyerInactive or SellerInactive (it does not revert)."""
        for who, role, name, skip in (
            (t.buyer, ROLE_BUYER, "buyer", "BuyerInactive"),
            (t.seller, ROLE_SELLER, "seller", "SellerInactive"),
        ):
            if reason := self.not_active(who, role, e.timestamp):
                if t.unfunded != skip:
                    self._violate("trader-not-active", e, f"{where}: {name} {who} is {reason}")
                return

    def _check_route(self, e: Event, where: str, a: dict[str, Any], side: str) -> None:
        """A published route no honest operator would clear; rows indexed before routes existed carry none."""
        route, window = a.get(f"{side}Route"), a.get(f"{side}Window")
        if not route or window is None:
            return
        if route == UNSPLIT:
            self._violate(MALFORMED, e, f"{where}: the commit's routes do not split against the signed route hashes")
            return
        try:
            segment = bytes.fromhex(str(route).removeprefix("0x"))
        except ValueError:
            self._violate(MALFORMED, e, f"{where}: its published route {str(route)[:20]!r} is not hex")
            return
        problem = judge_route(segment, int(window[0]), int(window[1]))
        if problem is not None:
            self._violate(problem.rule, e, f"{where}: {problem.why}")

    def _open(self, e: Event, c: Clearing, t: ClearingTrade, floors: dict[str, int]) -> None:
        where = f"clearing {c.clearing_id:#x} trade {t.index}"
        t.funded = True
        for who, nonce_key, wh_key in (
            (t.buyer, "buyerNonce", "buyerOrderWh"),
            (t.seller, "sellerNonce", "sellerOrderWh"),
        ):
            nonce = int(t.a[nonce_key])
            if nonce < self.nonce_floor[who]:
                self._violate(
                    "spent-order-traded",
                    e,
                    f"{where}: {who}'s order {nonce} traded below its nonce floor {self.nonce_floor[who]}",
                )
            self.filled[(who, nonce)] += t.energy_wh
            if self.filled[(who, nonce)] > int(t.a[wh_key]):
                self._violate(
                    "order-overfilled",
                    e,
                    f"{where}: {who}'s order {nonce} filled {self.filled[(who, nonce)]} Wh over its clearings, "
                    f"of its {t.a[wh_key]}",
                )
            floors[who] = max(floors.get(who, 0), nonce + 1)
        if self.split_known and self.free[t.buyer] < t.payment:
            self._violate(
                "uncovered-payment",
                e,
                f"{where}: {t.buyer} paid {t.payment} from a free balance of {self.free[t.buyer]}",
            )
        self._move(-t.payment, free=t.buyer)
        self._move(t.payment, request=t)
        self._lock(t.seller, t.penalty)
        if self.split_known and self.free[t.seller] < 0:
            self._violate(
                "uncovered-penalty", e, f"{where}: {t.seller}'s penalty {t.penalty} locked beyond its free balance"
            )
        self.flows[t.buyer]["escrowed"] += t.payment

    # ---------------------------------------------------------------- delivery

    def _on_Clearing_DeliveryConfirmed(self, e: Event, a: dict[str, Any]) -> None:
        t = self.trade(e, int(a["clearingId"]), int(a["tradeIndex"]))
        if t is None:
            return
        if t.status != "awarded":
            self._violate("confirmed-when-not-open", e, f"clearing trade {t.index} confirmed while {t.status}")
            return
        if int(a["deliveredWh"]) >= t.energy_wh:
            self._violate("wrong-amount", e, f"clearing trade {t.index}: a full delivery left pending")
        t.confirmed = e

    def _on_Clearing_TradeClosed(self, e: Event, a: dict[str, Any]) -> None:
        t = self.trade(e, int(a["clearingId"]), int(a["tradeIndex"]))
        if t is None:
            return
        where = f"clearing {t.clearing_id:#x} trade {t.index}"
        if t.status not in ("awarded", "confirmed"):
            self._violate("closed-twice", e, f"{where} closed while {t.status}")
            return
        how = RESOLUTIONS[int(a["how"])]
        delivered, to_seller, to_operator, to_buyer = (
            int(a["deliveredWh"]),
            int(a["toSeller"]),
            int(a["toOperator"]),
            int(a["toBuyer"]),
        )
        pending = t.confirmed
        t.closed = e
        operator = self.clearings[t.clearing_id].operator
        if how == "Reclaimed":
            if pending is not None:
                self._violate(
                    "reclaimed-when-confirmed",
                    e,
                    f"{where} reclaimed although the buyer confirmed {pending.args['deliveredWh']} Wh",
                )
            allowed_from = self._settleable_from(t)
            if e.timestamp < t.delivery_end:
                self._violate("reclaimed-early", e, f"{where} reclaimed before its window ended at {t.delivery_end}")
            elif allowed_from is not None and e.timestamp < allowed_from:
                self._violate(
                    "reclaimed-in-grace",
                    e,
                    f"{where} reclaimed at {e.timestamp}, inside the grace period: allowed from {allowed_from}",
                )
            if (delivered, to_seller, to_operator, to_buyer) != (0, 0, 0, t.payment):
                self._violate("wrong-amount", e, f"{where}: reclaimed {to_buyer}, the payment was {t.payment}")
            self._move(-t.escrow, request=t)
            self._move(t.payment, free=t.buyer)
            if t.penalty:
                self._expected_forfeits.append((t.seller, t.clearing_id, t.penalty))
            self.flows[t.seller]["penalties_paid"] += t.penalty
            return
        want_seller = min(delivered, t.energy_wh) * t.seller_price
        want_operator = min(delivered, t.energy_wh) * (t.price - t.seller_price)
        if (
            delivered > t.energy_wh
            or (to_seller, to_operator) != (want_seller, want_operator)
            or to_buyer != t.payment - to_seller - to_operator
        ):
            self._violate(
                "wrong-amount",
                e,
                f"{where}: {delivered} Wh paid {to_seller} to the seller, {to_operator} to the operator, {to_buyer} "
                f"back; the trade says {want_seller}, {want_operator}, {t.payment - want_seller - want_operator}",
            )
        if how == "Finalized" and (pending is None or delivered != int(pending.args["deliveredWh"])):
            figure = pending.args["deliveredWh"] if pending else "nothing"
            self._violate("wrong-amount", e, f"{where} finalized at {delivered} Wh; the buyer confirmed {figure}")
        final_from = self._settleable_from(t)
        if how == "Finalized" and final_from is not None and e.timestamp < final_from:
            self._violate(
                "finalized-in-grace",
                e,
                f"{where} finalized at {e.timestamp}, inside the grace period: from {final_from}",
            )
        if how == "Receipt" and pending is not None and final_from is not None and e.timestamp >= final_from:
            self._violate(
                "receipt-after-grace",
                e,
                f"{where}: a receipt settled above the pending confirmation at {e.timestamp}, after the grace period "
                f"ended at {final_from}",
            )
        if how == "Receipt" and pending is not None and delivered <= int(pending.args["deliveredWh"]):
            self._violate(
                "receipt-not-above-confirmation",
                e,
                f"{where}: a receipt for {delivered} Wh does not exceed the pending {pending.args['deliveredWh']} Wh",
            )
        if how == "Confirmed" and pending is not None:
            self._violate("confirmed-twice", e, f"{where} confirmed again after a pending confirmation")
        self._move(-t.escrow, request=t)
        self._lock(t.seller, -t.penalty)
        self._move(to_seller, free=t.seller)
        self._move(to_operator, free=operator)
        self._move(to_buyer, free=t.buyer)
        self.flows[t.buyer]["paid"] += to_seller + to_operator
        self.flows[t.seller]["received"] += to_seller
        self.flows[operator]["spread"] += to_operator

    def _on_Vault_Forfeited(self, e: Event, a: dict[str, Any]) -> None:
        c = self.clearings.get(int(a["ref"]))
        if c is None or -1 not in c.trades:
            super()._on_Vault_Forfeited(e, a)
            return
        amount = int(a["amount"])  # a penalty of an unpublished clearing's trade: locked by the pseudo-account
        self._move(-amount, free=UNPUBLISHED)
        self._move(amount, sunk=True)
        self._expected_forfeits.append((a["account"], c.clearing_id, amount))
        self.flows[a["account"]]["forfeited"] += amount

    def _on_Vault_Withdrawn(self, e: Event, a: dict[str, Any]) -> None:
        if not self.free[UNPUBLISHED]:
            super()._on_Vault_Withdrawn(e, a)
            return
        who, amount = a["account"], int(a["amount"])  # the withdrawer may be owed by an unpublished clearing
        self._move(-amount, free=who)
        self.flows[who]["withdrawn"] += amount
        self._expected_out.append((who, amount))

    # ---------------------------------------------------------------- the whole index

    def all_trades(self) -> list[ClearingTrade]:
        return [t for c in self.clearings.values() for t in c.trades.values() if t.index >= 0]

    def expected_locked(self, account: str) -> int:
        return sum(t.penalty for t in self.all_trades() if t.seller == account and t.status in ("awarded", "confirmed"))

    def locked_penalty(self, seller: str) -> int:
        return self.expected_locked(seller)

    def escrows(self) -> int:
        return sum(t.escrow for c in self.clearings.values() for t in c.trades.values())

    def _finish(self) -> None:
        if self.last is None:
            return
        now = self.last.timestamp
        for t in self.all_trades():
            if t.status == "awarded" and t.delivery_end < now:
                self._warn(
                    "delivery-overdue",
                    t.commit or t.published,
                    f"clearing {t.clearing_id:#x} trade {t.index}: neither confirmed nor reclaimed, its delivery "
                    f"window ended at {t.delivery_end}",
                )
        if not self.split_known:
            return
        for account in sorted(
            (set(self.free) | set(self.locked) | {t.seller for t in self.all_trades()}) - {UNPUBLISHED}
        ):
            want = self.expected_locked(account)
            if self.locked[account] != want:
                self._violate(
                    "locked-mismatch",
                    self.last,
                    f"{account} has {self.locked[account]} locked in the clearing; its open trades need {want}",
                )
            if self.free[account] < 0:
                self._violate("negative-free", self.last, f"{account}'s clearing free balance is {self.free[account]}")
