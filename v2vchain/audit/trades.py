"""The trades an auditor reads, rebuilt from the ledger and filtered by vehicle, time and area.

Amounts are exact integers in token units; energy in Wh; prices in token units per Wh.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from eth_utils import is_address, to_checksum_address

from v2vchain.audit.ledger.clearing import RESOLUTIONS, ClearingTrade
from v2vchain.audit.ledger.market import Ledger, Request
from v2vchain.identity.did import did_hash, parse_did
from v2vchain.identity.errors import InvalidDid
from v2vchain.protocol.areas import cell_of, within
from v2vchain.protocol.clearing import MECHANISM_IDS

from .errors import InvalidFilter, UnknownAddress
from .store import Store
from .units import TokenUnits, energy, when

MECHANISMS = ("auction", "clearing")  # a clearing's trades name their mechanism too: clearing/<name>
MECHANISM_NAMES = {v: k for k, v in MECHANISM_IDS.items()}
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


def clearing_trade(t: ClearingTrade) -> Trade:
    """A funded trade of a batch clearing: opened at its commit, closed by TradeClosed. paid is what the buyer paid
    (the seller's share and the operator's spread), refund what it got back."""
    assert t.commit is not None
    out = t.closed
    settled = out is not None and RESOLUTIONS[int(out.args["how"])] != "Reclaimed"
    mechanism_id = int(t.a["mechanismId"])
    name = MECHANISM_NAMES.get(mechanism_id, f"mechanism-{mechanism_id}")
    return Trade(
        mechanism=f"clearing/{name}",
        trade_id=f"clearing-{t.clearing_id:#x}-{t.index}",
        buyer=t.buyer,
        seller=t.seller,
        area_id=str(t.a["areaId"]),
        area=cell_of(bytes.fromhex(str(t.a["areaId"])[2:])),
        energy_wh=t.energy_wh,
        price_per_wh=t.price,
        payment=t.payment,
        penalty=t.penalty,
        status=t.status,
        delivered_wh=int(out.args["deliveredWh"]) if settled and out else 0,
        paid=int(out.args["toSeller"]) + int(out.args["toOperator"]) if settled and out else 0,
        refund=int(out.args["toBuyer"]) if out else 0,
        opened_at=t.commit.timestamp,
        awarded_at=t.commit.timestamp,
        settled_at=out.timestamp if out else None,
        award_tx=t.commit.tx_hash,
        settle_tx=out.tx_hash if out else None,
    )


def trades(ledger: Ledger) -> list[Trade]:
    """The Market's awarded auctions, then the Clearing's funded trades (commit order, trade index)."""
    out = [auction_trade(r) for r in ledger.requests.values() if r.awarded is not None]
    if ledger.clearing is not None:
        out += [clearing_trade(t) for t in ledger.clearing.all_trades() if t.funded]
    return out


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
        hashed = "0x" + did_hash(text).hex()  # any spelling of the DID names the canonical one registered
        return {address} | {v for v, state in ledger.vehicles.items() if state.did_hash == hashed}
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
    named = [f"clearing/{name}" for name in MECHANISM_IDS]
    if mechanism is not None and mechanism not in MECHANISMS and mechanism not in named:
        raise InvalidFilter(f"--mechanism {mechanism!r}: one of {', '.join(MECHANISMS)}, or clearing/<mechanism>")
    in_area = area_predicate(area) if area else None
    return [
        t
        for t in all_trades
        if (vehicles is None or t.buyer in vehicles or t.seller in vehicles)
        and (since is None or t.awarded_at >= since)
        and (until is None or t.awarded_at <= until)
        and (in_area is None or in_area(t))
        and (mechanism is None or t.mechanism == mechanism or t.mechanism.startswith(f"{mechanism}/"))
    ]


# ---------------------------------------------------------------- output


TABLE_COLUMNS = (
    "mechanism",
    "trade_id",
    "status",
    "buyer",
    "seller",
    "area",
    "energy",
    "delivered",
    "price",
    "paid",
    "refund",
    "penalty",
    "awarded_at",
    "award_tx",
)


def trade_rows(selected: Sequence[Trade]) -> list[dict[str, Any]]:
    """The machine form (CSV, JSON): every field, raw integers."""
    return [asdict(t) for t in selected]


def trade_shown(t: Trade, units: TokenUnits) -> dict[str, str]:
    """A trade's amounts, energies and times as a person reads them: kWh, the token's units, ISO 8601 UTC."""
    return {
        "energy": energy(t.energy_wh),
        "delivered": energy(t.delivered_wh),
        "price": units.price_per_kwh(t.price_per_wh),
        "payment": units.amount(t.payment),
        "paid": units.amount(t.paid),
        "refund": units.amount(t.refund),
        "penalty": units.amount(t.penalty),
        "awarded_at": when(t.awarded_at),
        "settled_at": when(t.settled_at),
    }


def table_rows(selected: Sequence[Trade], units: TokenUnits) -> list[dict[str, Any]]:
    """The form a person reads (TABLE_COLUMNS)."""
    return [{**asdict(t), **trade_shown(t, units)} for t in selected]
