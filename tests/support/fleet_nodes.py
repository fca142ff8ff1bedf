"""A fleet of real node processes (uvicorn) on a real anvil: a buyer and two sellers, and their keys."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from node.demo_clearing import provision_clearing_fleet
from node.demo_fleet import (
    PASSWORD_ENV,
    TOKEN_ENV,
    Owner,
    RunningNode,
    fleet_env,
    provision_auction_fleet,
    start_node,
    wait_ready,
)
from node.transport import pinned_context, split_url
from v2vchain.chain.anvil import free_port
from v2vchain.chain.connect import Chain, connect
from v2vchain.deploy import System, deploy
from v2vchain.devnet import add_issuer
from v2vchain.identity.keystore import load_keystore
from v2vchain.identity.registration import ROLE_BUYER, ROLE_SELLER

T = TypeVar("T")


class FleetHttp:
    """httpx calls (as `httpx.get`/`httpx.post`) to the fleet's nodes over TLS, their certificates pinned as a
    peer's node pins them."""

    def __init__(self, pins: list[str]) -> None:
        self.context = pinned_context(*sorted(pins))

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(verify=self.context, **kwargs)

    def request(self, method: str, url: str, *, timeout: float = 5, **kwargs: Any) -> httpx.Response:
        with self.client(timeout=timeout) as client:
            return client.request(method, url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)


@dataclass
class Fleet:
    chain: Chain
    system: System
    issuer: Any
    env: dict[str, str]
    workdir: Path
    specs: dict[str, dict[str, Any]]
    nodes: dict[str, RunningNode]
    http: FleetHttp = field(init=False)

    def __post_init__(self) -> None:
        self.http = FleetHttp([pin for spec in self.specs.values() if (pin := split_url(spec["url"])[1])])

    def owner(self, name: str) -> Owner:
        return Owner(self.nodes[name], self.env[TOKEN_ENV])

    def restart(self, name: str) -> None:
        """Kill without warning (a crash), then start again from the same files."""
        self.nodes[name].process.kill()
        self.nodes[name].process.wait()
        self.nodes[name] = start_node(self.specs[name], self.env, self.workdir)
        wait_ready(self.nodes[name])

    def url(self, name: str) -> str:
        """The node's base URL, to put paths after (its pin dropped: `http` pins every node of the fleet)."""
        return split_url(self.nodes[name].url)[0]

    def move_behind(self, name: str, relay: Callable[[int, int], T]) -> T:
        """Restart the node on a fresh port with `relay(its URL's port, the fresh port)` between them: its URL, and
        every signature over it, stay the same, and every byte to it crosses the relay."""
        node = self.nodes[name]
        node.process.kill()
        node.process.wait()
        base = split_url(node.url)[0]
        outer, inner = urlsplit(base).port or 0, free_port()
        config_path = Path(self.specs[name]["config"])
        config = json.loads(config_path.read_text())
        config.update(port=inner, public_url=base)
        config_path.write_text(json.dumps(config))
        between = relay(outer, inner)
        self.nodes[name] = start_node(self.specs[name], self.env, self.workdir)
        wait_ready(self.nodes[name])
        return between

    def address(self, name: str) -> str:
        """The node's URL as peers know it and sign it: https with its certificate's pin."""
        return self.nodes[name].url


def key_of(fleet: Fleet, name: str) -> Any:
    """A vehicle's key, unlocked from its keystore as its node does (for tests that act outside the node)."""

    os.environ[PASSWORD_ENV] = fleet.env[PASSWORD_ENV]
    return load_keystore(fleet.workdir / f"{name}.key.json", password_env=PASSWORD_ENV)


def buyer_key(fleet: Fleet) -> Any:
    return key_of(fleet, "buyer")


@contextmanager
def running_fleet(workdir: Path) -> Iterator[Fleet]:
    """A real anvil, the contracts, and node processes for a buyer and two sellers, killed on exit."""
    env, rng = fleet_env(), random.Random(3)
    with connect("anvil") as chain:
        system = deploy(chain)
        issuer = add_issuer(system)
        specs = provision_auction_fleet(system, issuer, workdir, env, rng, [10, 30])
        nodes = {name: start_node(spec, env, workdir) for name, spec in specs.items()}
        try:
            for node in nodes.values():
                wait_ready(node)
            yield Fleet(chain, system, issuer, env, workdir, specs, nodes)
        finally:
            for node in nodes.values():
                node.process.kill()


CLEARING_DEPOSIT = 50 * 10**6  # each vehicle's balance in the batch Clearing: payments and penalty cover


@contextmanager
def running_clearing_fleet(workdir: Path, *, sellers: int = 2) -> Iterator[Fleet]:
    """A real anvil, the contracts, an operator node (orders cleared on POST /clearings/run), a buyer and
    `sellers` sellers, each vehicle with a Clearing deposit and the operator's URL in its config."""
    env, rng = fleet_env(), random.Random(5)
    with connect("anvil") as chain:
        system = deploy(chain)
        issuer = add_issuer(system)
        vehicles = [("buyer", ROLE_BUYER)] + [(f"seller-{i}", ROLE_SELLER) for i in range(1, sellers + 1)]
        specs = provision_clearing_fleet(
            system,
            issuer,
            workdir,
            env,
            rng,
            vehicles,
            operator={"interval_s": 0, "mechanism": "double-auction-k", "margin_s": 60},
            deposit=CLEARING_DEPOSIT,
        )
        nodes = {name: start_node(spec, env, workdir) for name, spec in specs.items()}
        try:
            for node in nodes.values():
                wait_ready(node)
            yield Fleet(chain, system, issuer, env, workdir, specs, nodes)  # its restarts replace entries of `nodes`
        finally:
            for node in nodes.values():
                node.process.kill()
