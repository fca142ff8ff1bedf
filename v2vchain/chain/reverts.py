"""Turns a revert, however the provider reports it, into a ContractRevert carrying the error's name and arguments.

web3.py raises ContractCustomError with only the raw selector and data; eth-tester raises its own
TransactionFailed with the bytes rendered into a string. Both land here.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from .errors import ContractRevert, TransactionFailed

_ERRORS: dict[bytes, tuple[str, list[str], list[str]]] = {}
_PANICS = {
    0x01: "assert",
    0x11: "arithmetic overflow or underflow",
    0x12: "division by zero",
    0x32: "index out of bounds",
}


def _signature_type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_signature_type(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return str(param["type"])


def register_abi(abi: list[dict[str, Any]]) -> None:
    for item in abi:
        if item.get("type") != "error":
            continue
        types = [_signature_type(p) for p in item["inputs"]]
        selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
        _ERRORS[selector] = (item["name"], types, [p["name"] or f"arg{i}" for i, p in enumerate(item["inputs"])])


register_abi([{"type": "error", "name": "Error", "inputs": [{"name": "message", "type": "string"}]}])
register_abi([{"type": "error", "name": "Panic", "inputs": [{"name": "code", "type": "uint256"}]}])


def known_errors() -> set[str]:
    return {name for name, _, _ in _ERRORS.values()}


def decode_revert(data: bytes, action: str = "") -> ContractRevert:
    selector, body = data[:4], data[4:]
    if selector not in _ERRORS:
        raise TransactionFailed(f"{action or 'call'} reverted with unknown data 0x{data.hex()}")
    name, types, names = _ERRORS[selector]
    try:
        values = abi_decode(types, body)
    except Exception as exc:
        raise TransactionFailed(f"{action or 'call'} reverted with malformed {name} data") from exc
    checked = [to_checksum_address(v) if t == "address" else v for t, v in zip(types, values)]
    arguments = dict(zip(names, checked))
    if name == "Panic":
        arguments["meaning"] = _PANICS.get(int(arguments["code"]), "unknown panic")
    return ContractRevert(name, arguments, action=action)


def revert_data(exc: BaseException) -> bytes | None:
    """The raw revert bytes inside any exception web3.py or eth-tester raises, or None if it has none."""
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    if isinstance(data, dict) and isinstance(data.get("data"), str):
        return bytes.fromhex(data["data"][2:])
    text = str(exc.args[0]) if exc.args else ""
    match = re.search(r"execution reverted: (b(['\"]).*\2)$", text, re.S)
    if match:
        value = ast.literal_eval(match.group(1))
        return value if isinstance(value, bytes) else None
    if "execution reverted" in text and not re.search(r"0x[0-9a-fA-F]{8}", text):
        return b""
    match = re.search(r"(0x[0-9a-fA-F]{8,})", text)
    return bytes.fromhex(match.group(1)[2:]) if match else None


def as_revert(exc: BaseException, action: str) -> Exception | None:
    """A decoded ContractRevert/TransactionFailed for a revert, or None when exc was not a revert at all."""
    data = revert_data(exc)
    if data is None:
        return None
    if not data:
        return TransactionFailed(f"{action} reverted without a reason")
    try:
        return decode_revert(data, action)
    except TransactionFailed as failed:
        return failed
