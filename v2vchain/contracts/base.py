"""What every contract wrapper shares: bound to one contract and one signing key."""
from __future__ import annotations

from typing import Any

from web3.contract import Contract
from web3.logs import EventLogErrorFlags
from web3.types import EventData, TxReceipt

from v2vchain.chain.reverts import as_revert
from v2vchain.chain.tx import Sender
from v2vchain.errors import InvalidInput


def uint(name: str, value: Any, bits: int = 256) -> int:
    """Reject what web3 would otherwise turn into an opaque encoding error, before anything is sent."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{name} must be an integer, got {type(value).__name__}")
    if value < 0 or value >= 1 << bits:
        raise InvalidInput(f"{name}={value} is outside uint{bits} (0 .. 2**{bits}-1)")
    return value


def bytes32(name: str, value: Any) -> bytes:
    if isinstance(value, str) and value.startswith("0x"):
        try:
            value = bytes.fromhex(value[2:])
        except ValueError:
            raise InvalidInput(f"{name} is not hex") from None
    if not isinstance(value, (bytes, bytearray)) or len(value) != 32:
        raise InvalidInput(f"{name} must be 32 bytes")
    return bytes(value)


class ContractClient:
    def __init__(self, contract: Contract, sender: Sender) -> None:
        self.contract = contract
        self.sender = sender

    @property
    def address(self) -> str:
        return str(self.contract.address)

    def connect(self, sender: Sender) -> "ContractClient":
        """The same contract, signing as another key."""
        return type(self)(self.contract, sender)

    def _transact(self, fn: str, *args: Any) -> TxReceipt:
        action = f"{type(self).__name__}.{fn}"
        data = self.contract.encode_abi(fn, args=list(args))
        return self.sender.send({"to": self.address, "data": data}, action=action)

    def _call(self, fn: str, *args: Any) -> Any:
        try:
            return getattr(self.contract.functions, fn)(*args).call({"from": self.sender.address})
        except Exception as exc:
            decoded = as_revert(exc, f"{type(self).__name__}.{fn}")
            if decoded is not None:
                raise decoded from None
            raise

    def events(self, receipt: TxReceipt, name: str) -> list[EventData]:
        return list(getattr(self.contract.events, name)().process_receipt(receipt, errors=EventLogErrorFlags.Discard))
