"""Connections to the three kinds of chain: embedded eth-tester, a child anvil, or any JSON-RPC URL."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import EthereumTesterProvider, HTTPProvider, Web3
from web3.providers.base import BaseProvider
from web3.types import RPCResponse

from v2vchain import boundedjson
from v2vchain.errors import ConfigError

from .anvil import ANVIL_DEV_KEY, AnvilProcess, start_anvil
from .errors import ChainUnavailable
from .tx import Sender

# eth-tester's first genesis account has private key 1: public knowledge, embedded chain only.
EMBEDDED_DEV_KEY = "0x" + "00" * 31 + "01"
PRIVATE_KEY_ENV = "V2V_PRIVATE_KEY"


@dataclass
class Chain:
    """One connected chain, the funded account that pays for deployments, and the senders in use."""

    w3: Web3
    kind: str  # "embedded", "anvil" or "rpc"
    funder: LocalAccount
    anvil: AnvilProcess | None = None
    _senders: dict[str, Sender] = field(default_factory=dict)

    @property
    def chain_id(self) -> int:
        """Asked each time: a chain can change its id (a split), and every signature domain must follow it."""
        return int(self.w3.eth.chain_id)

    @property
    def genesis_hash(self) -> str:
        """The hash of block 0: with the chain id, it tells one chain from another that reuses the id (two anvils)."""
        return "0x" + bytes(self.w3.eth.get_block(0)["hash"]).hex()

    @property
    def is_dev(self) -> bool:
        return self.kind in ("embedded", "anvil")

    def sender(self, account: LocalAccount) -> Sender:
        """One Sender per key, so its nonce counter is the only one for that address."""
        if account.address not in self._senders:
            self._senders[account.address] = Sender(self.w3, account)
        return self._senders[account.address]

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def advance_time(self, seconds: int) -> None:
        """Move a dev chain's clock forward and mine a block at the new time."""
        self._require_dev("advance_time")
        target = self.now() + seconds
        self.set_next_timestamp(target)
        if self.kind == "embedded":
            # not eth-tester's time_travel: it mines at target - 1, so views would still see the old second
            self.w3.provider.ethereum_tester.mine_blocks(1)  # type: ignore[attr-defined]  # only the EthereumTesterProvider has ethereum_tester
        else:
            self._rpc("evm_mine", [])

    def set_next_timestamp(self, ts: int) -> None:
        """Pin the timestamp of the next block on a dev chain (for boundary checks at deadline-1/0/+1)."""
        self._require_dev("set_next_timestamp")
        if self.kind == "embedded":
            backend = self.w3.provider.ethereum_tester.backend  # type: ignore[attr-defined]  # only the EthereumTesterProvider has ethereum_tester
            backend.chain.header = backend.chain.header.copy(timestamp=ts)
        else:
            self._rpc("evm_setNextBlockTimestamp", [ts])

    def snapshot(self) -> Any:
        self._require_dev("snapshot")
        return self._rpc("evm_snapshot", [])

    def revert(self, snapshot_id: Any) -> None:
        self._require_dev("revert")
        self._rpc("evm_revert", [snapshot_id])
        for sender in self._senders.values():
            sender.forget_nonce()

    def fund(self, address: str, wei: int) -> None:
        self.sender(self.funder).send({"to": address, "value": wei}, action="fund")

    def close(self) -> None:
        if self.anvil is not None:
            self.anvil.stop()
            self.anvil = None

    def _rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]  # web3 types RPC methods as a Literal union; any name is sent as is
        if "error" in response:
            raise ChainUnavailable(f"{method} failed: {response['error']}")
        return response.get("result")

    def _require_dev(self, what: str) -> None:
        if not self.is_dev:
            raise ConfigError(f"{what} works only on a dev chain (embedded or anvil), not on {self.kind}")

    def __enter__(self) -> Chain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class BoundedHTTPProvider(HTTPProvider):
    """web3's HTTP provider, parsing each answer only once it is nested at most boundedjson.MAX_DEPTH deep: a hostile
    or broken JSON-RPC server's 400 kB of '[' otherwise overflowed the C stack and killed the process (SIGSEGV)."""

    @staticmethod
    def decode_rpc_response(raw_response: bytes) -> RPCResponse:
        answer: RPCResponse = boundedjson.loads(raw_response)
        return answer


def connect(
    target: str = "embedded", *, anvil_args: tuple[str, ...] = (), account: LocalAccount | None = None
) -> Chain:
    """`embedded`, `anvil`, or an http(s) URL paying with `account` or else the key in $V2V_PRIVATE_KEY."""
    if target == "embedded":
        w3 = _web3(EthereumTesterProvider())
        return Chain(w3=w3, kind="embedded", funder=Account.from_key(EMBEDDED_DEV_KEY))
    if target == "anvil":
        anvil = start_anvil(extra_args=anvil_args)
        w3 = _web3(BoundedHTTPProvider(anvil.url, request_kwargs={"timeout": 30}))
        return Chain(w3=w3, kind="anvil", funder=Account.from_key(ANVIL_DEV_KEY), anvil=anvil)
    if target.startswith(("http://", "https://")):
        funder = account or _key_from_env(target)
        w3 = _web3(BoundedHTTPProvider(target, request_kwargs={"timeout": 30}))
        _probe(w3, target)
        return Chain(w3=w3, kind="rpc", funder=funder)
    raise ConfigError(f"unknown chain {target!r}: use embedded, anvil, or an http(s) JSON-RPC URL")


def _web3(provider: BaseProvider) -> Web3:
    """web3.py's validation middleware asks the node for its chain id before AND after every eth_call and gas
    estimate (two extra round trips per contract read) to check a `chainId` field that no call of ours carries:
    every transaction is signed here with the chain id read when it is built. Without it, a read is one round trip,
    and a PoA chain's long block extraData is not refused either."""
    w3 = Web3(provider)
    w3.middleware_onion.remove("validation")
    return w3


def _probe(w3: Web3, target: str) -> None:
    """One eth_chainId call, so a URL that is down, or that answers but is no JSON-RPC node, fails here clearly."""
    try:
        answer = w3.provider.make_request("eth_chainId", [])  # type: ignore[arg-type]  # web3 types RPC methods as a Literal union; any name is sent as is
    except Exception as exc:
        detail = f": {str(exc)[:120]}" if isinstance(exc, (ValueError, KeyError, TypeError)) else ""
        raise ChainUnavailable(f"no JSON-RPC answer from {target} ({type(exc).__name__}{detail})") from None
    if not isinstance(answer, dict) or "result" not in answer:
        raise ChainUnavailable(
            f"{target} answered eth_chainId with {str(answer)[:120]}, not a JSON-RPC result: "
            f"is it an EVM JSON-RPC node?"
        )


def _key_from_env(target: str) -> LocalAccount:
    key = os.environ.get(PRIVATE_KEY_ENV)
    if not key:
        raise ConfigError(f"set {PRIVATE_KEY_ENV} to the private key of a funded account on {target}")
    try:
        account: LocalAccount = Account.from_key(key)
        return account
    except Exception:
        raise ConfigError(f"{PRIVATE_KEY_ENV} is not a valid private key") from None
