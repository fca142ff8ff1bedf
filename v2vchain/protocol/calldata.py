"""A call's arguments read from its calldata as the contract's own (Solidity) decoder reads them.

A commit's calldata is its publication, so whoever rebuilds it must accept every encoding the contract accepted.
Solidity's decoder is laxer than eth_abi's strict one: it ignores the padding after a `bytes` value and follows a
top-level offset wherever it points inside the data (into the head included). eth_abi refuses both, so an operator
who set one padding byte, or pointed an empty `routes` at a zero word of the header, would have committed a
clearing that no audit, order watch or trader could read. Each top-level argument is decoded here on its own: a
static one from its place in the head, a dynamic one from where its offset points, non-strictly (a top-level `bytes` or
`string` must still fit in the data, as Solidity checks; nested ones are not checked: the Clearing's calls have none).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_abi.grammar import ABIType, TupleType, parse
from eth_utils import function_abi_to_4byte_selector

from .errors import UndecodableCall

WORD = 32


def type_string(param: dict[str, Any]) -> str:
    """An ABI entry's input as eth_abi spells its type: tuples as (a,b,...) with their array suffix."""
    t = str(param["type"])
    if t.startswith("tuple"):
        return "(" + ",".join(type_string(c) for c in param["components"]) + ")" + t[len("tuple") :]
    return t


def decode_call(fn: dict[str, Any], data: bytes) -> dict[str, Any] | None:
    """A call of the ABI function `fn` (selector included): its arguments by name, tuples as dicts by component
    name; None if the data is not such a call or no contract would have accepted it."""
    if data[:4] != function_abi_to_4byte_selector(fn):  # type: ignore[arg-type]  # an ABI entry read from JSON
        return None
    try:
        values = decode_arguments([type_string(p) for p in fn["inputs"]], data[4:])
    except UndecodableCall:
        return None
    return {p["name"]: _named(p, v) for p, v in zip(fn["inputs"], values)}


def decode_arguments(types: Sequence[str], data: bytes) -> tuple[Any, ...]:
    """The arguments (without the 4-byte selector) as Solidity decodes them; UndecodableCall for data it would
    refuse too (an offset or a length beyond the data)."""
    values: list[Any] = []
    head = 0
    try:
        for t in types:
            node = parse(t)
            if node.is_dynamic:
                offset = int.from_bytes(_take(data, head, WORD), "big")
                if offset + WORD > len(data):
                    raise UndecodableCall(f"argument {len(values)} ({t}): offset {offset} is beyond the data")
                if t in ("bytes", "string") and offset + WORD + int.from_bytes(_take(data, offset, WORD), "big") > len(
                    data
                ):
                    raise UndecodableCall(f"argument {len(values)} ({t}): its length runs beyond the data")
                rebased = WORD.to_bytes(WORD, "big") + data[offset:]  # the value, one word after its own offset
                (value,) = abi_decode([t], rebased, strict=False)
                head += WORD
            else:
                size = _static_size(node)
                (value,) = abi_decode([t], _take(data, head, size), strict=False)
                head += size
            values.append(value)
    except (DecodingError, ValueError, OverflowError) as exc:
        raise UndecodableCall(f"argument {len(values)}: {exc}") from None
    return tuple(values)


def _take(data: bytes, at: int, size: int) -> bytes:
    if at + size > len(data):
        raise UndecodableCall(f"{size} bytes at {at} are beyond the data's {len(data)}")
    return data[at : at + size]


def _static_size(node: ABIType) -> int:
    """The bytes a static type takes in place."""
    if node.arrlist:
        return int(node.arrlist[-1][0]) * _static_size(node.item_type)
    if isinstance(node, TupleType):
        return sum(_static_size(c) for c in node.components)
    return WORD


def _named(param: dict[str, Any], value: Any) -> Any:
    t = str(param["type"])
    if t.startswith("tuple") and t.endswith("]"):
        return [_named(dict(param, type=t[: t.rindex("[")]), v) for v in value]
    if t.startswith("tuple"):
        return {c["name"]: _named(c, v) for c, v in zip(param["components"], value)}
    return value
