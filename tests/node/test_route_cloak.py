"""A vehicle's trip as its order's route, without a chain: stops cloaked to cells, the route in the peer JSON and
back, the route precision's bounds, and the parked cloak left alone by it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from pydantic import ValidationError

from node import core
from node.config import CloakSettings
from node.core import NodeCore
from node.peers import order_from_json, order_to_json
from node.route_cloak import cloak_route
from node.store import Store
from tests.support.builders import offline_node_config
from v2vchain.privacy import laplace_cloak
from v2vchain.protocol import areas
from v2vchain.protocol.errors import InvalidRoute
from v2vchain.protocol.orders import ChainOrder, SignedOrder
from v2vchain.protocol.routes import Route, Waypoint

TRIP = [(52.5219, 13.4132, 1_000, 1_300), (52.4990, 13.3550, 2_500, 3_600)]


def test_each_stop_becomes_its_geohash_cell_at_the_route_precision() -> None:
    assert cloak_route(TRIP, 5) == Route((Waypoint("u33dc", 1_000, 1_300), Waypoint("u336x", 2_500, 3_600)))
    assert [w.cell for w in cloak_route(TRIP, 3).waypoints] == ["u33", "u33"]


def test_a_plan_no_order_may_carry_is_refused_naming_its_waypoint() -> None:
    with pytest.raises(InvalidRoute, match="waypoint 1 arrives"):
        cloak_route([TRIP[0], (52.4990, 13.3550, 1_200, 3_600)], 5)


def _order(route: Route | None) -> SignedOrder:
    order = ChainOrder(
        owner=Account.create().address,
        side=1,
        energy_wh=1_000,
        limit_price_per_wh=150,
        area_id=areas.area_id("u33dc"),
        window_start_ts=1_000,
        window_end_ts=3_600,
        nonce=7,
        expiry_ts=3_600,
        route=route,
    )
    return SignedOrder(order, b"\x01" * 65)


def test_the_peer_json_carries_a_route_as_cells_and_times_and_reads_it_back() -> None:
    signed = _order(cloak_route(TRIP, 5))
    data = order_to_json(signed)
    assert data["route"] == [
        {"cell": "u33dc", "arrive_ts": 1_000, "depart_ts": 1_300},
        {"cell": "u336x", "arrive_ts": 2_500, "depart_ts": 3_600},
    ]
    assert order_from_json(data) == signed


def test_an_order_kept_before_routes_existed_reads_back_as_a_parked_one() -> None:
    data = order_to_json(_order(None))
    assert data["route"] is None
    del data["route"]
    assert order_from_json(data).order.route_hash == bytes(32)


@pytest.mark.parametrize("precision", [0, 9])
def test_a_route_precision_outside_1_to_8_is_refused(precision: int) -> None:
    with pytest.raises(ValidationError, match="route_precision"):
        CloakSettings(route_precision=precision)


def _node(tmp_path: Path, cloak: dict[str, Any]) -> NodeCore:
    config = offline_node_config(tmp_path, "v", cloak=cloak)
    return NodeCore(config, Account.create(), None, None, Store(config.db), {})  # type: ignore[arg-type]  # cloak() reads only the config and the store


def test_changing_the_route_precision_does_not_draw_the_parked_cloak_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh draw on each change would let an observer average the noise away."""
    draws: list[tuple[float, float]] = []

    def counted(position: tuple[float, float], epsilon_per_m: float) -> Any:
        draws.append(position)
        return laplace_cloak(position, epsilon_per_m)

    monkeypatch.setattr(core, "laplace_cloak", counted)
    first = _node(tmp_path, {"route_precision": 5}).cloak()
    assert _node(tmp_path, {"route_precision": 7}).cloak() == first
    assert len(draws) == 1
