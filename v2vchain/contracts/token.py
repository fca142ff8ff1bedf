"""The ERC-20 payment token: the dev EnergyToken or any standard token (a stablecoin) passed in at deployment."""

from __future__ import annotations

from v2vchain.protocol.abi_values import uint

from .base import ContractClient


class TokenClient(ContractClient):
    def balance_of(self, account: str) -> int:
        return int(self._call("balanceOf", account))

    def total_supply(self) -> int:
        return int(self._call("totalSupply"))

    def allowance(self, owner: str, spender: str) -> int:
        return int(self._call("allowance", owner, spender))

    def approve(self, spender: str, amount: int) -> None:
        self._transact("approve", spender, uint("amount", amount))

    def transfer(self, to: str, amount: int) -> None:
        self._transact("transfer", to, uint("amount", amount))

    def mint(self, to: str, amount: int) -> None:
        self._transact("mint", to, uint("amount", amount))

    def decimals(self) -> int:
        return int(self._call("decimals"))

    def symbol(self) -> str:
        return str(self._call("symbol"))
