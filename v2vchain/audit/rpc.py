"""What the indexer asks of a node: the head, block headers and logs, with the node's failures given names.

Over HTTP the indexer speaks raw JSON-RPC (batched headers, no formatting middleware), which is what makes it fast;
any other web3 provider (the embedded eth-tester chain) is read through web3.py's own `w3.eth`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import requests
from web3 import HTTPProvider, Web3
from web3.exceptions import Web3Exception

from v2vchain import boundedjson
from v2vchain.chain.errors import ChainUnavailable

from .decode import checksum
from .errors import RangeTooLarge, RpcError, RpcTimeout

HEADER_BATCH = 500
_T = TypeVar("_T")
# How nodes word "your eth_getLogs asked for too much" (geth, erigon, Infura -32005, Alchemy, anvil, public RPCs).
_TOO_LARGE = re.compile(
    r"too many|more than \d+ (results|logs)|limit exceeded|response size|exceeds? .*(limit|max)"
    r"|block range|range (is )?too (large|wide)|query returned",
    re.I,
)
_TIMED_OUT = re.compile(r"time(d)? ?out|deadline exceeded", re.I)


@dataclass(frozen=True)
class Header:
    number: int
    hash: str
    parent_hash: str
    timestamp: int


@dataclass(frozen=True)
class Log:
    address: str
    topics: tuple[str, ...]
    data: str
    block_number: int
    block_hash: str
    tx_hash: str
    tx_index: int
    log_index: int


class Node(Protocol):
    def chain_id(self) -> int: ...
    def head(self) -> int: ...
    def headers(self, first: int, last: int) -> list[Header]: ...
    def logs(self, first: int, last: int, addresses: Sequence[str]) -> list[Log]: ...
    def has_code(self, address: str, block: int) -> bool: ...
    def tx_input(self, tx_hash: str) -> str: ...
    def tx_parties(self, tx_hash: str) -> tuple[str, str]: ...
    def eth_call(self, address: str, data: str, block: int) -> str: ...


_HEX = re.compile(r"0x(?:[0-9a-f]{2})*")  # whole bytes: hashes, addresses, data, inputs


def _hex(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    text = str(value).lower() if str(value).startswith("0x") else "0x" + str(value).lower()
    if not isinstance(value, str) or not _HEX.fullmatch(text):
        raise ValueError(f"not a hex string: {str(value)[:80]!r}")
    return text


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def _header(raw: Any) -> Header:
    return Header(_int(raw["number"]), _hex(raw["hash"]), _hex(raw["parentHash"]), _int(raw["timestamp"]))


def _log(raw: Any) -> Log:
    return Log(
        address=checksum(_hex(raw["address"])),
        topics=tuple(_hex(t) for t in raw["topics"]),
        data=_hex(raw["data"]),
        block_number=_int(raw["blockNumber"]),
        block_hash=_hex(raw["blockHash"]),
        tx_hash=_hex(raw["transactionHash"]),
        tx_index=_int(raw["transactionIndex"]),
        log_index=_int(raw["logIndex"]),
    )


def _parties(tx: Any) -> tuple[str, str]:
    """(sender, recipient) of a transaction, checksummed; the recipient empty for a contract creation."""
    to = tx.get("to")
    return checksum(_hex(tx["from"])), checksum(_hex(to)) if to else ""


def _shaped(method: str, parse: Callable[[Any], _T], raw: Any) -> _T:
    """A node's answer parsed, or RpcError: a node that answers JSON of the wrong shape (a field missing, a number or
    hex string that is not one) is as unusable as one that answers an error, never a crash of the indexer."""
    try:
        return parse(raw)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise RpcError(f"{method}: a malformed answer ({type(exc).__name__}: {exc})"[:300]) from None


def classify(method: str, message: str) -> Exception:
    """A node's error message as the exception the indexer reacts to (halve the range, or give up)."""
    if method == "eth_getLogs" and _TOO_LARGE.search(message):
        return RangeTooLarge(f"{method}: {message}")
    if _TIMED_OUT.search(message):
        return RpcTimeout(f"{method}: {message}")
    return RpcError(f"{method}: {message}")


