"""`v2v demo --chain anvil --nodes N --market clearing`: an operator node and N vehicle nodes (buyers and sellers
around Berlin's Alexanderplatz at the morning rush hour) trading through the batch Clearing over pinned TLS: signed
orders, one interval, the commit, delivery with receipts, balances and the Clearing's books; then a forged order
injected in a second interval, refused by the operator and by the contract, and the victim's watch showing nothing in
its name."""

from __future__ import annotations

import os
import random
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth_account import Account

from v2vchain.chain.connect import Chain
from v2vchain.chain.errors import ContractRevert
from v2vchain.deploy import System, deploy
from v2vchain.devnet import DEV_UNITS, VEC, add_issuer
from v2vchain.identity.keystore import load_keystore
from v2vchain.identity.registration import ROLE_BUYER, ROLE_SELLER
from v2vchain.protocol import areas
from v2vchain.protocol.clearing import MECHANISM_IDS, TradeInput
from v2vchain.protocol.orders import ChainOrder

from .demo_fleet import (
    PASSWORD_ENV,
    TOKEN_ENV,
    Owner,
    _position,
    demo_workdir,
    fleet_env,
    node_call,
    provision,
    start_node,
    wait_ready,
)
from .peers import order_from_json, order_to_json

CLEARING_DEPOSIT = 40 * VEC
RUSH_HOUR_UTC = 7 * 3600  # 08:00 in Berlin (CET)


def provision_clearing_fleet(
    system: System,
    issuer: Any,
    workdir: Path,
    env: dict[str, str],
    rng: random.Random,
    vehicles: list[tuple[str, int]],
    *,
    operator: dict[str, Any],
    deposit: int,
) -> dict[str, dict[str, Any]]:
    """An operator node (its `operator` config section as given) and the vehicles, each with `deposit` in the
    Clearing and the operator's URL in its config."""
    operator_spec = provision(
        system,
        issuer,
        workdir,
        "operator",
        ROLE_BUYER,
        position=_position(rng),
        peers=[],
        degradation=20,
        env=env,
        extra={"operator": operator},
    )
    specs = {"operator": operator_spec}
    for name, roles in vehicles:
        specs[name] = provision(
            system,
            issuer,
            workdir,
            name,
            roles,
            position=_position(rng),
            peers=[],
            degradation=20,
            env=env,
            clearing_deposit=deposit,
            extra={"operator_url": operator_spec["url"]},
        )
    return specs


def commute(now: int) -> list[dict[str, Any]]:
    """A commuter's morning: at home by Alexanderplatz from 10 to 20 min from now, then 25 min to work at Potsdamer
    Platz (4.6 km), parked there 40 min. The positions stay on its node; the order signs their cells."""
    return [
        {"lat": 52.5219, "lon": 13.4132, "arrive_ts": now + 600, "depart_ts": now + 1_200},
        {"lat": 52.4990, "lon": 13.3550, "arrive_ts": now + 2_700, "depart_ts": now + 5_100},
    ]


def route_text(route: list[dict[str, Any]]) -> str:
    """A signed route as the chain will publish it: each cell and when the vehicle is there."""
    return " -> ".join(
        f"{w['cell']} {time.strftime('%H:%M', time.gmtime(w['arrive_ts']))}-"
        f"{time.strftime('%H:%M', time.gmtime(w['depart_ts']))}"
        for w in route
    )


