"""The fixed inputs of the identity test vectors (tests/identity/vectors/), and the documents they give.

Signatures are deterministic (RFC 6979), so the same inputs always give the same bytes: the vectors pin the wire
format, and `scripts/gen_identity_vectors.py` writes them again after a deliberate change.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eth_account import Account

from tests.support.credentials import CHAIN_ID, NOW, make_vc
from v2vchain.identity.did import did_for
from v2vchain.identity.presentations import present

VECTORS = Path(__file__).resolve().parent.parent / "identity" / "vectors"
ISSUER = Account.from_key(b"\x11" * 32)
HOLDER = Account.from_key(b"\x22" * 32)
VERIFIER_DID = did_for(Account.from_key(b"\x55" * 32).address, CHAIN_ID)
CHALLENGE = "0x" + "07" * 32
SEAL_KEY = bytes(range(32))


def credential() -> dict[str, Any]:
    return make_vc(ISSUER, HOLDER)


def presentation() -> dict[str, Any]:
    return present(HOLDER, credential(), challenge=CHALLENGE, domain=VERIFIER_DID, seal_key=SEAL_KEY, now=NOW)


def as_file(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def read(name: str) -> Any:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))
