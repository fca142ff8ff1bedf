"""The owner's control API: every state-changing call needs the bearer token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from node.api.deps import MeetingsDep, NodeDep, OwnerOnly
from node.api.models import (
    AutoBid,
    ClearingIdPath,
    Confirm,
    Deposit,
    Meet,
    OpenRequest,
    PlaceBid,
    PlaceOrder,
    RequestIdPath,
    ResendOrders,
    TradeIndexPath,
    Withdraw,
)
from node.api.problems import errors
from node.meeting_venues import TradeRef

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
    return meetings.meet(TradeRef("market", request_id), point)


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


@router.post(
    "/orders",
    responses=errors(400, 401, 404, 409, 413, 422, 502),
    dependencies=OwnerOnly,
    summary="Sign a batch-clearing order with this vehicle's key and send it to the operator (a route's stops "
    "become their cloaked cells)",
)
def place_order(body: PlaceOrder, node: NodeDep) -> dict[str, Any]:
    return node.place_order(
        side=body.side,
        energy_wh=body.energy_wh,
        limit_price_per_wh=body.limit_price_per_wh,
        window_lead_s=body.window_lead_s,
        window_s=body.window_s,
        expiry_s=body.expiry_s,
        operator_url=body.operator_url,
        route=None if body.route is None else [stop.planned() for stop in body.route],
    )


@router.get(
    "/orders",
    responses=errors(401, 404, 502),
    dependencies=OwnerOnly,
    summary="This vehicle's signed orders, and what the clearings made of each",
)
def list_orders(node: NodeDep) -> list[dict[str, Any]]:
    return node.orders()


@router.post(
    "/orders/resend",
    responses=errors(400, 401, 404, 413, 422, 502),
    dependencies=OwnerOnly,
    summary="Send every unused order to another operator (the one it went to has stopped)",
)
def resend_orders(body: ResendOrders, node: NodeDep) -> list[dict[str, Any]]:
    return node.resend_orders(body.operator_url)


@router.post(
    "/clearings/run",
    responses=errors(401, 404, 409, 502, 504),
    dependencies=OwnerOnly,
    summary="Operator: clear the orders received so far now (one interval), commit and record it",
)
def run_interval(node: NodeDep) -> dict[str, Any]:
    return node.run_interval()


@router.get(
    "/clearings",
    responses=errors(401, 404, 502),
    dependencies=OwnerOnly,
    summary="Operator: its clearings with their trades, and the orders it holds",
)
def operator_clearings(node: NodeDep) -> dict[str, Any]:
    return {"clearings": node.operator_clearings(), "orders": node.collected()}


@router.post(
    "/clearings/watch/run",
    responses=errors(401, 404, 502),
    dependencies=OwnerOnly,
    summary="Vehicle: watch the clearings now and keep the findings",
)
def watch_now(node: NodeDep) -> dict[str, Any]:
    return node.watch_once()


@router.get(
    "/clearings/watched",
    responses=errors(401, 404, 502),
    dependencies=OwnerOnly,
    summary="Vehicle: every clearing that used its orders (as last watched), and its cleared trades",
)
def watched(node: NodeDep) -> dict[str, Any]:
    return node.watched()


@router.post(
    "/clearings/{clearing_id}/trades/{trade_index}/confirm",
    responses=errors(400, 401, 404, 409, 413, 422, 502, 504),
    dependencies=OwnerOnly,
    summary="Buyer: confirm a cleared trade's delivered Wh on-chain and send the seller a signed receipt",
)
def confirm_trade(
    clearing_id: ClearingIdPath, trade_index: TradeIndexPath, body: Confirm, node: NodeDep, meetings: MeetingsDep
) -> dict[str, Any]:
    return node.confirm_clearing_trade(int(clearing_id), trade_index, body.delivered_wh, meetings.present_to)


@router.post(
    "/clearings/{clearing_id}/trades/{trade_index}/meet",
    responses=errors(400, 401, 403, 404, 409, 413, 422, 500, 502),
    dependencies=OwnerOnly,
    summary="Buyer of a cleared trade: the seller's URL from the operator (signed by the seller), mutual "
    "presentations, then the meeting point and access secret sealed to the seller",
)
def meet_trade(
    clearing_id: ClearingIdPath, trade_index: TradeIndexPath, body: Meet, node: NodeDep, meetings: MeetingsDep
) -> dict[str, Any]:
    own = node.config.position
    point = (own.lat, own.lon) if body.lat is None or body.lon is None else (body.lat, body.lon)
    return meetings.meet(TradeRef("clearing", trade_index, int(clearing_id)), point)


@router.post(
    "/clearings/{clearing_id}/trades/{trade_index}/claim",
    responses=errors(401, 404, 409, 422, 502, 504),
    dependencies=OwnerOnly,
    summary="Seller: settle a cleared trade with the buyer's receipt",
)
def claim_trade(clearing_id: ClearingIdPath, trade_index: TradeIndexPath, node: NodeDep) -> dict[str, Any]:
    return node.claim_clearing_trade(int(clearing_id), trade_index)


@router.get(
    "/clearing/balances",
    dependencies=OwnerOnly,
    responses=errors(401, 404, 502),
    summary="Wallet, and the Clearing account: free, locked, nonce floor",
)
def clearing_balances(node: NodeDep) -> dict[str, Any]:
    return node.clearing_balances()


@router.post(
    "/clearing/deposit",
    responses=errors(400, 401, 404, 409, 413, 422, 502, 504),
    dependencies=OwnerOnly,
    summary="Move tokens into the Clearing's free balance",
)
def clearing_deposit(body: Deposit, node: NodeDep) -> dict[str, Any]:
    return node.clearing_deposit(body.amount)
