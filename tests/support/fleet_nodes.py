"""A fleet of real node processes (uvicorn) on a real anvil: a buyer and two sellers, and their keys."""

from __future__ import annotations

import os
import random
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from node.demo_fleet import PASSWORD_ENV, TOKEN_ENV, Owner, RunningNode, _position, provision, start_node, wait_ready
from v2vchain.chain.connect import Chain, connect
from v2vchain.deploy import System, deploy
from v2vchain.devnet import add_issuer
from v2vchain.identity.keystore import load_keystore
from v2vchain.identity.registration import ROLE_BUYER, ROLE_SELLER


@dataclass
class Fleet:
    chain: Chain
    system: System
    issuer: Any
    env: dict[str, str]
    workdir: Path
    specs: dict[str, dict[str, Any]]
    nodes: dict[str, RunningNode]

    def owner(self, name: str) -> Owner:
        return Owner(self.nodes[name], self.env[TOKEN_ENV])

    def restart(self, name: str) -> None:
        """Kill without warning (a crash), then start again from the same files."""
        self.nodes[name].process.kill()
        self.nodes[name].process.wait()
        self.nodes[name] = start_node(self.specs[name], self.env, self.workdir)
        wait_ready(self.nodes[name])

    def url(self, name: str) -> str:
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
    env = {**os.environ, PASSWORD_ENV: secrets.token_hex(16), TOKEN_ENV: secrets.token_hex(16)}
    rng = random.Random(3)
    with connect("anvil") as chain:
        system = deploy(chain)
        issuer = add_issuer(system)
        buyer = provision(
            system, issuer, workdir, "buyer", ROLE_BUYER, position=_position(rng), peers=[], degradation=20, env=env
        )
        specs = {"buyer": buyer}
        for i, degradation in ((1, 10), (2, 30)):
            specs[f"seller-{i}"] = provision(
                system,
                issuer,
                workdir,
                f"seller-{i}",
                ROLE_SELLER,
                position=_position(rng),
                peers=[buyer["url"]],
                degradation=degradation,
                env=env,
            )
        nodes = {name: start_node(spec, env, workdir) for name, spec in specs.items()}
        try:
            for node in nodes.values():
                wait_ready(node)
            yield Fleet(chain, system, issuer, env, workdir, specs, nodes)
        finally:
            for node in nodes.values():
                node.process.kill()
