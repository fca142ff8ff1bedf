"""Vehicle credentials (W3C VC 2.0 JSON) and presentations, checked without a chain.

The credential's main proof is the issuer's EIP-712 `Credential` signature from `identity.issue_credential`: exactly
the fields the Registry verifies, so the very signature a verifier checks here is the one that registers on-chain.
The vehicle attributes (battery, power, validFrom) are not Registry fields, so a second proof signs them; without it
a holder could inflate its battery capacity undetected. A presentation is the holder's EIP-712 signature over the
credential's hash, a single-use challenge and the verifier's DID, so it cannot be replayed or shown to anyone else.
What only the chain knows (issuer still authorised, revoked, registered expiry) comes in as plain facts
through `check_registry_facts`; the node wires those to the Registry.
"""
from __future__ import annotations

import copy
import hmac
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Callable

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from v2vchain.errors import InvalidInput, V2VError
from v2vchain.protocol import eip712

from .did import (
    ROLE_BUYER,
    ROLE_SELLER,
    Credential,
    InvalidDid,
    address_of,
    did_for,
    issue_credential,
    verification_method_id,
)

VC_CONTEXT = ["https://www.w3.org/ns/credentials/v2"]
VC_TYPE = ["VerifiableCredential", "VehicleCredential"]
VP_TYPE = ["VerifiablePresentation"]
PROOF_TYPE = "EthereumEip712Signature2021"
ATTRIBUTES_DOMAIN = ("V2V Vehicle Attributes", "1")
PRESENTATION_DOMAIN = ("V2V Presentation", "1")
ATTRIBUTES_TYPES = {"VehicleAttributes": [
    {"name": "didHash", "type": "bytes32"},
    {"name": "batteryCapacityWh", "type": "uint64"},
    {"name": "maxV2vPowerW", "type": "uint64"},
    {"name": "validFrom", "type": "uint64"},
    {"name": "validUntil", "type": "uint64"},
]}
PRESENTATION_TYPES = {"Presentation": [
    {"name": "credentialHash", "type": "bytes32"},
    {"name": "challenge", "type": "bytes32"},
    {"name": "domain", "type": "string"},
    {"name": "sealKey", "type": "bytes32"},  # the holder's X25519 key, so the meeting point is sealed to it
    {"name": "issuedAt", "type": "uint64"},
]}
ROLE_NAMES = {ROLE_BUYER: "buyer", ROLE_SELLER: "seller"}
_HEX32 = re.compile(r"0x[0-9a-fA-F]{64}")
_SIGNATURE = re.compile(r"0x[0-9a-fA-F]{130}")
MAX_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z, the last instant an ISO 8601 year of 4 digits can say
RegistryFacts = Callable[[str], "tuple[bool, bool, int]"]


class CredentialError(V2VError):
    """A credential, presentation or access secret was rejected; `values` holds what the check compared."""

    def __init__(self, message: str, **values: Any) -> None:
        super().__init__(message)
        self.values = values


class MalformedCredential(CredentialError, InvalidInput):
    """The credential JSON is not the VehicleCredential shape."""


class MalformedPresentation(CredentialError, InvalidInput):
    """The presentation JSON is not the expected shape."""


class ForgedCredential(CredentialError):
    """An issuer proof does not recover to the credential's issuer."""


class WrongDeployment(CredentialError):
    """Signed for another chain or Registry than the verifier's."""


class CredentialNotYetValid(CredentialError):
    """validFrom is in the future."""


class CredentialExpired(CredentialError):
    """validUntil (or the registered expiry) has passed."""


class SubjectMismatch(CredentialError):
    """The presentation's holder is not the credential's subject."""


class ForgedPresentation(CredentialError):
    """The presentation's signature does not recover to its holder."""


class UnknownChallenge(CredentialError):
    """The challenge was never issued by this verifier (or was forgotten after expiry)."""


class ChallengeExpired(CredentialError):
    """The challenge was issued too long ago."""


class ReplayedChallenge(CredentialError):
    """The challenge was already used by an earlier presentation."""


class WrongDomain(CredentialError):
    """The presentation was made for another verifier."""


