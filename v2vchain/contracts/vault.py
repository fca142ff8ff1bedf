"""What both venues share on-chain (contracts/base/Vault.sol): one packed account per address, the escrow, the sink."""

from __future__ import annotations

from dataclasses import dataclass

from web3.types import TxReceipt

from v2vchain.protocol.abi_values import uint

from .base import ContractClient


@dataclass(frozen=True)
class VaultAccount:
    """free: withdrawable, spent on payments and penalty cover; locked: penalties of open bids and trades;
    nonce_floor: signed orders and bids below it are void."""

    free: int
    locked: int
    nonce_floor: int

    @property
    def total(self) -> int:
        return self.free + self.locked


class VaultClient(ContractClient):
    def deposit(self, amount: int) -> TxReceipt:
        return self._transact("deposit", uint("amount", amount, 96))

    def withdraw(self, amount: int | None = None) -> int:
        """Withdraw `amount` of the free balance (all of it by default); returns what was withdrawn."""
        if amount is None:
            amount = self.account(self.sender.address).free
        receipt = self._transact("withdraw", uint("amount", amount))
        return int(self.events(receipt, "Withdrawn")[0]["args"]["amount"])

    def cancel_nonces(self, new_floor: int) -> TxReceipt:
        return self._transact("cancelNonces", uint("new_floor", new_floor, 64))

    def pause(self) -> TxReceipt:
        return self._transact("pause")

    def unpause(self) -> TxReceipt:
        return self._transact("unpause")

    def paused(self) -> bool:
        return bool(self._call("paused"))

    def account(self, address: str) -> VaultAccount:
        free, locked, floor = self._call("accounts", address)
        return VaultAccount(free=int(free), locked=int(locked), nonce_floor=int(floor))

    def free_of(self, address: str) -> int:
        return self.account(address).free

    def nonce_floor(self, address: str) -> int:
        return self.account(address).nonce_floor

    def escrowed(self) -> int:
        return int(self._call("escrowed"))

    def sunk(self) -> int:
        return int(self._call("sunk"))

    def penalty_bps(self) -> int:
        return int(self._call("penaltyBps"))

    def grace_period_s(self) -> int:
        """Both venues declare it: after a delivery window, receipts still settle, then finalize or reclaim."""
        return int(self._call("gracePeriod"))

    def penalty_for(self, energy_wh: int, price_per_wh: int) -> int:
        return int(self._call("penaltyFor", energy_wh, price_per_wh))

    def books(self, accounts: list[str]) -> int:
        """What the contract owes: the listed accounts' free + locked, plus escrow and sink."""
        return sum(self.account(a).total for a in accounts) + self.escrowed() + self.sunk()
