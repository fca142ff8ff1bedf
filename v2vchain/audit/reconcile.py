"""Reconciliation: the books rebuilt from events against the rules and the token balance, with what was found."""

from __future__ import annotations

from dataclasses import dataclass

from v2vchain.audit.ledger.core import Finding
from v2vchain.audit.ledger.market import Ledger
from v2vchain.audit.trades import trades

from .store import Store


@dataclass(frozen=True)
class Reconciliation:
    violations: list[Finding]
    warnings: list[Finding]
    totals: dict[str, int]

    @property
    def ok(self) -> bool:
        return not self.violations


def reconcile(ledger: Ledger, store: Store) -> Reconciliation:
    escrows = sum(r.escrow for r in ledger.requests.values())
    totals = {
        "events": store.count_events(),
        "requests": len(ledger.requests),
        "trades": len(trades(ledger)),
        "token_balance": ledger.token_balance,
        "escrows": escrows,
        "free": sum(ledger.free.values()),
        "locked": sum(ledger.locked.values()),
        "sunk": ledger.sunk,
        "books": ledger.books(),
        "rejected_signed_bids": len(ledger.rejected_bids),
        "first_block": store.first_block() or 0,
        "last_block": store.last_block() or 0,
    }
    return Reconciliation(list(ledger.violations), list(ledger.warnings), totals)


def reconciliation_text(result: Reconciliation) -> str:
    t = result.totals
    lines = [
        f"blocks {t['first_block']}..{t['last_block']}: {t['events']} events, {t['requests']} requests, "
        f"{t['trades']} trades",
        f"market token balance {t['token_balance']} = free {t['free']} + locked {t['locked']} + escrows "
        f"{t['escrows']} + sunk {t['sunk']} ({t['books']}): {'yes' if t['token_balance'] == t['books'] else 'NO'}",
    ]
    for kind, findings in (("VIOLATION", result.violations), ("warning", result.warnings)):
        lines += [f"{kind} [{f.rule}] block {f.block} tx {f.tx_hash}: {f.message}" for f in findings]
    lines.append(f"{len(result.violations)} violation(s), {len(result.warnings)} warning(s)")
    return "\n".join(lines)
