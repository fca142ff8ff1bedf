"""VehicleCredential issue and verification, with no chain."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from tests.support.credentials import CHAIN_ID, NOW, REGISTRY, VALID_UNTIL, make_vc
from v2vchain.errors import InvalidInput
from v2vchain.identity.credentials import verify_vc
from v2vchain.identity.did import did_for
from v2vchain.identity.errors import (
    CredentialExpired,
    CredentialNotYetValid,
    ForgedCredential,
    MalformedCredential,
    WrongDeployment,
)
from v2vchain.identity.proofs import iso
from v2vchain.identity.registration import ROLE_BOTH, ROLE_SELLER, issue_credential
from v2vchain.protocol import eip712


def test_issued_credential_has_the_vc_2_0_shape(
    vc: dict[str, Any], issuer: LocalAccount, vehicle: LocalAccount
) -> None:
    assert vc["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert vc["type"] == ["VerifiableCredential", "VehicleCredential"]
    assert vc["issuer"] == did_for(issuer.address, CHAIN_ID)
    assert vc["validUntil"] == iso(VALID_UNTIL) and vc["validUntil"].endswith("Z")
    assert vc["credentialSubject"] == {
        "id": did_for(vehicle.address, CHAIN_ID),
        "batteryCapacityWh": 80_000,
        "maxV2vPowerW": 30_000,
        "roles": ["seller"],
    }
    registration = vc["proof"][0]
    assert registration["type"] == "EthereumEip712Signature2021"
    assert registration["proofPurpose"] == "assertionMethod"
    assert registration["verificationMethod"] == vc["issuer"] + "#blockchainAccountId"
    assert registration["eip712"]["domain"] == {
        "name": "V2V Registry",
        "version": "1",
        "chainId": CHAIN_ID,
        "verifyingContract": REGISTRY,
    }
    assert registration["eip712"]["primaryType"] == "Credential"


def test_registration_proof_is_the_signature_the_registry_verifies(
    vc: dict[str, Any], issuer: LocalAccount, vehicle: LocalAccount
) -> None:
    did = did_for(vehicle.address, CHAIN_ID)
    on_chain = issue_credential(
        issuer,
        registry=REGISTRY,
        chain_id=CHAIN_ID,
        vehicle=vehicle.address,
        did=did,
        roles=ROLE_SELLER,
        expiry=VALID_UNTIL,
    )
    assert vc["proof"][0]["proofValue"] == "0x" + on_chain.signature.hex()
    assert (
        eip712.type_string(vc["proof"][0]["eip712"]["types"])
        == "Credential(address vehicle,bytes32 didHash,uint8 roles,uint64 expiry)"
    )
    verified = verify_vc(vc, now=NOW, chain_id=CHAIN_ID, registry=REGISTRY)
    assert verified.registration == on_chain
    assert verified.registration.did_hash == keccak(text=did)


def test_verify_returns_the_asserted_values(vc: dict[str, Any], issuer: LocalAccount, vehicle: LocalAccount) -> None:
    verified = verify_vc(vc, now=NOW)
    assert (verified.vehicle, verified.issuer, verified.roles) == (vehicle.address, issuer.address, ROLE_SELLER)
    assert (verified.battery_capacity_wh, verified.max_v2v_power_w) == (80_000, 30_000)
    assert (verified.valid_from, verified.valid_until) == (NOW - 60, VALID_UNTIL)


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(vc: dict[str, Any]) -> None:
        target = vc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


OTHER_DID = did_for("0x" + "44" * 20, CHAIN_ID)
TAMPERINGS = {
    "roles widened": _set(("credentialSubject", "roles"), ["buyer", "seller"]),
    "subject swapped": _set(("credentialSubject", "id"), did_for("0x" + "44" * 20, CHAIN_ID)),
    "validUntil extended": _set(("validUntil",), iso(VALID_UNTIL + 86_400)),
    "validFrom moved": _set(("validFrom",), iso(NOW - 3_600)),
    "battery inflated": _set(("credentialSubject", "batteryCapacityWh"), 800_000),
    "power inflated": _set(("credentialSubject", "maxV2vPowerW"), 300_000),
    "issuer swapped": _set(("issuer",), OTHER_DID),
    "signature altered": lambda vc: vc["proof"][0].update(proofValue=vc["proof"][0]["proofValue"][:-4] + "1b1c"),
    "attribute signature swapped for the registration one": lambda vc: vc["proof"][1].update(
        proofValue=vc["proof"][0]["proofValue"]
    ),
    "signature too short": _set(("proof", 0, "proofValue"), "0x1234"),
    "verification method of another key": _set(("proof", 0, "verificationMethod"), OTHER_DID + "#blockchainAccountId"),
}


@pytest.mark.parametrize("tamper", TAMPERINGS.values(), ids=TAMPERINGS.keys())
def test_tampered_credential_is_rejected_as_forged(
    vc: dict[str, Any], tamper: Callable[[dict[str, Any]], None]
) -> None:
    tampered = copy.deepcopy(vc)
    tamper(tampered)
    with pytest.raises(ForgedCredential):
        verify_vc(tampered, now=NOW)


def test_credential_signed_by_an_unknown_key_names_the_signer(
    issuer: LocalAccount, vehicle: LocalAccount, stranger: LocalAccount
) -> None:
    forged = make_vc(stranger, vehicle)
    forged["issuer"] = did_for(issuer.address, CHAIN_ID)
    for proof in forged["proof"]:
        proof["verificationMethod"] = forged["issuer"] + "#blockchainAccountId"
    with pytest.raises(ForgedCredential, match="recovers to") as info:
        verify_vc(forged, now=NOW)
    assert info.value.values == {"signer": stranger.address, "expected": issuer.address}


def test_credential_is_expired_at_its_validUntil_as_on_chain(vc: dict[str, Any]) -> None:
    verify_vc(vc, now=VALID_UNTIL - 1)
    with pytest.raises(CredentialExpired, match="expired at") as info:
        verify_vc(vc, now=VALID_UNTIL)
    assert info.value.values == {"valid_until": VALID_UNTIL, "now": VALID_UNTIL}


def test_credential_before_validFrom_is_not_yet_valid(vc: dict[str, Any]) -> None:
    with pytest.raises(CredentialNotYetValid):
        verify_vc(vc, now=NOW - 61)


def test_credential_for_another_registry_or_chain_is_rejected(vc: dict[str, Any]) -> None:
    with pytest.raises(WrongDeployment):
        verify_vc(vc, now=NOW, chain_id=1)
    with pytest.raises(WrongDeployment):
        verify_vc(vc, now=NOW, registry="0x" + "99" * 20)
    verify_vc(vc, now=NOW, chain_id=CHAIN_ID, registry=REGISTRY.lower())


MALFORMINGS = {
    "not an object": lambda vc: vc.clear() or vc.update(oops=1),
    "v1 context": _set(("@context",), ["https://www.w3.org/2018/credentials/v1"]),
    "no VehicleCredential type": _set(("type",), ["VerifiableCredential"]),
    "subject not a DID": _set(("credentialSubject", "id"), "vehicle-7"),
    "unknown role": _set(("credentialSubject", "roles"), ["admin"]),
    "no roles": _set(("credentialSubject", "roles"), []),
    "battery as text": _set(("credentialSubject", "batteryCapacityWh"), "80000"),
    "negative power": _set(("credentialSubject", "maxV2vPowerW"), -1),
    "validUntil without zone": _set(("validUntil",), "2030-01-01T00:00:00"),
    "validUntil not a date": _set(("validUntil",), "tomorrow"),
    "one proof only": lambda vc: vc["proof"].pop(),
    "attacker-chosen types": _set(
        ("proof", 0, "eip712", "types"), {"Credential": [{"name": "vehicle", "type": "address"}]}
    ),
    "another domain name": _set(("proof", 0, "eip712", "domain", "name"), "Other"),
}


@pytest.mark.parametrize("malform", MALFORMINGS.values(), ids=MALFORMINGS.keys())
def test_malformed_credential_is_rejected_with_a_typed_error(
    vc: dict[str, Any], malform: Callable[[dict[str, Any]], None]
) -> None:
    broken = copy.deepcopy(vc)
    malform(broken)
    with pytest.raises(MalformedCredential):
        verify_vc(broken, now=NOW)


@pytest.mark.parametrize(
    "overrides", [{"roles": 0}, {"roles": 4}, {"valid_until": NOW - 120}, {"battery_capacity_wh": -1}]
)
def test_issuing_nonsense_is_refused(issuer: LocalAccount, vehicle: LocalAccount, overrides: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        make_vc(issuer, vehicle, **overrides)


def test_both_roles_round_trip(issuer: LocalAccount, vehicle: LocalAccount) -> None:
    vc = make_vc(issuer, vehicle, roles=ROLE_BOTH)
    assert vc["credentialSubject"]["roles"] == ["buyer", "seller"]
    assert verify_vc(vc, now=NOW).roles == ROLE_BOTH
