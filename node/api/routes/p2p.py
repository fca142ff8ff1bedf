"""What other vehicles' nodes call. No bearer token: each message carries its own signature, checked here."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from node.api.deps import MeetingsDep, NodeDep
from node.api.models import (
    ClearingHandshake,
    ClearingIdPath,
    ClearingReceiptIn,
    ContactRequest,
    Handshake,
    ReceiptIn,
    RequestIdPath,
    SealedPoint,
    SignedBidIn,
    SignedOrderIn,
    TradeIndexPath,
)
from node.meeting_venues import TradeRef
from node.peers import order_from_json
from v2vchain.contracts.market import SignedBid

router = APIRouter(prefix="/p2p")


@router.get(
    "/requests",
    summary="This buyer's open requests in a cloaked region, with where to send bids, each "
    "signed by the buyer over its request id and this node's URL",
)
def offered(node: NodeDep, region: str = "") -> list[dict[str, Any]]:
    return node.listed_requests(region)


@router.post("/bids", summary="Receive a seller's signed bid, checked as the contract will check it")
def receive_bid(body: SignedBidIn, node: NodeDep) -> dict[str, Any]:
    bid = SignedBid(
        request_id=body.request_id,
        seller=body.seller,
        price_per_wh=body.price_per_wh,
        energy_wh=body.energy_wh,
        nonce=body.nonce,
        expiry_ts=body.expiry_ts,
        signature=bytes.fromhex(body.signature[2:]),
    )
    return node.receive_bid(bid, body.seller_url, bytes.fromhex(body.endpoint_signature[2:]))


@router.post("/receipts", summary="Receive the buyer's signed meter receipt (seller)")
def receive_receipt(body: ReceiptIn, node: NodeDep) -> dict[str, Any]:
    return node.receive_receipt(body.request_id, body.delivered_wh, bytes.fromhex(body.signature[2:]))


@router.get("/challenge", summary="A fresh single-use challenge to answer with a presentation")
def challenge(meetings: MeetingsDep) -> dict[str, str]:
    return {"challenge": meetings.verifier.challenge(), "verifier": meetings.node.did}


@router.post("/meetings/{request_id}/handshake", summary="Seller: verify the buyer, answer its challenge")
def handshake(request_id: RequestIdPath, body: Handshake, meetings: MeetingsDep) -> dict[str, Any]:
    return meetings.handshake(TradeRef("market", request_id), body.presentation, body.challenge)


@router.post("/meetings/{request_id}/point", summary="Seller: receive the sealed meeting point and access secret")
def point(request_id: RequestIdPath, body: SealedPoint, meetings: MeetingsDep) -> dict[str, Any]:
    return meetings.receive_point(TradeRef("market", request_id), bytes.fromhex(body.sealed[2:]))


@router.post("/orders", summary="Operator: receive a vehicle's signed order, checked as the Clearing will check it")
def receive_order(body: SignedOrderIn, node: NodeDep) -> dict[str, Any]:
    data = body.model_dump()
    endpoint = bytes.fromhex(body.endpoint_signature[2:]) if body.endpoint_signature else b""
    return node.receive_order(order_from_json(data), body.node_url, endpoint)


@router.get("/clearings", summary="Operator: its committed clearings and their trades (no node URLs)")
def clearings(node: NodeDep) -> list[dict[str, Any]]:
    return node.operator_clearings()


@router.post(
    "/clearings/{clearing_id}/trades/{trade_index}/contact",
    summary="Operator: to a party of the trade only (its presentation answering this node's challenge), the "
    "counterparty's node URL with the counterparty's signature over it",
)
def contact(
    clearing_id: ClearingIdPath, trade_index: TradeIndexPath, body: ContactRequest, node: NodeDep, meetings: MeetingsDep
) -> dict[str, Any]:
    parties = node.operator_trade_parties(int(clearing_id), trade_index)
    party = meetings.verify(body.presentation, *parties).holder
    return node.operator_contact(int(clearing_id), trade_index, party)


@router.post(
    "/clearings/{clearing_id}/trades/{trade_index}/handshake",
    summary="Seller of a cleared trade: verify the buyer and its access commitment, answer its challenge",
)
def clearing_handshake(
    clearing_id: ClearingIdPath, trade_index: TradeIndexPath, body: ClearingHandshake, meetings: MeetingsDep
) -> dict[str, Any]:
    extra = {"access_hash": body.access_hash, "access_signature": body.access_signature}
    return meetings.handshake(
        TradeRef("clearing", trade_index, int(clearing_id)), body.presentation, body.challenge, extra
    )


@router.post(
    "/clearings/{clearing_id}/trades/{trade_index}/point",
    summary="Seller of a cleared trade: receive the sealed meeting point and access secret",
)
def clearing_point(
    clearing_id: ClearingIdPath, trade_index: TradeIndexPath, body: SealedPoint, meetings: MeetingsDep
) -> dict[str, Any]:
    return meetings.receive_point(TradeRef("clearing", trade_index, int(clearing_id)), bytes.fromhex(body.sealed[2:]))


@router.post("/clearing-receipts", summary="Seller: receive the buyer's signed receipt for a cleared trade")
def receive_clearing_receipt(body: ClearingReceiptIn, node: NodeDep) -> dict[str, Any]:
    return node.receive_clearing_receipt(
        int(body.clearing_id), body.trade_index, body.delivered_wh, bytes.fromhex(body.signature[2:])
    )
