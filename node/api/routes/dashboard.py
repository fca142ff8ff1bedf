"""The read-only dashboard: trades, live auctions, bid ladders, cloaked areas and totals, from the audit index.

Every figure comes from chain events the indexer stored (v2vchain.audit), so the page shows what any auditor can
recompute, not what this node believes. Places appear only as the geohash cells the chain already carries; the
browser draws them, and no coordinate is ever sent.
"""

from __future__ import annotations

import threading
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from node.api.problems import errors
from node.service import VehicleNode
from v2vchain.audit.decode import specs_from_deployment
from v2vchain.audit.indexer import Indexer
from v2vchain.audit.ledger.market import Ledger
from v2vchain.audit.ledger.market import Request as AuctionRequest
from v2vchain.audit.reconcile import reconcile
from v2vchain.audit.rpc import HttpNode
from v2vchain.audit.store import Store
from v2vchain.audit.trades import trades
from v2vchain.errors import V2VError
from v2vchain.protocol.areas import cell_of

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
            return {**dashboard_data(store), "refresh": refreshed}


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


# ---------------------------------------------------------------- what the page shows, from the index alone


def dashboard_data(store: Store) -> dict[str, Any]:
    ledger = Ledger.from_store(store)
    all_trades = sorted(trades(ledger), key=lambda t: t.awarded_at)
    last = store.last_block()
    now = store.timestamp(last) if last is not None else None
    result = reconcile(ledger, store)
    requests = sorted(ledger.requests.values(), key=lambda r: r.request_id)
    open_requests = [r for r in requests if r.status == "open"]
    energy_wh = sum(t.energy_wh for t in all_trades)
    payment = sum(t.payment for t in all_trades)
    return {
        "chain_id": store.chain_id,
        "index": {
            "first_block": store.first_block(),
            "last_block": last,
            "timestamp": now,
            "events": result.totals["events"],
        },
        "totals": {
            "trades": len(all_trades),
            "settled": sum(t.status == "settled" for t in all_trades),
            "energy_traded_wh": energy_wh,
            "energy_delivered_wh": sum(t.delivered_wh for t in all_trades),
            "payments": payment,
            "paid": sum(t.paid for t in all_trades),
            "average_price_per_wh": round(payment / energy_wh, 2) if energy_wh else None,
            "requests": len(requests),
            "open_auctions": len(open_requests),
            "vehicles": len(ledger.vehicles),
            "violations": len(result.violations),
            "warnings": len(result.warnings),
            "books_balance": result.totals["token_balance"] == result.totals["books"]
            and result.totals.get("clearing_token_balance") == result.totals.get("clearing_books"),
        },
        "trades": [
            {
                "trade_id": t.trade_id,  # auction-<request> or clearing-<id>-<index>
                "mechanism": t.mechanism,  # auction, or clearing/<mechanism>
                "status": t.status,
                "buyer": t.buyer,
                "seller": t.seller,
                "area": t.area,
                "energy_wh": t.energy_wh,
                "delivered_wh": t.delivered_wh,
                "price_per_wh": t.price_per_wh,
                "payment": t.payment,
                "paid": t.paid,
                "awarded_at": t.awarded_at,
                "settled_at": t.settled_at,
                "award_tx": t.award_tx,
            }
            for t in all_trades
        ],
        "auctions": [_auction(r, now) for r in open_requests],
        "ladders": [_ladder(r) for r in _ladder_requests(requests)],
        "clearings": [],  # the batch Clearing commits only hashes of its order set: no curve can be read from chain
        "areas": _areas(requests),
    }


def _auction(r: AuctionRequest, now: int | None) -> dict[str, Any]:
    best = min(r.bids, key=lambda b: b.price) if r.bids else None  # min keeps the earlier bid on ties
    return {
        "request_id": r.request_id,
        "buyer": r.buyer,
        "area": _cell(r.area_id),
        "energy_wh": r.energy_wh,
        "max_price_per_wh": r.max_price,
        "deadline": r.deadline,
        "bids": len(r.bids),
        "best_bid": {"seller": best.seller, "price_per_wh": best.price} if best else None,
        "bidding_over": now is not None and now >= r.deadline,
    }


def _ladder_requests(requests: list[AuctionRequest]) -> list[AuctionRequest]:
    """Open requests first, then the most recently opened closed ones: the auctions worth a curve."""
    with_bids = [r for r in requests if r.bids]
    ranked = sorted(with_bids, key=lambda r: (r.status != "open", -r.request_id))
    return ranked[:LADDERS_SHOWN]


def _ladder(r: AuctionRequest) -> dict[str, Any]:
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
        "bids": [{"seller": b.seller, "price_per_wh": b.price, "signed": b.signed, "won": b is won} for b in bids],
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
    return sorted(cells.values(), key=lambda a: a["cell"])


def _cell(area_id: str) -> str:
    return cell_of(bytes.fromhex(area_id[2:]))
