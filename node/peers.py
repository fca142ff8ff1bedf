"""What nodes say to each other, and how each message is bound to its sender: signed listings, signed reply
endpoints, bids as JSON, and one HTTP call helper whose failures come back as NodeError."""

from __future__ import annotations

import ssl
from typing import Any

import httpx
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from v2vchain import boundedjson
from v2vchain.contracts.market import SignedBid
from v2vchain.protocol import eip712, signatures
from v2vchain.protocol.errors import BadSignature, InvalidRoute
from v2vchain.protocol.orders import ChainOrder, SignedOrder, order_digest
from v2vchain.protocol.routes import Route, Waypoint

from .errors import NodeError
from .transport import client_for

MAX_OFFERS_PER_PEER = 100  # discovery answers beyond this are a malformed peer
MAX_ANSWER_BYTES = 1 << 20  # a peer's largest honest answer (100 signed listings) is under 100 kB

# The seller's binding of its reply endpoint to its bid: signed with the seller's key, checked by the buyer, never
# on-chain. Without it anyone who sees a bid could resend it with their own URL and receive the meeting.
ENDPOINT_DOMAIN = ("V2V Node", "1")
ENDPOINT_TYPES = {
    "BidEndpoint": [
        {"name": "requestId", "type": "uint256"},
        {"name": "bidDigest", "type": "bytes32"},
        {"name": "sellerUrl", "type": "string"},
    ]
}
# A vehicle's binding of its node URL to one of its Clearing orders (where the buyer's receipt for a trade of it goes):
# without it anyone who sees the order could resend it first with their own URL.
ORDER_ENDPOINT_TYPES = {
    "OrderEndpoint": [
        {"name": "orderDigest", "type": "bytes32"},
        {"name": "nodeUrl", "type": "string"},
    ]
}
LISTING_TYPES = {
    "RequestListing": [
        {"name": "requestId", "type": "uint256"},
        {"name": "nodeUrl", "type": "string"},
    ]
}


def peer_request(
    method: str,
    url: str | None,
    path: str,
    payload: dict[str, Any] | None = None,
    *,
    allow_plain: bool = False,
    timeout: float = 30,
    params: dict[str, str] | None = None,
) -> Any:
    """One call to another vehicle's node, over TLS pinned to the certificate its URL names (node/transport.py);
    its refusals come back as NodeError 502 with the reason it gave."""
    if not url:
        raise NodeError(f"no address known for the counterparty of {path}", 409)
    try:
        client, base = client_for(url, allow_plain=allow_plain, timeout=timeout)
        with client, client.stream(method, f"{base}{path}", json=payload, params=params) as response:
            body = _bounded_body(response, url, path)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol, UnicodeError, ValueError) as exc:
        raise NodeError(f"{str(url)[:200]!r} is not a usable node URL: {type(exc).__name__}", 400) from None
    except httpx.ConnectError as exc:
        if _pin_refused(exc):
            raise NodeError(
                f"counterparty at {url} refused: its certificate is not the one its URL pins", 502
            ) from None
        raise NodeError(f"counterparty at {url} unreachable: {type(exc).__name__}", 502) from None
    except httpx.HTTPError as exc:
        raise NodeError(f"counterparty at {url} unreachable: {type(exc).__name__}", 502) from None
    if response.status_code >= 400:
        raise NodeError(f"counterparty refused {path}: {body[:300].decode(errors='replace')}", 502)
    try:
        return boundedjson.loads(body)
    except ValueError as exc:
        raise NodeError(f"counterparty at {url} answered {path} with something that is not JSON: {exc}", 502) from None


def answer_field(answer: Any, key: str, path: str) -> Any:
    """`key` of a peer's answer to `path`, or NodeError 502 when the answer is no JSON object holding it."""
    if not isinstance(answer, dict) or key not in answer:
        raise NodeError(f"counterparty answered {path} without {key!r}: {str(answer)[:100]}", 502)
    return answer[key]


