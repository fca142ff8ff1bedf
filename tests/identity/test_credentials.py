"""VehicleCredential issue and verification, with no chain."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from tests.support.credentials import CHAIN_ID, NOW, REGISTRY, VALID_UNTIL, make_vc, resigned
from v2vchain.errors import InvalidInput
from v2vchain.identity.contexts import V2V_CONTEXT
from v2vchain.identity.credentials import verify_vc
from v2vchain.identity.dates import iso
from v2vchain.identity.did import did_for
from v2vchain.identity.errors import (
    CredentialExpired,
    CredentialNotYetValid,
    ForgedCredential,
    MalformedCredential,
    UnknownContext,
    WrongDeployment,
)
from v2vchain.identity.registration import ROLE_BOTH, ROLE_SELLER, issue_credential
from v2vchain.identity.suite import proof_options, sign_document


def test_issued_credential_has_the_vc_2_0_shape(
    vc: dict[str, Any], issuer: LocalAccount, vehicle: LocalAccount
) -> None:
    assert vc["@context"] == ["https://www.w3.org/ns/credentials/v2", V2V_CONTEXT]
    assert vc["type"] == ["VerifiableCredential", "VehicleCredential"]
    assert vc["issuer"] == did_for(issuer.address, CHAIN_ID)
    assert vc["validUntil"] == iso(VALID_UNTIL) and vc["validUntil"].endswith("Z")
    assert vc["credentialSubject"] == {
        "id": did_for(vehicle.address, CHAIN_ID),
        "batteryCapacityWh": 80_000,
        "maxV2vPowerW": 30_000,
        "roles": ["seller"],
    }
    assert vc["credentialStatus"]["id"] == f"eip155:{CHAIN_ID}:{REGISTRY}"
    assert vc["credentialStatus"]["type"] == "V2VRegistryStatus"


def test_one_eip712_proof_signs_the_document_for_the_registry_deployment(vc: dict[str, Any]) -> None:
    proof = vc["proof"]
    assert proof["type"] == "EthereumEip712Signature2021"
    assert proof["proofPurpose"] == "assertionMethod"
    assert proof["verificationMethod"] == vc["issuer"] + "#blockchainAccountId"
    assert proof["eip712"]["domain"] == {
        "name": "V2V Vehicle Credential",
        "version": "1",
        "chainId": CHAIN_ID,
        "verifyingContract": REGISTRY,
    }
    assert proof["eip712"]["primaryType"] == "VerifiableCredential"
    assert [field["name"] for field in proof["eip712"]["types"]["VerifiableCredential"]] == sorted(vc)


def test_registration_signature_is_the_one_the_registry_verifies(
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
    assert vc["credentialStatus"]["registrationSignature"] == "0x" + on_chain.signature.hex()
    verified = verify_vc(vc, now=NOW, chain_id=CHAIN_ID, registry=REGISTRY)
    assert verified.registration == on_chain
    assert verified.registration.did_hash == keccak(text=did)


def test_a_lowercase_subject_did_is_issued_and_registered_in_its_checksummed_spelling(
    issuer: LocalAccount, vehicle: LocalAccount
) -> None:
    lowercase = f"did:pkh:eip155:{CHAIN_ID}:{vehicle.address.lower()}"
    vc = make_vc(issuer, vehicle, vehicle_did=lowercase)
    canonical = did_for(vehicle.address, CHAIN_ID)
    assert vc["credentialSubject"]["id"] == canonical
    assert verify_vc(vc, now=NOW).registration.did_hash == keccak(text=canonical)


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
OTHER_SIGNATURE = "0x" + "ab" * 64 + "1b"
TAMPERINGS = {
    "@context of another vocabulary": _set(
        ("@context",), ["https://www.w3.org/ns/credentials/v2", "https://x.example"]
    ),
    "type changed": _set(("type",), ["VerifiableCredential", "OtherCredential"]),
    "roles widened": _set(("credentialSubject", "roles"), ["buyer", "seller"]),
    "subject swapped": _set(("credentialSubject", "id"), OTHER_DID),
    "validUntil extended": _set(("validUntil",), iso(VALID_UNTIL + 86_400)),
    "validFrom moved": _set(("validFrom",), iso(NOW - 3_600)),
    "battery inflated": _set(("credentialSubject", "batteryCapacityWh"), 800_000),
    "power inflated": _set(("credentialSubject", "maxV2vPowerW"), 300_000),
    "subject claim added": _set(("credentialSubject", "fastCharging"), True),
    "status changed": _set(("credentialStatus", "id"), f"eip155:{CHAIN_ID}:{OTHER_DID[-42:]}"),
    "registration signature swapped": _set(("credentialStatus", "registrationSignature"), OTHER_SIGNATURE),
    "status removed": lambda vc: vc.pop("credentialStatus"),
    "issuer swapped": _set(("issuer",), OTHER_DID),
    "proof created moved": _set(("proof", "created"), iso(NOW)),
    "signature altered": lambda vc: vc["proof"].update(proofValue=vc["proof"]["proofValue"][:-4] + "1b1c"),
    "verification method of another key": _set(("proof", "verificationMethod"), OTHER_DID + "#blockchainAccountId"),
    "a claim left out of the types": lambda vc: vc["proof"]["eip712"]["types"]["CredentialSubject"].pop(),
    "another chain in the domain": _set(("proof", "eip712", "domain", "chainId"), 1),
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
    genuine = make_vc(issuer, vehicle)
    forged = sign_document(  # the stranger's signature under the issuer's verification method
        stranger,
        {key: value for key, value in genuine.items() if key != "proof"},
        proof_options(genuine["issuer"], "assertionMethod", genuine["validFrom"]),
        genuine["proof"]["eip712"]["domain"],
        "VerifiableCredential",
    )
    with pytest.raises(ForgedCredential, match="recovers to") as info:
        verify_vc(forged, now=NOW)
    assert info.value.values == {"signer": stranger.address, "expected": issuer.address}


def test_a_proof_by_another_key_than_the_issuer_is_forged(
    issuer: LocalAccount, vehicle: LocalAccount, stranger: LocalAccount
) -> None:
    resigned_by_stranger = resigned(stranger, make_vc(issuer, vehicle), lambda vc: None)
    with pytest.raises(ForgedCredential, match="not by the issuer"):
        verify_vc(resigned_by_stranger, now=NOW)


def test_a_registration_signature_by_another_key_is_forged(
    vc: dict[str, Any], issuer: LocalAccount, vehicle: LocalAccount, stranger: LocalAccount
) -> None:
    stolen_status = make_vc(stranger, vehicle)["credentialStatus"]
    forged = resigned(issuer, vc, lambda document: document.update(credentialStatus=stolen_status))
    with pytest.raises(ForgedCredential, match="registration signature recovers to"):
        verify_vc(forged, now=NOW)


def test_a_signed_credential_naming_an_unknown_context_is_refused(vc: dict[str, Any], issuer: LocalAccount) -> None:
    unknown = "https://attacker.example/redefines-roles"
    extended = resigned(issuer, vc, lambda document: document["@context"].append(unknown))
    with pytest.raises(UnknownContext) as info:
        verify_vc(extended, now=NOW)
    assert info.value.values == {"url": unknown}


def test_a_signed_credential_with_the_v1_context_is_refused(vc: dict[str, Any], issuer: LocalAccount) -> None:
    v1 = resigned(issuer, vc, _set(("@context",), ["https://www.w3.org/2018/credentials/v1"]))
    with pytest.raises(UnknownContext):
        verify_vc(v1, now=NOW)


SIGNED_NONSENSE = {
    "no VehicleCredential type": _set(("type",), ["VerifiableCredential"]),
    "subject not a DID": _set(("credentialSubject", "id"), "vehicle-7"),
    "unknown role": _set(("credentialSubject", "roles"), ["admin"]),
    "battery as text": _set(("credentialSubject", "batteryCapacityWh"), "80000"),
    "an extra subject claim": _set(("credentialSubject", "fastCharging"), True),
    "an extra member": _set(("evidence",), "trust me"),
    "status of another type": _set(("credentialStatus", "type"), "BitstringStatusListEntry"),
    "validUntil without zone": _set(("validUntil",), "2023-11-15T22:13:20"),
    "validFrom with a space for T": _set(("validFrom",), "2023-11-14 22:12:20Z"),
}


@pytest.mark.parametrize("change", SIGNED_NONSENSE.values(), ids=SIGNED_NONSENSE.keys())
def test_a_well_signed_credential_with_unexpected_content_is_malformed(
    vc: dict[str, Any], issuer: LocalAccount, change: Callable[[dict[str, Any]], None]
) -> None:
    with pytest.raises(MalformedCredential):
        verify_vc(resigned(issuer, vc, change), now=NOW)


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
    "a proof set": lambda vc: vc.update(proof=[vc["proof"]]),
    "no eip712 member": lambda vc: vc["proof"].pop("eip712"),
    "another proof type": _set(("proof", "type"), "EcdsaSecp256k1Signature2019"),
    "another proof purpose": _set(("proof", "proofPurpose"), "authentication"),
    "negative power": _set(("credentialSubject", "maxV2vPowerW"), -1),
    "a fractional battery": _set(("credentialSubject", "batteryCapacityWh"), 1.5),
    "a null claim": _set(("credentialSubject", "roles"), None),
    "domain without its contract": lambda vc: vc["proof"]["eip712"]["domain"].pop("verifyingContract"),
    "signature too short": _set(("proof", "proofValue"), "0x1234"),
    "verification method not a DID": _set(("proof", "verificationMethod"), "key-1"),
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
    "overrides",
    [{"roles": 0}, {"roles": 4}, {"valid_until": NOW - 120}, {"battery_capacity_wh": -1}, {"max_v2v_power_w": 2**53}],
)
def test_issuing_nonsense_is_refused(issuer: LocalAccount, vehicle: LocalAccount, overrides: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        make_vc(issuer, vehicle, **overrides)


def test_both_roles_round_trip(issuer: LocalAccount, vehicle: LocalAccount) -> None:
    vc = make_vc(issuer, vehicle, roles=ROLE_BOTH)
    assert vc["credentialSubject"]["roles"] == ["buyer", "seller"]
    assert verify_vc(vc, now=NOW).roles == ROLE_BOTH


def test_a_signed_credential_without_a_context_is_refused(vc: dict[str, Any], issuer: LocalAccount) -> None:
    with pytest.raises(UnknownContext):
        verify_vc(resigned(issuer, vc, lambda document: document.pop("@context")), now=NOW)


def test_a_claim_nesting_objects_deeper_than_any_credential_is_malformed(vc: dict[str, Any]) -> None:
    nested: dict[str, Any] = {"leaf": "x"}
    for _ in range(10_000):
        nested = {"deeper": nested}
    vc["credentialSubject"]["nested"] = nested
    with pytest.raises(MalformedCredential, match="nests objects"):
        verify_vc(vc, now=NOW)
