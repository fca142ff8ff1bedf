"""The award's access token: keccak commitment on-chain, preimage shown at the meeting."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from v2vchain.identity.access import access_hash, check_access, new_access_secret
from v2vchain.identity.errors import AccessDenied


def test_secret_matches_its_keccak_commitment() -> None:
    secret = new_access_secret()
    assert len(secret) == 32 and access_hash(secret) == keccak(secret)
    check_access(secret, keccak(secret))


def test_wrong_secret_is_denied() -> None:
    with pytest.raises(AccessDenied, match="does not match"):
        check_access(new_access_secret(), keccak(b"secret"))


def test_secrets_are_fresh() -> None:
    assert new_access_secret() != new_access_secret()
