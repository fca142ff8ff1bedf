"""Orders that carry a vehicle's trip (issue 12) through real node processes on anvil: the owner API cloaks each stop
to its cell and refuses a malformed plan with a named reason, the operator refuses a route the signature does not
cover or the window does not hold, and a routed buy cleared against a parked sell is committed with its route in the
calldata, read back by both vehicles and shown by the operator."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from node.peers import order_to_json
from tests.support.fleet_nodes import Fleet, key_of
from v2vchain.audit.units import when
from v2vchain.cli.main import app
from v2vchain.privacy import geohash
from v2vchain.protocol import areas
from v2vchain.protocol.orders import ChainOrder
from v2vchain.protocol.routes import Route, Waypoint

pytestmark = pytest.mark.anvil

PRECISION = 5  # the node config's default cloak.route_precision
HOME, WORK = (52.5219, 13.4132), (52.4990, 13.3550)  # Alexanderplatz to Potsdamer Platz, 4.6 km


def stop(point: tuple[float, float], arrive_ts: int, depart_ts: int) -> dict[str, Any]:
    return {"lat": point[0], "lon": point[1], "arrive_ts": arrive_ts, "depart_ts": depart_ts}


def commute(now: int) -> list[dict[str, Any]]:
    """Home from 5 to 15 min from now, work from 40 min to an hour: inside a parked seller's default window."""
    return [stop(HOME, now + 300, now + 900), stop(WORK, now + 2_400, now + 3_600)]


