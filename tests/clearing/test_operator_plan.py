"""The operator node's interval planner (node/operator.py): orders checked as the contract checks them, the
mechanism's trades kept only where the contract takes them, so a planned clearing always commits."""

from __future__ import annotations

import pytest
from eth_account import Account

from node.config import OperatorSettings
from node.operator import chain_refusal, plan_clearing, signature_refusal
from tests.support.desk import BUY, SELL, Desk
from v2vchain.devnet import Vehicle, credential_for
from v2vchain.identity.registration import ROLE_SELLER
from v2vchain.protocol.clearing import MECHANISM_IDS


def _book(desk: Desk) -> list:
    """Three buyers and three sellers at spread limits, every one honest; the spread pays both drivers' time during
    each 10 kWh transfer (~344 token units per Wh), so the cost-aware mechanisms trade too."""
    orders = []
    for i in range(3):
        orders.append(desk.sign(desk.buyers[i], desk.order(desk.buyers[i], BUY, limit=1_000 - 10 * i, nonce=5)))
        orders.append(desk.sign(desk.sellers[i], desk.order(desk.sellers[i], SELL, limit=100 + 10 * i, nonce=5)))
    return orders


@pytest.mark.parametrize("mechanism", sorted(MECHANISM_IDS))
def test_every_mechanisms_plan_commits_and_opens_its_trades(desk: Desk, mechanism: str) -> None:
    settings = OperatorSettings.model_validate({"mechanism": mechanism})
    client = desk.as_(desk.operator)
    plan = plan_clearing(client, desk.system.registry, _book(desk), settings, desk.chain.now())
    assert plan.prepared is not None and not plan.dropped
    client.commit(plan.prepared)
    [commit] = client.commits(clearing_id=plan.prepared.clearing_id)
    assert commit.opened_trades == len(plan.prepared.trades) > 0
    assert commit.mechanism_id == MECHANISM_IDS[mechanism]


def test_forged_spent_expired_and_unregistered_orders_are_dropped_with_their_reason(desk: Desk) -> None:
    client = desk.as_(desk.operator)
    now = desk.chain.now()
    honest = _book(desk)[:2]
    forged = desk.clearing.sign_order(Account.create(), desk.order(desk.buyers[1], BUY, nonce=9))
    desk.as_(desk.sellers[1]).cancel_nonces(10)
    spent = desk.sign(desk.sellers[1], desk.order(desk.sellers[1], SELL, nonce=3))
    expired = desk.sign(desk.buyers[2], desk.order(desk.buyers[2], BUY, nonce=1, expiry=now + 10))
    outsider = desk.sign(desk.outsider, desk.order(desk.outsider, SELL, nonce=1))
    orders = [*honest, forged, spent, expired, outsider]
    plan = plan_clearing(client, desk.system.registry, orders, OperatorSettings(), now)
    reasons = dict(plan.dropped)
    assert "signature" in reasons[forged.order.key]
    assert "floor" in reasons[spent.order.key]
    assert "expires" in reasons[expired.order.key]
    assert "registered" in reasons[outsider.order.key]
    assert plan.prepared is not None and len(plan.prepared.orders) == 2
    assert signature_refusal(client, forged) is not None
    assert chain_refusal(client, desk.system.registry, honest[0], now) is None
    client.commit(plan.prepared)  # nothing left in it for the contract to refuse
    assert "floor" in (chain_refusal(client, desk.system.registry, honest[0], now) or "")  # used: spent now


def test_orders_that_cannot_meet_plan_no_clearing(desk: Desk) -> None:
    client = desk.as_(desk.operator)
    now = desk.chain.now()
    buy = desk.sign(desk.buyers[0], desk.order(desk.buyers[0], BUY, start=now + 100, end=now + 1_000))
    sell = desk.sign(desk.sellers[0], desk.order(desk.sellers[0], SELL, start=now + 2_000, end=now + 3_000))
    plan = plan_clearing(client, desk.system.registry, [buy, sell], OperatorSettings(), now)
    assert plan.prepared is None and len(plan.candidates) == 2  # disjoint windows: the contract would refuse it


def test_an_order_whose_owner_s_credential_expires_within_the_margin_is_dropped(desk: Desk) -> None:
    """The contract checks each owner's registration when the commit is mined: one credential expiring on the way
    would revert the whole clearing, so it waits out instead."""
    account = Account.create()
    desk.chain.fund(account.address, 10**18)
    credential = credential_for(desk.system, desk.issuer, account, ROLE_SELLER, lifetime_s=30)
    desk.system.registry.register(credential)
    short_lived = Vehicle(name="short-lived", account=account, credential=credential, system=desk.system)
    now = desk.chain.now()
    order = desk.sign(short_lived, desk.order(short_lived, SELL, nonce=1))
    assert chain_refusal(desk.clearing, desk.system.registry, order, now) is None  # margin 0: still fine
    reason = chain_refusal(desk.clearing, desk.system.registry, order, now, margin_s=60)
    assert reason is not None and "credential expires" in reason
