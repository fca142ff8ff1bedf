"""What every ledger shares: one pass in chain order, transaction by transaction, each event handed to the handler
named `_on_<Contract>_<Event>`, so each contract's books live in their own class; and the findings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from v2vchain.audit.store import Event


@dataclass(frozen=True)
class Finding:
    rule: str
    message: str
    tx_hash: str
    block: int


class LedgerCore:
    def __init__(self) -> None:
        self.violations: list[Finding] = []
        self.warnings: list[Finding] = []
        self.last: Event | None = None
        self._tx: list[Event] = []
        self._processing: list[Event] = []

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
            handler = self._handler(event)
            if handler is not None:
                handler(event, event.args)
        self._after_tx(tx[0])

    def _handler(self, event: Event) -> Any:
        return getattr(self, f"_on_{event.contract}_{event.event}", None)

    def _after_tx(self, first: Event) -> None:
        """The checks that need a whole transaction's events (what its transfers and credits add up to)."""

    def _finish(self) -> None:
        """The checks that need the whole index (what is overdue at its last block)."""

    def _violate(self, rule: str, event: Event, message: str) -> None:
        self.violations.append(Finding(rule, message, event.tx_hash, event.block_number))

    def _warn(self, rule: str, event: Event, message: str) -> None:
        self.warnings.append(Finding(rule, message, event.tx_hash, event.block_number))

    def _tx_events(self, contract: str, name: str) -> list[Event]:
        return [e for e in self._processing if e.contract == contract and e.event == name]
