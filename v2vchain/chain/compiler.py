"""Compiles the project's Solidity with py-solc-x, one pinned compiler, cached by source hash.

The compiler is found in this order: $SOLC_BINARY (a native solc), a solc py-solc-x already installed,
the pinned npm solcjs through tools/solc-shim.js (offline), and last solcx.install_solc (online).

Imports are resolved here, not by the compiler: the project's files and every file they import, transitively
(`@openzeppelin/...` from the pinned npm package, relative imports inside it), go into the standard-json input
by content. So any solc, native or solcjs, compiles without reading the disk, and the cache key covers every byte.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import solcx
from solcx.exceptions import SolcError

from v2vchain.paths import CONTRACTS_DIR, NODE_MODULES, SOLC_SHIM, TEST_CONTRACTS_DIR, state_dir

from .errors import CompilationFailed, CompilerNotFound

SOLC_VERSION = "0.8.28"
# cancun: OpenZeppelin's ReentrancyGuardTransient needs transient storage (TSTORE/TLOAD, EIP-1153) and its
# Bytes/Arrays helpers use MCOPY. The embedded eth-tester chain and anvil both run cancun; a chain that lags behind
# mainnet forks (some consortium PoA chains and L2s) must have cancun enabled to run this bytecode.
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
        return Path(solcx.get_executable(SOLC_VERSION))  # type: ignore[attr-defined]  # py-solc-x exports it untyped
    except Exception:  # solcx raises SolcNotInstalled, or errors on a missing install folder
        pass
    if (NODE_MODULES / "solc").is_dir() and shutil.which("node"):
        return SOLC_SHIM
    try:
        return Path(str(solcx.install_solc(SOLC_VERSION)))
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


# A Solidity import's path: `import "p";`, `import "p" as X;`, `import * as X from "p";`, `import {A, B as C} from "p";`
_IMPORT = re.compile(r"""\bimport\s+(?:[^;"']*?\bfrom\s+)?["']([^"']+)["']""")
# Strings are kept, comments dropped, so a commented-out import is not followed.
_STRING_OR_COMMENT = re.compile(r"""("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')|//[^\n]*|/\*.*?\*/""", re.S)


def _imports(text: str) -> list[str]:
    code = _STRING_OR_COMMENT.sub(lambda m: m.group(1) or " ", text)
    return _IMPORT.findall(code)


def _unit_name(importer: str, path: str) -> str:
    """solc's source unit name for `import path` inside `importer`: relative paths against the importer's folder."""
    if not path.startswith(("./", "../")):
        return path
    parts: list[str] = []
    for part in PurePosixPath(importer).parent.joinpath(path).parts:
        if part == "..":
            if not parts:
                raise CompilationFailed(f"{importer} imports {path}, which leaves the source tree")
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def _locate(name: str, contracts_dir: Path) -> Path | None:
    """The file behind a source unit name: the project's contracts first, then the pinned npm packages."""
    for root in (contracts_dir, NODE_MODULES):
        candidate = root / name
        if candidate.is_file():
            return candidate
    return None


def _sources(include_test: bool, contracts_dir: Path = CONTRACTS_DIR) -> dict[str, str]:
    """The project's files (keyed relative to contracts_dir) and, by content, everything they import, transitively."""
    test_dir = contracts_dir / TEST_CONTRACTS_DIR.relative_to(CONTRACTS_DIR)
    files = sorted(p for p in contracts_dir.rglob("*.sol") if include_test or test_dir not in p.parents)
    sources = {p.relative_to(contracts_dir).as_posix(): p.read_text() for p in files}
    pending = list(sources)
    while pending:
        importer = pending.pop()
        for path in _imports(sources[importer]):
            name = _unit_name(importer, path)
            if name in sources:
                continue
            found = _locate(name, contracts_dir)
            if found is None:
                raise CompilationFailed(
                    f"{importer} imports {path!r}: no {name} under {contracts_dir} or {NODE_MODULES} "
                    "(run `npm ci` for @openzeppelin/contracts)"
                )
            sources[name] = found.read_text()
            pending.append(name)
    return dict(sorted(sources.items()))


def source_digest(version: str, sources: dict[str, str]) -> str:
    """The build cache key: compiler, settings and the content of every source, imported ones included."""
    return hashlib.sha256(json.dumps([version, SETTINGS, sources], sort_keys=True).encode()).hexdigest()


def compile_contracts(include_test: bool = False, contracts_dir: Path | None = None) -> Build:
    """Compile every contract (and the test fixtures when asked); a second call with unchanged sources is a cache hit.

    contracts_dir defaults to the project's contracts/; its test/ folder holds the fixtures.
    """
    sources = _sources(include_test, contracts_dir or CONTRACTS_DIR)
    binary = find_compiler()
    version = compiler_version(binary)
    digest = source_digest(version, sources)
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
