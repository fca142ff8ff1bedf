"""Which contracts are indexed, and their logs decoded from each contract's ABI alone.

Nothing here knows a Market or a Registry: indexing another contract (the batch Clearing, say) is one more
ContractSpec with its name, address and ABI.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import event_abi_to_log_topic, is_address, to_checksum_address

from .errors import InvalidFilter

# A deployment record's address fields and the compiled contract whose ABI (and name in the index) each gets.
# An external ERC-20 is indexed as EnergyToken too: its Transfer events are all the audit reads of it.
DEPLOYMENT_FIELDS = {"token": "EnergyToken", "registry": "Registry", "market": "Market", "clearing": "Clearing"}


@dataclass(frozen=True)
class ContractSpec:
    name: str
    address: str
    abi: tuple[dict[str, Any], ...]
    start_hint: int = 0  # a block at or after which the contract existed, if its creation block cannot be found
    find_creation: bool = True  # False for contracts older than the system (an external stablecoin)

    @staticmethod
    def of(name: str, address: str, abi: Iterable[dict[str, Any]], **kw: Any) -> ContractSpec:
        if not isinstance(address, str) or not is_address(address):
            raise InvalidFilter(f"{name}: {address!r} is not an address")
        return ContractSpec(name, to_checksum_address(address), tuple(abi), **kw)


def specs_from_deployment(
    deployment: Mapping[str, Any], abis: Mapping[str, list[dict[str, Any]]]
) -> list[ContractSpec]:
    """One spec per address field of a deployment record (deploy.Deployment as a dict) whose ABI is known."""
    specs = []
    block = int(deployment.get("block", 0))
    for field, artifact in DEPLOYMENT_FIELDS.items():
        address = deployment.get(field)
        if not address or artifact not in abis:
            continue
        external_token = field == "token" and not deployment.get("dev_token", True)
        specs.append(
            ContractSpec.of(artifact, address, abis[artifact], start_hint=block, find_creation=not external_token)
        )
    return specs


def _type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        return "(" + ",".join(_type(c) for c in param["components"]) + ")" + str(param["type"][5:])
    return str(param["type"])


def _is_dynamic(type_: str) -> bool:
    return type_ in ("string", "bytes") or type_.endswith("[]") or type_.startswith("(")


@functools.lru_cache(maxsize=1 << 16)
def checksum(address: str) -> str:
    """EIP-55 costs a keccak per call; the same few addresses recur in every log, so remember them."""
    return str(to_checksum_address(address))


def plain(value: Any) -> Any:
    """A decoded value as JSON: addresses checksummed, bytes as 0x-hex, tuples as lists; ints stay exact."""
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42 and is_address(value):
        return checksum(value)
    return value


def _word(type_: str) -> Callable[[bytes], Any] | None:
    """A direct decoder of one 32-byte word for the static elementary types every event here uses; None for the
    rest (and for any word that is not canonically padded), which eth_abi then decodes and validates."""
    if type_ == "address":
        return lambda w: checksum("0x" + w[12:].hex()) if not any(w[:12]) else None
    if type_ == "bool":
        return lambda w: bool(w[31]) if not any(w[:31]) and w[31] < 2 else None
    if type_.startswith("uint") and type_[4:].isdigit():
        bound = 1 << int(type_[4:])
        return lambda w: v if (v := int.from_bytes(w, "big")) < bound else None
    if type_.startswith("bytes") and type_[5:].isdigit():
        size = int(type_[5:])
        return lambda w: "0x" + w[:size].hex() if not any(w[size:]) else None
    return None


class _Event:
    def __init__(self, name: str, inputs: tuple[dict[str, Any], ...]) -> None:
        self.name = name
        self.inputs = inputs
        self.words = [_word(_type(p)) for p in inputs]
        self.indexed = sum(1 for p in inputs if p.get("indexed"))

    def decode(self, topics: list[bytes], data: bytes) -> dict[str, Any]:
        fast = self._decode_words(topics, data)
        return fast if fast is not None else self._decode_abi(topics, data)

    def _decode_words(self, topics: list[bytes], data: bytes) -> dict[str, Any] | None:
        """Every input a static elementary type: topics and data are plain 32-byte words."""
        if None in self.words or len(topics) != 1 + self.indexed or len(data) != 32 * (len(self.inputs) - self.indexed):
            return None
        topic, word, args = 1, 0, {}
        for i, (p, decode) in enumerate(zip(self.inputs, self.words)):
            if p.get("indexed"):
                raw, topic = topics[topic], topic + 1
            else:
                raw, word = data[32 * word : 32 * word + 32], word + 1
            value = decode(raw)  # type: ignore[misc]
            if value is None:
                return None
            args[p.get("name") or f"arg{i}"] = value
        return args

    def _decode_abi(self, topics: list[bytes], data: bytes) -> dict[str, Any]:
        indexed = [p for p in self.inputs if p.get("indexed")]
        if len(topics) != 1 + len(indexed):
            raise ValueError(f"{self.name}: {len(topics) - 1} indexed topics, the ABI has {len(indexed)}")
        unindexed = [p for p in self.inputs if not p.get("indexed")]
        values = iter(abi_decode([_type(p) for p in unindexed], data))
        topic = iter(topics[1:])
        args: dict[str, Any] = {}
        for i, p in enumerate(self.inputs):
            key = p.get("name") or f"arg{i}"
            if p.get("indexed"):
                raw = next(topic)
                # an indexed dynamic value is stored as its hash: the topic is all there is
                args[key] = plain(raw if _is_dynamic(_type(p)) else abi_decode([_type(p)], raw)[0])
            else:
                args[key] = plain(next(values))
        return args


class EventDecoder:
    """Every non-anonymous event of one ABI, by topic 0."""

    def __init__(self, abi: Iterable[dict[str, Any]]) -> None:
        self._events: dict[bytes, _Event] = {}
        for item in abi:
            if item.get("type") == "event" and not item.get("anonymous"):
                topic = bytes(event_abi_to_log_topic(item))  # type: ignore[arg-type]  # an ABI entry read from JSON
                self._events[topic] = _Event(item["name"], tuple(item["inputs"]))

    def names(self) -> set[str]:
        return {e.name for e in self._events.values()}

    def decode(self, topics: list[bytes], data: bytes) -> tuple[str | None, dict[str, Any]]:
        """(event name, arguments); (None, {}) for a log the ABI does not describe, which is kept raw, not dropped."""
        event = self._events.get(topics[0]) if topics else None
        if event is None:
            return None, {}
        try:
            return event.name, event.decode(topics, data)
        except Exception as exc:  # same topic 0, other layout (an ERC-721 Transfer, say): keep it raw
            return None, {"decode_error": str(exc)}


def abi_json(abi: Iterable[dict[str, Any]]) -> str:
    return json.dumps(list(abi), sort_keys=True, separators=(",", ":"))
