"""Issue 10, HTTP: every error a node answers is an RFC 9457 problem (statuses unchanged), every status is in the
OpenAPI of the routes that can return it, and /docs works without the internet."""

from __future__ import annotations

from typing import Any

import httpx

from node.api.app import P2P_ERRORS
from node.demo_fleet import TOKEN_ENV
from tests.support.fleet_nodes import Fleet

PROBLEM = "application/problem+json"


def owner_headers(fleet: Fleet) -> dict[str, str]:
    return {"Authorization": f"Bearer {fleet.env[TOKEN_ENV]}"}


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    assert body["status"] == status and body["type"] and body["title"] and body["detail"], body
    return body


def test_401_without_the_owner_token_is_a_problem_with_its_challenge(fleet: Fleet) -> None:
    response = fleet.http.post(f"{fleet.url('buyer')}/requests", json={}, timeout=30)
    assert "bearer token" in assert_problem(response, 401)["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_422_lists_each_bad_field(fleet: Fleet) -> None:
    body = assert_problem(fleet.http.post(f"{fleet.url('buyer')}/p2p/bids", json={"request_id": -1}, timeout=30), 422)
    assert {"request_id", "seller"} <= {e["loc"][-1] for e in body["errors"]}


def test_413_over_the_body_limit(fleet: Fleet) -> None:
    response = fleet.http.post(
        f"{fleet.url('buyer')}/p2p/bids",
        content=b"{" + b" " * 70_000 + b"}",
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert "request body over" in assert_problem(response, 413)["detail"]


def test_404_and_502_from_the_node_keep_their_statuses(fleet: Fleet) -> None:
    missing = fleet.http.post(
        f"{fleet.url('buyer')}/requests/987654/finalize", headers=owner_headers(fleet), timeout=30
    )
    assert "not one this node holds" in assert_problem(missing, 404)["detail"]
    opened = fleet.http.post(
        f"{fleet.url('buyer')}/requests",
        headers=owner_headers(fleet),
        timeout=60,
        json={"energy_wh": 10_000, "max_price_per_wh": 150, "bidding_s": 600},
    ).json()
    unreachable = fleet.http.post(
        f"{fleet.url('seller-1')}/bids",
        headers=owner_headers(fleet),
        timeout=60,
        json={"request_id": opened["request_id"], "buyer_url": "https://127.0.0.1:9#sha256=" + "00" * 32},
    )
    assert "unreachable" in assert_problem(unreachable, 502)["detail"]


def test_every_status_is_documented_as_a_problem_on_the_routes_that_return_it(fleet: Fleet) -> None:
    schema = fleet.http.get(f"{fleet.url('buyer')}/openapi.json", timeout=30).json()
    paths = schema["paths"]
    assert set(paths["/p2p/bids"]["post"]["responses"]) >= {"400", "401", "403", "404", "409", "413", "422", "502"}
    assert set(paths["/requests"]["post"]["responses"]) >= {"400", "401", "409", "413", "422", "502"}
    assert set(paths["/requests/{request_id}/finalize"]["post"]["responses"]) >= {"401", "404", "409"}
    assert set(paths["/dashboard/data"]["get"]["responses"]) >= {"404"}
    assert set(paths["/p2p/challenge"]["get"]["responses"]) == {"200"}  # nothing there can fail
    for (method, path), codes in P2P_ERRORS.items():  # the table in node/app.py still matches node/routes/p2p.py
        assert set(paths[path][method.lower()]["responses"]) >= {str(c) for c in codes}, path
    seen = set()
    for operations in paths.values():
        for operation in operations.values():
            for code, response in operation["responses"].items():
                if int(code) >= 400:
                    seen.add(int(code))
                    assert list(response["content"]) == [PROBLEM], (code, operation["summary"])
                    assert response["content"][PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert seen >= {400, 401, 403, 404, 409, 413, 422, 502}
    assert {"type", "title", "status", "detail"} <= set(schema["components"]["schemas"]["Problem"]["properties"])


def test_docs_are_served_from_the_node_itself(fleet: Fleet) -> None:
    base = fleet.url("buyer")
    for page, asset in (
        ("/docs", "/static-offline-docs/swagger-ui-bundle.js"),
        ("/redoc", "/static-offline-docs/redoc.standalone.js"),
    ):
        html = fleet.http.get(base + page, timeout=30)
        assert html.status_code == 200 and asset in html.text
        assert "cdn." not in html.text and "fonts.googleapis" not in html.text, page
        script = fleet.http.get(base + asset, timeout=30)
        assert script.status_code == 200 and len(script.content) > 100_000
