"""Builders every world shares: an unregistered outsider with tokens, a test token deployed as a venue's currency,
and a request opened with the usual defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eth_account import Account
from eth_utils import keccak

from node.config import NodeConfig
from v2vchain.chain.compiler import Build
from v2vchain.chain.connect import Chain
from v2vchain.contracts.market import MarketClient
from v2vchain.deploy import System
from v2vchain.devnet import GAS_MONEY_WEI, Vehicle

AREA = keccak(text="cloak:geohash5:u33db")
ACCESS = keccak(b"secret")


def outsider(chain: Chain, system: System, *, tokens: int, spender: str) -> Vehicle:
    """A key with gas and `tokens` in its wallet, `spender` approved, and no credential: it may call anything."""
    account = Account.create()
    chain.fund(account.address, GAS_MONEY_WEI)
    system.token.mint(account.address, tokens)
    own = system.as_(chain.sender(account))
    own.token.approve(spender, 2**256 - 1)
    return Vehicle("outsider", account, credential=None, system=own)


def deploy_test_token(chain: Chain, build: Build, name: str) -> Any:
    """A fixture token from contracts/test/ (hostile on purpose), deployed by the funder; its web3 contract."""
    artifact = build[name]
    constructor = chain.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode).constructor()
    address = chain.sender(chain.funder).send({"data": constructor.data_in_transaction}, action=f"deploy {name}")[
        "contractAddress"
    ]
    return chain.w3.eth.contract(address=address, abi=artifact.abi)


def open_request(
    market: MarketClient,
    now: int,
    *,
    energy_wh: int = 10_000,
    max_price: int = 100,
    bidding_s: int = 600,
    lead_s: int = 300,
    window_s: int = 3_600,
    relayer: str | None = None,
    access: bytes = ACCESS,
) -> int:
    """A request opened at `now`: bidding for bidding_s, then delivery after lead_s for window_s."""
    deadline = now + bidding_s
    return market.open(
        energy_wh=energy_wh,
        max_price_per_wh=max_price,
        deadline_ts=deadline,
        delivery_start_ts=deadline + lead_s,
        delivery_end_ts=deadline + lead_s + window_s,
        area_id=AREA,
        access_hash=access,
        relayer=relayer,
    )


def offline_node_config(folder: Path, name: str, **extra: Any) -> NodeConfig:
    """A node's config whose files sit in `folder` and whose chain URL answers nothing: for node parts a test drives
    in-process (the chain given to them directly, or not needed)."""
    return NodeConfig(
        name=name,
        chain="http://127.0.0.1:1",
        deployment=folder / "d.json",
        keystore=folder / "k.json",
        credential=folder / "vc.json",
        db=folder / "node.sqlite",
        position={"lat": 52.5, "lon": 13.4},
        **extra,
    )
