"""Write the identity test vectors (tests/identity/vectors/credential.json, presentation.json) from their fixed
inputs; run it only after a deliberate change of the credential format, and review the diff."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' vector inputs, not an installed module

from tests.support.identity_vectors import VECTORS, as_file, credential, presentation


def main() -> None:
    VECTORS.mkdir(exist_ok=True)
    for name, document in (("credential.json", credential()), ("presentation.json", presentation())):
        (VECTORS / name).write_text(as_file(document), encoding="utf-8")
        print(f"wrote {VECTORS / name}")


if __name__ == "__main__":
    main()
