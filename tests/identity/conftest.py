"""Fixed accounts and a fresh credential for each identity test."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from tests.support.credentials import make_vc


@pytest.fixture
def issuer() -> LocalAccount:
    return Account.from_key(b"\x11" * 32)


@pytest.fixture
def vehicle() -> LocalAccount:
    return Account.from_key(b"\x22" * 32)


@pytest.fixture
def stranger() -> LocalAccount:
    return Account.from_key(b"\x33" * 32)


@pytest.fixture
def vc(issuer: LocalAccount, vehicle: LocalAccount) -> dict[str, Any]:
    return make_vc(issuer, vehicle)
