"""Every exception v2vchain raises, so callers catch by meaning rather than by library."""
from __future__ import annotations

from typing import Any


class V2VError(Exception):
    """Base of every v2vchain error."""


class InvalidInput(V2VError):
    """A value was rejected before anything was sent to the chain."""


class ConfigError(V2VError):
    """A setting is missing or wrong (chain URL, key, deployment file)."""


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


class DeploymentError(V2VError):
    """A contract could not be deployed or a recorded deployment is unusable."""
