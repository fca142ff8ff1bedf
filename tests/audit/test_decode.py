"""Logs decoded from an ABI alone: the fast word decoder agrees with eth_abi, and anything else falls back to it."""

from __future__ import annotations

from eth_abi import encode
from eth_utils import keccak

from tests.support.audit import Demo
from v2vchain.audit.decode import EventDecoder


def test_the_word_decoder_equals_eth_abi_on_every_event_of_the_demo(demo: Demo) -> None:
    logs = demo.chain.w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest", "address": [s.address for s in demo.specs]})
    events = {s.address: EventDecoder(s.abi) for s in demo.specs}
    for log in logs:
        decoder = events[log["address"]]
        topics, data = [bytes(t) for t in log["topics"]], bytes(log["data"])
        event = decoder._events[topics[0]]
        fast = event._decode_words(topics, data)
        assert fast is not None and fast == event._decode_abi(topics, data), event.name


ABI = [
    {
        "type": "event",
        "name": "Noted",
        "anonymous": False,
        "inputs": [
            {"name": "who", "type": "address", "indexed": True},
            {"name": "text", "type": "string", "indexed": False},
            {
                "name": "pair",
                "type": "tuple",
                "indexed": False,
                "components": [{"name": "a", "type": "uint64"}, {"name": "b", "type": "bytes32"}],
            },
            {"name": "tag", "type": "string", "indexed": True},
        ],
    }
]


def test_dynamic_types_and_tuples_fall_back_to_eth_abi_and_indexed_strings_stay_hashes() -> None:
    topic0 = keccak(text="Noted(address,string,(uint64,bytes32),string)")
    who = "0x" + "ab" * 20
    topics = [topic0, b"\x00" * 12 + bytes.fromhex(who[2:]), keccak(text="tag")]
    data = encode(["string", "(uint64,bytes32)"], ["hello", (7, b"\x01" * 32)])
    name, args = EventDecoder(ABI).decode(topics, data)
    assert name == "Noted"
    assert args == {
        "who": "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB",
        "text": "hello",
        "pair": [7, "0x" + "01" * 32],
        "tag": "0x" + keccak(text="tag").hex(),
    }


def test_a_log_that_does_not_fit_its_abi_is_kept_with_the_reason() -> None:
    topic0 = keccak(text="Noted(address,string,(uint64,bytes32),string)")
    assert EventDecoder(ABI).decode([topic0], b"") == (None, {"decode_error": "Noted: 0 indexed topics, the ABI has 2"})
    assert EventDecoder(ABI).decode([b"\x00" * 32], b"") == (None, {})