def run_clearing_demo(chain: Chain, n_vehicles: int, out: Callable[[str], None] = print) -> dict[str, Any]:
    if n_vehicles < 2:
        raise ValueError("a clearing needs at least one buyer and one seller")
    rng = random.Random(11)
    workdir, env = demo_workdir("clearing"), fleet_env()
    system = deploy(chain)
    clearing = system.clearing
    assert clearing is not None  # deploy() always deploys the Clearing
    issuer = add_issuer(system)
    now = chain.now()
    rush = (now // 86_400) * 86_400 + RUSH_HOUR_UTC
    chain.advance_time((rush if rush > now else rush + 86_400) - now)  # the chain's clock to the next rush hour
    out(f"anvil {chain.anvil.url if chain.anvil else ''}, Clearing {clearing.address}; node files in {workdir}")
    out(f"chain time {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(chain.now()))}: the morning rush in Berlin")
    n_buyers = max(1, n_vehicles // 2)
    names = [(f"buyer-{i}", ROLE_BUYER) for i in range(1, n_buyers + 1)]
    names += [(f"seller-{i}", ROLE_SELLER) for i in range(1, n_vehicles - n_buyers + 1)]
    specs = provision_clearing_fleet(
        system,
        issuer,
        workdir,
        env,
        rng,
        names,
        operator={"interval_s": 0, "mechanism": "double-auction-k"},
        deposit=CLEARING_DEPOSIT,
    )
    nodes = [start_node(spec, env, workdir) for spec in specs.values()]
    try:
        for node in nodes:
            wait_ready(node)
        owners = {n.name: Owner(n, env[TOKEN_ENV]) for n in nodes}
        by_address = {n.address: n.name for n in nodes}
        for n in nodes:
            out(f"  node {n.name:<9} {n.url}  {n.address}")

        out(
            "\ninterval 1: signed orders sent to the operator (each in its node's cloaked cell; buyer-1 drives to "
            "work and signs its route instead)"
        )
        for name, _ in names:
            side = "buy" if name.startswith("buyer") else "sell"
            limit = rng.randint(120, 160) if side == "buy" else rng.randint(60, 100)
            energy = rng.choice([4_000, 6_000, 8_000, 10_000])
            when: dict[str, Any] = {"window_lead_s": 600}
            if name == "buyer-1":
                when = {"route": commute(chain.now())}
            sent = owners[name].post(
                "/orders", {"side": side, "energy_wh": energy, "limit_price_per_wh": limit, **when}
            )
            out(f"  {name:<9} {side:<4} {energy:>6} Wh limit {limit}/Wh nonce {sent['nonce']}: {sent['status']}")
            if sent["route"]:
                out(f"  {'':<9} its route (UTC, the cells the chain will publish): {route_text(sent['route'])}")
        run = owners["operator"].post("/clearings/run")
        clearing_id = run["clearing_id"]
        if clearing_id is None:
            raise RuntimeError("the first interval cleared nothing")
        out(
            f"operator committed clearing {clearing_id} (#{int(clearing_id) & (2**96 - 1)} of "
            f"{nodes[0].address}): {run['opened']} of {run['trades']} trades opened, tx {run['tx_hash']}"
        )
        [listing] = [c for c in owners["operator"].get("/clearings")["clearings"] if c["clearing_id"] == clearing_id]
        for t in listing["trade_list"]:
            out(
                f"  trade {t['trade_index']}: {by_address[t['seller']]} -> {by_address[t['buyer']]} "
                f"{t['energy_wh']} Wh at {t['price_per_wh']}/Wh ({'opened' if t['opened'] else 'unfunded'})"
            )

        out(
            "\ndelivery: each buyer meets its seller (presentations both ways, the point and access secret sealed to "
            "it), confirms on-chain and hands it a signed receipt"
        )
        for name, _ in names:
            owners[name].post("/clearings/watch/run")
        start = min(t["delivery_start_ts"] for t in listing["trade_list"])
        chain.advance_time(max(0, start - chain.now()) + 1)
        for name, _ in names:
            for trade in owners[name].get("/clearings/watched")["trades"]:
                if trade["role"] != "buyer" or trade["status"] != "open":
                    continue
                path = f"/clearings/{trade['clearing_id']}/trades/{trade['trade_index']}"
                met = owners[name].post(f"{path}/meet")
                out(
                    f"  {name} met {by_address[met['seller']]}: seller verified {met['seller_verified']}, "
                    f"sealed point sent {met['point_sent']}"
                )
                done = owners[name].post(f"{path}/confirm", {"delivered_wh": trade["energy_wh"]})
                out(
                    f"  {name} confirmed {trade['energy_wh']} Wh from {by_address[trade['counterparty']]}: "
                    f"{done['status']}, receipt {'delivered' if done['receipt_delivered'] else 'not delivered'}"
                )

        out("\nbalances in the Clearing:")
        for name, _ in names:
            b = owners[name].get("/clearing/balances")
            out(f"  {name:<9} free {DEV_UNITS.amount(b['free']):>16} locked {DEV_UNITS.amount(b['locked']):>14}")
        accounts = [n.address for n in nodes]
        held = system.token.balance_of(clearing.address)
        owed = clearing.books(accounts)
        out(
            f"books: token balance {DEV_UNITS.amount(held)} == accounts + escrow + sink {DEV_UNITS.amount(owed)}: "
            f"{'conserved' if held == owed else 'NOT CONSERVED'}"
        )

        victim = next(n for n in nodes if n.name == "buyer-1")
        forged_result = _forged_interval(chain, system, owners, workdir, env, victim.address, out)
        return {"clearing_id": clearing_id, "opened": run["opened"], "held": held, "owed": owed, **forged_result}
    finally:
        for node in nodes:
            node.process.terminate()
        for node in nodes:
            try:
                node.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                node.process.kill()


def _forged_interval(
    chain: Chain,
    system: Any,
    owners: dict[str, Owner],
    workdir: Any,
    env: dict[str, str],
    victim: str,
    out: Callable[[str], None],
) -> dict[str, Any]:
    """Interval 2: a buy order in buyer-1's name signed by another key, sent to the operator and committed
    directly; neither takes it, and buyer-1's watch shows no clearing using its name."""
    clearing = system.clearing
    out("\ninterval 2: a forged order (buyer-1's name, a stranger's key) injected")
    before = len(owners["buyer-1"].get("/clearings/watched")["uses"])
    now = chain.now()
    forged = ChainOrder(
        owner=victim,
        side=1,
        energy_wh=8_000,
        limit_price_per_wh=1_000,
        area_id=areas.area_id("u33db"),
        window_start_ts=now + 600,
        window_end_ts=now + 4_200,
        nonce=clearing.nonce_floor(victim) + 10_000,
        expiry_ts=now + 4_200,
    )
    signed = clearing.sign_order(Account.create(), forged)
    answer = node_call(
        owners["operator"].node.url, "POST", "/p2p/orders", json={**order_to_json(signed), "node_url": ""}, timeout=30
    )
    out(f"  operator's POST /p2p/orders: {answer.status_code} {answer.json().get('detail', '')[:90]}")
    seller = owners["seller-1"].post(
        "/orders", {"side": "sell", "energy_wh": 8_000, "limit_price_per_wh": 50, "window_lead_s": 600}
    )
    run = owners["operator"].post("/clearings/run")
    out(f"  the interval ran: {'nothing to clear' if run['clearing_id'] is None else run['clearing_id']}")
    os.environ[PASSWORD_ENV] = env[PASSWORD_ENV]
    operator_key = load_keystore(workdir / "operator.key.json", password_env=PASSWORD_ENV)
    seller_signed = order_from_json(seller)
    direct = system.as_(chain.sender(operator_key)).clearing
    prepared = direct.prepare(
        [signed, seller_signed], [TradeInput(0, 1, 8_000, 100, 100)], mechanism_id=MECHANISM_IDS["double-auction-k"]
    )
    refused_by = ""
    try:
        direct.commit(prepared)
    except ContractRevert as exc:
        refused_by = exc.name
    out(f"  committed directly, past the operator's check: the contract reverts with {refused_by or 'NOTHING'}")
    owners["buyer-1"].post("/clearings/watch/run")
    after = owners["buyer-1"].get("/clearings/watched")["uses"]
    forged_uses = [u for u in after if int(u["nonce"]) == forged.nonce]
    out(
        f"  buyer-1's watch: {len(after) - before} new clearing use(s) of its orders, "
        f"{len(forged_uses)} of the forged nonce"
    )
    return {
        "forged_status": answer.status_code,
        "forged_revert": refused_by,
        "victim_new_uses": len(after) - before,
    }
