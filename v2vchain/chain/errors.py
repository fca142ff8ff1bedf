"""Failures of chain access: the compiler, the connection, transactions and decoded reverts."""

from __future__ import annotations

from typing import Any

from v2vchain.errors import V2VError


class CompilerNotFound(V2VError):
    """No Solidity compiler could be found or installed."""


class CompilationFailed(V2VError):
    """solc reported errors for the project's sources."""


class ChainUnavailable(V2VError):
    """The chain could not be reached or the local node did not start."""


class TransactionTimeout(V2VError):
    """A transaction was sent but no receipt arrived in time."""


class TransactionFailed(V2VError):
    """A transaction was mined with status 0 and the chain gave no decodable reason."""


class ContractRevert(V2VError):
    """A contract reverted with a named custom error (or Error(string) / Panic), decoded from the ABI."""

    def __init__(self, name: str, arguments: dict[str, Any], *, action: str = "") -> None:
        self.name = name
        self.arguments = arguments
        self.action = action
        rendered = ", ".join(f"{key}={_render(value)}" for key, value in arguments.items())
        where = f"{action} reverted: " if action else ""
        super().__init__(f"{where}{name}({rendered})")


def _render(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return repr(value) if isinstance(value, str) else str(value)


class ClockStopped(V2VError):
    """A JSON-RPC chain mined no block for longer than a program waiting on its clock can wait."""
