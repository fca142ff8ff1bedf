"""Assertions the contract tests share."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.world import World
from v2vchain.chain.errors import ContractRevert
from v2vchain.contracts.market import RequestStatus


@contextlib.contextmanager
def reverts(name: str, **arguments: Any) -> Iterator[pytest.ExceptionInfo[ContractRevert]]:
    """Assert a call reverts with the named custom error (and these decoded argument values)."""
    with pytest.raises(ContractRevert) as info:
        yield info
    assert info.value.name == name, f"expected {name}, got {info.value}"
    for key, value in arguments.items():
        assert info.value.arguments[key] == value, f"{key}: {info.value.arguments[key]!r} != {value!r}"


def assert_books_balance(world: World) -> None:
    """No token created or lost: supply = wallets + market, and market = sum(free + locked) + escrowed + sunk, with
    escrowed exactly the live requests' escrows."""
    market, token = world.market, world.system.token
    accounts = [*world.accounts(), world.system.deployment.admin]
    held = token.balance_of(market.address)
    assert token.total_supply() == sum(token.balance_of(a) for a in accounts) + held
    next_id = int(market.contract.functions.nextRequestId().call())
    escrows = sum(escrow_of(market.request(i)) for i in range(1, next_id))
    assert market.escrowed() == escrows
    assert held == market.books(accounts)


def escrow_of(request: Any) -> int:
    if request.status == RequestStatus.OPEN:
        return request.energy_wh * request.max_price_per_wh
    if request.status in (RequestStatus.AWARDED, RequestStatus.CONFIRMED):
        return request.energy_wh * request.price_per_wh
    return 0
