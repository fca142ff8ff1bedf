"""Routes through the commit: each routed order's route is the next in commitClearing's `routes`, checked against the
hash its owner signed (length and hash only), every byte some order's; the publication gives the routes back."""

from __future__ import annotations

import dataclasses

import pytest

from tests.support.desk import BUY, ENERGY, LEAD_S, PRICE, SELL, WINDOW_S, Desk
from tests.support.routes import packed_trip, trip
from v2vchain.audit.clearing_audit import matching_order
from v2vchain.protocol.clearing import PreparedClearing, TradeInput
from v2vchain.protocol.orders import SignedOrder
from v2vchain.protocol.routes import Route


def window(desk: Desk) -> tuple[int, int]:
    start = desk.chain.now() + LEAD_S
    return start, start + WINDOW_S


def book(desk: Desk, routes: list[Route | None]) -> tuple[list[SignedOrder], list[TradeInput]]:
    """Buyer i with seller i; routes[2i] is buyer i's, routes[2i + 1] seller i's (None: parked)."""
    start, end = window(desk)
    orders, trades = [], []
    for i in range(len(routes) // 2):
        for k, (vehicle, side) in enumerate(((desk.buyers[i], BUY), (desk.sellers[i], SELL))):
            order = desk.order(vehicle, side, start=start, end=end, route=routes[2 * i + k])
            orders.append(desk.sign(vehicle, order))
        trades.append(TradeInput(2 * i, 2 * i + 1, ENERGY, PRICE, PRICE))
    return orders, trades


def mixed(desk: Desk) -> PreparedClearing:
    """Two trades: buyer 0 on 4 waypoints, seller 0 parked, buyer 1 on 2, seller 1 on 8."""
    start, end = window(desk)
    return desk.prepare(*book(desk, [trip(start, end, 4), None, trip(start, end, 2, 3), trip(start, end, 8, 1)]))


def routed_indices(prepared: PreparedClearing) -> list[int]:
    return [k for k, o in enumerate(prepared.orders) if o.order.route is not None]


def commit_with(desk: Desk, prepared: PreparedClearing, routes: bytes) -> None:
    desk.as_(desk.operator).commit(dataclasses.replace(prepared, routes=routes))


def test_a_commit_of_routed_and_parked_orders_opens_every_trade(desk: Desk) -> None:
    prepared = mixed(desk)
    receipt = desk.as_(desk.operator).commit(prepared)
    assert desk.clearing.events(receipt, "ClearingCommitted")[0]["args"]["openedTrades"] == 2


def test_the_publication_gives_back_each_orders_exact_route(desk: Desk) -> None:
    prepared = mixed(desk)
    desk.as_(desk.operator).commit(prepared)
    published = desk.clearing.published(prepared.clearing_id)
    assert [o.order.route for o in published.orders] == [o.order.route for o in prepared.orders]
    assert len(routed_indices(published)) == 3 and published.routes == prepared.routes


def test_the_audit_rebuilds_the_matching_orders_with_their_routes(desk: Desk) -> None:
    prepared = mixed(desk)
    desk.as_(desk.operator).commit(prepared)
    published = desk.clearing.published(prepared.clearing_id)
    assert [matching_order(o).route for o in published.orders] == [o.order.route for o in prepared.orders]


def test_a_routed_order_whose_route_is_missing_is_refused(desk: Desk) -> None:
    start, end = window(desk)
    prepared = desk.prepare(*book(desk, [trip(start, end), None]))
    (k,) = routed_indices(prepared)
    with desk.reverts("RouteTruncated", orderIndex=k, needed=1, left=0):
        commit_with(desk, prepared, b"")


def test_two_routed_orders_with_their_routes_swapped_are_refused(desk: Desk) -> None:
    start, end = window(desk)
    prepared = desk.prepare(*book(desk, [trip(start, end, 3), trip(start, end, 3, 2)]))
    first, second = (prepared.orders[k].order.route for k in routed_indices(prepared))
    assert first is not None and second is not None
    with desk.reverts("RouteMismatch", orderIndex=routed_indices(prepared)[0]):
        commit_with(desk, prepared, second.encode() + first.encode())


def test_a_route_with_one_byte_changed_is_refused(desk: Desk) -> None:
    prepared = mixed(desk)
    tampered = bytearray(prepared.routes)
    tampered[1 + 32 + 4] ^= 1  # the first route's first arrival time, by one second
    with desk.reverts("RouteMismatch", orderIndex=routed_indices(prepared)[0]):
        commit_with(desk, prepared, bytes(tampered))


def test_a_route_cut_short_is_refused(desk: Desk) -> None:
    prepared = mixed(desk)
    last = routed_indices(prepared)[-1]
    route = prepared.orders[last].order.route
    assert route is not None
    size = len(route.encode())
    with desk.reverts("RouteTruncated", orderIndex=last, needed=size, left=size - 1):
        commit_with(desk, prepared, prepared.routes[:-1])


def test_bytes_after_the_last_route_are_refused(desk: Desk) -> None:
    prepared = mixed(desk)
    with desk.reverts("UnusedRouteBytes", count=3):
        commit_with(desk, prepared, prepared.routes + b"\x00\x00\x00")


def test_route_bytes_in_a_clearing_of_parked_orders_are_refused(desk: Desk) -> None:
    start, end = window(desk)
    prepared = desk.prepare(*book(desk, [None, None]))
    with desk.reverts("UnusedRouteBytes", count=len(trip(start, end).encode())):
        commit_with(desk, prepared, trip(start, end).encode())


@pytest.mark.parametrize("waypoints", [1, 9])
def test_a_signed_route_of_fewer_than_2_or_more_than_8_waypoints_is_refused(desk: Desk, waypoints: int) -> None:
    start, end = window(desk)
    raw = packed_trip(waypoints, start)
    order = dataclasses.replace(desk.order(desk.buyers[0], BUY, start=start, end=end), raw_route=raw)
    seller = desk.order(desk.sellers[0], SELL, start=start, end=end)
    orders = [desk.sign(desk.buyers[0], order), desk.sign(desk.sellers[0], seller)]
    prepared = desk.prepare(orders, [TradeInput(0, 1, ENERGY, PRICE, PRICE)])
    k = next(k for k, o in enumerate(prepared.orders) if o.order.owner == desk.buyers[0].address)
    with desk.reverts("RouteLength", orderIndex=k, waypoints=waypoints):
        desk.as_(desk.operator).commit(prepared)


def test_a_signed_route_hash_whose_route_is_never_published_is_refused(desk: Desk) -> None:
    """The operator publishes another order's route in its place: the first routed order meets the wrong bytes."""
    start, end = window(desk)
    prepared = desk.prepare(*book(desk, [trip(start, end, 3), trip(start, end, 3, 2)]))
    first, second = routed_indices(prepared)
    only_second = prepared.orders[second].order.route
    assert only_second is not None
    with desk.reverts("RouteMismatch", orderIndex=first):
        commit_with(desk, prepared, only_second.encode())
