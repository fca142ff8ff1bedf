"""The read-only dashboard: trades, live auctions, bid ladders, cloaked areas and totals, from the audit index.

Every figure comes from chain events the indexer stored (v2vchain.audit), so the page shows what any auditor can
recompute, not what this node believes. Places appear only as the geohash cells the chain already carries; the
browser draws them, and no coordinate is ever sent.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from eth_utils import to_checksum_address
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse

from node.api.problems import errors
from node.service import VehicleNode
from node.store import Store as NodeStore
from v2vchain.audit.curves import clearing_curves
from v2vchain.audit.decode import specs_from_deployment
from v2vchain.audit.indexer import Indexer
from v2vchain.audit.ledger.market import Ledger
from v2vchain.audit.ledger.market import Request as AuctionRequest
from v2vchain.audit.published import UNSPLIT
from v2vchain.audit.reconcile import reconcile
from v2vchain.audit.rpc import HttpNode
from v2vchain.audit.statement import shown, statement
from v2vchain.audit.store import Store
from v2vchain.audit.trades import Trade, clearing_trade, trade_shown, trades
from v2vchain.audit.units import WH_PER_KWH, TokenUnits, energy, index_units, roles, when
from v2vchain.errors import V2VError
from v2vchain.protocol.areas import cell_of
from v2vchain.protocol.errors import InvalidRoute
from v2vchain.protocol.routes import Route

MAX_BLOCKS_PER_REFRESH = 5_000  # one data request never indexes more than this; the next one goes on
LADDERS_SHOWN = 6
PAGE = Path(__file__).parents[1] / "static" / "dashboard.html"
# Nothing from elsewhere: the page's own inline script and style, data from this node, an empty inline favicon.
CSP = "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"

router = APIRouter(prefix="/dashboard", tags=["dashboard"])


class AuditIndex:
    """This node's audit index: brought up to the chain's head (bounded) before each read, one refresh at a time."""

    def __init__(self, node: VehicleNode, path: Path) -> None:
        self.path = path
        self.chain = HttpNode(node.config.chain, timeout_s=10)
        self.confirmations = node.config.audit_confirmations
        self.start_block = node.system.deployment.block
        abis = {name: artifact.abi for name, artifact in node.system.build.artifacts.items()}
        self.specs = specs_from_deployment(asdict(node.system.deployment), abis)
        self.node_store = node.store
        self.lock = threading.Lock()

    def read(self) -> dict[str, Any]:
        with self.lock, Store.open(self.path, create=True) as store:  # SQLite connections stay in their thread
            refreshed: dict[str, Any] = {"ok": True, "error": ""}
            try:
                last = store.last_block()
                upto = (self.start_block - 1 if last is None else last) + MAX_BLOCKS_PER_REFRESH
                report = Indexer(store, self.chain, self.specs, confirmations=self.confirmations).run(to_block=upto)
                final = report.head - self.confirmations
                refreshed["behind"] = max(0, final - (store.last_block() or 0))  # final blocks still to index
            except V2VError as exc:  # the chain is away: still show what the index holds, and say it is stale
                refreshed = {"ok": False, "error": str(exc)}
            return {**dashboard_data(store, held_bids(self.node_store)), "refresh": refreshed}

    def vehicle(self, address: str) -> dict[str, Any]:
        """One vehicle's statement from the index as it stands (the page's data call keeps it fresh)."""
        with self.lock, Store.open(self.path, create=True) as store:
            return vehicle_data(store, address)


def held_bids(store: NodeStore) -> dict[int, list[dict[str, Any]]]:
    """The usable signed bids this node holds as the buyer of each open request, best first: they stay off-chain
    until the close relays them, so the index cannot know them."""
    return {
        int(r["request_id"]): store.signed_bids(int(r["request_id"]))
        for r in store.requests()
        if r["role"] == "buyer" and r["status"] == "open"
    }


_index_lock = threading.Lock()


def get_index(request: Request) -> AuditIndex:
    node: VehicleNode = request.app.state.node
    if node.config.audit_db is None:
        raise HTTPException(404, "this node keeps no audit index: set audit_db in its config to serve the dashboard")
    with _index_lock:
        if getattr(request.app.state, "audit_index", None) is None:
            request.app.state.audit_index = AuditIndex(node, node.config.audit_db)
    return request.app.state.audit_index  # type: ignore[no-any-return]  # Starlette's app.state is untyped


IndexDep = Annotated[AuditIndex, Depends(get_index)]


@router.get("", response_class=HTMLResponse, summary="The dashboard page: self-contained, no external resources")
def page() -> HTMLResponse:
    return HTMLResponse(PAGE.read_text(), headers={"Content-Security-Policy": CSP})


@router.get(
    "/data",
    responses=errors(404),
    summary="Everything the page shows, computed from the audit index after indexing to the head",
)
def data(index: IndexDep) -> dict[str, Any]:
    return index.read()


ADDRESS = PathParam(pattern="^0x[0-9a-fA-F]{40}$", description="the vehicle's 0x address")


@router.get(
    "/vehicles/{address}",
    responses=errors(404),
    summary="One vehicle's statement from the audit index: what the dashboard's trade links open",
)
def vehicle(index: IndexDep, address: Annotated[str, ADDRESS]) -> dict[str, Any]:
    return index.vehicle(address)


# ---------------------------------------------------------------- what the page shows, from the index alone


def dashboard_data(store: Store, held: Mapping[int, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    """Everything the page shows: raw integers for machines and, beside them under `shown`, the same figures as a
    person reads them (v2vchain.audit.units, the CLI's and the report's formatting). `held`: the signed bids this
    node holds per open request it bought (they reach the chain only at the close)."""
    units = index_units(store)
    ledger = Ledger.from_store(store)
    all_trades = sorted(trades(ledger), key=lambda t: t.awarded_at)
    last = store.last_block()
    now = store.timestamp(last) if last is not None else None
    result = reconcile(ledger, store)
    routes = published_routes(ledger)
    requests = sorted(ledger.requests.values(), key=lambda r: r.request_id)
    open_requests = [r for r in requests if r.status == "open"]
    energy_wh = sum(t.energy_wh for t in all_trades)
    payment = sum(t.payment for t in all_trades)
    books = result.totals
    totals = {
        "trades": len(all_trades),
        "settled": sum(t.status == "settled" for t in all_trades),
        "energy_traded_wh": energy_wh,
        "energy_delivered_wh": sum(t.delivered_wh for t in all_trades),
        "payments": payment,
        "paid": sum(t.paid for t in all_trades),
        "refunded": sum(t.refund for t in all_trades),
        "open_escrow": books["escrows"] + books.get("clearing_escrows", 0),
        "penalties_forfeited": books["sunk"] + books.get("clearing_sunk", 0),
        "average_price_per_wh": round(payment / energy_wh, 2) if energy_wh else None,
        "requests": len(requests),
        "open_auctions": len(open_requests),
        "vehicles": len(ledger.vehicles),
        "violations": len(result.violations),
        "warnings": len(result.warnings),
        "books_balance": books["token_balance"] == books["books"]
        and books.get("clearing_token_balance") == books.get("clearing_books"),
    }
    return {
        "chain_id": store.chain_id,
        "units": units.as_json(),
        "index": {
            "first_block": store.first_block(),
            "last_block": last,
            "timestamp": now,
            "events": books["events"],
            "shown": {"timestamp": when(now)},
        },
        "totals": {**totals, "shown": _shown_totals(totals, units)},
        "trades": [_trade(x, units, routes.get(x.trade_id)) for x in all_trades],
        "auctions": [_auction(r, now, units, (held or {}).get(r.request_id)) for r in open_requests],
        "ladders": [_ladder(r, units) for r in _ladder_requests(requests)],
        "clearings": [_clearing(c, units) for c in clearing_curves(ledger.clearing)],
        "areas": _areas(requests),
    }


def _shown_totals(totals: dict[str, Any], units: TokenUnits) -> dict[str, str]:
    energy_wh, payment = totals["energy_traded_wh"], totals["payments"]
    return {
        "energy_traded": energy(energy_wh),
        "energy_delivered": energy(totals["energy_delivered_wh"]),
        "payments": units.amount(payment),
        "paid": units.amount(totals["paid"]),
        "refunded": units.amount(totals["refunded"]),
        "open_escrow": units.amount(totals["open_escrow"]),
        "penalties_forfeited": units.amount(totals["penalties_forfeited"]),
        # the volume-weighted average per kWh, rounded down to the token's smallest unit
        "average_price": f"{units.amount(payment * WH_PER_KWH // energy_wh)}/kWh" if energy_wh else "-",
    }


def published_routes(ledger: Ledger) -> dict[str, dict[str, list[str] | None]]:
    """Each funded clearing trade's two routes as its commit's calldata published them, by trade id: their cells
    only; None for a parked order, or a route the audit names malformed (its violations say so)."""
    if ledger.clearing is None:
        return {}
    return {
        clearing_trade(t).trade_id: {side: _route_cells(t.a.get(f"{side}Route")) for side in ("buyer", "seller")}
        for t in ledger.clearing.all_trades()
        if t.funded
    }


def _route_cells(packed: Any) -> list[str] | None:
    if not packed or packed == UNSPLIT:
        return None
    try:
        return [w.cell for w in Route.decode(bytes.fromhex(str(packed).removeprefix("0x"))).waypoints]
    except (ValueError, InvalidRoute):
        return None


def _trade(t: Trade, units: TokenUnits, routes: dict[str, list[str] | None] | None = None) -> dict[str, Any]:
    return {
        "trade_id": t.trade_id,  # auction-<request> or clearing-<id>-<index>
        "mechanism": t.mechanism,  # auction, or clearing/<mechanism>
        "status": t.status,
        "buyer": t.buyer,
        "seller": t.seller,
        "area": t.area,
        "routes": routes,  # a clearing trade's {"buyer": cells | None, "seller": ...}; None for an auction's
        "energy_wh": t.energy_wh,
        "delivered_wh": t.delivered_wh,
        "price_per_wh": t.price_per_wh,
        "payment": t.payment,
        "paid": t.paid,
        "refund": t.refund,
        "penalty": t.penalty,
        "awarded_at": t.awarded_at,
        "settled_at": t.settled_at,
        "award_tx": t.award_tx,
        "shown": trade_shown(t, units),
    }


def _auction(
    r: AuctionRequest, now: int | None, units: TokenUnits, held: list[dict[str, Any]] | None
) -> dict[str, Any]:
    best = min(r.bids, key=lambda b: b.price) if r.bids else None  # min keeps the earlier bid on ties
    usable = [b for b in held or [] if now is None or int(b["expiry_ts"]) >= now]  # held is best first
    return {
        "request_id": r.request_id,
        "buyer": r.buyer,
        "area": _cell(r.area_id),
        "energy_wh": r.energy_wh,
        "max_price_per_wh": r.max_price,
        "deadline": r.deadline,
        "bids": len(r.bids),
        "best_bid": {"seller": best.seller, "price_per_wh": best.price} if best else None,
        # None: this node is not the buyer (another node holds that request's signed bids)
        "held_bids": None
        if held is None
        else {
            "count": len(usable),
            "best": {"seller": usable[0]["seller"], "price_per_wh": int(usable[0]["price_per_wh"])} if usable else None,
        },
        "bidding_over": now is not None and now >= r.deadline,
        "shown": {
            "energy": energy(r.energy_wh),
            "max_price": units.price_per_kwh(r.max_price),
            "best_price": units.price_per_kwh(best.price) if best else "-",
            "held_best_price": units.price_per_kwh(int(usable[0]["price_per_wh"])) if usable else "-",
            "deadline": when(r.deadline),
        },
    }


def _clearing(c: dict[str, Any], units: TokenUnits) -> dict[str, Any]:
    return {
        **c,
        "shown": {
            "traded": energy(c["traded_wh"]),
            "clearing_price": units.price_per_kwh(c["clearing_price_per_wh"]),
            "seller_price": units.price_per_kwh(c["seller_price_per_wh"]),
            "committed_at": when(c["committed_at"]),
        },
    }


def vehicle_data(store: Store, address: str) -> dict[str, Any]:
    """A vehicle's statement (`v2v audit vehicle` as JSON) with each figure also as a person reads it, and its
    trades; 404 for an address no indexed event names."""
    address = to_checksum_address(address)
    if not store.mentions(address):
        raise HTTPException(404, f"{address} appears in no indexed event")
    units = index_units(store)
    ledger = Ledger.from_store(store)
    s = statement(ledger, address, store.chain_id)
    reg = s["registration"]
    sections = ("bought", "sold", "escrow", "account", "clearing_account")
    return {
        "units": units.as_json(),
        "statement": s,
        "shown": {
            "registration": {"status": reg["status"]}
            | ({"roles": roles(reg["roles"]), "expires": when(reg["expiry"])} if "roles" in reg else {}),
            **{
                name: {k.removesuffix("_wh"): shown(k, v, units) for k, v in s[name].items()}
                for name in sections
                if name in s
            },
            "open_obligations": [
                {**o, "amount": units.amount(o["amount"]), "due": when(o["due"])} for o in s["open_obligations"]
            ],
        },
        "trades": [_trade(t, units) for t in trades(ledger) if address in (t.buyer, t.seller)],
    }


def _ladder_requests(requests: list[AuctionRequest]) -> list[AuctionRequest]:
    """Open requests first, then the most recently opened closed ones: the auctions worth a curve."""
    with_bids = [r for r in requests if r.bids]
    ranked = sorted(with_bids, key=lambda r: (r.status != "open", -r.request_id))
    return ranked[:LADDERS_SHOWN]


def _ladder(r: AuctionRequest, units: TokenUnits) -> dict[str, Any]:
    """A reverse auction as curves: every bid offers the whole energy at its price (supply, cheapest first), the
    buyer takes the energy at up to its maximum price (demand)."""
    bids = sorted(r.bids, key=lambda b: (b.price, b.event.position))
    won = next((b for b in bids if r.awarded is not None and (b.seller, b.price) == (r.seller, r.price)), None)
    return {
        "request_id": r.request_id,
        "status": r.status,
        "area": _cell(r.area_id),
        "energy_wh": r.energy_wh,
        "max_price_per_wh": r.max_price,
        "clearing_price_per_wh": r.price if r.awarded is not None else None,
        "bids": [
            {
                "seller": b.seller,
                "price_per_wh": b.price,
                "signed": b.signed,
                "won": b is won,
                "shown_price": units.price_per_kwh(b.price),
            }
            for b in bids
        ],
        "shown": {
            "energy": energy(r.energy_wh),
            "max_price": units.price_per_kwh(r.max_price),
            "clearing_price": units.price_per_kwh(r.price if r.awarded is not None else None),
        },
    }


def _areas(requests: list[AuctionRequest]) -> list[dict[str, Any]]:
    cells: dict[str, dict[str, Any]] = {}
    for r in requests:
        cell = _cell(r.area_id)
        if not cell:
            continue  # an opaque area id names no cell to draw
        area = cells.setdefault(cell, {"cell": cell, "requests": 0, "open": 0, "trades": 0, "energy_traded_wh": 0})
        area["requests"] += 1
        area["open"] += r.status == "open"
        if r.awarded is not None:
            area["trades"] += 1
            area["energy_traded_wh"] += r.energy_wh
    for area in cells.values():
        area["energy_traded"] = energy(area["energy_traded_wh"])
    return sorted(cells.values(), key=lambda a: a["cell"])


def _cell(area_id: str) -> str:
    return cell_of(bytes.fromhex(area_id[2:]))