class NotRegistered(CredentialError):
    """The Registry has no credential for the vehicle."""


class CredentialRevoked(CredentialError):
    """The issuer revoked the vehicle's credential on-chain."""


class IssuerNotAuthorised(CredentialError):
    """The Registry no longer (or never) authorised the vehicle's issuer."""


class CredentialSuperseded(CredentialError):
    """The Registry holds a different credential for the vehicle (another expiry) than the one presented."""


class VerifierBusy(CredentialError):
    """More challenges were answered within one challenge lifetime than the verifier keeps spent: try again later."""


class AccessDenied(CredentialError):
    """The access secret shown at the meeting does not hash to the commitment on-chain."""


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


@dataclass(frozen=True)
class VerifiedPresentation:
    holder: str
    credential: VerifiedCredential
    seal_key: bytes  # 32-byte X25519 public key of the holder


# --- issuing and checking credentials ---------------------------------------------------------------------------

def issue_vc(issuer: LocalAccount, *, registry: str, chain_id: int, vehicle_did: str, roles: int,
             battery_capacity_wh: int, max_v2v_power_w: int, valid_from: int, valid_until: int) -> dict[str, Any]:
    """A VehicleCredential for `vehicle_did`, signed by `issuer` for the Registry at `registry` on `chain_id`."""
    role_names(roles)
    if not 0 <= valid_from < valid_until <= MAX_TIMESTAMP:
        raise InvalidInput(f"need 0 <= validFrom < validUntil <= {MAX_TIMESTAMP}, got {valid_from}, {valid_until}")
    if not (0 <= battery_capacity_wh < 2**64 and 0 <= max_v2v_power_w < 2**64):
        raise InvalidInput("battery capacity and power must fit in uint64")
    registration = issue_credential(issuer, registry=registry, chain_id=chain_id, vehicle=address_of(vehicle_did),
                                    did=vehicle_did, roles=roles, expiry=valid_until)
    issuer_did = did_for(issuer.address, chain_id)
    registry_domain = eip712.domain(eip712.REGISTRY_DOMAIN, chain_id, registry)
    attributes_domain = eip712.domain(ATTRIBUTES_DOMAIN, chain_id, registry)
    attributes = _attributes_message(vehicle_did, battery_capacity_wh, max_v2v_power_w, valid_from, valid_until)
    attributes_sig = eip712.sign(issuer, attributes_domain, ATTRIBUTES_TYPES, attributes)
    return copy.deepcopy({  # the caller owns the result: no list or dict in it is shared with these constants
        "@context": VC_CONTEXT,
        "type": VC_TYPE,
        "issuer": issuer_did,
        "validFrom": iso(valid_from),
        "validUntil": iso(valid_until),
        "credentialSubject": {
            "id": vehicle_did, "batteryCapacityWh": battery_capacity_wh, "maxV2vPowerW": max_v2v_power_w,
            "roles": role_names(roles),
        },
        "proof": [
            _proof(issuer_did, "assertionMethod", valid_from, registration.signature, registry_domain,
                   eip712.CREDENTIAL_TYPES),
            _proof(issuer_did, "assertionMethod", valid_from, attributes_sig, attributes_domain, ATTRIBUTES_TYPES),
        ],
    })


