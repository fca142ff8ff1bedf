"""Sealing the meeting point: only the recipient, for this request, with the box untouched, can open it."""

from __future__ import annotations

import pytest
from eth_account import Account

from v2vchain.errors import InvalidInput
from v2vchain.privacy import SealBroken, open_meeting_point, seal_meeting_point, x25519_key
from v2vchain.privacy.seal import open_sealed, public_bytes, seal

POINT = (52.516275, 13.377704)
REQUEST = 7
RECIPIENT = x25519_key(Account.from_key(b"\x22" * 32).key)
RECIPIENT_PUBLIC = public_bytes(RECIPIENT)


def test_round_trip() -> None:
    sealed = seal_meeting_point(RECIPIENT_PUBLIC, POINT, REQUEST)
    assert open_meeting_point(RECIPIENT, sealed, REQUEST) == POINT
    assert b"52.516" not in sealed and b"13.377" not in sealed


def test_the_x25519_key_is_derived_deterministically_from_the_ethereum_key() -> None:
    again = x25519_key(Account.from_key(b"\x22" * 32).key)
    assert public_bytes(again) == RECIPIENT_PUBLIC
    assert public_bytes(x25519_key(b"\x23" * 32)) != RECIPIENT_PUBLIC
    assert Account.from_key(b"\x22" * 32).key != RECIPIENT_PUBLIC  # not the key itself


def test_every_box_uses_a_fresh_ephemeral_key() -> None:
    first, second = (seal(RECIPIENT_PUBLIC, b"same", REQUEST) for _ in range(2))
    assert first[:32] != second[:32] and first != second


def test_wrong_key_fails() -> None:
    sealed = seal_meeting_point(RECIPIENT_PUBLIC, POINT, REQUEST)
    with pytest.raises(SealBroken, match="does not open"):
        open_meeting_point(x25519_key(b"\x33" * 32), sealed, REQUEST)


def test_box_for_another_request_fails() -> None:
    sealed = seal_meeting_point(RECIPIENT_PUBLIC, POINT, REQUEST)
    with pytest.raises(SealBroken):
        open_meeting_point(RECIPIENT, sealed, REQUEST + 1)


@pytest.mark.parametrize(
    "index",
    [0, 31, 32, 40, -17, -1],
    ids=["ephemeral first", "ephemeral last", "ciphertext first", "ciphertext", "ciphertext last", "tag last"],
)
def test_tampered_box_fails(index: int) -> None:
    sealed = bytearray(seal_meeting_point(RECIPIENT_PUBLIC, POINT, REQUEST))
    sealed[index] ^= 0x01
    with pytest.raises(SealBroken):
        open_sealed(RECIPIENT, bytes(sealed), REQUEST)


def test_truncated_box_fails() -> None:
    with pytest.raises(SealBroken, match="too short"):
        open_sealed(RECIPIENT, b"\x00" * 40, REQUEST)


def test_low_order_ephemeral_key_fails() -> None:
    with pytest.raises(SealBroken):
        open_sealed(RECIPIENT, b"\x00" * 32 + b"\x00" * 40, REQUEST)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(InvalidInput):
        x25519_key(b"short")
    with pytest.raises(InvalidInput):
        seal(b"\x01" * 31, b"x", REQUEST)
    with pytest.raises(InvalidInput):
        seal_meeting_point(RECIPIENT_PUBLIC, (95.0, 0.0), REQUEST)
