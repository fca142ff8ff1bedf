"""The compiler follows imports itself: @openzeppelin/... from the pinned npm package (and the relative imports inside
it) go into the standard-json input by content, so any solc compiles without the disk and the cache key covers them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from v2vchain.chain import compiler
from v2vchain.chain.errors import CompilationFailed

OZ = compiler.NODE_MODULES / "@openzeppelin" / "contracts"
GUARD = "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol"
SLOT = "@openzeppelin/contracts/utils/TransientSlot.sol"  # imported by GUARD as "./TransientSlot.sol"

GUARDED = f"""// SPDX-License-Identifier: MIT
pragma solidity {compiler.SOLC_VERSION};

import {{ReentrancyGuardTransient}} from "{GUARD}";
// import {{Gone}} from "@openzeppelin/contracts/does/not/Exist.sol";
/* import "./NotThere.sol"; */

contract Guarded is ReentrancyGuardTransient {{
    uint256 public count;

    function bump() external nonReentrant returns (uint256) {{
        return ++count;
    }}
}}
"""


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A contracts dir with one file importing OpenZeppelin, and a build cache of its own."""
    monkeypatch.setenv("V2V_HOME", str(tmp_path / "state"))
    src = tmp_path / "contracts"
    src.mkdir()
    (src / "Guarded.sol").write_text(GUARDED)
    return src


def test_openzeppelin_imports_are_followed_transitively_and_commented_ones_are_not(scratch: Path) -> None:
    sources = compiler._sources(include_test=False, contracts_dir=scratch)
    assert set(sources) == {"Guarded.sol", GUARD, SLOT}
    assert sources[SLOT] == (OZ / "utils" / "TransientSlot.sol").read_text()


def test_the_input_is_self_contained(scratch: Path) -> None:
    """Every import names a source in the input, so a native solc needs no --base-path, remapping or file access."""
    sources = compiler._sources(include_test=False, contracts_dir=scratch)
    for name, text in sources.items():
        for path in compiler._imports(text):
            assert compiler._unit_name(name, path) in sources, (name, path)


def test_a_scratch_dir_importing_openzeppelin_compiles(scratch: Path) -> None:
    build = compiler.compile_contracts(contracts_dir=scratch)
    assert "Guarded" in build.artifacts
    assert "5d" in build["Guarded"].deployed_bytecode  # TSTORE: cancun target


def test_the_cache_key_changes_when_an_imported_openzeppelin_file_changes(
    scratch: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_modules = tmp_path / "node_modules"
    for name in (GUARD, SLOT):
        (fake_modules / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(compiler.NODE_MODULES / name, fake_modules / name)
    binary = compiler.find_compiler()  # found before NODE_MODULES moves: the solcjs fallback lives there
    monkeypatch.setattr(compiler, "find_compiler", lambda: binary)
    monkeypatch.setattr(compiler, "NODE_MODULES", fake_modules)
    version = compiler.compiler_version(binary)

    before = compiler.compile_contracts(contracts_dir=scratch)
    assert before.source_hash == compiler.source_digest(version, compiler._sources(False, scratch))
    (fake_modules / SLOT).write_text((fake_modules / SLOT).read_text() + "\n// a patched dependency\n")
    after = compiler.compile_contracts(contracts_dir=scratch)
    assert after.source_hash != before.source_hash
    assert len(list((tmp_path / "state" / "build").glob("*.json"))) == 2  # recompiled, not served from the cache


def test_an_import_that_resolves_nowhere_is_a_clear_error(scratch: Path) -> None:
    (scratch / "Broken.sol").write_text(
        'pragma solidity 0.8.28;\nimport {X} from "@openzeppelin/contracts/Nope.sol";\n'
    )
    with pytest.raises(CompilationFailed, match=r"Broken\.sol imports '@openzeppelin/contracts/Nope\.sol'"):
        compiler._sources(include_test=False, contracts_dir=scratch)


@pytest.mark.parametrize(
    ("importer", "path", "unit"),
    [
        ("Market.sol", "./lib/ECDSA.sol", "lib/ECDSA.sol"),
        ("test/Bench.sol", "../Clearing.sol", "Clearing.sol"),
        (
            "@openzeppelin/contracts/utils/cryptography/ECDSA.sol",
            "../Strings.sol",
            "@openzeppelin/contracts/utils/Strings.sol",
        ),
        ("lib/A.sol", "@openzeppelin/contracts/access/Ownable.sol", "@openzeppelin/contracts/access/Ownable.sol"),
    ],
)
def test_unit_names_follow_solc(importer: str, path: str, unit: str) -> None:
    assert compiler._unit_name(importer, path) == unit


@pytest.mark.parametrize(
    "line",
    [
        'import "X.sol";',
        'import "X.sol" as Y;',
        'import * as Y from "X.sol";',
        "import {A, B as C} from 'X.sol';",
        'import {\n    A,\n    B\n} from "X.sol";',
    ],
)
def test_every_import_form_is_recognised(line: str) -> None:
    assert compiler._imports(line) == ["X.sol"]


@pytest.mark.skipif(not (compiler.NODE_MODULES / "solc").is_dir(), reason="needs the pinned solcjs (npm ci)")
def test_the_shim_reads_urls_and_finds_imports_as_slither_calls_it(scratch: Path) -> None:
    """crytic-compile (Slither) sends `urls`, not content, and flags the shim must take: files come from the disk."""
    request = {
        "language": "Solidity",
        "sources": {"contracts/Guarded.sol": {"urls": [str(scratch / "Guarded.sol")]}},
        "settings": {"outputSelection": {"*": {"*": ["abi"]}}},
    }
    run = subprocess.run(
        ["node", str(compiler.SOLC_SHIM), "--standard-json", "--allow-paths", str(scratch), "--some-new-flag"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=scratch.parent,
    )
    output = json.loads(run.stdout)
    assert not [e for e in output.get("errors", []) if e["severity"] == "error"], output["errors"]
    assert "Guarded" in output["contracts"]["contracts/Guarded.sol"]
    assert SLOT in output["sources"]
