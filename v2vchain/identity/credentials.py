"""Vehicle credentials (W3C VC 2.0 JSON), issued and checked without a chain.

The credential's main proof is the issuer's EIP-712 `Credential` signature from `registration.issue_credential`:
exactly the fields the Registry verifies, so the very signature a verifier checks here is the one that registers
on-chain. The vehicle attributes (battery, power, validFrom) are not Registry fields, so a second proof signs them;
without it a holder could inflate its battery capacity undetected. What only the chain knows (issuer still
authorised, revoked, registered expiry) comes in as plain facts through `check_registry_facts`; the node wires those
to the Registry.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from v2vchain.errors import InvalidInput
from v2vchain.protocol import eip712

from .did import address_of, did_for
from .errors import (
    CredentialExpired,
    CredentialNotYetValid,
    CredentialRevoked,
    CredentialSuperseded,
    ForgedCredential,
    InvalidDid,
    IssuerNotAuthorised,
    MalformedCredential,
    NotRegistered,
    WrongDeployment,
)
from .proofs import (
    MAX_TIMESTAMP,
    VC_CONTEXT,
    check_signed,
    iso,
    make_proof,
    parse_iso,
    proof_domain,
    same_deployment,
    uint_field,
)
from .registration import ROLE_BUYER, ROLE_SELLER, Credential, issue_credential

VC_TYPE = ["VerifiableCredential", "VehicleCredential"]
ATTRIBUTES_DOMAIN = ("V2V Vehicle Attributes", "1")
ATTRIBUTES_TYPES = {
    "VehicleAttributes": [
        {"name": "didHash", "type": "bytes32"},
        {"name": "batteryCapacityWh", "type": "uint64"},
        {"name": "maxV2vPowerW", "type": "uint64"},
        {"name": "validFrom", "type": "uint64"},
        {"name": "validUntil", "type": "uint64"},
    ]
}
ROLE_NAMES = {ROLE_BUYER: "buyer", ROLE_SELLER: "seller"}


@dataclass(frozen=True)
class VerifiedCredential:
    """What a verified credential asserts, as plain values."""

    vehicle: str
    did: str
    issuer: str
    roles: int
    valid_from: int
    valid_until: int
    battery_capacity_wh: int
    max_v2v_power_w: int
    registration: Credential  # the Registry.register arguments


def issue_vc(
    issuer: LocalAccount,
    *,
    registry: str,
    chain_id: int,
    vehicle_did: str,
    roles: int,
    battery_capacity_wh: int,
    max_v2v_power_w: int,
    valid_from: int,
    valid_until: int,
) -> dict[str, Any]:
    """A VehicleCredential for `vehicle_did`, signed by `issuer` for the Registry at `registry` on `chain_id`."""
    role_names(roles)
    if not 0 <= valid_from < valid_until <= MAX_TIMESTAMP:
        raise InvalidInput(f"need 0 <= validFrom < validUntil <= {MAX_TIMESTAMP}, got {valid_from}, {valid_until}")
    if not (0 <= battery_capacity_wh < 2**64 and 0 <= max_v2v_power_w < 2**64):
        raise InvalidInput("battery capacity and power must fit in uint64")
    registration = issue_credential(
        issuer,
        registry=registry,
        chain_id=chain_id,
        vehicle=address_of(vehicle_did),
        did=vehicle_did,
        roles=roles,
        expiry=valid_until,
    )
    issuer_did = did_for(issuer.address, chain_id)
    registry_domain = eip712.domain(eip712.REGISTRY_DOMAIN, chain_id, registry)
    attributes_domain = eip712.domain(ATTRIBUTES_DOMAIN, chain_id, registry)
    attributes = _attributes_message(vehicle_did, battery_capacity_wh, max_v2v_power_w, valid_from, valid_until)
    attributes_sig = eip712.sign(issuer, attributes_domain, ATTRIBUTES_TYPES, attributes)
    return copy.deepcopy(
        {  # the caller owns the result: no list or dict in it is shared with these constants
            "@context": VC_CONTEXT,
            "type": VC_TYPE,
            "issuer": issuer_did,
            "validFrom": iso(valid_from),
            "validUntil": iso(valid_until),
            "credentialSubject": {
                "id": vehicle_did,
                "batteryCapacityWh": battery_capacity_wh,
                "maxV2vPowerW": max_v2v_power_w,
                "roles": role_names(roles),
            },
            "proof": [
                make_proof(
                    issuer_did,
                    "assertionMethod",
                    valid_from,
                    registration.signature,
                    registry_domain,
                    eip712.CREDENTIAL_TYPES,
                ),
                make_proof(
                    issuer_did, "assertionMethod", valid_from, attributes_sig, attributes_domain, ATTRIBUTES_TYPES
                ),
            ],
        }
    )


def verify_vc(vc: Any, *, now: int, chain_id: int | None = None, registry: str | None = None) -> VerifiedCredential:
    """Check shape, both issuer signatures, the deployment (if given) and the validity period at `now`."""
    fields = _credential_fields(vc)
    issuer, did, roles, valid_from, valid_until, battery, power = fields
    registration_proof, attributes_proof = vc["proof"]
    domain = proof_domain(registration_proof, eip712.REGISTRY_DOMAIN, eip712.CREDENTIAL_TYPES, MalformedCredential)
    if not same_deployment(domain, chain_id, registry):
        raise WrongDeployment(
            f"credential signed for chain {domain['chainId']} registry "
            f"{domain['verifyingContract']}, expected chain {chain_id} registry {registry}",
            signed_domain=domain,
        )
    issuer_address = address_of(issuer)
    vehicle = address_of(did)
    registration_message = {"vehicle": vehicle, "didHash": keccak(text=did), "roles": roles, "expiry": valid_until}
    signature = check_signed(
        registration_proof, issuer, domain, eip712.CREDENTIAL_TYPES, registration_message, ForgedCredential, "issuer"
    )
    attributes_domain = eip712.domain(ATTRIBUTES_DOMAIN, domain["chainId"], domain["verifyingContract"])
    proof_domain(attributes_proof, ATTRIBUTES_DOMAIN, ATTRIBUTES_TYPES, MalformedCredential)
    if attributes_proof["eip712"]["domain"] != attributes_domain:
        raise WrongDeployment("the attribute proof is signed for another deployment than the registration proof")
    check_signed(
        attributes_proof,
        issuer,
        attributes_domain,
        ATTRIBUTES_TYPES,
        _attributes_message(did, battery, power, valid_from, valid_until),
        ForgedCredential,
        "issuer",
    )
    if now < valid_from:
        raise CredentialNotYetValid(
            f"credential is valid from {iso(valid_from)}, now is {iso(now)}", valid_from=valid_from, now=now
        )
    if valid_until <= now:  # as the Registry: expired at expiry, not after it
        raise CredentialExpired(
            f"credential expired at {iso(valid_until)}, now is {iso(now)}", valid_until=valid_until, now=now
        )
    registration = Credential(
        vehicle=vehicle, did=did, roles=roles, expiry=valid_until, issuer=issuer_address, signature=signature
    )
    return VerifiedCredential(
        vehicle=vehicle,
        did=did,
        issuer=issuer_address,
        roles=roles,
        valid_from=valid_from,
        valid_until=valid_until,
        battery_capacity_wh=battery,
        max_v2v_power_w=power,
        registration=registration,
    )


def check_registry_facts(
    vehicle: str, *, issuer_authorised: bool, revoked: bool, expiry: int, now: int, presented_expiry: int
) -> None:
    """The on-chain half of verification, on facts read from the Registry (expiry 0 = not registered)."""
    if expiry == 0:
        raise NotRegistered(f"vehicle {vehicle} is not registered", vehicle=vehicle)
    if revoked:
        raise CredentialRevoked(f"the credential of vehicle {vehicle} was revoked", vehicle=vehicle)
    if not issuer_authorised:
        raise IssuerNotAuthorised(f"the issuer of vehicle {vehicle} is not authorised on-chain", vehicle=vehicle)
    if expiry <= now:
        raise CredentialExpired(f"the registration of {vehicle} expired at {iso(expiry)}", valid_until=expiry, now=now)
    if expiry != presented_expiry:
        raise CredentialSuperseded(
            f"vehicle {vehicle} is registered until {iso(expiry)}, but the credential "
            f"presented runs until {iso(presented_expiry)}",
            registered=expiry,
            presented=presented_expiry,
        )


def role_names(roles: int) -> list[str]:
    if not isinstance(roles, int) or roles <= 0 or roles & ~(ROLE_BUYER | ROLE_SELLER):
        raise InvalidInput(f"roles must be a non-empty mask of buyer (1) and seller (2), got {roles!r}")
    return [name for bit, name in ROLE_NAMES.items() if roles & bit]


def roles_from_names(names: Any) -> int:
    if (
        not isinstance(names, list)
        or not names
        or not all(isinstance(n, str) for n in names)
        or len(set(names)) != len(names)
        or not set(names) <= set(ROLE_NAMES.values())
    ):
        raise MalformedCredential(f"roles must be a non-empty list of 'buyer'/'seller', got {names!r}")
    return sum(bit for bit, name in ROLE_NAMES.items() if name in names)


def _attributes_message(did: str, battery: int, power: int, valid_from: int, valid_until: int) -> dict[str, Any]:
    return {
        "didHash": keccak(text=did),
        "batteryCapacityWh": battery,
        "maxV2vPowerW": power,
        "validFrom": valid_from,
        "validUntil": valid_until,
    }


def _credential_fields(vc: Any) -> tuple[str, str, int, int, int, int, int]:
    """(issuer DID, subject DID, roles, validFrom, validUntil, battery Wh, power W), or MalformedCredential."""
    bad = MalformedCredential
    if not isinstance(vc, dict) or vc.get("@context") != VC_CONTEXT or vc.get("type") != VC_TYPE:
        raise bad("not a VehicleCredential: @context or type is wrong")
    subject, proofs = vc.get("credentialSubject"), vc.get("proof")
    if not isinstance(subject, dict) or not isinstance(proofs, list) or len(proofs) != 2:
        raise bad("credentialSubject must be an object and proof a list of two proofs")
    try:
        address_of(str(vc.get("issuer"))), address_of(str(subject.get("id")))
    except InvalidDid as error:
        raise bad(f"issuer or subject is not a did:pkh DID: {error}") from None
    return (
        vc["issuer"],
        subject["id"],
        roles_from_names(subject.get("roles")),
        parse_iso(vc.get("validFrom")),
        parse_iso(vc.get("validUntil")),
        uint_field(subject, "batteryCapacityWh", 64),
        uint_field(subject, "maxV2vPowerW", 64),
    )
