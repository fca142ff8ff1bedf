"""The operator's interval planner with routed orders (issue 12): every mechanism plans with the route and the
commit publishes it; a route its window does not hold is dropped with the reason, never reaching a mechanism."""

from __future__ import annotations

import pytest

from node.config import OperatorSettings
from node.operator import plan_clearing
from tests.support.desk import BUY, LEAD_S, SELL, WINDOW_S, Desk
from v2vchain.protocol.clearing import MECHANISM_IDS
from v2vchain.protocol.orders import SignedOrder
from v2vchain.protocol.routes import Route, Waypoint


def _routed_buy(desk: Desk, *, inside: bool = True) -> tuple[SignedOrder, Route]:
    """buyer 0's order carrying a trip from the sellers' cell (the desk's u33dc0) to the next one, inside its window
    (or ending a minute after it): a meeting on its way costs no detour, so every mechanism can take it."""
    start = desk.chain.now() + LEAD_S
    end = start + WINDOW_S
    route = Route(
        (Waypoint("u33dc0", start, start + 600), Waypoint("u33dc2", start + 2_400, end + (0 if inside else 60)))
    )
    order = desk.order(desk.buyers[0], BUY, limit=1_000, nonce=5, start=start, route=route)
    return desk.sign(desk.buyers[0], order), route


@pytest.mark.parametrize("mechanism", sorted(MECHANISM_IDS))
def test_every_mechanism_plans_a_routed_order_and_its_commit_publishes_the_route(desk: Desk, mechanism: str) -> None:
    """The routed buyer bids highest beside two parked pairs, so it trades under trade reduction too; the spreads
    pay both drivers' time during each 10 kWh transfer (~344 token units per Wh), so the cost-aware mechanisms trade."""
    buy, route = _routed_buy(desk)
    parked = [desk.sign(desk.buyers[i], desk.order(desk.buyers[i], BUY, limit=990 - 10 * i, nonce=5)) for i in (1, 2)]
    sells = [desk.sign(s, desk.order(s, SELL, limit=100 + 10 * i, nonce=5)) for i, s in enumerate(desk.sellers[:3])]
    client = desk.as_(desk.operator)
    settings = OperatorSettings.model_validate({"mechanism": mechanism})
    plan = plan_clearing(client, desk.system.registry, [buy, *parked, *sells], settings, desk.chain.now())
    assert plan.prepared is not None and not plan.dropped
    client.commit(plan.prepared)
    published = client.published(plan.prepared.clearing_id)
    routes = {o.order.owner: o.order.route for o in published.orders}
    assert routes.pop(desk.buyers[0].address) == route and set(routes.values()) == {None}
    traded = {published.orders[t.buyer_order].order.owner for t in published.trades}
    assert desk.buyers[0].address in traded


def test_a_route_outside_its_order_s_window_is_dropped_with_the_reason(desk: Desk) -> None:
    buy, _ = _routed_buy(desk, inside=False)
    sell = desk.sign(desk.sellers[0], desk.order(desk.sellers[0], SELL, limit=60, nonce=5))
    plan = plan_clearing(
        desk.as_(desk.operator), desk.system.registry, [buy, sell], OperatorSettings(), desk.chain.now()
    )
    assert "outside the order's window" in plan.dropped[buy.order.key] and plan.prepared is None
