"""The JSON-LD contexts a credential may name, resolved from files in this package and never from the network.

A context changes what every term of a document means, so a verifier that fetched an unknown one would let its
author redefine the claims after they were signed. Every document here names exactly `CREDENTIAL_CONTEXT`: the
VC 2.0 base context (fixed by the W3C Recommendation, which verifiers match by its URL) and the project's own terms.
A credential may instead name `CREDENTIAL_CONTEXT_V1` (the VC 1.1 base context, then the same terms) for verifiers
that read only the 1.1 data model, such as didkit 0.3; its context names its data model.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from .errors import UnknownContext

VC_BASE_CONTEXT = "https://www.w3.org/ns/credentials/v2"
V2V_CONTEXT = "https://v2vchain.dev/ns/v1"
VC_V1_BASE_CONTEXT = "https://www.w3.org/2018/credentials/v1"
CREDENTIAL_CONTEXT = [VC_BASE_CONTEXT, V2V_CONTEXT]
CREDENTIAL_CONTEXT_V1 = [VC_V1_BASE_CONTEXT, V2V_CONTEXT]
DATA_MODELS = {"2.0": CREDENTIAL_CONTEXT, "1.1": CREDENTIAL_CONTEXT_V1}
_SHIPPED = {V2V_CONTEXT: "v2vchain-v1.jsonld"}


@cache
def _read(name: str) -> str:
    return resources.files(__package__).joinpath("contexts", name).read_text(encoding="utf-8")


def load_context(url: str) -> dict[str, Any]:
    """A JSON-LD document loader for the project's contexts: the shipped copy, or UnknownContext (no fetch)."""
    name = _SHIPPED.get(url) if isinstance(url, str) else None
    if name is None:
        raise UnknownContext(f"context {url!r} is not one this package ships; contexts are never fetched", url=url)
    document: dict[str, Any] = json.loads(_read(name))
    return document


def check_context(value: Any, allowed: tuple[list[str], ...] = (CREDENTIAL_CONTEXT,)) -> None:
    """Refuse a document whose @context is not one of `allowed`: each entry known, in the one order."""
    if value not in allowed:
        known = [url for context in allowed for url in context]
        unknown = [url for url in value if url not in known] if isinstance(value, list) else [value]
        raise UnknownContext(
            f"@context must be one of {list(allowed)}, got {value!r}", url=unknown[0] if unknown else None
        )


def data_model_of(value: Any) -> str:
    """The VC data model ("2.0" or "1.1") a credential's @context names; UnknownContext for any other @context."""
    check_context(value, tuple(DATA_MODELS.values()))
    return next(model for model, context in DATA_MODELS.items() if context == value)
