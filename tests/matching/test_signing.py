"""EIP-712 orders: the type is the issue's, and a signature binds every signed field to the owner."""

from __future__ import annotations

import dataclasses

import pytest
from eth_account import Account

from tests.support.strategies import T0, order
from v2vchain.matching.errors import OrderSignatureMismatch
from v2vchain.matching.signing import ORDER_TYPES, clearing_domain, order_signer, sign_order, verify_order
from v2vchain.protocol.areas import area_id
from v2vchain.protocol.eip712 import type_string
from v2vchain.protocol.routes import Route, Waypoint
from v2vchain.protocol.signatures import malleate

ACCOUNT = Account.from_key(b"\x01" * 32)
OTHER = Account.from_key(b"\x02" * 32)
DOMAIN = clearing_domain(31337, "0x" + "cc" * 20)


def test_order_type_string_is_the_one_the_contracts_hash() -> None:
    assert type_string(ORDER_TYPES) == (
        "Order(address owner,uint8 side,uint64 energyWh,uint96 limitPricePerWh,bytes32 areaId,uint40 windowStart,"
        "uint40 windowEnd,bytes32 routeHash,uint64 nonce,uint40 expiry)"
    )


def test_domain_is_named_V2V_Clearing_version_1() -> None:
    assert (DOMAIN["name"], DOMAIN["version"], DOMAIN["chainId"]) == ("V2V Clearing", "1", 31337)


def test_owner_signature_verifies() -> None:
    o = order(owner=ACCOUNT.address)
    verify_order(DOMAIN, o, sign_order(ACCOUNT, DOMAIN, o))


def test_signature_by_another_key_raises_OrderSignatureMismatch() -> None:
    o = order(owner=ACCOUNT.address)
    with pytest.raises(OrderSignatureMismatch) as info:
        verify_order(DOMAIN, o, sign_order(OTHER, DOMAIN, o))
    assert info.value.signer == OTHER.address


def test_changing_the_price_after_signing_breaks_the_signature() -> None:
    o = order(owner=ACCOUNT.address)
    signature = sign_order(ACCOUNT, DOMAIN, o)
    with pytest.raises(OrderSignatureMismatch):
        verify_order(DOMAIN, dataclasses.replace(o, limit_price_per_wh=o.limit_price_per_wh + 1), signature)


def test_changing_the_route_after_signing_breaks_the_signature() -> None:
    o = order(
        owner=ACCOUNT.address, route=Route((Waypoint("u33dc0", T0, T0 + 600), Waypoint("u33dc1", T0 + 900, T0 + 1_800)))
    )
    signature = sign_order(ACCOUNT, DOMAIN, o)
    later = Route((Waypoint("u33dc0", T0, T0 + 600), Waypoint("u33dc1", T0 + 900, T0 + 1_801)))
    with pytest.raises(OrderSignatureMismatch):
        verify_order(DOMAIN, dataclasses.replace(o, route=later), signature)


def test_signature_for_another_chain_does_not_verify() -> None:
    o = order(owner=ACCOUNT.address)
    signature = sign_order(ACCOUNT, clearing_domain(1, DOMAIN["verifyingContract"]), o)
    assert order_signer(DOMAIN, o, signature) != ACCOUNT.address


def test_area_is_signed_in_the_readable_encoding_both_venues_share() -> None:
    assert order(cell="u33dc0").area_word == area_id("u33dc0") == b"gh:u33dc0".ljust(32, b"\x00")


def test_a_malleated_order_signature_is_a_mismatch() -> None:
    """Issue 14, item 1: high s / flipped v is refused, as the Clearing contract refuses it."""

    o = order(owner=ACCOUNT.address)
    signature = sign_order(ACCOUNT, DOMAIN, o)
    with pytest.raises(OrderSignatureMismatch):
        verify_order(DOMAIN, o, malleate(signature))