def verify_vc(vc: Any, *, now: int, chain_id: int | None = None, registry: str | None = None) -> VerifiedCredential:
    """Check shape, both issuer signatures, the deployment (if given) and the validity period at `now`."""
    fields = _credential_fields(vc)
    issuer, did, roles, valid_from, valid_until, battery, power = fields
    registration_proof, attributes_proof = vc["proof"]
    domain = _proof_domain(registration_proof, eip712.REGISTRY_DOMAIN, eip712.CREDENTIAL_TYPES, MalformedCredential)
    if not _same_deployment(domain, chain_id, registry):
        raise WrongDeployment(f"credential signed for chain {domain['chainId']} registry "
                              f"{domain['verifyingContract']}, expected chain {chain_id} registry {registry}",
                              signed_domain=domain)
    issuer_address = address_of(issuer)
    vehicle = address_of(did)
    registration_message = {"vehicle": vehicle, "didHash": keccak(text=did), "roles": roles, "expiry": valid_until}
    signature = _check_signed(registration_proof, issuer, domain, eip712.CREDENTIAL_TYPES, registration_message,
                              ForgedCredential, "issuer")
    attributes_domain = eip712.domain(ATTRIBUTES_DOMAIN, domain["chainId"], domain["verifyingContract"])
    _proof_domain(attributes_proof, ATTRIBUTES_DOMAIN, ATTRIBUTES_TYPES, MalformedCredential)
    if attributes_proof["eip712"]["domain"] != attributes_domain:
        raise WrongDeployment("the attribute proof is signed for another deployment than the registration proof")
    _check_signed(attributes_proof, issuer, attributes_domain, ATTRIBUTES_TYPES,
                  _attributes_message(did, battery, power, valid_from, valid_until), ForgedCredential, "issuer")
    if now < valid_from:
        raise CredentialNotYetValid(f"credential is valid from {iso(valid_from)}, now is {iso(now)}",
                                    valid_from=valid_from, now=now)
    if valid_until <= now:  # as the Registry: expired at expiry, not after it
        raise CredentialExpired(f"credential expired at {iso(valid_until)}, now is {iso(now)}",
                                valid_until=valid_until, now=now)
    registration = Credential(vehicle=vehicle, did=did, roles=roles, expiry=valid_until, issuer=issuer_address,
                              signature=signature)
    return VerifiedCredential(vehicle=vehicle, did=did, issuer=issuer_address, roles=roles, valid_from=valid_from,
                              valid_until=valid_until, battery_capacity_wh=battery, max_v2v_power_w=power,
                              registration=registration)


def check_registry_facts(vehicle: str, *, issuer_authorised: bool, revoked: bool, expiry: int, now: int,
                         presented_expiry: int) -> None:
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
        raise CredentialSuperseded(f"vehicle {vehicle} is registered until {iso(expiry)}, but the credential "
                                   f"presented runs until {iso(presented_expiry)}", registered=expiry,
                                   presented=presented_expiry)


# --- presentations ----------------------------------------------------------------------------------------------

def present(holder: LocalAccount, vc: dict[str, Any], *, challenge: str, domain: str, seal_key: bytes,
            now: int) -> dict[str, Any]:
    """The holder's presentation of `vc` to the verifier whose DID is `domain`, answering its `challenge`."""
    if len(seal_key) != 32:
        raise InvalidInput(f"the seal key is a 32-byte X25519 public key, got {len(seal_key)} bytes")
    signed_domain = _presentation_domain(vc)
    message = {"credentialHash": credential_hash(vc), "challenge": _bytes32(challenge, InvalidInput, "challenge"),
               "domain": domain, "sealKey": seal_key, "issuedAt": now}
    holder_did = vc["credentialSubject"]["id"]
    signature = eip712.sign(holder, signed_domain, PRESENTATION_TYPES, message)
    proof = _proof(holder_did, "authentication", now, signature, signed_domain, PRESENTATION_TYPES)
    proof.update(challenge=challenge, domain=domain, sealKey="0x" + seal_key.hex())
    return copy.deepcopy({"@context": VC_CONTEXT, "type": VP_TYPE, "holder": holder_did,
                          "verifiableCredential": [vc], "proof": proof})


