"""The project's JSON-LD context: shipped in the package, resolved without a network, and naming every term the
credentials and presentations use beyond the VC 2.0 base context."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.identity_vectors import read
from v2vchain.identity.contexts import CREDENTIAL_CONTEXT, V2V_CONTEXT, VC_BASE_CONTEXT, check_context, load_context
from v2vchain.identity.errors import UnknownContext

# The terms of https://www.w3.org/ns/credentials/v2 that these documents use (VC Data Model 2.0, its base context).
BASE_TERMS = {
    "id", "type", "issuer", "validFrom", "validUntil", "credentialSubject", "credentialStatus", "proof", "holder",
    "verifiableCredential", "VerifiableCredential", "VerifiablePresentation", "EnvelopedVerifiableCredential",
}  # fmt: skip
# Inside a proof: the terms the EthereumEip712Signature2021 type's own scoped context defines.
PROOF_TERMS = {"created", "proofPurpose", "verificationMethod", "proofValue", "eip712", "challenge", "domain"}


def _terms(node: Any, in_proof: bool = False) -> Iterator[tuple[str, bool]]:
    """(term, inside a proof) for every member name and type name a document uses; eip712's content is JSON."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("@"):  # a JSON-LD keyword, not a term
                continue
            yield key, in_proof
            if key == "type":
                yield from ((name, in_proof) for name in ([value] if isinstance(value, str) else value))
            elif key != "eip712":
                yield from _terms(value, in_proof or key == "proof")


def test_the_context_names_a_stable_url_after_the_vc_2_0_base() -> None:
    assert CREDENTIAL_CONTEXT == [VC_BASE_CONTEXT, V2V_CONTEXT]
    assert V2V_CONTEXT.startswith("https://")


def test_the_loader_returns_the_shipped_document_as_protected_json_ld_1_1() -> None:
    context = load_context(V2V_CONTEXT)["@context"]
    assert context["@version"] == 1.1 and context["@protected"] is True


@pytest.mark.parametrize("url", ["https://example.org/context/v1", VC_BASE_CONTEXT + "/", "", None])
def test_the_loader_refuses_a_context_it_does_not_ship(url: Any) -> None:
    with pytest.raises(UnknownContext):
        load_context(url)


@pytest.mark.parametrize("name", ["credential.json", "presentation.json"])
def test_every_term_a_document_uses_is_defined_by_a_context_it_names(name: str) -> None:
    context = load_context(V2V_CONTEXT)["@context"]
    proof_context = context["EthereumEip712Signature2021"]["@context"]
    status_context = context["V2VRegistryStatus"]["@context"]
    for term, in_proof in _terms(read(name)):
        defined = term in BASE_TERMS or term in context or term in status_context
        assert defined or (in_proof and term in proof_context), f"{term} is defined by no context of {name}"


@pytest.mark.parametrize(
    "value",
    [
        ["https://www.w3.org/2018/credentials/v1"],
        [V2V_CONTEXT, VC_BASE_CONTEXT],
        [VC_BASE_CONTEXT],
        [*CREDENTIAL_CONTEXT, {"roles": "https://attacker.example/admin"}],
        VC_BASE_CONTEXT,
    ],
)
def test_a_document_with_other_contexts_is_refused(value: Any) -> None:
    with pytest.raises(UnknownContext):
        check_context(value)
