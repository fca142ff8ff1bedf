"""The JSON-LD contexts a credential may name, resolved from files in this package and never from the network.

A context changes what every term of a document means, so a verifier that fetched an unknown one would let its
author redefine the claims after they were signed. Every document here names exactly `CREDENTIAL_CONTEXT`: the
VC 2.0 base context (fixed by the W3C Recommendation, which verifiers match by its URL) and the project's own terms.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from .errors import UnknownContext

VC_BASE_CONTEXT = "https://www.w3.org/ns/credentials/v2"
V2V_CONTEXT = "https://v2vchain.dev/ns/v1"
CREDENTIAL_CONTEXT = [VC_BASE_CONTEXT, V2V_CONTEXT]
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


def check_context(value: Any) -> None:
    """Refuse a document whose @context is anything but the project's: each entry known, in the one order."""
    if value != CREDENTIAL_CONTEXT:
        unknown = [url for url in value if url not in CREDENTIAL_CONTEXT] if isinstance(value, list) else [value]
        raise UnknownContext(
            f"@context must be {CREDENTIAL_CONTEXT}, got {value!r}", url=unknown[0] if unknown else None
        )