def _bounded_body(response: httpx.Response, url: str, path: str) -> bytes:
    """The answer's body, read only up to MAX_ANSWER_BYTES (decompressed): a peer cannot fill this node's memory."""
    too_big = NodeError(f"counterparty at {url} answered {path} with more than {MAX_ANSWER_BYTES} bytes", 502)
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
        raise too_big
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > MAX_ANSWER_BYTES:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


def _pin_refused(exc: BaseException) -> bool:
    """Whether a connection failed because the server's certificate is not the pinned one (httpx wraps httpcore's
    error, which wraps the ssl module's)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def offered_requests(answer: Any) -> list[dict[str, Any]]:
    """The offers in a peer's GET /p2p/requests answer, or ValueError when the answer is not the expected list of
    objects with a positive integer request_id (at most MAX_OFFERS_PER_PEER). Their signatures are checked later,
    one by one (`check_listing`): a bad one skips that offer, not the peer."""
    if not isinstance(answer, list):
        raise ValueError(f"expected a list of requests, got {type(answer).__name__}")
    if len(answer) > MAX_OFFERS_PER_PEER:
        raise ValueError(f"{len(answer)} requests offered, more than {MAX_OFFERS_PER_PEER}")
    for item in answer:
        request_id = item.get("request_id") if isinstance(item, dict) else None
        if type(request_id) is not int or not 0 < request_id < 2**64:
            raise ValueError(f"an offered request has no valid request_id: {str(item)[:100]}")
    return answer


def listing_message(request_id: int, node_url: str) -> dict[str, Any]:
    return {"requestId": request_id, "nodeUrl": node_url}


def sign_listing(account: LocalAccount, chain_id: int, market_address: str, request_id: int, node_url: str) -> bytes:
    """The buyer's signature on its listing of `request_id` at `node_url` (GET /p2p/requests' listing_signature)."""
    return eip712.sign(
        account,
        eip712.domain(ENDPOINT_DOMAIN, chain_id, market_address),
        LISTING_TYPES,
        listing_message(request_id, node_url),
    )


def check_listing(endpoint_domain: dict[str, Any], request_id: int, node_url: str, signature: Any, buyer: str) -> None:
    """BadSignature unless `signature` (0x-hex) is the request's buyer's, under the strict rule, over this request
    id and exactly the URL the seller asked."""
    if not isinstance(signature, str) or not signature.startswith("0x"):
        raise BadSignature("the listing carries no signature")
    try:
        raw = bytes.fromhex(signature[2:])
    except ValueError:
        raise BadSignature("the listing signature is not hex") from None
    signatures.verify_typed(endpoint_domain, LISTING_TYPES, listing_message(request_id, node_url), raw, buyer)


def bid_digest(market_domain: dict[str, Any], bid: SignedBid) -> bytes:
    """The EIP-712 digest the seller signed for this bid (what Market.bidDigest returns)."""

    encoded = encode_typed_data(domain_data=market_domain, message_types=eip712.BID_TYPES, message_data=bid.message())
    return keccak(b"\x19" + encoded.version + encoded.header + encoded.body)


def endpoint_message(market_domain: dict[str, Any], bid: SignedBid, seller_url: str) -> dict[str, Any]:
    return {"requestId": bid.request_id, "bidDigest": bid_digest(market_domain, bid), "sellerUrl": seller_url}


def sign_endpoint(account: LocalAccount, chain_id: int, market_address: str, bid: SignedBid, seller_url: str) -> bytes:
    """The seller's signature binding `seller_url` to its bid (what POST /p2p/bids carries as endpoint_signature)."""
    market_domain = eip712.domain(eip712.MARKET_DOMAIN, chain_id, market_address)
    return eip712.sign(
        account,
        eip712.domain(ENDPOINT_DOMAIN, chain_id, market_address),
        ENDPOINT_TYPES,
        endpoint_message(market_domain, bid, seller_url),
    )


