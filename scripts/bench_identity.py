"""Time to issue and verify a credential and to present and verify a presentation (no chain): the cost the
EthereumEip712Signature2021 document proofs add to a meeting handshake. Prints the median per operation."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' fixed keys, not an installed module

from tests.support.credentials import CHAIN_ID, NOW, REGISTRY, VALID_UNTIL, make_vc
from tests.support.identity_vectors import HOLDER, ISSUER, SEAL_KEY
from v2vchain.identity.credentials import verify_vc
from v2vchain.identity.presentations import Verifier, present


def median_ms(operation: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        operation()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    runs = parser.parse_args().runs
    vc = make_vc(ISSUER, HOLDER)
    verifier = Verifier(
        "did:pkh:eip155:31337:0x" + "55" * 20,
        chain_id=CHAIN_ID,
        registry=REGISTRY,
        registry_facts=lambda vehicle: (True, False, VALID_UNTIL),
        clock=lambda: NOW,
        max_spent=runs + 1,
    )

    def answer() -> dict[str, Any]:
        return present(HOLDER, vc, challenge=verifier.challenge(), domain=verifier.did, seal_key=SEAL_KEY, now=NOW)

    answers = [answer() for _ in range(runs)]
    figures = {
        "issue a credential": median_ms(lambda: make_vc(ISSUER, HOLDER), runs),
        "verify a credential": median_ms(lambda: verify_vc(vc, now=NOW), runs),
        "present": median_ms(answer, runs),
        "verify a presentation (incl. its credential)": median_ms(lambda: verifier.verify(answers.pop()), runs),
    }
    for name, ms in figures.items():
        print(f"{name:48s} {ms:7.2f} ms (median of {runs})")


if __name__ == "__main__":
    main()
