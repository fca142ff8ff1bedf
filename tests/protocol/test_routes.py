"""A route's packed encoding and a commit's routes blob: what is encoded decodes to itself, a blob splits back into
each order's route, and no single changed byte gets through the split (the Clearing's own checks, mirrored)."""

from __future__ import annotations

import dataclasses

import pytest
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from tests.support.strategies import T0, any_routes, order
from v2vchain.matching.signing import order_message
from v2vchain.protocol.errors import InvalidRoute
from v2vchain.protocol.orders import ChainOrder
from v2vchain.protocol.routes import NO_ROUTE, Route, Waypoint, route_hash, routes_blob, split_routes

ROUTE_LISTS = st.lists(st.one_of(st.none(), any_routes()), min_size=1, max_size=6)


@given(any_routes())
def test_a_route_decodes_to_itself(route: Route) -> None:
    assert Route.decode(route.encode()) == route


@given(ROUTE_LISTS)
def test_a_blob_splits_back_into_each_orders_route(listed: list[Route | None]) -> None:
    assert split_routes(routes_blob(listed), [route_hash(r) for r in listed]) == listed


@given(ROUTE_LISTS.filter(lambda rs: any(r is not None for r in rs)), st.data())
def test_any_single_changed_byte_of_a_blob_is_refused(listed: list[Route | None], data: st.DataObject) -> None:
    blob = bytearray(routes_blob(listed))
    at = data.draw(st.integers(0, len(blob) - 1))
    blob[at] ^= data.draw(st.integers(1, 255))
    with pytest.raises(InvalidRoute):
        split_routes(bytes(blob), [route_hash(r) for r in listed])


def test_a_chain_order_of_a_routed_order_signs_its_routes_hash() -> None:
    route = Route((Waypoint("u33dc0", T0, T0 + 600), Waypoint("u33dc1", T0 + 900, T0 + 1_800)))
    routed = order(route=route)
    assert ChainOrder.of(routed).message() == order_message(routed)
    assert ChainOrder.of(routed).message()["routeHash"] == route.hash == ChainOrder.of(routed).route_hash


def test_a_parked_order_signs_the_zero_route_hash() -> None:
    assert ChainOrder.of(order()).message()["routeHash"] == NO_ROUTE


def test_a_chain_order_carries_a_route_or_raw_route_bytes_not_both() -> None:
    route = Route((Waypoint("u33dc0", T0, T0 + 600), Waypoint("u33dc1", T0 + 900, T0 + 1_800)))
    with pytest.raises(InvalidRoute):
        dataclasses.replace(ChainOrder.of(order(route=route)), raw_route=route.encode())


def test_an_order_with_raw_route_bytes_signs_their_hash_and_publishes_them() -> None:
    raw = b"\x02" + b"\xff" * 84  # two waypoints whose cells are not geohash cells
    bare = dataclasses.replace(ChainOrder.of(order()), raw_route=raw)
    assert bare.message()["routeHash"] == keccak(raw) and bare.route_bytes == raw