def bid_to_json(bid: SignedBid) -> dict[str, Any]:
    return {
        "request_id": bid.request_id,
        "seller": bid.seller,
        "price_per_wh": bid.price_per_wh,
        "energy_wh": bid.energy_wh,
        "nonce": bid.nonce,
        "expiry_ts": bid.expiry_ts,
        "signature": "0x" + bid.signature.hex(),
    }


def bid_from_row(row: dict[str, Any]) -> SignedBid:
    return SignedBid(
        request_id=row["request_id"],
        seller=row["seller"],
        price_per_wh=row["price_per_wh"],
        energy_wh=row["energy_wh"],
        nonce=row["nonce"],
        expiry_ts=row["expiry_ts"],
        signature=bytes.fromhex(row["signature"]),
    )


def order_to_json(signed: SignedOrder) -> dict[str, Any]:
    """A signed Clearing order as POST /p2p/orders carries it (and as the operator's store keeps it)."""
    o = signed.order
    return {
        "owner": o.owner,
        "side": o.side,
        "energy_wh": o.energy_wh,
        "limit_price_per_wh": o.limit_price_per_wh,
        "area_id": "0x" + bytes(o.area_id).hex(),
        "window_start_ts": o.window_start_ts,
        "window_end_ts": o.window_end_ts,
        "nonce": o.nonce,
        "expiry_ts": o.expiry_ts,
        "signature": "0x" + signed.signature.hex(),
        "route": route_to_json(o.route),
    }


def order_from_json(data: dict[str, Any]) -> SignedOrder:
    return SignedOrder(
        ChainOrder(
            owner=to_checksum_address(str(data["owner"])),
            side=int(data["side"]),
            energy_wh=int(data["energy_wh"]),
            limit_price_per_wh=int(data["limit_price_per_wh"]),
            area_id=bytes.fromhex(str(data["area_id"])[2:]),
            window_start_ts=int(data["window_start_ts"]),
            window_end_ts=int(data["window_end_ts"]),
            nonce=int(data["nonce"]),
            expiry_ts=int(data["expiry_ts"]),
            route=route_from_json(data.get("route")),  # an order stored before routes has none
        ),
        bytes.fromhex(str(data["signature"])[2:]),
    )


def route_to_json(route: Route | None) -> list[dict[str, Any]] | None:
    """A route as the peer protocol carries it: its cells and times (what the owner's signature covers the hash of)."""
    return None if route is None else list(route.as_json())


def route_from_json(data: Any) -> Route | None:
    """The route in a peer's order JSON (None for a parked vehicle), InvalidRoute for one no order may carry."""
    if data is None:
        return None
    if not isinstance(data, list):
        raise InvalidRoute(f"expected a list of waypoints, got {type(data).__name__}")
    waypoints = []
    for k, w in enumerate(data):
        if not isinstance(w, dict) or not isinstance(w.get("cell"), str):
            raise InvalidRoute(f"waypoint {k} is not a {{cell, arrive_ts, depart_ts}} object")
        waypoints.append(Waypoint(w["cell"], w.get("arrive_ts", 0), w.get("depart_ts", 0)))  # Route checks the times
    return Route(tuple(waypoints))


def order_endpoint_message(signed: SignedOrder, chain_id: int, clearing: str, node_url: str) -> dict[str, Any]:
    return {"orderDigest": order_digest(signed.order, chain_id, clearing), "nodeUrl": node_url}


def sign_order_endpoint(
    account: LocalAccount, chain_id: int, clearing: str, signed: SignedOrder, node_url: str
) -> bytes:
    """The owner's signature binding `node_url` to its order (POST /p2p/orders' endpoint_signature)."""
    return eip712.sign(
        account,
        eip712.domain(ENDPOINT_DOMAIN, chain_id, clearing),
        ORDER_ENDPOINT_TYPES,
        order_endpoint_message(signed, chain_id, clearing, node_url),
    )
