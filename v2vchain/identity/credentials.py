"""Vehicle credentials (W3C VC 2.0 JSON), issued and checked without a chain.

One proof, of the EthereumEip712Signature2021 suite (`suite.py`), signs the whole document: context, types, issuer,
validity, every subject claim and the status. The status names the Registry that holds the vehicle's registration and
carries the issuer's separate EIP-712 `Credential` signature that registers it there (vehicle, DID hash, roles,
expiry): the Registry checks that one on-chain, the document proof covers it like any other field. What only the
chain knows (issuer still authorised, revoked, registered expiry) comes in as plain facts through
`check_registry_facts`; the node wires those to the Registry.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from v2vchain.errors import InvalidInput
from v2vchain.protocol import eip712

from .contexts import CREDENTIAL_CONTEXT, check_context
from .dates import MAX_TIMESTAMP, iso, parse_date_time_stamp
from .did import address_of, canonical_did, did_for, did_hash
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
from .proofs import same_deployment
from .registration import ROLE_BUYER, ROLE_SELLER, Credential, issue_credential
from .suite import MAX_JSON_INTEGER, proof_options, sign_document, verify_document

VC_TYPE = ["VerifiableCredential", "VehicleCredential"]
PRIMARY_TYPE = "VerifiableCredential"
CREDENTIAL_DOMAIN = ("V2V Vehicle Credential", "1")
STATUS_TYPE = "V2VRegistryStatus"
ROLE_NAMES = {ROLE_BUYER: "buyer", ROLE_SELLER: "seller"}
_MEMBERS = {"@context", "type", "issuer", "validFrom", "validUntil", "credentialSubject", "credentialStatus", "proof"}
_SUBJECT_MEMBERS = {"id", "batteryCapacityWh", "maxV2vPowerW", "roles"}
_STATUS_MEMBERS = {"id", "type", "registrationSignature"}
_SIGNATURE = re.compile(r"0x[0-9a-fA-F]{130}")


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
    if not (0 <= battery_capacity_wh <= MAX_JSON_INTEGER and 0 <= max_v2v_power_w <= MAX_JSON_INTEGER):
        raise InvalidInput(f"battery capacity and power must be integers in [0, {MAX_JSON_INTEGER}] (exact in JSON)")
    vehicle_did = canonical_did(vehicle_did)
    registry = to_checksum_address(registry)
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
    document = {
        "@context": CREDENTIAL_CONTEXT,
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
        "credentialStatus": {
            "id": status_id(chain_id, registry),
            "type": STATUS_TYPE,
            "registrationSignature": "0x" + registration.signature.hex(),
        },
    }
    options = proof_options(issuer_did, "assertionMethod", iso(valid_from))
    domain = eip712.domain(CREDENTIAL_DOMAIN, chain_id, registry)
    # the caller owns the result: no list or dict in it is shared with these constants
    return copy.deepcopy(sign_document(issuer, document, options, domain, PRIMARY_TYPE))


def status_id(chain_id: int, registry: str) -> str:
    """The Registry that holds the status, as a CAIP-10 account id (eip155:<chain id>:<address>)."""
    return f"eip155:{chain_id}:{to_checksum_address(registry)}"


def verify_vc(vc: Any, *, now: int, chain_id: int | None = None, registry: str | None = None) -> VerifiedCredential:
    """Check the document proof, the context, the shape, the registration signature, the deployment (if given) and
    the validity period at `now`."""
    signer_did, domain, _ = verify_document(
        vc, primary=PRIMARY_TYPE, purpose="assertionMethod", bad=MalformedCredential, forged=ForgedCredential
    )
    check_context(vc.get("@context"))
    issuer, did, roles, valid_from, valid_until, battery, power, registration_signature = _credential_fields(vc)
    if canonical_did(signer_did) != canonical_did(issuer):
        raise ForgedCredential(f"the proof is by {signer_did}, not by the issuer {issuer}")
    if (domain["name"], domain["version"]) != CREDENTIAL_DOMAIN:
        raise MalformedCredential(f"the proof's EIP-712 domain must be {CREDENTIAL_DOMAIN}, got {domain['name']!r}")
    if not same_deployment(domain, chain_id, registry):
        raise WrongDeployment(
            f"credential signed for chain {domain['chainId']} registry "
            f"{domain['verifyingContract']}, expected chain {chain_id} registry {registry}",
            signed_domain=domain,
        )
    if vc["credentialStatus"]["id"] != status_id(domain["chainId"], domain["verifyingContract"]):
        raise WrongDeployment("credentialStatus names another Registry than the proof's domain", signed_domain=domain)
    registration = Credential(
        vehicle=address_of(did),
        did=canonical_did(did),
        roles=roles,
        expiry=valid_until,
        issuer=address_of(issuer),
        signature=registration_signature,
    )
    _check_registration_signature(registration, domain)
    if now < valid_from:
        raise CredentialNotYetValid(
            f"credential is valid from {iso(valid_from)}, now is {iso(now)}", valid_from=valid_from, now=now
        )
    if valid_until <= now:  # as the Registry: expired at expiry, not after it
        raise CredentialExpired(
            f"credential expired at {iso(valid_until)}, now is {iso(now)}", valid_until=valid_until, now=now
        )
    return VerifiedCredential(
        vehicle=registration.vehicle,
        did=registration.did,
        issuer=registration.issuer,
        roles=roles,
        valid_from=valid_from,
        valid_until=valid_until,
        battery_capacity_wh=battery,
        max_v2v_power_w=power,
        registration=registration,
    )


def _check_registration_signature(registration: Credential, domain: dict[str, Any]) -> None:
    """The signature the Registry will check must be the issuer's over these very fields."""
    registry_domain = eip712.domain(eip712.REGISTRY_DOMAIN, domain["chainId"], domain["verifyingContract"])
    message = {
        "vehicle": registration.vehicle,
        "didHash": did_hash(registration.did),
        "roles": registration.roles,
        "expiry": registration.expiry,
    }
    try:
        signer = eip712.recover(registry_domain, eip712.CREDENTIAL_TYPES, message, registration.signature)
    except Exception:  # any failure to recover is a bad signature, whatever the library calls it
        signer = None
    if signer != registration.issuer:
        raise ForgedCredential(
            f"the registration signature recovers to {signer}, not to the issuer {registration.issuer}",
            signer=signer,
            expected=registration.issuer,
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


def _credential_fields(vc: dict[str, Any]) -> tuple[str, str, int, int, int, int, int, bytes]:
    """(issuer DID, subject DID, roles, validFrom, validUntil, battery Wh, power W, registration signature)."""
    bad = MalformedCredential
    subject, status = vc.get("credentialSubject"), vc.get("credentialStatus")
    if set(vc) != _MEMBERS or vc["type"] != VC_TYPE:
        raise bad(f"not a VehicleCredential: its members must be {sorted(_MEMBERS)} and its type {VC_TYPE}")
    if not isinstance(subject, dict) or set(subject) != _SUBJECT_MEMBERS:
        raise bad(f"credentialSubject must hold exactly {sorted(_SUBJECT_MEMBERS)}")
    if not isinstance(status, dict) or set(status) != _STATUS_MEMBERS or status["type"] != STATUS_TYPE:
        raise bad(f"credentialStatus must be a {STATUS_TYPE} holding exactly {sorted(_STATUS_MEMBERS)}")
    signature = status["registrationSignature"]
    if not isinstance(signature, str) or not _SIGNATURE.fullmatch(signature):
        raise bad("registrationSignature is not a 65-byte hex signature")
    try:
        address_of(str(vc["issuer"])), address_of(str(subject["id"]))
    except InvalidDid as error:
        raise bad(f"issuer or subject is not a did:pkh DID: {error}") from None
    parse_date_time_stamp(vc["proof"].get("created"))
    return (
        vc["issuer"],
        subject["id"],
        roles_from_names(subject["roles"]),
        parse_date_time_stamp(vc["validFrom"]),
        parse_date_time_stamp(vc["validUntil"]),
        _json_integer(subject, "batteryCapacityWh"),
        _json_integer(subject, "maxV2vPowerW"),
        bytes.fromhex(signature[2:]),
    )


def _json_integer(container: dict[str, Any], key: str) -> int:
    value = container[key]
    if type(value) is not int or not 0 <= value <= MAX_JSON_INTEGER:
        raise MalformedCredential(f"{key} must be an integer in [0, {MAX_JSON_INTEGER}], got {value!r}")
    return value
