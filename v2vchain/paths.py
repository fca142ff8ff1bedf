"""Where the project keeps its sources, npm tools and state; V2V_HOME moves the state elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS_DIR = ROOT / "contracts"
TEST_CONTRACTS_DIR = CONTRACTS_DIR / "test"
NODE_MODULES = ROOT / "node_modules"
SOLC_SHIM = ROOT / "tools" / "solc-shim.js"
ANVIL_BINARY = NODE_MODULES / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"


def state_dir() -> Path:
    path = Path(os.environ.get("V2V_HOME", ROOT / ".v2v"))
    path.mkdir(parents=True, exist_ok=True)
    return path
