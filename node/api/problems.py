"""RFC 9457 problem details: the one body every error of the node's API has, and its OpenAPI description."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, ConfigDict

MEDIA_TYPE = "application/problem+json"


class Problem(BaseModel):
    """An RFC 9457 problem; extension members (`error`, `arguments`, `errors`) say more where there is more."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str


WHY = {
    400: "The request is malformed or breaks a rule checked before the chain (price, expiry, signature format).",
    401: "Owner calls: no valid bearer token. Peer calls: the message's signature is not the sender's.",
    403: "The counterparty is not an active registered vehicle, or not the one this step needs.",
    404: "No such request, receipt or configured feature on this node.",
    409: "The request's state does not allow this now, or the contract reverted (its custom error in `error`).",
    413: "The request body is over the node's size limit.",
    429: "The sender already has as many messages waiting here as the node keeps per sender; retry later.",
    422: "The body or a parameter does not match the schema (`errors` lists each field).",
    500: "The node's own records are inconsistent.",
    502: "The chain or the counterparty's node could not be reached or gave an unusable answer.",
    504: "A transaction was sent but no receipt arrived in time.",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status it can answer with, as a problem+json body."""
    return {code: {"model": Problem, "description": WHY[code]} for code in codes}


def problem_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Every error response in the schema (FastAPI's own 422 included) as `application/problem+json` Problem."""
    ref = {"$ref": "#/components/schemas/Problem"}
    schema.setdefault("components", {}).setdefault("schemas", {}).setdefault("Problem", Problem.model_json_schema())
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for code, response in operation.get("responses", {}).items():
                if code.isdigit() and int(code) >= 400:
                    response["content"] = {MEDIA_TYPE: {"schema": ref}}
                    if int(code) in WHY and response.get("description") in ("Validation Error", "", None):
                        response["description"] = WHY[int(code)]
    return schema


def problem_body(status: int, detail: str, *, type_: str = "about:blank", **extensions: Any) -> dict[str, Any]:
    return {"type": type_, "title": HTTPStatus(status).phrase, "status": status, "detail": detail, **extensions}
