"""Presentations at the meeting: the holder signs the credential's hash, a single-use challenge and the verifier's
DID, so a presentation cannot be replayed or shown to anyone else. The verifier's challenges are stateless.
"""

from __future__ import annotations

import copy
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

from v2vchain.errors import InvalidInput
from v2vchain.protocol import eip712

from .credentials import VerifiedCredential, check_registry_facts, verify_vc
from .errors import (
    ChallengeExpired,
    ForgedPresentation,
    MalformedCredential,
    MalformedPresentation,
    ReplayedChallenge,
    SubjectMismatch,
    UnknownChallenge,
    VerifierBusy,
    WrongDeployment,
    WrongDomain,
)
from .proofs import (
    VC_CONTEXT,
    bytes32_field,
    check_signed,
    credential_hash,
    make_proof,
    parse_iso,
    proof_domain,
    same_deployment,
)

VP_TYPE = ["VerifiablePresentation"]
PRESENTATION_DOMAIN = ("V2V Presentation", "1")
PRESENTATION_TYPES = {
    "Presentation": [
        {"name": "credentialHash", "type": "bytes32"},
        {"name": "challenge", "type": "bytes32"},
        {"name": "domain", "type": "string"},
        {"name": "sealKey", "type": "bytes32"},  # the holder's X25519 key, so the meeting point is sealed to it
        {"name": "issuedAt", "type": "uint64"},
    ]
}
RegistryFacts = Callable[[str], "tuple[bool, bool, int]"]


@dataclass(frozen=True)
class VerifiedPresentation:
    holder: str
    credential: VerifiedCredential
    seal_key: bytes  # 32-byte X25519 public key of the holder


def present(
    holder: LocalAccount, vc: dict[str, Any], *, challenge: str, domain: str, seal_key: bytes, now: int
) -> dict[str, Any]:
    """The holder's presentation of `vc` to the verifier whose DID is `domain`, answering its `challenge`."""
    if len(seal_key) != 32:
        raise InvalidInput(f"the seal key is a 32-byte X25519 public key, got {len(seal_key)} bytes")
    signed_domain = _presentation_domain(vc)
    message = {
        "credentialHash": credential_hash(vc),
        "challenge": bytes32_field(challenge, InvalidInput, "challenge"),
        "domain": domain,
        "sealKey": seal_key,
        "issuedAt": now,
    }
    holder_did = vc["credentialSubject"]["id"]
    signature = eip712.sign(holder, signed_domain, PRESENTATION_TYPES, message)
    proof = make_proof(holder_did, "authentication", now, signature, signed_domain, PRESENTATION_TYPES)
    proof.update(challenge=challenge, domain=domain, sealKey="0x" + seal_key.hex())
    return copy.deepcopy(
        {"@context": VC_CONTEXT, "type": VP_TYPE, "holder": holder_did, "verifiableCredential": [vc], "proof": proof}
    )


class Verifier:
    """One party's side of the meeting handshake: issues single-use challenges and verifies presentations.

    Challenges are stateless, so handing them out costs no memory however many are asked for: 5 bytes of issue
    time, 11 random bytes, and 16 bytes of HMAC-SHA256 under a key only this verifier holds. Only challenges
    actually answered are remembered (as spent), until they would have expired anyway, and at most `max_spent`.
    """

    MAX_SPENT = 10_000

    def __init__(
        self,
        did: str,
        *,
        chain_id: int,
        registry: str,
        registry_facts: RegistryFacts,
        challenge_ttl_s: int = 300,
        clock: Callable[[], float] = time.time,
        max_spent: int = MAX_SPENT,
    ) -> None:
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
            raise WrongDomain(
                f"presentation was made for {proof['domain']!r}, not for {self.did!r}", domain=proof["domain"]
            )
        subject = vc["credentialSubject"].get("id")
        if vp["holder"] != subject:
            raise SubjectMismatch(f"holder {vp['holder']!r} is not the credential subject {subject!r}")
        credential = verify_vc(vc, now=now, chain_id=self.chain_id, registry=self.registry)
        signed_domain = proof_domain(
            proof, PRESENTATION_DOMAIN, PRESENTATION_TYPES, MalformedPresentation, "authentication"
        )
        if not same_deployment(signed_domain, self.chain_id, self.registry):
            raise WrongDeployment(
                f"presentation signed for chain {signed_domain['chainId']} registry "
                f"{signed_domain['verifyingContract']}",
                signed_domain=signed_domain,
            )
        seal_key = bytes.fromhex(proof["sealKey"][2:])
        issued_at = parse_iso(proof.get("created"), MalformedPresentation)
        message = {
            "credentialHash": credential_hash(vc),
            "challenge": bytes.fromhex(proof["challenge"][2:]),
            "domain": proof["domain"],
            "sealKey": seal_key,
            "issuedAt": issued_at,
        }
        check_signed(proof, vp["holder"], signed_domain, PRESENTATION_TYPES, message, ForgedPresentation, "holder")
        issuer_authorised, revoked, expiry = self._registry_facts(credential.vehicle)
        check_registry_facts(
            credential.vehicle,
            issuer_authorised=issuer_authorised,
            revoked=revoked,
            expiry=expiry,
            now=now,
            presented_expiry=credential.valid_until,
        )
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
            raise ChallengeExpired(
                f"challenge issued {now - issued_at} s ago; the limit is {self._ttl} s",
                challenge=challenge,
                age_s=now - issued_at,
            )
        if len(self._spent) >= self._max_spent:
            raise VerifierBusy(f"{self._max_spent} challenges answered within {self._ttl} s; try again later")
        self._spent[challenge] = issued_at

    def _forget_expired(self, now: int) -> None:
        with self._lock:
            for challenge in [c for c, issued in self._spent.items() if now - issued > self._ttl]:
                del self._spent[challenge]


def _presentation_parts(vp: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    bad = MalformedPresentation
    if not isinstance(vp, dict) or vp.get("@context") != VC_CONTEXT or vp.get("type") != VP_TYPE:
        raise bad("not a VerifiablePresentation: @context or type is wrong")
    credentials, proof = vp.get("verifiableCredential"), vp.get("proof")
    if not isinstance(credentials, list) or len(credentials) != 1 or not isinstance(proof, dict):
        raise bad("a presentation carries exactly one credential and one proof")
    if not isinstance(credentials[0], dict) or not isinstance(credentials[0].get("credentialSubject"), dict):
        raise bad("the presented credential has no credentialSubject")
    bytes32_field(proof.get("challenge"), bad, "challenge")
    bytes32_field(proof.get("sealKey"), bad, "sealKey")
    if not isinstance(proof.get("domain"), str) or not isinstance(vp.get("holder"), str):
        raise bad("proof.domain and holder must be strings")
    return credentials[0], proof


def _presentation_domain(vc: dict[str, Any]) -> dict[str, Any]:
    domain = proof_domain(vc["proof"][0], eip712.REGISTRY_DOMAIN, eip712.CREDENTIAL_TYPES, MalformedCredential)
    return eip712.domain(PRESENTATION_DOMAIN, domain["chainId"], domain["verifyingContract"])
