"""The owner's control API: every state-changing call needs the bearer token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from node.api.deps import MeetingsDep, NodeDep, OwnerOnly
from node.api.models import AutoBid, Confirm, Deposit, Meet, OpenRequest, PlaceBid, RequestIdPath, Withdraw
from node.api.problems import errors

router = APIRouter()


@router.get("/identity", summary="This vehicle's DID, DID document and credential")
def identity(node: NodeDep) -> dict[str, Any]:
    return node.identity()


@router.post(
    "/requests",
    responses=errors(400, 401, 409, 413, 422, 502, 504),
    dependencies=OwnerOnly,
    summary="Open a request (buyer); the position stays local",
)
def open_request(body: OpenRequest, node: NodeDep) -> dict[str, Any]:
    return node.open_request(
        energy_wh=body.energy_wh,
        max_price_per_wh=body.max_price_per_wh,
        bidding_s=body.bidding_s,
        delivery_lead_s=body.delivery_lead_s,
        delivery_window_s=body.delivery_window_s,
        area_cell=node.cloak(),
    )


@router.get(
    "/requests/open", responses=errors(502), summary="Requests open for bidding, from chain events, by cloaked region"
)
def open_requests(node: NodeDep, region: str = "") -> list[dict[str, Any]]:
    return node.open_requests(region)


@router.post(
    "/requests/{request_id}/close",
    responses=errors(401, 404, 409, 422, 502, 504),
    dependencies=OwnerOnly,
    summary="Close, relaying the best signed bids",
)
def close(request_id: RequestIdPath, node: NodeDep) -> dict[str, Any]:
    return node.close(request_id)


@router.post(
    "/requests/{request_id}/meet",
    responses=errors(400, 401, 403, 404, 409, 413, 422, 500, 502),
    dependencies=OwnerOnly,
    summary="Buyer: mutual presentations with the winner, then the meeting point sealed to it",
)
def meet(request_id: RequestIdPath, body: Meet, node: NodeDep, meetings: MeetingsDep) -> dict[str, Any]:
    own = node.config.position
    point = (own.lat, own.lon) if body.lat is None or body.lon is None else (body.lat, body.lon)
    return meetings.meet(request_id, point)


@router.post(
    "/requests/{request_id}/confirm",
    responses=errors(400, 401, 404, 409, 413, 422, 502, 504),
    dependencies=OwnerOnly,
    summary="Confirm delivered Wh and send the seller a signed meter receipt",
)
def confirm(request_id: RequestIdPath, body: Confirm, node: NodeDep) -> dict[str, Any]:
    return node.confirm(request_id, body.delivered_wh)


@router.post(
    "/requests/{request_id}/finalize",
    responses=errors(401, 404, 409, 422, 502, 504),
    dependencies=OwnerOnly,
    summary="Settle a pending confirmation at the buyer's figure after the delivery window plus grace",
)
def finalize(request_id: RequestIdPath, node: NodeDep) -> dict[str, Any]:
    return node.finalize(request_id)


@router.post(
    "/requests/{request_id}/claim",
    responses=errors(400, 401, 404, 409, 422, 502, 504),
    dependencies=OwnerOnly,
    summary="Seller: settle with the buyer's receipt",
)
def claim(request_id: RequestIdPath, node: NodeDep) -> dict[str, Any]:
    return node.claim(request_id)


@router.post(
    "/bids",
    responses=errors(400, 401, 404, 409, 413, 422, 502, 504),
    dependencies=OwnerOnly,
    summary="Sign a bid (never below cost) and send it to the buyer's node",
)
def place_bid(body: PlaceBid, node: NodeDep) -> dict[str, Any]:
    return node.bid(body.request_id, body.buyer_url, body.price_per_wh)


@router.post(
    "/bids/auto",
    responses=errors(400, 401, 409, 413, 422, 502, 504),
    dependencies=OwnerOnly,
    summary="Bid on every open request the peers offer in a region",
)
def auto_bid(body: AutoBid, node: NodeDep) -> list[dict[str, Any]]:
    return node.auto_bid(body.region)


@router.post(
    "/clearings/watch",
    responses=errors(401, 404, 502),
    dependencies=OwnerOnly,
    summary="Batch clearings that used this vehicle's signed orders, with what each filled",
)
def watch_clearings(node: NodeDep) -> list[dict[str, Any]]:
    return node.watch_clearings()


@router.get(
    "/trades",
    dependencies=OwnerOnly,
    responses=errors(401, 502),
    summary="This vehicle's requests and trades, refreshed from the chain",
)
def trades(node: NodeDep) -> list[dict[str, Any]]:
    return node.trades()


@router.get(
    "/balances",
    dependencies=OwnerOnly,
    responses=errors(401, 502),
    summary="Wallet, and the market account: free and locked",
)
def balances(node: NodeDep) -> dict[str, Any]:
    return node.balances()


@router.post(
    "/deposit",
    responses=errors(400, 401, 409, 413, 422, 502, 504),
    dependencies=OwnerOnly,
    summary="Move tokens into the market's free balance (a seller's penalty cover, a buyer's payments)",
)
def deposit(body: Deposit, node: NodeDep) -> dict[str, Any]:
    return node.deposit(body.amount)


@router.post(
    "/withdraw",
    responses=errors(400, 401, 409, 413, 422, 502, 504),
    dependencies=OwnerOnly,
    summary="Withdraw part or all of the free balance",
)
def withdraw(node: NodeDep, body: Withdraw | None = None) -> dict[str, Any]:
    return node.withdraw(body.amount if body else None)
