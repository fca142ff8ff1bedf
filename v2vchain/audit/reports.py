"""What an auditor reads: trades (filtered), one vehicle's statement, the reconciliation, as table, CSV or JSON.

Amounts are exact integers in token units; energy in Wh; prices in token units per Wh.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from eth_utils import is_address, keccak, to_checksum_address

from v2vchain.identity.did import did_for, parse_did
from v2vchain.identity.errors import InvalidDid
from v2vchain.protocol.areas import cell_of, within

from .errors import InvalidFilter, UnknownAddress
from .ledger.core import Finding
from .ledger.market import Ledger, Request
from .store import Store

FORMATS = ("table", "csv", "json")
MECHANISMS = ("auction",)  # the batch clearing adds "clearing"
# UK reference prices: grid import ~15 p/kWh, export ~5 p/kWh; with the dev token's 6 decimals,
# 0.15 VEC/kWh is 150 token units per Wh.
GRID_IMPORT_PER_WH = 150
GRID_EXPORT_PER_WH = 50


@dataclass(frozen=True)
class Trade:
    mechanism: str
    trade_id: str
    buyer: str
    seller: str
    area_id: str
    area: str  # the geohash cell inside area_id, '' for an opaque id
    energy_wh: int
    price_per_wh: int
    payment: int
    penalty: int
    status: str  # awarded, confirmed (a pending confirmation of less), settled, reclaimed
    delivered_wh: int
    paid: int
    refund: int
    opened_at: int
    awarded_at: int
    settled_at: int | None
    award_tx: str
    settle_tx: str | None


def auction_trade(r: Request) -> Trade:
    assert r.awarded is not None
    out = r.outcome
    settled = out is not None and out.event == "Settled"
    return Trade(
        mechanism="auction",
        trade_id=f"auction-{r.request_id}",
        buyer=r.buyer,
        seller=r.seller or "",
        area_id=r.area_id,
        area=cell_of(bytes.fromhex(r.area_id[2:])),
        energy_wh=r.energy_wh,
        price_per_wh=r.price,
        payment=int(r.awarded.args["payment"]),
        penalty=int(r.awarded.args["penalty"]),
        status=r.status,
        delivered_wh=int(out.args["deliveredWh"]) if settled and out else 0,
        paid=int(out.args["paid"]) if settled and out else 0,
        refund=int(out.args["refund"]) if out else 0,
        opened_at=r.opened.timestamp,
        awarded_at=r.awarded.timestamp,
        settled_at=out.timestamp if out else None,
        award_tx=r.awarded.tx_hash,
        settle_tx=out.tx_hash if out else None,
    )


def trades(ledger: Ledger) -> list[Trade]:
    return [auction_trade(r) for r in ledger.requests.values() if r.awarded is not None]


# ---------------------------------------------------------------- filters


def parse_time(text: str | None, what: str) -> int | None:
    """Unix seconds, or an ISO 8601 date or date-time (UTC unless it says otherwise)."""
    if text is None or text == "":
        return None
    if re.fullmatch(r"\d{1,12}", text.strip()):
        return int(text)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidFilter(
            f"--{what} {text!r} is neither unix seconds nor an ISO 8601 date/time "
            f"(e.g. 2026-05-01 or 2026-05-01T12:00:00+01:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def resolve_vehicle(text: str, ledger: Ledger, chain_id: int | None) -> set[str]:
    """A 0x address or a did:pkh DID as the addresses it names: the DID's own, and any registered under its hash."""
    text = text.strip()
    if text.startswith("did:"):
        try:
            did_chain, address = parse_did(text)
        except InvalidDid as exc:
            raise InvalidFilter(str(exc)) from None
        if chain_id is not None and did_chain != chain_id:
            raise InvalidFilter(f"{text} names chain {did_chain}; this index is of chain {chain_id}")
        did_hash = "0x" + keccak(text=text).hex()
        return {address} | {v for v, state in ledger.vehicles.items() if state.did_hash == did_hash}
    if not is_address(text):
        raise InvalidFilter(
            f"{text!r} is neither a 0x address (40 hex digits, valid EIP-55 checksum if mixed-case) "
            f"nor a did:pkh:eip155:<chain>:<address> DID"
        )
    return {to_checksum_address(text)}


def require_known(store: Store, addresses: set[str], text: str) -> None:
    if not any(store.mentions(a) for a in addresses):
        raise UnknownAddress(
            f"{text} appears in no indexed event (blocks {store.first_block()}..{store.last_block()} "
            f"of chain {store.chain_id}): a typo, another chain, or not yet indexed?"
        )


def area_predicate(text: str) -> Callable[[Trade], bool]:
    """A 0x bytes32 area id (exact), or a geohash cell or prefix: trades whose cloak lies inside it or covers it.
    Anything starting 0x is read as an id (a cell spelt "0x..." is nearly at the South Pole)."""
    text = text.strip()
    if re.fullmatch(r"0x[0-9a-fA-F]{64}", text):
        return lambda t: t.area_id == text.lower()
    if not text.startswith("0x") and re.fullmatch(r"[0-9bcdefghjkmnpqrstuvwxyz]{1,12}", text):
        return lambda t: within(bytes.fromhex(t.area_id[2:]), text)
    raise InvalidFilter(
        f"--area {text!r} is neither a 0x-prefixed 32-byte area id nor a geohash cell "
        f"(1..12 of 0-9, b-z without a, i, l, o)"
    )


