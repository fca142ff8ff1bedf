"""did:pkh parsing and resolution, with no chain."""

from __future__ import annotations

import pytest
from eth_account import Account

from v2vchain.errors import InvalidInput
from v2vchain.identity.did import address_of, did_for, parse_did, resolve_did
from v2vchain.identity.errors import InvalidDid

ADDRESS = Account.from_key(b"\x01" * 32).address
DID = did_for(ADDRESS, 31337)


def test_resolve_returns_a_did_core_document_with_one_recovery_method() -> None:
    document = resolve_did(DID)
    method_id = DID + "#blockchainAccountId"
    assert document["@context"][0] == "https://www.w3.org/ns/did/v1"
    assert document["id"] == DID
    assert document["verificationMethod"] == [
        {
            "id": method_id,
            "type": "EcdsaSecp256k1RecoveryMethod2020",
            "controller": DID,
            "blockchainAccountId": f"eip155:31337:{ADDRESS}",
        }
    ]
    assert document["authentication"] == [method_id]
    assert document["assertionMethod"] == [method_id]


def test_parse_returns_chain_and_checksummed_address_for_lowercase_did() -> None:
    assert parse_did(f"did:pkh:eip155:1:{ADDRESS.lower()}") == (1, ADDRESS)
    assert address_of(DID) == ADDRESS


@pytest.mark.parametrize(
    "did",
    [
        f"did:ethr:{ADDRESS}",
        f"did:pkh:bip122:000000000019d6689c085ae165831e93:{ADDRESS}",
        f"did:pkh:eip155:0:{ADDRESS}",
        f"did:pkh:eip155:01:{ADDRESS}",
        f"did:pkh:eip155:1:{ADDRESS[:-1]}",
        f"did:pkh:eip155:1:{ADDRESS}0",
        f" did:pkh:eip155:1:{ADDRESS}",
        f"did:pkh:eip155:1:{ADDRESS}#blockchainAccountId",
        "did:pkh:eip155:1:0xZZ" + "0" * 38,
        "",
        None,
    ],
)
def test_malformed_did_is_rejected_with_InvalidDid(did: object) -> None:
    with pytest.raises(InvalidDid, match="not a did:pkh"):
        resolve_did(did)


def test_mixed_case_address_with_wrong_checksum_is_rejected() -> None:
    body = ADDRESS[2:]
    flipped = body[:-1] + (body[-1].swapcase() if body[-1].isalpha() else body[-1])
    if flipped == body:  # last char is a digit: flip the first letter instead
        i = next(i for i, c in enumerate(body) if c.isalpha())
        flipped = body[:i] + body[i].swapcase() + body[i + 1 :]
    with pytest.raises(InvalidDid, match="checksum") as info:
        parse_did(f"did:pkh:eip155:1:0x{flipped}")
    assert isinstance(info.value, InvalidInput)
