"""What every contract wrapper shares: bound to one contract and one signing key."""

from __future__ import annotations

from typing import Any, Self

from web3.contract import Contract
from web3.logs import EventLogErrorFlags
from web3.types import EventData, TxReceipt

from v2vchain.chain.reverts import as_revert
from v2vchain.chain.tx import Sender


class ContractClient:
    def __init__(self, contract: Contract, sender: Sender) -> None:
        self.contract = contract
        self.sender = sender

    @property
    def address(self) -> str:
        return str(self.contract.address)

    @property
    def chain_id(self) -> int:
        """The chain's id, asked each time: a chain can change its id (a split), and every signature domain must
        follow it."""
        return int(self.contract.w3.eth.chain_id)

    def connect(self, sender: Sender) -> Self:
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
