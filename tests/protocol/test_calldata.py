"""protocol/calldata.py reads a call as Solidity's decoder does: a `bytes` value's padding ignored, a top-level offset
followed wherever it points (the head included), UndecodableCall for an offset or length beyond the data, and for
any corrupted call either its values or UndecodableCall (None from decode_call), never another exception."""

from __future__ import annotations

import random

import pytest
from eth_abi import encode
from eth_utils import function_abi_to_4byte_selector

from v2vchain.protocol.calldata import decode_arguments, decode_call
from v2vchain.protocol.errors import UndecodableCall

TYPES = ["(uint256,bytes32)", "(uint8,bytes32)[]", "bytes"]
ARGS = ((7, b"\0" * 32), [(1, b"\2" * 32), (2, b"\3" * 32)], b"\x09" * 85)
FN = {
    "type": "function",
    "name": "f",
    "inputs": [
        {
            "name": "h",
            "type": "tuple",
            "components": [{"name": "a", "type": "uint256"}, {"name": "b", "type": "bytes32"}],
        },
        {
            "name": "xs",
            "type": "tuple[]",
            "components": [{"name": "v", "type": "uint8"}, {"name": "w", "type": "bytes32"}],
        },
        {"name": "blob", "type": "bytes"},
    ],
}
SELECTOR = bytes(function_abi_to_4byte_selector(FN))  # type: ignore[arg-type]  # an ABI entry as a plain dict
BYTES_OFFSET_AT = 3 * 32  # the head: the static tuple's two words, the array's offset, then the bytes' offset


def test_a_canonical_call_decodes_to_its_values() -> None:
    assert decode_arguments(TYPES, encode(TYPES, ARGS)) == (ARGS[0], tuple(ARGS[1]), ARGS[2])


def test_a_bytes_values_padding_is_ignored() -> None:
    data = bytearray(encode(TYPES, ARGS))
    data[-1] = 1
    assert decode_arguments(TYPES, bytes(data))[2] == ARGS[2]


def test_a_bytes_value_without_its_padding_decodes() -> None:
    data = encode(TYPES, ARGS)
    assert decode_arguments(TYPES, data[: len(data) - (-len(ARGS[2]) % 32)])[2] == ARGS[2]


def test_an_offset_into_the_head_is_followed() -> None:
    data = bytearray(encode(TYPES, ARGS))
    data[BYTES_OFFSET_AT : BYTES_OFFSET_AT + 32] = (32).to_bytes(32, "big")  # the zero word h.b: an empty bytes
    assert decode_arguments(TYPES, bytes(data))[2] == b""


def test_an_offset_beyond_the_data_is_undecodable() -> None:
    data = bytearray(encode(TYPES, ARGS))
    data[BYTES_OFFSET_AT : BYTES_OFFSET_AT + 32] = len(data).to_bytes(32, "big")
    with pytest.raises(UndecodableCall):
        decode_arguments(TYPES, bytes(data))


def test_a_length_beyond_the_data_is_undecodable() -> None:
    data = encode(TYPES, ARGS)
    with pytest.raises(UndecodableCall):
        decode_arguments(TYPES, data[:-64])


def test_a_call_of_another_function_is_none() -> None:
    assert decode_call(FN, b"\0\0\0\0" + encode(TYPES, ARGS)) is None


def test_decode_call_names_tuples_by_their_components() -> None:
    call = decode_call(FN, SELECTOR + encode(TYPES, ARGS))
    assert call == {
        "h": {"a": 7, "b": b"\0" * 32},
        "xs": [{"v": 1, "w": b"\2" * 32}, {"v": 2, "w": b"\3" * 32}],
        "blob": ARGS[2],
    }


def test_any_corrupted_call_gives_its_values_or_none() -> None:
    data, rnd = SELECTOR + encode(TYPES, ARGS), random.Random(5)
    for _ in range(2_000):
        changed = bytearray(data)
        for _ in range(rnd.randint(1, 3)):
            changed[rnd.randrange(4, len(changed))] = rnd.choice([0, 1, 0xFF, rnd.randrange(256)])
        decode_call(FN, bytes(changed[: rnd.randrange(4, len(changed) + 1)]))
