"""The toolchain: one pinned compiler, found offline, with a build cache keyed by sources and version."""

from __future__ import annotations

import pytest

from v2vchain.chain import compiler
from v2vchain.chain.errors import CompilerNotFound


def test_compiler_is_the_pinned_version() -> None:
    assert compiler.compiler_version(compiler.find_compiler()).startswith(compiler.SOLC_VERSION + "+")


def test_second_compile_is_served_from_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    compiler.compile_contracts()

    def no_solc(*args: object, **kwargs: object) -> None:
        raise AssertionError("recompiled although the sources did not change")

    monkeypatch.setattr(compiler.solcx, "compile_standard", no_solc)
    build = compiler.compile_contracts()
    assert {"Registry", "Market", "EnergyToken"} <= set(build.artifacts)


def test_test_fixtures_are_compiled_only_when_asked() -> None:
    fixtures = {p.relative_to(compiler.CONTRACTS_DIR).as_posix() for p in compiler.TEST_CONTRACTS_DIR.glob("*.sol")}
    assert not fixtures & set(compiler._sources(include_test=False))
    assert fixtures <= set(compiler._sources(include_test=True))


def test_solc_binary_pointing_nowhere_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOLC_BINARY", "/nonexistent/solc")
    with pytest.raises(CompilerNotFound, match="SOLC_BINARY"):
        compiler.find_compiler()


def test_contracts_fit_the_eip170_size_limit() -> None:
    build = compiler.compile_contracts()
    for name in ("Registry", "Market", "EnergyToken"):
        assert len(build[name].deployed_bytecode) // 2 < 24_576, name
