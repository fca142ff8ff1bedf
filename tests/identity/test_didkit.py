"""didkit (SpruceID's verifier, over its Rust `ssi` library), an independent EthereumEip712Signature2021 verifier,
run on the credential vectors with no network: it resolves did:pkh itself, and for this suite it hashes the JSON
document as the suite says (the document, with the proof less `proofValue` and `eip712` as `proof`, is the message;
`eip712` gives the types, domain and primary type: ssi src/eip712.rs, `TypedData::from_document_and_options_json`),
so it loads no JSON-LD context.

didkit 0.3 reads only the VC 1.1 data model: ssi src/vc.rs, `impl TryFrom<OneOrMany<Context>> for Contexts`, refuses
any first @context but https://www.w3.org/2018/credentials/v1. The issuer emits that shape on request
(`data_model="1.1"`), and that is the credential didkit verifies.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import didkit
import pytest

from tests.support.credentials import CHAIN_ID, NOW, REGISTRY
from tests.support.identity_vectors import HOLDER, ISSUER, credential_v1, read
from v2vchain.identity.contexts import CREDENTIAL_CONTEXT_V1
from v2vchain.identity.credentials import verify_vc
from v2vchain.identity.did import did_for
from v2vchain.identity.suite import sign_document

ASSERTION = {"proofPurpose": "assertionMethod"}


def _run(verify: Any, document: dict[str, Any], options: dict[str, Any]) -> Any:
    """didkit's calls return a future bound to the running event loop, so they are made inside one."""

    async def call() -> Any:
        return await verify(json.dumps(document), json.dumps(options))

    return asyncio.run(call())


def _didkit_verify(document: dict[str, Any], options: dict[str, Any] = ASSERTION) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(_run(didkit.verify_credential, document, options))
    return result


def _recovers_another_key(result: dict[str, Any], *, expected: str) -> bool:
    """didkit's verdict when the signature over the document it hashed is not by the verification method's key."""
    (error,) = result["errors"]
    return error.startswith("Key does not match account id: got 0x") and error.endswith(f", expected {expected}")


def test_the_vc_1_1_vector_is_the_issuers_credential_in_the_1_1_data_model() -> None:
    assert credential_v1() == read("credential-vc1.json")
    verified = verify_vc(read("credential-vc1.json"), now=NOW, chain_id=CHAIN_ID, registry=REGISTRY)
    assert (verified.issuer, verified.vehicle) == (ISSUER.address, HOLDER.address)


def test_didkit_verifies_the_vc_1_1_credential_vector() -> None:
    assert _didkit_verify(read("credential-vc1.json")) == {"checks": ["proof"], "warnings": [], "errors": []}


@pytest.mark.parametrize(
    "path, value",
    [
        (("credentialSubject", "batteryCapacityWh"), 80_001),
        (("credentialSubject", "roles"), ["buyer", "seller"]),
        (("credentialStatus", "registrationSignature"), "0x" + "00" * 65),
        (("expirationDate",), "2033-11-15T22:13:20Z"),
        (("@context",), ["https://www.w3.org/2018/credentials/v1"]),
    ],
)
def test_didkit_refuses_the_vc_1_1_credential_vector_with_one_value_changed(path: tuple[str, ...], value: Any) -> None:
    vc = read("credential-vc1.json")
    container = vc
    for key in path[:-1]:
        container = container[key]
    container[path[-1]] = value
    assert _recovers_another_key(_didkit_verify(vc), expected=ISSUER.address)


def test_didkit_refuses_the_vc_1_1_credential_vector_for_another_signer() -> None:
    vc = read("credential-vc1.json")
    vc["issuer"] = did_for(HOLDER.address, CHAIN_ID)
    vc["proof"]["verificationMethod"] = did_for(HOLDER.address, CHAIN_ID) + "#blockchainAccountId"
    assert _recovers_another_key(_didkit_verify(vc), expected=HOLDER.address)


def test_didkit_refuses_the_vc_1_1_credential_vector_for_another_proof_purpose() -> None:
    result = _didkit_verify(read("credential-vc1.json"), {"proofPurpose": "authentication"})
    assert result["errors"] == ["No applicable proof"]


@pytest.mark.parametrize(
    "name, verify", [("credential.json", didkit.verify_credential), ("presentation.json", didkit.verify_presentation)]
)
def test_didkit_0_3_cannot_parse_a_vc_2_0_document(name: str, verify: Any) -> None:
    """Not a verdict on the proof: ssi's VC 1.1 parser stops at the 2.0 base context before any check."""
    with pytest.raises(ValueError, match="Invalid context"):
        _run(verify, read(name), {})


def test_didkit_0_3_reads_a_string_credential_in_a_1_1_presentation_as_a_jws() -> None:
    """Why no 1.1 presentation: in 1.1 `verifiableCredential` is an embedded credential (whose proof.eip712.types,
    lists of objects, the suite's types generation refuses) or a string, which ssi parses as a JWS. Shown on the
    presentation vector relabelled 1.1 with its envelope's data: URL as the string, signed by the holder."""
    vp = read("presentation.json")
    document = {key: value for key, value in vp.items() if key != "proof"}
    document.update({"@context": CREDENTIAL_CONTEXT_V1, "verifiableCredential": vp["verifiableCredential"]["id"]})
    options = {key: value for key, value in vp["proof"].items() if key not in ("proofValue", "eip712")}
    signed = sign_document(HOLDER, document, options, vp["proof"]["eip712"]["domain"], "VerifiablePresentation")
    with pytest.raises(ValueError, match="Invalid JWS"):
        _run(didkit.verify_presentation, signed, {"proofPurpose": "authentication"})
