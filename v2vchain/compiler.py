"""Compiles the project's Solidity with py-solc-x, one pinned compiler, cached by source hash.

The compiler is found in this order: $SOLC_BINARY (a native solc), a solc py-solc-x already installed,
the pinned npm solcjs through tools/solc-shim.js (offline), and last solcx.install_solc (online).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import solcx
from solcx.exceptions import SolcError

from .errors import CompilationFailed, CompilerNotFound
from .paths import CONTRACTS_DIR, NODE_MODULES, SOLC_SHIM, TEST_CONTRACTS_DIR, state_dir

SOLC_VERSION = "0.8.28"
# paris: no PUSH0, so the bytecode also runs on consortium PoA chains and L2s that lag behind mainnet forks.
SETTINGS: dict[str, Any] = {
    "evmVersion": "cancun",
    "optimizer": {"enabled": True, "runs": 10_000},
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str


@dataclass(frozen=True)
class Build:
    compiler: str
    source_hash: str
    artifacts: dict[str, Artifact]

    def __getitem__(self, name: str) -> Artifact:
        return self.artifacts[name]


def find_compiler() -> Path:
    explicit = os.environ.get("SOLC_BINARY")
    if explicit:
        path = Path(explicit)
        if not path.exists():
            raise CompilerNotFound(f"SOLC_BINARY points to {path}, which does not exist")
        return path
    try:
        return Path(solcx.get_executable(SOLC_VERSION))
    except Exception:  # solcx raises SolcNotInstalled, or errors on a missing install folder
        pass
    if (NODE_MODULES / "solc").is_dir() and shutil.which("node"):
        return SOLC_SHIM
    try:
        return Path(solcx.install_solc(SOLC_VERSION))
    except Exception as exc:
        raise CompilerNotFound(
            f"no solc {SOLC_VERSION}: set SOLC_BINARY, run `npm ci` in {NODE_MODULES.parent} for the pinned solcjs, "
            f"or go online so py-solc-x can install it ({exc})"
        ) from exc


def compiler_version(binary: Path) -> str:
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"Version:\s*(\S+)", out)
    if not match:
        raise CompilerNotFound(f"{binary} did not report a version")
    version = match.group(1)
    if not version.startswith(SOLC_VERSION + "+"):
        raise CompilerNotFound(f"{binary} is solc {version}; v2vchain pins {SOLC_VERSION}")
    return version


def _sources(include_test: bool) -> dict[str, str]:
    files = sorted(p for p in CONTRACTS_DIR.rglob("*.sol") if include_test or TEST_CONTRACTS_DIR not in p.parents)
    return {p.relative_to(CONTRACTS_DIR).as_posix(): p.read_text() for p in files}


def _with_imports(sources: dict[str, str]) -> dict[str, str]:  # TEMP until the tooling branch lands
    import posixpath
    todo = list(sources)
    out = dict(sources)
    while todo:
        name = todo.pop()
        for imp in re.findall(r'import\s+[^"]*"([^"]+)"', out[name]):
            key = imp if imp.startswith("@") else posixpath.normpath(posixpath.join(posixpath.dirname(name), imp))
            if key not in out:
                out[key] = (NODE_MODULES / key).read_text() if key.startswith("@") else (CONTRACTS_DIR / key).read_text()
                todo.append(key)
    return out


def compile_contracts(include_test: bool = False) -> Build:
    """Compile every contract (and the test fixtures when asked); a second call with unchanged sources is a cache hit."""
    sources = _with_imports(_sources(include_test))
    binary = find_compiler()
    version = compiler_version(binary)
    digest = hashlib.sha256(json.dumps([version, SETTINGS, sources], sort_keys=True).encode()).hexdigest()
    cache = state_dir() / "build" / f"{digest}.json"
    if cache.exists():
        return _load(json.loads(cache.read_text()), version, digest)
    standard_input = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": SETTINGS,
    }
    try:
        output = solcx.compile_standard(standard_input, solc_binary=binary, allow_empty=True)
    except SolcError as exc:
        raise CompilationFailed(str(exc)) from exc
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompilationFailed("\n".join(e.get("formattedMessage", e.get("message", "")) for e in errors))
    contracts = {
        name: {
            "abi": data["abi"],
            "bytecode": data["evm"]["bytecode"]["object"],
            "deployed_bytecode": data["evm"]["deployedBytecode"]["object"],
        }
        for file_contracts in output["contracts"].values()
        for name, data in file_contracts.items()
    }
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps(contracts))
    tmp.replace(cache)
    return _load(contracts, version, digest)


def _load(contracts: dict[str, Any], version: str, digest: str) -> Build:
    return Build(
        compiler=version,
        source_hash=digest,
        artifacts={name: Artifact(name=name, **data) for name, data in contracts.items()},
    )
