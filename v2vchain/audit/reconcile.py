"""Reconciliation: the books rebuilt from events against the rules and the token balance, with what was found."""

from __future__ import annotations

from dataclasses import dataclass

from v2vchain.audit.ledger.core import Finding
from v2vchain.audit.ledger.market import Ledger
from v2vchain.audit.trades import trades

from .store import Store
from .units import TokenUnits


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
    violations, warnings = list(ledger.violations), list(ledger.warnings)
    books = ledger.clearing
    if books is not None and books.active:  # the Clearing's own Vault, checked alike
        totals |= {
            "clearings": len(books.clearings),
            "clearing_trades": sum(1 for t in books.all_trades() if t.funded),
            "clearing_token_balance": books.token_balance,
            "clearing_escrows": books.escrows(),
            "clearing_free": sum(books.free.values()),
            "clearing_locked": sum(books.locked.values()),
            "clearing_sunk": books.sunk,
            "clearing_books": books.books(),
        }
        violations += books.violations
        warnings += books.warnings
    return Reconciliation(violations, warnings, totals)


def reconciliation_text(result: Reconciliation, units: TokenUnits) -> str:
    t, a = result.totals, units.amount
    lines = [
        f"blocks {t['first_block']}..{t['last_block']}: {t['events']} events, {t['requests']} requests, "
        f"{t['trades']} trades",
        f"market token balance {a(t['token_balance'])} = free {a(t['free'])} + locked {a(t['locked'])} + escrows "
        f"{a(t['escrows'])} + sunk {a(t['sunk'])} ({a(t['books'])}): "
        f"{'yes' if t['token_balance'] == t['books'] else 'NO'}",
    ]
    if "clearings" in t:
        lines += [
            f"{t['clearings']} clearings, {t['clearing_trades']} funded clearing trades",
            f"clearing token balance {a(t['clearing_token_balance'])} = free {a(t['clearing_free'])} + locked "
            f"{a(t['clearing_locked'])} + escrows {a(t['clearing_escrows'])} + sunk {a(t['clearing_sunk'])} "
            f"({a(t['clearing_books'])}): {'yes' if t['clearing_token_balance'] == t['clearing_books'] else 'NO'}",
        ]
    for kind, findings in (("VIOLATION", result.violations), ("warning", result.warnings)):
        lines += [f"{kind} [{f.rule}] block {f.block} tx {f.tx_hash}: {f.message}" for f in findings]
    lines.append(f"{len(result.violations)} violation(s), {len(result.warnings)} warning(s)")
    if not units.known:
        lines.append(f"amounts in {units.label}")
    return "\n".join(lines)