class Verifier:
    """One party's side of the meeting handshake: issues single-use challenges and verifies presentations.

    Challenges are stateless, so handing them out costs no memory however many are asked for: 5 bytes of issue
    time, 11 random bytes, and 16 bytes of HMAC-SHA256 under a key only this verifier holds. Only challenges
    actually answered are remembered (as spent), until they would have expired anyway, and at most `max_spent`.
    """

    MAX_SPENT = 10_000

    def __init__(self, did: str, *, chain_id: int, registry: str, registry_facts: RegistryFacts,
                 challenge_ttl_s: int = 300, clock: Callable[[], float] = time.time,
                 max_spent: int = MAX_SPENT) -> None:
        self.did = did
        self.chain_id = chain_id
        self.registry = registry
        self._registry_facts = registry_facts
        self._ttl = challenge_ttl_s
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._max_spent = max_spent
        self._spent: dict[str, int] = {}  # challenge -> issued at; kept until it would have expired anyway
        self._lock = threading.Lock()

    def challenge(self) -> str:
        body = int(self._clock()).to_bytes(5, "big") + secrets.token_bytes(11)
        return "0x" + (body + self._tag(body)).hex()

    def _tag(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, "sha256").digest()[:16]

    def _issued_at(self, challenge: str) -> int | None:
        """When this verifier issued `challenge`, or None if it never did."""
        raw = bytes.fromhex(challenge[2:])
        body, tag = raw[:16], raw[16:]
        if not hmac.compare_digest(tag, self._tag(body)):
            return None
        return int.from_bytes(body[:5], "big")

    def verify(self, vp: Any) -> VerifiedPresentation:
        """Verify once: the challenge is spent on the first attempt, so even a failed one cannot be retried."""
        now = int(self._clock())
        self._forget_expired(now)
        vc, proof = _presentation_parts(vp)
        self._spend(proof["challenge"].lower(), now)
        if proof["domain"] != self.did:
            raise WrongDomain(f"presentation was made for {proof['domain']!r}, not for {self.did!r}",
                              domain=proof["domain"])
        subject = vc["credentialSubject"].get("id")
        if vp["holder"] != subject:
            raise SubjectMismatch(f"holder {vp['holder']!r} is not the credential subject {subject!r}")
        credential = verify_vc(vc, now=now, chain_id=self.chain_id, registry=self.registry)
        signed_domain = _proof_domain(proof, PRESENTATION_DOMAIN, PRESENTATION_TYPES, MalformedPresentation)
        if not _same_deployment(signed_domain, self.chain_id, self.registry):
            raise WrongDeployment(f"presentation signed for chain {signed_domain['chainId']} registry "
                                  f"{signed_domain['verifyingContract']}", signed_domain=signed_domain)
        seal_key = bytes.fromhex(proof["sealKey"][2:])
        issued_at = parse_iso(proof.get("created"), MalformedPresentation)
        message = {"credentialHash": credential_hash(vc), "challenge": bytes.fromhex(proof["challenge"][2:]),
                   "domain": proof["domain"], "sealKey": seal_key, "issuedAt": issued_at}
        _check_signed(proof, vp["holder"], signed_domain, PRESENTATION_TYPES, message, ForgedPresentation, "holder")
        issuer_authorised, revoked, expiry = self._registry_facts(credential.vehicle)
        check_registry_facts(credential.vehicle, issuer_authorised=issuer_authorised, revoked=revoked, expiry=expiry,
                             now=now, presented_expiry=credential.valid_until)
        return VerifiedPresentation(holder=credential.vehicle, credential=credential, seal_key=seal_key)

    def _spend(self, challenge: str, now: int) -> None:
        with self._lock:
            self._spend_locked(challenge, now)

    def _spend_locked(self, challenge: str, now: int) -> None:
        if challenge in self._spent:
            raise ReplayedChallenge(f"challenge {challenge} was already used", challenge=challenge)
        issued_at = self._issued_at(challenge)
        if issued_at is None or issued_at > now:
            raise UnknownChallenge(f"challenge {challenge} was not issued by this verifier", challenge=challenge)
        if now - issued_at > self._ttl:  # expired: refused without being remembered, it can never pass again
            raise ChallengeExpired(f"challenge issued {now - issued_at} s ago; the limit is {self._ttl} s",
                                   challenge=challenge, age_s=now - issued_at)
        if len(self._spent) >= self._max_spent:
            raise VerifierBusy(f"{self._max_spent} challenges answered within {self._ttl} s; try again later")
        self._spent[challenge] = issued_at

    def _forget_expired(self, now: int) -> None:
        with self._lock:
            for challenge in [c for c, issued in self._spent.items() if now - issued > self._ttl]:
                del self._spent[challenge]


# --- access tokens for the meeting -----------------------------------------------------------------------------