def filter_trades(
    all_trades: Sequence[Trade],
    *,
    vehicles: set[str] | None = None,
    since: int | None = None,
    until: int | None = None,
    area: str | None = None,
    mechanism: str | None = None,
) -> list[Trade]:
    if since is not None and until is not None and since > until:
        raise InvalidFilter(f"--since {since} is after --until {until}")
    if mechanism is not None and mechanism not in MECHANISMS:
        raise InvalidFilter(f"--mechanism {mechanism!r}: one of {', '.join(MECHANISMS)}")
    in_area = area_predicate(area) if area else None
    return [
        t
        for t in all_trades
        if (vehicles is None or t.buyer in vehicles or t.seller in vehicles)
        and (since is None or t.awarded_at >= since)
        and (until is None or t.awarded_at <= until)
        and (in_area is None or in_area(t))
        and (mechanism is None or t.mechanism == mechanism)
    ]


# ---------------------------------------------------------------- a vehicle's statement


def statement(ledger: Ledger, address: str, chain_id: int | None) -> dict[str, Any]:
    mine = [t for t in trades(ledger) if address in (t.buyer, t.seller)]
    bought = [t for t in mine if t.buyer == address]
    sold = [t for t in mine if t.seller == address]
    flows = ledger.flows[address]
    state = ledger.vehicles.get(address)
    did = did_for(address, chain_id) if chain_id else ""
    registration: dict[str, Any] = {"status": "not registered"}
    if state is not None:
        now = ledger.last.timestamp if ledger.last else 0
        registration = {
            "status": ledger.not_active(address, state.roles, now) or "active",
            "roles": state.roles,
            "issuer": state.issuer,
            "expiry": state.expiry,
            "did_hash": state.did_hash,
            "did": did if did and "0x" + keccak(text=did).hex() == state.did_hash else "",
        }
    return {
        "vehicle": address,
        "registration": registration,
        "bought": {
            "trades": len(bought),
            "energy_wh": sum(t.delivered_wh for t in bought),
            "paid": sum(t.paid for t in bought),
        },
        "sold": {
            "trades": len(sold),
            "energy_wh": sum(t.delivered_wh for t in sold),
            "received": sum(t.paid for t in sold),
            "penalties_paid": flows["penalties_paid"],
        },
        "account": {
            "deposited": flows["deposited"],
            "credited": flows["credited"],
            "withdrawn": flows["withdrawn"],
            "forfeited": flows["forfeited"],
            "free": ledger.free[address],
            "locked": ledger.locked[address],
            "at_risk": ledger.locked_penalty(address),
        },
        "open_obligations": obligations(ledger, address),
    }


def obligations(ledger: Ledger, address: str) -> list[dict[str, Any]]:
    out = []
    for r in ledger.requests.values():
        if r.buyer == address and r.status == "open":
            out.append(
                {
                    "request": r.request_id,
                    "role": "buyer",
                    "what": "close the auction (escrow locked)",
                    "amount": r.escrow,
                    "due": r.deadline,
                }
            )
        elif r.buyer == address and r.status == "awarded":
            out.append(
                {
                    "request": r.request_id,
                    "role": "buyer",
                    "what": "confirm delivery",
                    "amount": r.escrow,
                    "due": r.delivery_end,
                }
            )
        elif r.seller == address and r.status == "awarded":
            out.append(
                {
                    "request": r.request_id,
                    "role": "seller",
                    "what": f"deliver {r.energy_wh} Wh",
                    "amount": r.penalty,
                    "due": r.delivery_end,
                }
            )
        elif r.seller == address and r.status == "confirmed":
            out.append(
                {
                    "request": r.request_id,
                    "role": "seller",
                    "what": "claim with a receipt for more than the "
                    f"{r.confirmed.args['deliveredWh'] if r.confirmed else 0} Wh confirmed, or let it finalize",
                    "amount": r.penalty,
                    "due": r.delivery_end,
                }
            )
        elif r.status == "open" and r.best is not None and r.best[0] == address:
            out.append(
                {
                    "request": r.request_id,
                    "role": "seller",
                    "what": "best bid: deliver if it wins",
                    "amount": r.best[1] * r.energy_wh,
                    "due": r.deadline,
                }
            )
    return out


# ---------------------------------------------------------------- reconciliation


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


# ---------------------------------------------------------------- output


def render(rows: Sequence[dict[str, Any]], fmt: str, columns: Sequence[str] | None = None) -> str:
    if fmt not in FORMATS:
        raise InvalidFilter(f"--format {fmt!r}: one of {', '.join(FORMATS)}")
    columns = list(columns or (rows[0].keys() if rows else []))
    if fmt == "json":
        return json.dumps(list(rows), indent=2)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str) and value.startswith("0x") and len(value) > 14:
        return value[:8] + ".." + value[-4:]  # the table is for reading; CSV and JSON carry the full values
    return str(value)


TABLE_COLUMNS = (
    "trade_id",
    "status",
    "buyer",
    "seller",
    "area",
    "energy_wh",
    "delivered_wh",
    "price_per_wh",
    "paid",
    "awarded_at",
    "award_tx",
)


def trade_rows(selected: Sequence[Trade]) -> list[dict[str, Any]]:
    return [asdict(t) for t in selected]


def statement_text(s: dict[str, Any]) -> str:
    reg = s["registration"]
    lines = [
        f"vehicle {s['vehicle']}",
        f"  registration: {reg['status']}"
        + (f", roles {reg['roles']}, issuer {reg['issuer']}, expires {reg['expiry']}" if "roles" in reg else ""),
    ]
    if reg.get("did"):
        lines.append(f"  DID: {reg['did']}")
    for section in ("bought", "sold", "account"):
        lines.append(f"  {section}: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in s[section].items()))
    lines.append(f"  open obligations: {len(s['open_obligations'])}")
    lines += [
        f"    request {o['request']} as {o['role']}: {o['what']} (amount {o['amount']}) by {o['due']}"
        for o in s["open_obligations"]
    ]
    return "\n".join(lines)
