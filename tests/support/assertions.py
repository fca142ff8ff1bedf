"""Assertions the contract tests share."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import pytest

from v2vchain.chain.errors import ContractRevert


@contextlib.contextmanager
def reverts(name: str, **arguments: Any) -> Iterator[pytest.ExceptionInfo[ContractRevert]]:
    """Assert a call reverts with the named custom error (and these decoded argument values)."""
    with pytest.raises(ContractRevert) as info:
        yield info
    assert info.value.name == name, f"expected {name}, got {info.value}"
    for key, value in arguments.items():
        assert info.value.arguments[key] == value, f"{key}: {info.value.arguments[key]!r} != {value!r}"