def new_access_secret() -> bytes:
    """32 random bytes; the buyer commits keccak(secret) on-chain and reveals the secret only at the meeting."""
    return secrets.token_bytes(32)


def access_hash(secret: bytes) -> bytes:
    return keccak(secret)


def check_access(secret: bytes, committed_hash: bytes) -> None:
    """Raise AccessDenied unless keccak(secret) is the commitment (compared in constant time)."""
    if not hmac.compare_digest(keccak(secret), bytes(committed_hash)):
        raise AccessDenied("the access secret does not match the hash committed on-chain")


# --- helpers ----------------------------------------------------------------------------------------------------

def role_names(roles: int) -> list[str]:
    if not isinstance(roles, int) or roles <= 0 or roles & ~(ROLE_BUYER | ROLE_SELLER):
        raise InvalidInput(f"roles must be a non-empty mask of buyer (1) and seller (2), got {roles!r}")
    return [name for bit, name in ROLE_NAMES.items() if roles & bit]


def roles_from_names(names: Any) -> int:
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names) \
            or len(set(names)) != len(names) or not set(names) <= set(ROLE_NAMES.values()):
        raise MalformedCredential(f"roles must be a non-empty list of 'buyer'/'seller', got {names!r}")
    return sum(bit for bit, name in ROLE_NAMES.items() if name in names)


def iso(ts: int) -> str:
    """VC 2.0 dateTimeStamp in UTC, whole seconds: one string per signed uint64 timestamp."""
    if not 0 <= ts <= MAX_TIMESTAMP:
        return f"@{ts}"  # only in messages: on-chain expiries may exceed year 9999
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: Any, error: type[CredentialError] = MalformedCredential) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise error(f"not an ISO 8601 date-time: {text!r}") from None
    if moment.tzinfo is None or moment.microsecond:
        raise error(f"date-time must carry a time zone and whole seconds: {text!r}")
    return int(moment.timestamp())


