"""Veramo 7 (`@veramo/credential-eip712` in a core agent with the did:pkh resolver; tests/support/veramo_verify.mjs),
an independent EthereumEip712Signature2021 verifier, run on the VC 2.0 credential and presentation vectors as
issued, with no network.

What Veramo's "verified" covers (@veramo/credential-eip712 src/agent/CredentialProviderEIP712.ts, verifyCredential
and verifyPresentation): the EIP-712 signature over the document with its proof options as `proof`, recovered to an
account of the issuer's (or holder's) DID document. It does not compare a presentation's `challenge` or `domain`
with the ones the caller passes, nor read the validity period; the project's verifier does both. And
@veramo/credential-w3c refuses any credential with a `credentialStatus` unless a status plugin answers for it:
this one's status is the Registry on-chain (`check_registry_facts`), so the calls here pass
`policies.credentialStatus = false`.
"""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

from tests.support.credentials import resigned
from tests.support.identity_vectors import CHALLENGE, HOLDER, VERIFIER_DID, read

SCRIPT = Path(__file__).parents[1] / "support" / "veramo_verify.mjs"
NO_STATUS_CHECK = {"credentialStatus": False}


def _veramo(*calls: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Veramo's answers ({verified, error}) to (method, args) calls, in one Node process."""
    output = subprocess.run(
        ["node", str(SCRIPT)],
        input=json.dumps([{"method": method, "args": args} for method, args in calls]),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    answers: list[dict[str, Any]] = json.loads(output)
    return answers


def _credential(vc: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "verifyCredential", {"credential": vc, "policies": NO_STATUS_CHECK}


def _presentation(
    vp: dict[str, Any], challenge: str = CHALLENGE, domain: str = VERIFIER_DID
) -> tuple[str, dict[str, Any]]:
    return "verifyPresentation", {"presentation": vp, "challenge": challenge, "domain": domain}


VERIFIED = {"verified": True, "error": None}
INVALID_SIGNATURE = {"verified": False, "error": "invalid_signature"}


def test_veramo_verifies_the_credential_vector() -> None:
    assert _veramo(_credential(read("credential.json"))) == [VERIFIED]


def test_veramo_verifies_the_presentation_vector() -> None:
    assert _veramo(_presentation(read("presentation.json"))) == [VERIFIED]


def test_veramo_refuses_the_credential_vector_with_a_claim_or_its_status_changed() -> None:
    battery, status = read("credential.json"), read("credential.json")
    battery["credentialSubject"]["batteryCapacityWh"] += 1
    status["credentialStatus"]["id"] = status["credentialStatus"]["id"].lower()
    assert _veramo(_credential(battery), _credential(status)) == [INVALID_SIGNATURE] * 2


def test_veramo_refuses_the_presentation_vector_with_its_seal_key_or_challenge_changed() -> None:
    seal_key, challenge = read("presentation.json"), read("presentation.json")
    seal_key["sealKey"] = "0x" + "ff" * 32
    challenge["proof"]["challenge"] = "0x" + "08" * 32
    assert _veramo(_presentation(seal_key), _presentation(challenge)) == [INVALID_SIGNATURE] * 2


def test_veramo_refuses_a_credential_signed_by_another_key_than_its_issuers() -> None:
    by_holder = resigned(HOLDER, read("credential.json"), lambda document: None)
    assert _veramo(_credential(by_holder)) == [INVALID_SIGNATURE]


def test_veramo_without_a_status_plugin_refuses_to_judge_a_credential_with_a_status() -> None:
    (answer,) = _veramo(("verifyCredential", {"credential": read("credential.json")}))
    assert answer["verified"] is False and answer["error"].startswith("invalid_setup: The credential status")


def test_veramo_does_not_compare_a_presentations_challenge_or_domain_with_the_callers() -> None:
    """A deviation to know of: the signature covers the challenge and domain, but Veramo never reads
    args.challenge or args.domain, so its "verified" alone does not stop a replayed presentation."""
    vp = read("presentation.json")
    assert _veramo(_presentation(copy.deepcopy(vp), challenge="0x" + "09" * 32, domain="did:example:other")) == [
        VERIFIED
    ]
