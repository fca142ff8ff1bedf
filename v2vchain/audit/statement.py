"""A vehicle's statement from the index alone: its registration, trades, money flows, account and open obligations."""

from __future__ import annotations

from typing import Any

from eth_utils import keccak

from v2vchain.audit.ledger.clearing import ClearingBooks
from v2vchain.audit.ledger.market import Ledger
from v2vchain.audit.trades import trades
from v2vchain.audit.units import TokenUnits, energy, roles, when
from v2vchain.identity.did import did_for


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
    out: dict[str, Any] = {
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
        "escrow": {
            "refunded": sum(t.refund for t in bought),
            "open": sum(r.escrow for r in ledger.requests.values() if r.buyer == address),
        },
        "open_obligations": obligations(ledger, address),
    }
    books = ledger.clearing
    if books is not None and books.active and (address in books.flows or address in books.free):
        cflows = books.flows[address]
        out["sold"]["penalties_paid"] += cflows["penalties_paid"]
        out["escrow"]["open"] += sum(t.escrow for t in books.all_trades() if t.buyer == address)
        out["clearing_account"] = {
            "deposited": cflows["deposited"],
            "withdrawn": cflows["withdrawn"],
            "escrowed": cflows["escrowed"],
            "spread": cflows["spread"],
            "forfeited": cflows["forfeited"],
            "free": books.free[address],
            "locked": books.locked[address],
            "at_risk": books.locked_penalty(address),
        }
        out["open_obligations"] += clearing_obligations(books, address)
    return out


def clearing_obligations(books: ClearingBooks, address: str) -> list[dict[str, Any]]:
    """The Clearing's open trades: the buyer confirms, the seller delivers (or claims for more than confirmed)."""
    out = []
    for t in books.all_trades():
        trade = f"clearing-{t.clearing_id:#x}-{t.index}"
        if t.buyer == address and t.status == "awarded":
            out.append(
                {"trade": trade, "role": "buyer", "what": "confirm delivery", "amount": t.escrow, "due": t.delivery_end}
            )
        elif t.seller == address and t.status == "awarded":
            what = f"deliver {energy(t.energy_wh)}"
            out.append({"trade": trade, "role": "seller", "what": what, "amount": t.penalty, "due": t.delivery_end})
        elif t.seller == address and t.status == "confirmed":
            figure = t.confirmed.args["deliveredWh"] if t.confirmed else 0
            what = f"claim with a receipt for more than the {energy(figure)} confirmed, or let it finalize"
            out.append({"trade": trade, "role": "seller", "what": what, "amount": t.penalty, "due": t.delivery_end})
    return out


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
                    "what": f"deliver {energy(r.energy_wh)}",
                    "amount": r.penalty,
                    "due": r.delivery_end,
                }
            )
        elif r.seller == address and r.status == "confirmed":
            figure = int(r.confirmed.args["deliveredWh"]) if r.confirmed else 0
            out.append(
                {
                    "request": r.request_id,
                    "role": "seller",
                    "what": f"claim with a receipt for more than the {energy(figure)} confirmed, or let it finalize",
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


def statement_text(s: dict[str, Any], units: TokenUnits) -> str:
    """The statement as a person reads it: kWh, the token's units, role names, ISO 8601 UTC."""
    reg = s["registration"]
    lines = [f"vehicle {s['vehicle']}", f"  registration: {reg['status']}"]
    if "roles" in reg:
        lines[-1] += f", roles {roles(reg['roles'])}, issuer {reg['issuer']}, expires {when(reg['expiry'])}"
    if reg.get("did"):
        lines.append(f"  DID: {reg['did']}")
    for section in ("bought", "sold", "escrow", "account", "clearing_account"):
        if section in s:
            lines.append(f"  {section}: " + ", ".join(_field(k, v, units) for k, v in s[section].items()))
    lines.append(f"  open obligations: {len(s['open_obligations'])}")
    lines += [
        f"    {_what(o)} as {o['role']}: {o['what']} ({units.amount(o['amount'])}) by {when(o['due'])}"
        for o in s["open_obligations"]
    ]
    if not units.known:
        lines.append(f"  amounts in {units.label}")
    return "\n".join(lines)


def _field(key: str, value: int, units: TokenUnits) -> str:
    name = key[: -len("_wh")] if key.endswith("_wh") else key
    return f"{name.replace('_', ' ')} {shown(key, value, units)}"


def shown(key: str, value: int, units: TokenUnits) -> str:
    """A statement figure as text: a count, energy (keys ending _wh) in kWh, or an amount in the token's units."""
    if key == "trades":
        return str(value)
    return energy(value) if key.endswith("_wh") else units.amount(value)


def _what(o: dict[str, Any]) -> str:
    return str(o["trade"]) if "trade" in o else f"request {o['request']}"
