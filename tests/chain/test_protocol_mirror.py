"""The Python mirror of what the contracts define, checked against the deployed contracts themselves.

Every EIP-712 type the Python side signs hashes to the contract's own type hash, every domain is the one the contract
reports through eip712Domain(), and the constants the clients and the node rely on are the contracts' own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_utils import keccak

from tests.support.world import World
from v2vchain.identity.registration import ROLE_BUYER, ROLE_SELLER
from v2vchain.matching.orders import Side
from v2vchain.protocol import eip712
from v2vchain.protocol.clearing import TRADE_LEAF_TAG


@pytest.fixture
def contracts(world: World) -> Iterator[dict[str, Any]]:
    clearing = world.system.clearing
    assert clearing is not None
    yield {"Registry": world.system.registry.contract, "Market": world.market.contract, "Clearing": clearing.contract}


TYPEHASHES = [
    ("Registry", "CREDENTIAL_TYPEHASH", eip712.CREDENTIAL_TYPES),
    ("Market", "BID_TYPEHASH", eip712.BID_TYPES),
    ("Market", "RECEIPT_TYPEHASH", eip712.RECEIPT_TYPES),
    ("Clearing", "ORDER_TYPEHASH", eip712.ORDER_TYPES),
    ("Clearing", "RECEIPT_TYPEHASH", eip712.TRADE_RECEIPT_TYPES),
]


@pytest.mark.parametrize(("contract", "constant", "types"), TYPEHASHES, ids=[f"{c}.{k}" for c, k, _ in TYPEHASHES])
def test_each_python_type_hashes_to_the_contracts_type_hash(
    contracts: dict[str, Any], contract: str, constant: str, types: dict
) -> None:
    on_chain = getattr(contracts[contract].functions, constant)().call()
    assert keccak(text=eip712.type_string(types)) == bytes(on_chain)


@pytest.mark.parametrize(
    ("contract", "domain"),
    [("Registry", eip712.REGISTRY_DOMAIN), ("Market", eip712.MARKET_DOMAIN), ("Clearing", eip712.CLEARING_DOMAIN)],
)
def test_each_python_domain_is_the_one_the_contract_reports(
    contracts: dict[str, Any], contract: str, domain: tuple[str, str]
) -> None:
    c = contracts[contract]
    _, name, version, chain_id, verifying, _, _ = c.functions.eip712Domain().call()
    assert (name, version, chain_id, verifying) == (*domain, c.w3.eth.chain_id, c.address)


def test_roles_sides_and_the_trade_leaf_tag_are_the_contracts(contracts: dict[str, Any]) -> None:
    registry, clearing = contracts["Registry"].functions, contracts["Clearing"].functions
    assert (registry.ROLE_BUYER().call(), registry.ROLE_SELLER().call()) == (ROLE_BUYER, ROLE_SELLER)
    assert (int(Side.BUY), int(Side.SELL)) == (1, 2)  # Clearing's SIDE_BUY / SIDE_SELL
    assert bytes(clearing.TRADE_LEAF_TAG().call()) == TRADE_LEAF_TAG
