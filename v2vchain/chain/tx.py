"""Locally signed EIP-1559 transactions with one nonce counter per key and receipts waited for with a timeout."""

from __future__ import annotations

import threading
import time
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3 import Web3
from web3.exceptions import TimeExhausted, TransactionNotFound
from web3.types import TxReceipt

from .errors import ChainUnavailable, TransactionFailed, TransactionTimeout
from .reverts import as_revert

FALLBACK_PRIORITY_FEE_WEI = 1_000_000_000
REPLACEMENT_BUMP = (9, 8)  # x1.125: the minimum most nodes accept for a same-nonce replacement
GAS_HEADROOM = (6, 5)


class Sender:
    """Signs and sends for one key. A lock and a local counter avoid the pending-count nonce race."""

    def __init__(
        self, w3: Web3, account: LocalAccount, *, receipt_timeout_s: float = 120.0, replace_after_s: float = 30.0
    ) -> None:
        self.w3 = w3
        self.account = account
        self.receipt_timeout_s = receipt_timeout_s
        self.replace_after_s = replace_after_s
        self._lock = threading.Lock()
        self._nonce: int | None = None

    @property
    def address(self) -> str:
        return str(self.account.address)

    def forget_nonce(self) -> None:
        with self._lock:
            self._nonce = None

    def send(self, tx: dict[str, Any], *, action: str) -> TxReceipt:
        """Send and wait for success; a revert raises ContractRevert with the decoded error."""
        with self._lock:
            built = self._build(tx, action)
            tx_hash = self._sign_and_send(built, action)
        receipt = self._wait(built, tx_hash, action)
        if receipt["status"] != 1:
            raise self._failure(built, receipt, action)
        return receipt

    def _build(self, tx: dict[str, Any], action: str) -> dict[str, Any]:
        built = {"from": self.address, "value": 0, "chainId": int(self.w3.eth.chain_id), **tx}
        if "gas" not in built:
            try:
                estimate = int(self.w3.eth.estimate_gas(built))  # type: ignore[arg-type]  # web3 types TxParams narrower than the dict we build
            except Exception as exc:
                decoded = as_revert(exc, action)
                if decoded is not None:
                    raise decoded from None
                raise ChainUnavailable(f"{action}: gas estimation failed: {exc}") from exc
            built["gas"] = estimate * GAS_HEADROOM[0] // GAS_HEADROOM[1]
        base_fee = int(self.w3.eth.get_block("latest").get("baseFeePerGas") or 0)
        try:
            priority = int(self.w3.eth.max_priority_fee)
        except Exception:  # some nodes lack eth_maxPriorityFeePerGas
            priority = FALLBACK_PRIORITY_FEE_WEI
        built.update(type=2, maxPriorityFeePerGas=priority, maxFeePerGas=2 * base_fee + priority)
        built.pop("gasPrice", None)
        return built

    def _next_nonce(self) -> int:
        if self._nonce is None:
            self._nonce = int(self.w3.eth.get_transaction_count(to_checksum_address(self.address), "pending"))
        return self._nonce

    def _sign_and_send(self, built: dict[str, Any], action: str) -> bytes:
        for attempt in (1, 2):
            built["nonce"] = self._next_nonce()
            signed = self.account.sign_transaction(built)
            try:
                tx_hash = bytes(self.w3.eth.send_raw_transaction(signed.raw_transaction))
            except Exception as exc:
                if "nonce too low" in str(exc).lower() and attempt == 1:
                    self._nonce = None  # another process used this key: resynchronise once
                    continue
                decoded = as_revert(exc, action)
                if decoded is not None:
                    raise decoded from None
                raise ChainUnavailable(f"{action}: the node refused the transaction: {exc}") from exc
            self._nonce = built["nonce"] + 1
            return tx_hash
        raise AssertionError("unreachable")

    def _wait(self, built: dict[str, Any], tx_hash: bytes, action: str) -> TxReceipt:
        """Poll for a receipt; after replace_after_s resend the same nonce at 1.125x the fees."""
        hashes = [tx_hash]
        deadline = time.monotonic() + self.receipt_timeout_s
        next_replace = time.monotonic() + self.replace_after_s
        while time.monotonic() < deadline:
            for candidate in hashes:
                try:
                    return self.w3.eth.get_transaction_receipt(candidate)  # type: ignore[arg-type]  # web3 wants HexBytes; a hex string is what it accepts at runtime
                except (TransactionNotFound, TimeExhausted):
                    continue
            if time.monotonic() >= next_replace:
                hashes.append(self.replace(built, action))
                next_replace = time.monotonic() + self.replace_after_s
            time.sleep(0.05)
        raise TransactionTimeout(
            f"{action}: no receipt for 0x{tx_hash.hex()} (nonce {built['nonce']}) within {self.receipt_timeout_s}s"
        )

    def replace(self, built: dict[str, Any], action: str) -> bytes:
        """Re-sign a stuck transaction with the same nonce and fees raised by 12.5 %."""
        num, den = REPLACEMENT_BUMP
        built["maxFeePerGas"] = -(-built["maxFeePerGas"] * num // den)
        built["maxPriorityFeePerGas"] = -(-built["maxPriorityFeePerGas"] * num // den)
        signed = self.account.sign_transaction(built)
        try:
            return bytes(self.w3.eth.send_raw_transaction(signed.raw_transaction))
        except Exception as exc:
            raise ChainUnavailable(f"{action}: replacement of nonce {built['nonce']} refused: {exc}") from exc

    def _failure(self, built: dict[str, Any], receipt: TxReceipt, action: str) -> Exception:
        """A mined failure: replay it as a call against its block (same timestamp) to learn the reason."""
        call = {k: built[k] for k in ("from", "to", "data", "value") if k in built}
        try:
            self.w3.eth.call(call, receipt["blockNumber"])  # type: ignore[arg-type]  # web3 types TxParams narrower than the dict we build
        except Exception as exc:
            decoded = as_revert(exc, action)
            if decoded is not None:
                return decoded
        return TransactionFailed(f"{action}: transaction 0x{bytes(receipt['transactionHash']).hex()} failed (status 0)")
