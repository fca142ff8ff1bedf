"""Dependencies the routes share: the node itself, and the owner's bearer token for state changes."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from node.meetings import Meetings
from node.service import VehicleNode

_bearer = HTTPBearer(auto_error=False)


def get_node(request: Request) -> VehicleNode:
    return request.app.state.node  # type: ignore[no-any-return]  # Starlette's app.state is untyped


def get_meetings(request: Request) -> Meetings:
    return request.app.state.meetings  # type: ignore[no-any-return]  # Starlette's app.state is untyped


def require_owner(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    expected: str = request.app.state.api_token
    if credentials is None or not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise HTTPException(
            status_code=401,
            detail="a valid bearer token is required for this call",
            headers={"WWW-Authenticate": "Bearer"},
        )


NodeDep = Annotated[VehicleNode, Depends(get_node)]
MeetingsDep = Annotated[Meetings, Depends(get_meetings)]
OwnerOnly = [Depends(require_owner)]
