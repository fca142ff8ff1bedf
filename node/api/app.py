"""The node's FastAPI application: routes, one error mapping to RFC 9457 problems, a request size limit, and the
API docs served from local files (fastapi-offline), so /docs works without the internet."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from node.errors import NodeError
from node.meetings import Meetings
from node.service import VehicleNode
from v2vchain.chain.errors import ChainUnavailable, ContractRevert, TransactionTimeout
from v2vchain.errors import InvalidInput, V2VError

from .problems import MEDIA_TYPE, errors, problem_body, problem_openapi
from .routes import dashboard, owner, p2p

MAX_BODY_BYTES = 64 * 1024
log = logging.getLogger(__name__)

# What each peer route can answer besides 200 (node/routes/p2p.py is kept free of it; documented here).
P2P_ERRORS: dict[tuple[str, str], tuple[int, ...]] = {
    ("GET", "/p2p/requests"): (502,),
    ("POST", "/p2p/bids"): (400, 401, 403, 404, 409, 413, 422, 502),
    ("POST", "/p2p/receipts"): (400, 401, 404, 409, 413, 422, 502),
    ("POST", "/p2p/meetings/{request_id}/handshake"): (400, 401, 403, 404, 409, 413, 422, 502),
    ("POST", "/p2p/meetings/{request_id}/point"): (400, 403, 404, 409, 413, 422, 500),
    ("POST", "/p2p/orders"): (400, 401, 403, 404, 409, 413, 422, 429, 502),
    ("GET", "/p2p/clearings"): (404, 502),
    ("POST", "/p2p/clearings/{clearing_id}/trades/{trade_index}/contact"): (400, 401, 403, 404, 413, 422, 502),
    ("POST", "/p2p/clearings/{clearing_id}/trades/{trade_index}/handshake"): (400, 401, 403, 404, 409, 413, 422, 502),
    ("POST", "/p2p/clearings/{clearing_id}/trades/{trade_index}/point"): (400, 403, 404, 409, 413, 422, 500, 502),
    ("POST", "/p2p/clearing-receipts"): (400, 401, 404, 409, 413, 422, 502),
}


def problem(status: int, detail: str, **extensions: Any) -> JSONResponse:
    return JSONResponse(
        jsonable_encoder(problem_body(status, detail, **extensions)), status_code=status, media_type=MEDIA_TYPE
    )


def to_problem(exc: Exception) -> tuple[int, str, dict[str, Any]]:
    """(status, detail, extension members) of any error; the statuses are the API's, unchanged."""
    if isinstance(exc, NodeError):
        return exc.status, str(exc), {}
    if isinstance(exc, ContractRevert):
        arguments = {k: (("0x" + v.hex()) if isinstance(v, bytes) else v) for k, v in exc.arguments.items()}
        return 409, str(exc), {"type_": f"urn:v2vchain:revert:{exc.name}", "error": exc.name, "arguments": arguments}
    if isinstance(exc, InvalidInput):
        return 400, str(exc), {}
    if isinstance(exc, V2VError):
        status = 504 if isinstance(exc, TransactionTimeout) else 502 if isinstance(exc, ChainUnavailable) else 400
        return status, str(exc), {"error": type(exc).__name__}
    if isinstance(exc, RequestValidationError):
        problems = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        detail = "; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in problems)
        return 422, detail, {"errors": problems}
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code, str(exc.detail), {}
    log.exception("unhandled error")
    return 500, "internal error", {}


class BodyLimit:
    """Refuse a request body over MAX_BODY_BYTES with 413, counting it as it streams: a declared Content-Length over
    the limit is refused before reading, and a chunked (or understated) body is read chunk by chunk and refused as
    soon as the running total passes the limit, so at most MAX_BODY_BYTES of it is ever held. The body read so far
    is then replayed to the application."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
            await self._too_big(scope, receive, send)
            return
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                chunks_done = [message]
                break
            body = message.get("body", b"")
            total += len(body)
            if total > MAX_BODY_BYTES:
                await self._too_big(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                chunks_done = []
                break
        replay: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}, *chunks_done]

        async def replayed() -> Message:
            return replay.pop(0) if replay else await receive()

        await self.app(scope, replayed, send)

    @staticmethod
    async def _too_big(scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(413, f"request body over {MAX_BODY_BYTES} bytes")
        response.headers["connection"] = "close"  # the rest of the body is never read
        await response(scope, receive, send)


def create_app(node: VehicleNode, api_token: str) -> FastAPI:
    app = FastAPIOffline(
        title=f"v2vchain node {node.config.name}",
        version="1",
        description="A vehicle's node: identity, requests, signed bids, meetings, trades. "
        "Every error is an RFC 9457 `application/problem+json` body.",
    )
    app.state.node = node
    app.state.meetings = Meetings(node)
    app.state.api_token = api_token
    app.add_middleware(BodyLimit)
    for route in p2p.router.routes:
        for method in getattr(route, "methods", None) or ():
            codes = P2P_ERRORS.get((method, getattr(route, "path", "")))
            if codes:
                route.responses.update(errors(*codes))  # type: ignore[attr-defined]  # routes are APIRoute here, typed as BaseRoute by Starlette
    app.include_router(owner.router)
    app.include_router(p2p.router)
    app.include_router(dashboard.router)

    async def handle(_: Request, exc: Exception) -> JSONResponse:
        status, detail, extensions = to_problem(exc)
        response = problem(status, detail, **extensions)
        if isinstance(exc, StarletteHTTPException) and exc.headers:
            response.headers.update(exc.headers)
        return response

    for kind in (V2VError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(kind, handle)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problem_openapi(
                get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI documents replacing app.openapi to customise the schema
    return app
