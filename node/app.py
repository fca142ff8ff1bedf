"""The node's FastAPI application: routes, error mapping, and a request size limit."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from v2vchain.errors import ChainUnavailable, ContractRevert, InvalidInput, TransactionTimeout, V2VError

from . import dashboard
from .meetings import Meetings
from .routes import owner, p2p
from .service import NodeError, VehicleNode

MAX_BODY_BYTES = 64 * 1024


class BodyLimit(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
            return JSONResponse({"detail": f"request body over {MAX_BODY_BYTES} bytes"}, status_code=413)
        if declared is None and request.method in ("POST", "PUT", "PATCH"):
            body = await request.body()
            if len(body) > MAX_BODY_BYTES:
                return JSONResponse({"detail": f"request body over {MAX_BODY_BYTES} bytes"}, status_code=413)
        return await call_next(request)


def create_app(node: VehicleNode, api_token: str) -> FastAPI:
    app = FastAPI(title=f"v2vchain node {node.config.name}", version="1",
                  description="A vehicle's node: identity, requests, signed bids, meetings, trades.")
    app.state.node = node
    app.state.meetings = Meetings(node)
    app.state.api_token = api_token
    app.add_middleware(BodyLimit)
    app.include_router(owner.router)
    app.include_router(p2p.router)
    app.include_router(dashboard.router)

    @app.exception_handler(NodeError)
    async def node_error(_: Request, exc: NodeError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    @app.exception_handler(ContractRevert)
    async def revert(_: Request, exc: ContractRevert) -> JSONResponse:
        arguments = {k: (("0x" + v.hex()) if isinstance(v, bytes) else v) for k, v in exc.arguments.items()}
        return JSONResponse({"detail": str(exc), "error": exc.name, "arguments": arguments}, status_code=409)

    @app.exception_handler(InvalidInput)
    async def invalid(_: Request, exc: InvalidInput) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(V2VError)
    async def other(_: Request, exc: V2VError) -> JSONResponse:
        status = 504 if isinstance(exc, TransactionTimeout) else 502 if isinstance(exc, ChainUnavailable) else 400
        return JSONResponse({"detail": str(exc), "error": type(exc).__name__}, status_code=status)

    return app