class HttpNode:
    """Raw JSON-RPC over HTTP with a hard timeout per request."""

    def __init__(self, url: str, *, timeout_s: float = 30.0) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._session = requests.Session()
        self._ids = itertools.count(1)
        self._batches = True

    def _post(self, payload: Any, what: str) -> Any:
        try:
            response = self._session.post(self.url, json=payload, timeout=self.timeout_s)
        except requests.Timeout:
            raise RpcTimeout(f"{what}: no answer from {self.url} within {self.timeout_s:g}s") from None
        except requests.RequestException as exc:
            raise ChainUnavailable(f"{what}: cannot reach {self.url}: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise classify(what, f"HTTP {response.status_code} {response.text[:200]}")
        try:
            return boundedjson.loads(response.content)
        except ValueError:
            raise ChainUnavailable(
                f"{what}: {self.url} answered with something that is not JSON "
                f"({response.text[:80]!r}): is it a JSON-RPC node?"
            ) from None

    def _unwrap(self, method: str, answer: Any) -> Any:
        if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
            error = answer["error"]
            raise classify(method, f"{error.get('message', error)} (code {error.get('code')})")
        if not isinstance(answer, dict) or "result" not in answer:
            raise ChainUnavailable(
                f"{method}: {self.url} answered JSON that is not a JSON-RPC response "
                f"({str(answer)[:80]}): is it a JSON-RPC node?"
            )
        return answer["result"]

    def call(self, method: str, params: list[Any]) -> Any:
        answer = self._post({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}, method)
        if isinstance(answer, list) and answer:  # some proxies answer a single error as a list
            answer = answer[0]
        return self._unwrap(method, answer)

    def batch(self, method: str, params: list[list[Any]]) -> list[Any]:
        first = next(self._ids)
        payload = [{"jsonrpc": "2.0", "id": first + i, "method": method, "params": p} for i, p in enumerate(params)]
        self._ids = itertools.count(first + len(params))
        answer = self._post(payload, f"{method} x{len(params)}")
        if not isinstance(answer, list):  # the whole batch refused
            return [self._unwrap(method, answer)]
        by_id = {a.get("id"): a for a in answer if isinstance(a, dict)}
        return [
            self._unwrap(method, by_id.get(first + i, {"error": {"message": "missing from batch"}}))
            for i in range(len(params))
        ]

    def chain_id(self) -> int:
        return _shaped("eth_chainId", _int, self.call("eth_chainId", []))

    def head(self) -> int:
        return _shaped("eth_blockNumber", _int, self.call("eth_blockNumber", []))

    def headers(self, first: int, last: int) -> list[Header]:
        out: list[Header] = []
        for start in range(first, last + 1, HEADER_BATCH):
            params = [[hex(n), False] for n in range(start, min(start + HEADER_BATCH, last + 1))]
            if self._batches:
                try:
                    answers = self.batch("eth_getBlockByNumber", params)
                except RpcError:  # a node or proxy without JSON-RPC batches: one call per block from now on
                    self._batches = False
            if not self._batches:
                answers = [self.call("eth_getBlockByNumber", p) for p in params]
            for raw in answers:
                if raw is None:
                    raise RpcError(f"eth_getBlockByNumber: block in {first}..{last} not found (chain shorter?)")
                out.append(_shaped("eth_getBlockByNumber", _header, raw))
        return out

    def logs(self, first: int, last: int, addresses: Sequence[str]) -> list[Log]:
        raw = self.call("eth_getLogs", [{"fromBlock": hex(first), "toBlock": hex(last), "address": list(addresses)}])
        return _shaped("eth_getLogs", lambda rs: [_log(r) for r in rs if not r.get("removed")], raw)

    def has_code(self, address: str, block: int) -> bool:
        return len(_shaped("eth_getCode", _hex, self.call("eth_getCode", [address, hex(block)]))) > 2

    def tx_input(self, tx_hash: str) -> str:
        tx = self.call("eth_getTransactionByHash", [tx_hash])
        if tx is None:
            raise RpcError(f"eth_getTransactionByHash: {tx_hash} not found")
        return _shaped("eth_getTransactionByHash", lambda t: _hex(t.get("input") or t.get("data") or "0x"), tx)

    def tx_parties(self, tx_hash: str) -> tuple[str, str]:
        tx = self.call("eth_getTransactionByHash", [tx_hash])
        if tx is None:
            raise RpcError(f"eth_getTransactionByHash: {tx_hash} not found")
        return _shaped("eth_getTransactionByHash", _parties, tx)

    def eth_call(self, address: str, data: str, block: int) -> str:
        return str(self.call("eth_call", [{"to": address, "data": data}, hex(block)]))


class Web3Node:
    """Any web3 provider through w3.eth: the embedded chain, IPC, websockets."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3

    def _do(self, method: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except requests.Timeout:
            raise RpcTimeout(f"{method}: the node did not answer in time") from None
        except (ValueError, RuntimeError, Web3Exception) as exc:  # eth-tester raises its own ValueErrors
            raise classify(method, str(exc)) from None
        except Exception as exc:  # eth-tester's TransactionFailed (a plain Exception) is a revert like any other
            if "execution reverted" not in str(exc):
                raise
            raise classify(method, str(exc)) from None

    def chain_id(self) -> int:
        return int(self._do("eth_chainId", lambda: self.w3.eth.chain_id))

    def head(self) -> int:
        return int(self._do("eth_blockNumber", lambda: self.w3.eth.block_number))

    def headers(self, first: int, last: int) -> list[Header]:
        return [_header(self._do("eth_getBlockByNumber", self.w3.eth.get_block, n)) for n in range(first, last + 1)]

    def logs(self, first: int, last: int, addresses: Sequence[str]) -> list[Log]:
        query = {"fromBlock": first, "toBlock": last, "address": list(addresses)}
        return [_log(r) for r in self._do("eth_getLogs", self.w3.eth.get_logs, query)]

    def has_code(self, address: str, block: int) -> bool:
        return len(self._do("eth_getCode", self.w3.eth.get_code, address, block)) > 0

    def tx_input(self, tx_hash: str) -> str:
        return _hex(self._do("eth_getTransactionByHash", self.w3.eth.get_transaction, tx_hash)["input"])

    def tx_parties(self, tx_hash: str) -> tuple[str, str]:
        return _parties(self._do("eth_getTransactionByHash", self.w3.eth.get_transaction, tx_hash))

    def eth_call(self, address: str, data: str, block: int) -> str:
        return _hex(self._do("eth_call", self.w3.eth.call, {"to": address, "data": data}, block))


def node_for(target: Any, *, timeout_s: float = 30.0) -> Node:
    """A URL, a Web3, or a v2vchain Chain; HTTP endpoints get the fast raw client."""
    w3 = getattr(target, "w3", target)
    if isinstance(target, str):
        return HttpNode(target, timeout_s=timeout_s)
    if isinstance(w3, Web3) and isinstance(w3.provider, HTTPProvider):
        return HttpNode(str(w3.provider.endpoint_uri), timeout_s=timeout_s)
    if isinstance(w3, Web3):
        return Web3Node(w3)
    raise TypeError(f"cannot read a chain from {type(target).__name__}")
