"""A venue's Vault rebuilt from its events: every account's free and locked balance, escrows, the sink of forfeited
penalties and the venue's token balance, with the books checked after every transaction:
token balance == sum(free + locked) + escrows + sunk.

One instance per venue: `venue` is the contract's name in the index ("Market", "Clearing"), and the events Vault.sol
emits for it (Deposited, Withdrawn, Credited, Forfeited, NoncesCancelled, Paused, Unpaused) go to the `_on_Vault_*`
handlers here; the venue's own events to its subclass's `_on_<venue>_*` handlers."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, Protocol

from v2vchain.audit.store import Event

from .registry import RegistryBooks

ZERO = "0x" + "00" * 20


class Escrow(Protocol):
    escrow: int


class VaultBooks(RegistryBooks):
    def __init__(self, address: str, venue: str = "Market") -> None:
        super().__init__()
        self.address = address
        self.venue = venue
        self.market = address  # the Market's name for its address
        self._what = venue.lower()
        self.free: Counter[str] = Counter()
        self.locked: Counter[str] = Counter()
        self.nonce_floor: Counter[str] = Counter()
        self.sunk = 0
        self.paused = False
        self.flows: dict[str, Counter[str]] = defaultdict(Counter)  # per account: deposited, paid, forfeited...
        self.token_balance = 0
        self._surplus = 0
        self._books = 0
        self._expected_in: list[tuple[str, int]] = []
        self._expected_out: list[tuple[str, int]] = []
        self._expected_credits: list[tuple[str, int, int]] = []
        self._expected_forfeits: list[tuple[str, int, int]] = []

    @property
    def split_known(self) -> bool:
        """Whether free and locked are known apart."""
        return True

    def _handler(self, event: Event) -> Any:
        handler = super()._handler(event)
        if handler is None and event.contract == self.venue:
            handler = getattr(self, f"_on_Vault_{event.event}", None)
        return handler

    def _after_tx(self, first: Event) -> None:
        self._match_tokens(first)
        self._match_credits(first)
        books = self.books()
        surplus = self.token_balance - books
        if surplus < 0 and surplus != self._surplus:
            self._violate(
                f"{self._what}-short",
                first,
                f"the {self._what} holds {self.token_balance} token units but its books "
                f"(free + locked + escrows + sunk) need {books}",
            )
        self._surplus = surplus

    def books(self) -> int:
        """What the venue owes: every account's free + locked, open escrows and the sink, kept as a running total."""
        return self._books

    def _move(
        self, delta: int, *, request: Escrow | None = None, free: str = "", locked: str = "", sunk: bool = False
    ) -> None:
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

    def _on_EnergyToken_Transfer(self, e: Event, a: dict[str, Any]) -> None:
        if a["to"] == self.address:
            self.token_balance += int(a["value"])
        if a["from"] == self.address:
            self.token_balance -= int(a["value"])

    def _match_tokens(self, first: Event) -> None:
        moved_in = Counter(
            (e.args["from"], int(e.args["value"]))
            for e in self._tx_events("EnergyToken", "Transfer")
            if e.args["to"] == self.address and e.args["from"] != self.address
        )
        moved_out = Counter(
            (e.args["to"], int(e.args["value"]))
            for e in self._tx_events("EnergyToken", "Transfer")
            if e.args["from"] == self.address and e.args["to"] != self.address
        )
        expected_in, expected_out = Counter(self._expected_in), Counter(self._expected_out)
        for (who, amount), n in (expected_in - moved_in).items():
            self._violate(
                "books-without-tokens",
                first,
                f"the {self._what} booked {amount} in from {who} but received no such transfer ({n}x)",
            )
        for (who, amount), n in (expected_out - moved_out).items():
            self._violate(
                "books-without-tokens",
                first,
                f"the {self._what} booked {amount} out to {who} but sent no such transfer ({n}x)",
            )
        for (who, amount), n in (moved_out - expected_out).items():
            self._violate(
                "tokens-without-books",
                first,
                f"{amount} token units left the {self._what} to {who} with no withdrawal booked ({n}x)",
            )
        for (who, amount), _ in (moved_in - expected_in).items():
            self._warn(
                "unexplained-deposit", first, f"{who} sent the {self._what} {amount} outside any request or deposit"
            )
        self._expected_in, self._expected_out = [], []

    def _expect_credit(self, account: str, ref: int, amount: int) -> None:
        if amount:
            self._expected_credits.append((account, ref, amount))

    def _on_Vault_Credited(self, e: Event, a: dict[str, Any]) -> None:
        self._move(int(a["amount"]), free=a["account"])
        self.flows[a["account"]]["credited"] += int(a["amount"])

    def _on_Vault_Forfeited(self, e: Event, a: dict[str, Any]) -> None:
        who, amount = a["account"], int(a["amount"])
        if amount > self.locked[who]:
            self._violate("forfeit-beyond-locked", e, f"{who} forfeited {amount}; it had {self.locked[who]} locked")
        self._move(-amount, locked=who)
        self._move(amount, sunk=True)
        self.flows[who]["forfeited"] += amount

    def _match_credits(self, first: Event) -> None:
        credited = Counter(
            (e.args["account"], int(e.args["ref"]), int(e.args["amount"]))
            for e in self._tx_events(self.venue, "Credited")
        )
        expected = Counter(self._expected_credits)
        for (who, rid, amount), _ in (credited - expected).items():
            self._violate(
                "credit-without-settlement",
                first,
                f"{who} credited {amount} for request {rid} with no "
                f"award, expiry, delivery confirmation or timeout for it",
            )
        for (who, rid, amount), _ in (expected - credited).items():
            self._violate(
                "settlement-without-credit", first, f"request {rid}: {who} was owed {amount} but not credited"
            )
        forfeited = Counter(
            (e.args["account"], int(e.args["ref"]), int(e.args["amount"]))
            for e in self._tx_events(self.venue, "Forfeited")
        )
        expected_forfeits = Counter(self._expected_forfeits)
        for (who, rid, amount), _ in (forfeited - expected_forfeits).items():
            self._violate(
                "forfeit-without-reclaim", first, f"{who} forfeited {amount} for request {rid} with no reclaim of it"
            )
        for (who, rid, amount), _ in (expected_forfeits - forfeited).items():
            self._violate(
                "reclaim-without-forfeit",
                first,
                f"request {rid} reclaimed but {who}'s penalty {amount} was not forfeited",
            )
        self._expected_credits, self._expected_forfeits = [], []

    def _on_Vault_Deposited(self, e: Event, a: dict[str, Any]) -> None:
        who, amount = a["account"], int(a["amount"])
        if reason := self.not_active(who, 0, e.timestamp):
            self._violate("deposit-not-active", e, f"{who} deposited {amount} while {reason}")
        self._move(amount, free=who)
        self.flows[who]["deposited"] += amount
        self._expected_in.append((who, amount))

    def _on_Vault_Withdrawn(self, e: Event, a: dict[str, Any]) -> None:
        who, amount = a["account"], int(a["amount"])
        available = self.free[who] if self.split_known else self.free[who] + self.locked[who]
        if amount > available:
            self._violate("overdrawn", e, f"{who} withdrew {amount}; its free balance was {available}")
        self._move(-amount, free=who)
        self.flows[who]["withdrawn"] += amount
        self._expected_out.append((who, amount))

    def _on_Vault_NoncesCancelled(self, e: Event, a: dict[str, Any]) -> None:
        who, floor = a["account"], int(a["nonceFloor"])
        if floor <= self.nonce_floor[who]:
            self._violate(
                "nonce-floor-lowered", e, f"{who}'s nonce floor set to {floor}, not above {self.nonce_floor[who]}"
            )
        self.nonce_floor[who] = floor

    def _on_Vault_Paused(self, e: Event, a: dict[str, Any]) -> None:
        self.paused = True

    def _on_Vault_Unpaused(self, e: Event, a: dict[str, Any]) -> None:
        self.paused = False
