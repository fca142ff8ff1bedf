"""did:pkh parsing and resolution, with no chain."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_utils import keccak

from v2vchain.errors import InvalidInput
from v2vchain.identity.did import address_of, canonical_did, did_for, did_hash, parse_did, resolve_did
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


def test_did_for_spells_the_address_with_its_eip55_checksum() -> None:
    assert did_for(ADDRESS.lower(), 31337) == did_for(ADDRESS.upper().replace("0X", "0x"), 31337) == DID
    assert DID.endswith(ADDRESS)


@pytest.mark.parametrize("spelling", [ADDRESS, ADDRESS.lower(), "0x" + ADDRESS[2:].upper()])
def test_every_spelling_of_an_account_has_the_one_canonical_did(spelling: str) -> None:
    assert canonical_did(f"did:pkh:eip155:31337:{spelling}") == DID


@pytest.mark.parametrize("spelling", [ADDRESS.lower(), "0x" + ADDRESS[2:].upper()])
def test_the_registry_hash_of_any_spelling_is_that_of_the_canonical_did(spelling: str) -> None:
    assert did_hash(f"did:pkh:eip155:31337:{spelling}") == keccak(text=DID)


def test_a_did_that_does_not_parse_has_no_hash() -> None:
    with pytest.raises(InvalidDid):
        did_hash(f"did:ethr:{ADDRESS}")
