"""Constants and a credential factory for the identity tests: fixed keys, a fake Registry address, a fixed clock."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from v2vchain.identity.credentials import issue_vc
from v2vchain.identity.did import did_for
from v2vchain.identity.registration import ROLE_SELLER
from v2vchain.identity.suite import proof_options, sign_document

CHAIN_ID = 31337
REGISTRY = Account.from_key(b"\x0f" * 32).address  # any address: no chain is involved
NOW = 1_700_000_000
VALID_UNTIL = NOW + 86_400


def make_vc(issuer: LocalAccount, holder: LocalAccount, **overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = dict(
        registry=REGISTRY,
        chain_id=CHAIN_ID,
        vehicle_did=did_for(holder.address, CHAIN_ID),
        roles=ROLE_SELLER,
        battery_capacity_wh=80_000,
        max_v2v_power_w=30_000,
        valid_from=NOW - 60,
        valid_until=VALID_UNTIL,
    )
    arguments.update(overrides)
    return issue_vc(issuer, **arguments)


def resigned(signer: LocalAccount, vc: dict[str, Any], mutate: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """`vc` changed by `mutate` and signed again by `signer` (as its issuer): a well-signed credential whose content
    the verifier must judge on its own."""
    document = copy.deepcopy({key: value for key, value in vc.items() if key != "proof"})
    mutate(document)
    options = proof_options(did_for(signer.address, CHAIN_ID), "assertionMethod", vc["proof"]["created"])
    return sign_document(signer, document, options, vc["proof"]["eip712"]["domain"], "VerifiableCredential")
