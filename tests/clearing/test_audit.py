"""`v2v audit clearing`: a committed clearing recomputed from its published calldata."""

from __future__ import annotations

import dataclasses

from tests.support.desk import BUY, SELL, Desk
from v2vchain.audit.clearing_audit import audit_clearing, matching_order, rule_violations
from v2vchain.matching import MECHANISMS, ClearingParams
from v2vchain.protocol.clearing import MECHANISM_IDS, params_hash, trade_inputs


def test_an_honest_committed_clearing_passes_every_check(desk: Desk) -> None:
    orders, trades = desk.pairs(2)
    prepared = desk.commit(orders, trades)
    audit = audit_clearing(desk.clearing, prepared.clearing_id)
    assert audit.roots_match and not audit.violations


def test_a_trade_reduction_clearing_with_its_marginal_pair_is_recomputed_identically(desk: Desk) -> None:

    orders = [desk.sign(desk.buyers[i], desk.order(desk.buyers[i], BUY, limit=150 - 10 * i)) for i in range(3)]
    orders += [desk.sign(desk.sellers[i], desk.order(desk.sellers[i], SELL, limit=50 + 10 * i)) for i in range(3)]
    params = ClearingParams()
    result = MECHANISMS["mcafee-trade-reduction"]([matching_order(o) for o in orders], params)
    assert result.trades and result.trades[0].price_per_wh != result.trades[0].seller_price_per_wh
    trades = trade_inputs(orders, result.trades)
    limits = {o.order.limit_price_per_wh: k for k, o in enumerate(orders)}
    marginal = (limits[result.trades[0].price_per_wh], limits[result.trades[0].seller_price_per_wh])
    prepared = desk.commit(
        orders,
        trades,
        mechanism_id=MECHANISM_IDS["mcafee-trade-reduction"],
        params_hash=params_hash(params),
        marginal=marginal,
    )
    audit = audit_clearing(desk.clearing, prepared.clearing_id, params=params)
    assert audit.recomputed.startswith("identical"), audit.recomputed
    assert audit.ok


def test_rule_checks_catch_a_price_above_the_buyers_limit_and_an_overfilled_order(desk: Desk) -> None:
    orders, trades = desk.pairs(1)
    prepared = desk.prepare(orders, trades)
    limit = orders[trades[0].buyer_order].order.limit_price_per_wh
    energy = orders[trades[0].seller_order].order.energy_wh
    bent = dataclasses.replace(trades[0], price_per_wh=limit + 1, energy_wh=energy + 1)
    broken = desk.prepare(orders, [bent])
    found = rule_violations(broken)
    assert any("above the buyer's limit" in v for v in found)
    assert any("traded" in v and "Wh of its" in v for v in found)
    assert rule_violations(prepared) == []


def test_a_double_auction_clearing_is_recomputed_identically_from_the_published_orders(desk: Desk) -> None:
    orders, _ = desk.pairs(2)
    params = ClearingParams()
    result = MECHANISMS["double-auction-k"]([matching_order(o) for o in orders], params)
    trades = trade_inputs(orders, result.trades)
    prepared = desk.prepare(
        orders, trades, mechanism_id=MECHANISM_IDS["double-auction-k"], params_hash=params_hash(params)
    )
    desk.as_(desk.operator).commit(prepared)
    audit = audit_clearing(desk.clearing, prepared.clearing_id, params=params)
    assert audit.recomputed.startswith("identical"), audit.recomputed
    assert audit.ok


def test_a_welfare_assignment_clearing_is_recomputed_from_the_cells_published_on_chain(desk: Desk) -> None:
    # limits whose spread pays both drivers' time during each 10 kWh transfer (~344 token units per Wh)
    orders = [desk.sign(desk.buyers[i], desk.order(desk.buyers[i], BUY, limit=1_000)) for i in range(2)]
    orders += [desk.sign(desk.sellers[i], desk.order(desk.sellers[i], SELL, limit=100)) for i in range(2)]
    params = ClearingParams()
    result = MECHANISMS["max-welfare-assignment"]([matching_order(o) for o in orders], params)
    assert result.trades
    trades = trade_inputs(orders, result.trades)
    prepared = desk.commit(
        orders, trades, mechanism_id=MECHANISM_IDS["max-welfare-assignment"], params_hash=params_hash(params)
    )
    audit = audit_clearing(desk.clearing, prepared.clearing_id, params=params)
    assert audit.recomputed.startswith("identical"), audit.recomputed


def test_a_committed_trade_list_that_is_not_the_mechanisms_is_reported_as_different(desk: Desk) -> None:
    orders, trades = desk.pairs(2)
    params = ClearingParams()
    prepared = desk.prepare(
        orders, trades[:1], mechanism_id=MECHANISM_IDS["double-auction-k"], params_hash=params_hash(params)
    )
    desk.as_(desk.operator).commit(prepared)
    audit = audit_clearing(desk.clearing, prepared.clearing_id, params=params)
    assert audit.recomputed.startswith("differs"), audit.recomputed
    assert not audit.ok
