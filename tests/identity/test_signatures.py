"""The one strict signature rule (issue 14, item 1): exactly what OpenZeppelin's ECDSA accepts on-chain."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from v2vchain.identity.credentials import issue_vc, verify_vc
from v2vchain.identity.did import did_for
from v2vchain.identity.errors import ForgedCredential
from v2vchain.identity.registration import ROLE_SELLER
from v2vchain.protocol import eip712, signatures
from v2vchain.protocol.errors import BadSignature
from v2vchain.protocol.signatures import HALF_N, SECP256K1_N

KEY = Account.from_key("0x" + "42" * 32)
DOMAIN = eip712.domain(eip712.MARKET_DOMAIN, 31337, "0x" + "11" * 20)
MESSAGE = {"requestId": 7, "seller": "0x" + "22" * 20, "deliveredWh": 5_000}


def genuine() -> bytes:
    return eip712.sign(KEY, DOMAIN, eip712.RECEIPT_TYPES, MESSAGE)


def test_a_genuine_signature_recovers_its_signer() -> None:
    assert signatures.verify_typed(DOMAIN, eip712.RECEIPT_TYPES, MESSAGE, genuine(), KEY.address.lower())


def test_eth_account_alone_accepts_the_malleated_forms_the_rule_refuses() -> None:

    encoded = encode_typed_data(domain_data=DOMAIN, message_types=eip712.RECEIPT_TYPES, message_data=MESSAGE)
    sig = genuine()
    assert Account.recover_message(encoded, signature=signatures.malleate(sig)) == KEY.address
    with pytest.raises(BadSignature, match="not canonical"):
        eip712.recover(DOMAIN, eip712.RECEIPT_TYPES, MESSAGE, signatures.malleate(sig))


@pytest.mark.parametrize("v", [0, 1, 2, 26, 29, 255])
def test_v_other_than_27_or_28_is_refused(v: int) -> None:
    sig = genuine()
    with pytest.raises(BadSignature, match="v must be 27 or 28"):
        eip712.recover(DOMAIN, eip712.RECEIPT_TYPES, MESSAGE, sig[:64] + bytes([v]))


@pytest.mark.parametrize("s", [0, HALF_N + 1, SECP256K1_N - 1, SECP256K1_N])
def test_s_zero_or_above_half_the_order_is_refused(s: int) -> None:
    sig = genuine()
    with pytest.raises(BadSignature):
        signatures.split(sig[:32] + s.to_bytes(32, "big") + sig[64:])


@pytest.mark.parametrize("length", [0, 64, 66])
def test_anything_but_65_bytes_is_refused(length: int) -> None:
    with pytest.raises(BadSignature, match="65 bytes"):
        signatures.split((genuine() * 2)[:length])


def test_r_zero_or_at_the_order_is_refused() -> None:
    sig = genuine()
    for r in (0, SECP256K1_N):
        with pytest.raises(BadSignature, match="r is out of range"):
            signatures.split(r.to_bytes(32, "big") + sig[32:])


def test_another_signer_is_refused() -> None:
    with pytest.raises(BadSignature, match="not by"):
        signatures.verify_typed(DOMAIN, eip712.RECEIPT_TYPES, MESSAGE, genuine(), "0x" + "33" * 20)


def test_a_credential_with_a_malleated_issuer_proof_is_forged() -> None:
    issuer = Account.from_key("0x" + "43" * 32)
    vc = issue_vc(
        issuer,
        registry="0x" + "55" * 20,
        chain_id=31337,
        vehicle_did=did_for(KEY.address, 31337),
        roles=ROLE_SELLER,
        battery_capacity_wh=1,
        max_v2v_power_w=1,
        valid_from=100,
        valid_until=10_000,
    )
    verify_vc(vc, now=200)
    proof = vc["proof"]
    proof["proofValue"] = "0x" + signatures.malleate(bytes.fromhex(proof["proofValue"][2:])).hex()
    with pytest.raises(ForgedCredential):
        verify_vc(vc, now=200)
