"""A vehicle watching the clearings challenges any order forged in its name, and leaves honest clearings alone."""
from __future__ import annotations

from pathlib import Path

from eth_account import Account

from tests.clearing.conftest import PARAMS, Desk
from v2vchain.clearing_watch import watch
from v2vchain.contracts.clearing import ClearingStatus, SignedOrder


def test_a_vehicle_challenges_an_order_forged_in_its_name_and_collects_the_bond(desk: Desk) -> None:
    orders, trades = desk.pairs(2)
    orders[0] = SignedOrder(orders[0].order, desk.clearing.sign_order(Account.create(), orders[0].order).signature)
    prepared = desk.commit(orders, trades)
    victim = desk.buyers[0]
    before = desk.clearing.account(victim.address).free
    findings = watch(desk.as_(victim), victim.address)
    assert [(f.clearing_id, f.order_index, f.challenged) for f in findings] == [(prepared.clearing_id, 0, True)]
    assert desk.clearing.clearing(prepared.clearing_id).status == ClearingStatus.REVERTED
    assert desk.clearing.account(victim.address).free == before + PARAMS.operator_bond


def test_an_honest_clearing_is_left_alone(desk: Desk) -> None:
    prepared = desk.commit(*desk.pairs(2))
    assert watch(desk.as_(desk.buyers[0]), desk.buyers[0].address) == []
    assert desk.clearing.clearing(prepared.clearing_id).status == ClearingStatus.COMMITTED


def test_a_forgery_in_someone_elses_name_is_not_this_vehicles_to_challenge(desk: Desk) -> None:
    orders, trades = desk.pairs(2)
    orders[0] = SignedOrder(orders[0].order, desk.clearing.sign_order(Account.create(), orders[0].order).signature)
    desk.commit(orders, trades)
    assert watch(desk.as_(desk.buyers[1]), desk.buyers[1].address) == []


def test_after_the_window_nothing_is_challenged(desk: Desk) -> None:
    orders, trades = desk.pairs(2)
    orders[0] = SignedOrder(orders[0].order, desk.clearing.sign_order(Account.create(), orders[0].order).signature)
    prepared = desk.commit(orders, trades)
    desk.after_window(prepared)
    assert watch(desk.as_(desk.buyers[0]), desk.buyers[0].address) == []


def test_the_vehicle_node_runs_the_watch_for_its_owner(desk: Desk, tmp_path: Path) -> None:
    """POST /clearings/watch on the node (bearer token), here served in-process over the embedded chain."""
    from fastapi.testclient import TestClient

    from node.app import create_app
    from node.config import NodeConfig
    from node.service import VehicleNode
    from node.store import Store
    from v2vchain.clearing_deploy import clearing_deployments_file

    orders, trades = desk.pairs(2)
    orders[0] = SignedOrder(orders[0].order, desk.clearing.sign_order(Account.create(), orders[0].order).signature)
    prepared = desk.commit(orders, trades)
    victim = desk.buyers[0]
    config = NodeConfig(name="victim", chain="http://127.0.0.1:1", deployment=tmp_path / "d.json",
                        keystore=tmp_path / "k.json", credential=tmp_path / "vc.json", db=tmp_path / "node.sqlite",
                        position={"lat": 52.5, "lon": 13.4},
                        clearing_deployment=clearing_deployments_file(desk.chain.chain_id))
    node = VehicleNode(config=config, account=victim.account, chain=desk.chain,
                       system=desk.system.as_(desk.chain.sender(victim.account)), store=Store(config.db),
                       credential={})
    client = TestClient(create_app(node, "t" * 32))
    assert client.post("/clearings/watch").status_code == 401
    answer = client.post("/clearings/watch", headers={"Authorization": "Bearer " + "t" * 32})
    assert answer.status_code == 200, answer.text
    assert [(f["clearing_id"], f["challenged"]) for f in answer.json()] == [(prepared.clearing_id, True)]
    assert desk.clearing.clearing(prepared.clearing_id).status == ClearingStatus.REVERTED