def cells(stops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The route an order signs for these stops, as the peer protocol writes it."""
    return [
        {
            "cell": geohash.encode(s["lat"], s["lon"], PRECISION),
            "arrive_ts": s["arrive_ts"],
            "depart_ts": s["depart_ts"],
        }
        for s in stops
    ]


def place(fleet: Fleet, name: str, body: dict[str, Any]) -> Any:
    return fleet.http.post(f"{fleet.url(name)}/orders", json=body, headers=fleet.owner(name).headers, timeout=60)


@pytest.fixture(scope="module")
def routed(clearing_fleet: Fleet) -> dict[str, Any]:
    """A routed buy (the buyer's commute) and a parked sell, cleared by one interval of the operator."""
    fleet = clearing_fleet
    stops = commute(fleet.chain.now())
    buy = fleet.owner("buyer").post(
        "/orders", {"side": "buy", "energy_wh": 5_000, "limit_price_per_wh": 150, "route": stops}
    )
    sell = fleet.owner("seller-1").post("/orders", {"side": "sell", "energy_wh": 5_000, "limit_price_per_wh": 80})
    run = fleet.owner("operator").post("/clearings/run")
    return {"stops": stops, "buy": buy, "sell": sell, "run": run}


def _malformed(now: int) -> dict[str, tuple[dict[str, Any], str]]:
    trip = commute(now)
    return {
        "one stop": ({"route": trip[:1]}, "a route has 2..8 waypoints, got 1"),
        "nine stops": ({"route": [stop(HOME, now + 300 + k, now + 300 + k) for k in range(9)]}, "got 9"),
        "departs before it arrives": (
            {"route": [trip[0], stop(WORK, now + 2_400, now + 2_000)]},
            "waypoint 1 departs (",
        ),
        "arrives before the last stop is left": (
            {"route": [trip[0], stop(WORK, now + 600, now + 3_600)]},
            "waypoint 1 arrives (",
        ),
        "no time between first arrival and last departure": (
            {"route": [stop(HOME, now + 300, now + 300), stop(WORK, now + 300, now + 300)]},
            "its window is empty",
        ),
        "a latitude off the globe": ({"route": [trip[0], stop((91.0, 13.4), now + 2_400, now + 3_600)]}, "route.1.lat"),
        "a window given as well": ({"route": trip, "window_s": 3_600}, "route conflicts with window_s"),
    }


@pytest.mark.parametrize("case", list(_malformed(0)))
def test_the_owner_api_refuses_a_malformed_route_with_422_naming_the_field_and_the_reason(
    clearing_fleet: Fleet, case: str
) -> None:
    extra, reason = _malformed(clearing_fleet.chain.now())[case]
    answer = place(clearing_fleet, "buyer", {"side": "buy", "energy_wh": 1_000, "limit_price_per_wh": 150, **extra})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    detail = answer.json()["detail"]
    assert "route" in detail and reason in detail


def test_a_route_already_over_is_refused_before_anything_is_signed(clearing_fleet: Fleet) -> None:
    fleet = clearing_fleet
    before = len(fleet.owner("buyer").get("/orders"))
    now = fleet.chain.now()
    past = [stop(HOME, now - 3_600, now - 3_000), stop(WORK, now - 1_200, now - 600)]
    answer = place(fleet, "buyer", {"side": "buy", "energy_wh": 1_000, "limit_price_per_wh": 150, "route": past})
    assert answer.status_code == 400 and "is not after the chain's time" in answer.json()["detail"]
    assert len(fleet.owner("buyer").get("/orders")) == before


def test_a_routed_order_signs_its_stops_cells_and_runs_from_first_arrival_to_last_departure(
    routed: dict[str, Any],
) -> None:
    buy, stops = routed["buy"], routed["stops"]
    assert buy["status"] == "sent"
    assert buy["route"] == cells(stops)
    assert (buy["window_start_ts"], buy["window_end_ts"]) == (stops[0]["arrive_ts"], stops[-1]["depart_ts"])
    assert buy["area_id"] == "0x" + areas.area_id(cells(stops)[0]["cell"]).hex()
    assert str(HOME[0]) not in str(buy) and str(WORK[1]) not in str(buy)


def test_the_commit_publishes_the_routed_order_s_route_in_its_calldata(
    clearing_fleet: Fleet, routed: dict[str, Any]
) -> None:
    fleet, run = clearing_fleet, routed["run"]
    assert run["opened"] == 1
    clearing = fleet.system.clearing
    assert clearing is not None
    published = clearing.published(int(run["clearing_id"]), from_block=fleet.system.deployment.block)
    by_owner = {o.order.owner: o.order for o in published.orders}
    expected = Route(tuple(Waypoint(**w) for w in cells(routed["stops"])))
    assert by_owner[fleet.nodes["buyer"].address].route == expected
    assert by_owner[fleet.nodes["seller-1"].address].route is None


def test_both_vehicles_read_the_route_of_their_trade_back_from_the_chain(
    clearing_fleet: Fleet, routed: dict[str, Any]
) -> None:
    fleet, clearing_id, route = clearing_fleet, routed["run"]["clearing_id"], cells(routed["stops"])
    views = {}
    for name in ("buyer", "seller-1"):
        fleet.owner(name).post("/clearings/watch/run")
        [views[name]] = [
            t for t in fleet.owner(name).get("/clearings/watched")["trades"] if t["clearing_id"] == clearing_id
        ]
    assert (views["buyer"]["route"], views["buyer"]["counterparty_route"]) == (route, None)
    assert (views["seller-1"]["route"], views["seller-1"]["counterparty_route"]) == (None, route)


def test_the_buyer_s_orders_list_shows_the_route_it_signed(clearing_fleet: Fleet, routed: dict[str, Any]) -> None:
    [own] = [o for o in clearing_fleet.owner("buyer").get("/orders") if o["nonce"] == routed["buy"]["nonce"]]
    assert own["route"] == cells(routed["stops"]) and own["spent"]


def test_the_operator_s_status_shows_the_routed_order_s_cells(clearing_fleet: Fleet, routed: dict[str, Any]) -> None:
    status = clearing_fleet.owner("operator").get("/clearings")
    [listed] = [c for c in status["clearings"] if c["clearing_id"] == routed["run"]["clearing_id"]]
    [trade] = listed["trade_list"]
    assert (trade["buyer_route"], trade["seller_route"]) == (cells(routed["stops"]), None)
    [held] = [o for o in status["orders"] if o["nonce"] == routed["buy"]["nonce"] and o["side"] == 1]
    assert held["route"] == cells(routed["stops"])


def test_no_stop_s_position_appears_in_the_commit_s_calldata_or_the_public_listing(
    clearing_fleet: Fleet, routed: dict[str, Any]
) -> None:
    """Only cells leave the node: neither the chain nor anyone asking the operator sees a stop's coordinates."""
    fleet = clearing_fleet
    calldata = bytes(fleet.chain.w3.eth.get_transaction(routed["run"]["tx_hash"])["input"]).decode("latin-1")
    listing = fleet.http.get(f"{fleet.url('operator')}/p2p/clearings", timeout=30).text
    published = calldata + listing + str(fleet.owner("operator").get("/clearings"))
    renderings = {f"{x:.{d}f}" for point in (HOME, WORK) for x in point for d in range(3, 9)}
    assert routed["run"]["opened"] == 1 and not {r for r in renderings if r in published}


def _peer_order(fleet: Fleet, route: Route, window: tuple[int, int]) -> dict[str, Any]:
    """The buyer's order carrying `route`, signed outside its node, as POST /p2p/orders carries it."""
    clearing = fleet.system.clearing
    assert clearing is not None
    buyer = key_of(fleet, "buyer")
    order = ChainOrder(
        owner=buyer.address,
        side=1,
        energy_wh=1_000,
        limit_price_per_wh=150,
        area_id=areas.area_id(route.waypoints[0].cell),
        window_start_ts=window[0],
        window_end_ts=window[1],
        nonce=clearing.nonce_floor(buyer.address) + 50_000,
        expiry_ts=window[1],
        route=route,
    )
    return {**order_to_json(clearing.sign_order(buyer, order)), "node_url": ""}


def _send(fleet: Fleet, body: dict[str, Any]) -> Any:
    return fleet.http.post(f"{fleet.url('operator')}/p2p/orders", json=body, timeout=60)


def _trip(now: int) -> Route:
    return Route(tuple(Waypoint(**w) for w in cells(commute(now))))


def test_a_route_changed_after_signing_is_refused_by_the_operator(clearing_fleet: Fleet) -> None:
    """The signature covers the route's hash: a cell moved in transit no longer recovers to the owner."""
    fleet = clearing_fleet
    now = fleet.chain.now()
    route = _trip(now)
    body = _peer_order(fleet, route, (route.start_ts, route.end_ts))
    body["route"][1]["cell"] = geohash.encode(52.4000, 13.5000, PRECISION)
    answer = _send(fleet, body)
    assert answer.status_code == 401 and "signature" in answer.json()["detail"]


def test_a_route_outside_its_order_s_window_is_refused_by_the_operator(clearing_fleet: Fleet) -> None:
    fleet = clearing_fleet
    route = _trip(fleet.chain.now())
    answer = _send(fleet, _peer_order(fleet, route, (route.start_ts, route.end_ts - 60)))
    assert answer.status_code == 400 and "outside the order's window" in answer.json()["detail"]


def test_a_malformed_route_in_a_peer_s_order_is_refused_with_422_naming_the_route(clearing_fleet: Fleet) -> None:
    fleet = clearing_fleet
    route = _trip(fleet.chain.now())
    body = _peer_order(fleet, route, (route.start_ts, route.end_ts))
    body["route"] = body["route"][:1]
    answer = _send(fleet, body)
    assert answer.status_code == 422 and "route" in answer.json()["detail"]
    assert "a route has 2..8 waypoints" in answer.json()["detail"]


def test_v2v_clearing_status_prints_the_routed_trade_s_route(clearing_fleet: Fleet, routed: dict[str, Any]) -> None:
    fleet = clearing_fleet
    assert fleet.chain.anvil is not None
    args = ["clearing", "status", "--operator", fleet.nodes["operator"].address, "--chain", fleet.chain.anvil.url]
    args += ["--deployment", str(fleet.workdir / "operator.deployment.json")]
    report = json.loads(CliRunner().invoke(app, [*args, "--json"]).output)
    [listed] = [c for c in report if c["clearing_id"] == routed["run"]["clearing_id"]]
    [trade] = listed["trades"]
    assert (trade["buyer_route"], trade["seller_route"]) == (cells(routed["stops"]), None)
    text = CliRunner().invoke(app, args).output
    first = cells(routed["stops"])[0]
    assert f"buyer's route: {first['cell']} {when(first['arrive_ts'])}..{when(first['depart_ts'])} -> " in text
    assert "seller's route" not in text
