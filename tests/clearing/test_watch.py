"""A vehicle's watch: every commit that used one of its orders, with what each filled (forgeries never get in)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from fastapi.testclient import TestClient

from node.api.app import create_app
from node.service import VehicleNode
from node.store import Store
from tests.support.builders import offline_node_config
from tests.support.desk import DEPOSIT, ENERGY, Desk
from v2vchain.audit.order_watch import OrderUse, use_text, watch


def test_the_watch_reports_each_commit_that_used_the_vehicles_orders(desk: Desk) -> None:
    first = desk.committed(2)
    second = desk.committed(1, nonce=1, energy_wh=ENERGY // 2)
    uses = watch(desk.clearing, desk.buyers[0].address)
    assert [(u.clearing_id, u.operator, u.nonce, u.side, u.filled_wh, u.unfunded_wh) for u in uses] == [
        (first.clearing_id, desk.operator.address, 0, 1, ENERGY, 0),
        (second.clearing_id, desk.operator.address, 1, 1, ENERGY // 2, 0),
    ]
    assert watch(desk.clearing, desk.outsider.address) == []


def test_an_order_listed_in_an_unfunded_trade_is_reported_as_unfunded(desk: Desk) -> None:
    desk.as_(desk.buyers[1]).withdraw(DEPOSIT)
    p = desk.committed(2)
    (use,) = watch(desk.clearing, desk.buyers[1].address)
    assert (use.clearing_id, use.filled_wh, use.unfunded_wh, use.trades) == (p.clearing_id, 0, ENERGY, ())


def test_the_vehicle_node_runs_the_watch_for_its_owner(desk: Desk, tmp_path: Path) -> None:
    """POST /clearings/watch on the node (bearer token), here served in-process over the embedded chain."""

    prepared = desk.committed(2)
    vehicle = desk.sellers[0]
    config = offline_node_config(tmp_path, "seller")
    node = VehicleNode(
        config=config,
        account=vehicle.account,
        chain=desk.chain,
        system=desk.system.as_(desk.chain.sender(vehicle.account)),
        store=Store(config.db),
        credential={},
    )
    client = TestClient(create_app(node, "t" * 32))
    assert client.post("/clearings/watch").status_code == 401
    answer = client.post("/clearings/watch", headers={"Authorization": "Bearer " + "t" * 32})
    assert answer.status_code == 200, answer.text
    assert [(u["clearing_id"], u["side"], u["filled_wh"]) for u in answer.json()] == [(prepared.clearing_id, 2, ENERGY)]


def test_the_watch_prints_energies_in_kwh_with_the_unfunded_part() -> None:
    use = OrderUse(
        clearing_id=0x2A,
        operator="0x" + "ab" * 20,
        order_index=3,
        nonce=7,
        side=2,
        energy_wh=20_000,
        filled_wh=19_500,
        unfunded_wh=500,
        trades=(0, 2),
    )
    assert use_text(use) == (
        f"clearing 0x2a by 0x{'ab' * 20}: sell order nonce 7 filled 19.5 kWh of 20 kWh in trades [0, 2], "
        "0.5 kWh listed in unfunded trades"
    )
    assert use_text(dataclasses.replace(use, unfunded_wh=0)).endswith("in trades [0, 2]")
