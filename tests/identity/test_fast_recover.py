"""The fast recovery path (protocol.recover: a TypedHasher, and recover_typed, which every verifier goes through)
answers exactly as eth-account under the strict rule (tests/support/eth_account_recover.py): the same digest, the
same signer, the same refusals, for every signed type."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.eth_account_recover import eth_account_signer
from v2vchain.errors import InvalidInput
from v2vchain.protocol import eip712, signatures
from v2vchain.protocol.errors import BadSignature
from v2vchain.protocol.recover import TypedHasher, recover_digest
from v2vchain.protocol.signatures import HALF_N, SECP256K1_N

SIGNED = settings(max_examples=25, deadline=None)  # eth-account signs at ~1 ms; 25 keys x types is enough
TYPES = {
    "Order": (eip712.CLEARING_DOMAIN, eip712.ORDER_TYPES),
    "Bid": (eip712.MARKET_DOMAIN, eip712.BID_TYPES),
    "MeterReceipt": (eip712.MARKET_DOMAIN, eip712.RECEIPT_TYPES),
    "Credential": (eip712.REGISTRY_DOMAIN, eip712.CREDENTIAL_TYPES),
    "TradeReceipt": (eip712.CLEARING_DOMAIN, eip712.TRADE_RECEIPT_TYPES),
}
addresses = st.binary(min_size=20, max_size=20).map(lambda raw: to_checksum_address(raw))


def _value(solidity_type: str) -> st.SearchStrategy[Any]:
    if solidity_type == "address":
        return st.one_of(addresses, addresses.map(str.lower))
    if solidity_type == "bytes32":
        return st.binary(min_size=32, max_size=32)
    bits = int(solidity_type[4:])
    return st.one_of(st.integers(0, 2**bits - 1), st.sampled_from((0, 2**bits - 1)))


@st.composite
def typed_messages(draw: st.DrawFn) -> tuple[dict, dict, dict]:
    name_version, types = TYPES[draw(st.sampled_from(sorted(TYPES)))]
    domain = eip712.domain(name_version, draw(st.integers(1, 2**64)), draw(addresses))
    (fields,) = types.values()
    return domain, types, {f["name"]: draw(_value(f["type"])) for f in fields}


def outcome(recover: Callable[[], str]) -> str:
    try:
        return recover()
    except BadSignature:
        return "refused"


def both(domain: dict, types: dict, message: dict, signature: bytes) -> tuple[str, str]:
    """(the fast paths' answer, eth-account's), after checking the hasher and recover_typed agree."""
    hasher = outcome(lambda: TypedHasher(domain, types).recover(message, signature))
    assert outcome(lambda: signatures.recover_typed(domain, types, message, signature)) == hasher
    return hasher, outcome(lambda: eth_account_signer(domain, types, message, signature))


def variants(sig: bytes, r_other: int) -> list[bytes]:
    """Every form an attacker or a broken client can send: malleated, v of 0/1/26/29, high s, r and s at the
    bounds, r off the curve (likely), a wrong length."""
    r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
    word = lambda x: x.to_bytes(32, "big")  # noqa: E731
    return [
        signatures.malleate(sig),
        sig[:64] + bytes([v - 27]),
        sig[:64] + bytes([55 - v - 27]),
        sig[:64] + bytes([26]),
        sig[:64] + bytes([29]),
        r + word(SECP256K1_N - s) + bytes([v]),
        r + word(HALF_N) + bytes([v]),
        r + word(HALF_N + 1) + bytes([v]),
        r + word(0) + bytes([v]),
        word(0) + sig[32:],
        word(SECP256K1_N) + sig[32:],
        word(SECP256K1_N - 1) + sig[32:],
        word(r_other) + sig[32:],
        sig[:64],
        sig + b"\x00",
        b"",
    ]


@given(typed_messages())
def test_the_digest_is_eth_accounts(typed: tuple[dict, dict, dict]) -> None:
    domain, types, message = typed
    signable = encode_typed_data(domain_data=domain, message_types=types, message_data=message)
    assert TypedHasher(domain, types).digest(message) == keccak(
        b"\x19" + signable.version + signable.header + signable.body
    )


@SIGNED
@given(typed_messages(), st.integers(1, SECP256K1_N - 1))
def test_a_genuine_signature_recovers_the_signer_eth_account_recovers(typed: tuple[dict, dict, dict], key: int) -> None:
    domain, types, message = typed
    account = Account.from_key(key.to_bytes(32, "big"))
    fast, strict = both(domain, types, message, eip712.sign(account, domain, types, message))
    assert fast == strict == account.address


@SIGNED
@given(typed_messages(), st.integers(1, SECP256K1_N - 1), st.integers(1, 2**256 - 1))
def test_every_malleated_or_malformed_form_gets_the_same_answer(
    typed: tuple[dict, dict, dict], key: int, r_other: int
) -> None:
    domain, types, message = typed
    sig = eip712.sign(Account.from_key(key.to_bytes(32, "big")), domain, types, message)
    for form in variants(sig, r_other):
        fast, strict = both(domain, types, message, form)
        assert fast == strict, form.hex()


@given(typed_messages(), st.binary(min_size=65, max_size=65))
def test_garbage_gets_the_same_answer(typed: tuple[dict, dict, dict], garbage: bytes) -> None:
    assert len(set(both(*typed, garbage))) == 1


@given(typed_messages(), st.sampled_from((27, 28)), st.integers(1, HALF_N), st.integers(1, SECP256K1_N - 1))
def test_any_well_formed_signature_recovers_the_same_key_or_none(
    typed: tuple[dict, dict, dict], v: int, s: int, r: int
) -> None:
    sig = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])
    assert len(set(both(*typed, sig))) == 1


def test_the_digest_alone_recovers_the_same_signer() -> None:
    domain, types = eip712.domain(eip712.MARKET_DOMAIN, 31337, "0x" + "11" * 20), eip712.BID_TYPES
    message = {
        "requestId": 7,
        "seller": "0x" + "22" * 20,
        "pricePerWh": 90,
        "energyWh": 5_000,
        "nonce": 1,
        "expiry": 1_750_000_000,
    }
    account = Account.from_key(b"\x42" * 32)
    sig = eip712.sign(account, domain, types, message)
    assert recover_digest(TypedHasher(domain, types).digest(message), sig) == account.address


@pytest.mark.parametrize(
    "field, value",
    [("energyWh", 2**64), ("energyWh", -1), ("energyWh", True), ("seller", "0x1234"), ("requestId", "7")],
)
def test_a_value_outside_its_type_is_refused(field: str, value: Any) -> None:
    domain = eip712.domain(eip712.MARKET_DOMAIN, 1, "0x" + "11" * 20)
    message = {"requestId": 7, "seller": "0x" + "22" * 20, "pricePerWh": 90, "energyWh": 5_000, "nonce": 1, "expiry": 1}
    with pytest.raises(InvalidInput):
        TypedHasher(domain, eip712.BID_TYPES).digest({**message, field: value})


def test_a_field_type_the_contracts_never_sign_is_refused_up_front() -> None:
    with pytest.raises(InvalidInput, match="not supported"):
        TypedHasher(eip712.domain(eip712.MARKET_DOMAIN, 1, "0x" + "11" * 20), {"T": [{"name": "x", "type": "int8"}]})


BID_DOMAIN = eip712.domain(eip712.MARKET_DOMAIN, 31337, "0x" + "11" * 20)
BID = {"requestId": 7, "seller": "0x" + "22" * 20, "pricePerWh": 90, "energyWh": 5_000, "nonce": 1, "expiry": 1}
SIGNER = Account.from_key(b"\x42" * 32)


@pytest.mark.parametrize(
    "field, spelling",
    [("requestId", "7"), ("requestId", "0x7"), ("seller", "22" * 20), ("seller", bytes.fromhex("22" * 20))],
)
def test_recover_typed_takes_every_spelling_eth_account_takes(field: str, spelling: Any) -> None:
    sig = eip712.sign(SIGNER, BID_DOMAIN, eip712.BID_TYPES, BID)
    message = {**BID, field: spelling}
    assert signatures.recover_typed(BID_DOMAIN, eip712.BID_TYPES, message, sig) == SIGNER.address
    assert eth_account_signer(BID_DOMAIN, eip712.BID_TYPES, message, sig) == SIGNER.address


def test_recover_typed_recovers_a_nested_type_as_eth_account_does() -> None:
    types = {
        "Mail": [{"name": "from", "type": "Person"}, {"name": "contents", "type": "string"}],
        "Person": [{"name": "name", "type": "string"}, {"name": "wallets", "type": "address[]"}],
    }
    message = {"from": {"name": "Cow", "wallets": ["0x" + "33" * 20]}, "contents": "Hello"}
    sig = Account.sign_typed_data(SIGNER.key, domain_data=BID_DOMAIN, message_types=types, message_data=message)
    signature = bytes(sig.signature)
    assert signatures.recover_typed(BID_DOMAIN, types, message, signature) == SIGNER.address
    assert eth_account_signer(BID_DOMAIN, types, message, signature) == SIGNER.address
    with pytest.raises(BadSignature, match="not canonical"):
        signatures.recover_typed(BID_DOMAIN, types, message, signatures.malleate(signature))


@pytest.mark.parametrize("change", [{"nonce": -1}, {"energyWh": 2**64}, {"seller": "0x1234"}])
def test_recover_typed_refuses_a_malformed_message_as_eth_account_does(change: dict) -> None:
    sig = eip712.sign(SIGNER, BID_DOMAIN, eip712.BID_TYPES, BID)
    message = {**BID, **change}
    with pytest.raises(Exception) as eth:
        eth_account_signer(BID_DOMAIN, eip712.BID_TYPES, message, sig)
    with pytest.raises(type(eth.value)):
        signatures.recover_typed(BID_DOMAIN, eip712.BID_TYPES, message, sig)


def test_a_missing_field_is_refused_as_eth_account_refuses_it() -> None:
    sig = eip712.sign(SIGNER, BID_DOMAIN, eip712.BID_TYPES, BID)
    message = {k: v for k, v in BID.items() if k != "nonce"}
    with pytest.raises(ValueError, match="Missing value for field `nonce`"):
        signatures.recover_typed(BID_DOMAIN, eip712.BID_TYPES, message, sig)


def test_no_verifier_in_the_library_or_the_node_calls_eth_accounts_recovery() -> None:
    root = Path(__file__).resolve().parents[2]
    calls = re.compile(r"Account\.recover|recover_message|recover_typed_data|_recover_hash")
    found = [
        f"{path.relative_to(root)}:{n}"
        for package in ("v2vchain", "node")
        for path in sorted((root / package).rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if calls.search(line)
    ]
    assert found == []