def credential_hash(vc: Any) -> bytes:
    """keccak of the credential as canonical JSON (sorted keys, no spaces; values are strings and integers only)."""
    return keccak(json.dumps(vc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())


def _attributes_message(did: str, battery: int, power: int, valid_from: int, valid_until: int) -> dict[str, Any]:
    return {"didHash": keccak(text=did), "batteryCapacityWh": battery, "maxV2vPowerW": power,
            "validFrom": valid_from, "validUntil": valid_until}


def _proof(signer_did: str, purpose: str, created: int, signature: bytes, domain: dict[str, Any],
           types: dict[str, Any]) -> dict[str, Any]:
    (primary,) = types
    return {"type": PROOF_TYPE, "created": iso(created), "proofPurpose": purpose,
            "verificationMethod": verification_method_id(signer_did), "proofValue": "0x" + signature.hex(),
            "eip712": {"domain": domain, "types": types, "primaryType": primary}}


def _credential_fields(vc: Any) -> tuple[str, str, int, int, int, int, int]:
    """(issuer DID, subject DID, roles, validFrom, validUntil, battery Wh, power W), or MalformedCredential."""
    bad = MalformedCredential
    if not isinstance(vc, dict) or vc.get("@context") != VC_CONTEXT or vc.get("type") != VC_TYPE:
        raise bad("not a VehicleCredential: @context or type is wrong")
    subject, proofs = vc.get("credentialSubject"), vc.get("proof")
    if not isinstance(subject, dict) or not isinstance(proofs, list) or len(proofs) != 2:
        raise bad("credentialSubject must be an object and proof a list of two proofs")
    try:
        address_of(vc.get("issuer")), address_of(subject.get("id"))
    except InvalidDid as error:
        raise bad(f"issuer or subject is not a did:pkh DID: {error}") from None
    return (vc["issuer"], subject["id"], roles_from_names(subject.get("roles")), parse_iso(vc.get("validFrom")),
            parse_iso(vc.get("validUntil")), _uint(subject, "batteryCapacityWh", 64),
            _uint(subject, "maxV2vPowerW", 64))


def _presentation_parts(vp: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    bad = MalformedPresentation
    if not isinstance(vp, dict) or vp.get("@context") != VC_CONTEXT or vp.get("type") != VP_TYPE:
        raise bad("not a VerifiablePresentation: @context or type is wrong")
    credentials, proof = vp.get("verifiableCredential"), vp.get("proof")
    if not isinstance(credentials, list) or len(credentials) != 1 or not isinstance(proof, dict):
        raise bad("a presentation carries exactly one credential and one proof")
    if not isinstance(credentials[0], dict) or not isinstance(credentials[0].get("credentialSubject"), dict):
        raise bad("the presented credential has no credentialSubject")
    _bytes32(proof.get("challenge"), bad, "challenge")
    _bytes32(proof.get("sealKey"), bad, "sealKey")
    if not isinstance(proof.get("domain"), str) or not isinstance(vp.get("holder"), str):
        raise bad("proof.domain and holder must be strings")
    return credentials[0], proof


def _presentation_domain(vc: dict[str, Any]) -> dict[str, Any]:
    domain = _proof_domain(vc["proof"][0], eip712.REGISTRY_DOMAIN, eip712.CREDENTIAL_TYPES, MalformedCredential)
    return eip712.domain(PRESENTATION_DOMAIN, domain["chainId"], domain["verifyingContract"])


def _proof_domain(proof: Any, name_version: tuple[str, str], types: dict[str, Any],
                  bad: type[CredentialError]) -> dict[str, Any]:
    """The embedded EIP-712 domain, after checking the proof names our domain and types (never trusting its own)."""
    purpose = "authentication" if types is PRESENTATION_TYPES else "assertionMethod"
    try:
        embedded = proof["eip712"]
        domain = embedded["domain"]
        ok = (proof["type"] == PROOF_TYPE and proof["proofPurpose"] == purpose and embedded["types"] == types
              and embedded["primaryType"] == next(iter(types)) and (domain["name"], domain["version"]) == name_version
              and type(domain["chainId"]) is int and isinstance(domain["verifyingContract"], str))
    except (KeyError, TypeError):
        ok = False
    if not ok:
        raise bad(f"proof is not an {PROOF_TYPE} for {purpose} over {eip712.type_string(types)} "
                  f"in domain {name_version[0]!r}")
    return domain


def _same_deployment(domain: dict[str, Any], chain_id: int | None, registry: str | None) -> bool:
    """None matches any; addresses compare case-insensitively, as EIP-712 encodes them as 20 bytes."""
    return (chain_id is None or domain["chainId"] == chain_id) and \
        (registry is None or domain["verifyingContract"].lower() == registry.lower())


def _check_signed(proof: dict[str, Any], signer_did: str, domain: dict[str, Any], types: dict[str, Any],
                  message: dict[str, Any], forged: type[CredentialError], role: str) -> bytes:
    """Recover the proof's signature and insist it is `signer_did`'s account; return the signature."""
    if proof.get("verificationMethod") != verification_method_id(signer_did):
        raise forged(f"proof names verification method {proof.get('verificationMethod')!r}, not the {role}'s")
    value = proof.get("proofValue")
    if not isinstance(value, str) or not _SIGNATURE.fullmatch(value):
        raise forged(f"{role} proofValue is not a 65-byte hex signature")
    signature = bytes.fromhex(value[2:])
    try:
        signer = eip712.recover(domain, types, message, signature)
    except Exception:  # any failure to recover is a bad signature, whatever the library calls it
        signer = None
    expected = address_of(signer_did)
    if signer != expected:
        raise forged(f"{role} signature recovers to {signer}, not to {expected}", signer=signer, expected=expected)
    return signature


def _uint(container: dict[str, Any], key: str, bits: int, error: type[CredentialError] = MalformedCredential) -> int:
    value = container.get(key)
    if type(value) is not int or not 0 <= value < 2**bits:
        raise error(f"{key} must be an integer in [0, 2**{bits}), got {value!r}")
    return value


def _bytes32(value: Any, error: type[Exception], name: str) -> bytes:
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise error(f"{name} must be 0x followed by 64 hex digits")
    return bytes.fromhex(value[2:])
